"""The benchmark's one table, from the results dict."""

from __future__ import annotations

from typing import Any


def _ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


def answers(run: dict[str, Any]) -> tuple[int, int, int]:
    """(queued, duplicate, anything else) among a wrk run's answers. Runs before the bench sent
    every feed (and counted the answers' own status) had only Callr's: 202 queued, 200 duplicate."""
    if "outcomes" in run:
        queued, dup = run["outcomes"].get("queued", 0), run["outcomes"].get("duplicate", 0)
    else:
        queued, dup = run["statuses"].get("202", 0), run["statuses"].get("200", 0)
    return queued, dup, run["requests"] - queued - dup


def accepted_rps(run: dict[str, Any]) -> float:
    return answers(run)[0] / (run["duration_us"] / 1e6)


def _receiver_rows(n: int, floor: dict[str, Any], rec: dict[str, Any]) -> list[tuple[str, str, str]]:
    acc, off = rec["accepted"], rec["offered_1000"]
    rps = accepted_rps(acc)
    ratio = f"ratio {rps / floor['rps']:.0%}"
    if "pairs" in rec:  # the floor and the receiver run in turn; this is the pair with the median ratio
        ratios = sorted(p["accepted_rps"] / p["floor_rps"] for p in rec["pairs"])
        ratio += f", the median of {len(ratios)} pairs ({ratios[0]:.0%}-{ratios[-1]:.0%})"
    return [
        (f"floor req/s ({n} uvicorn worker{'s' if n > 1 else ''})", f"{floor['rps']:,.0f}", ""),
        (f"accepted req/s ({n})", f"{rps:,.0f}", f"{ratio} (target >= 50%)"),
        (f"time to 202 p50 / p99 ({n}, 64 conns)", f"{_ms(acc['p50_us'])} / {_ms(acc['p99_us'])}", ""),
        (f"p99 at ~1,000 req/s offered ({n})", _ms(off["p99_us"]), f"{off['rps']:,.0f} req/s done (target <= 50 ms)"),
        (f"receiver peak memory ({n})", f"{rec['peak_mb']} MiB", ""),
    ]


def _e2e_rows(e: dict[str, Any], load: str) -> list[tuple[str, str, str]]:
    depth = e["queue_depth"]
    rows = [
        (f"end to end CDRs/s ({load})", f"{e['cdrs_per_s_window']:,}", f"{e['window_s']} s, target >= 5,000"),
        ("end to end CDRs/s (until drained)", f"{e['cdrs_per_s_until_drained']:,}", ""),
        (
            "backlog, envelopes + jobs (max / last)",
            f"{depth['max']:,} / {depth['last']:,}",
            f"second half's trend {trend(depth['samples']):+,.0f}/s (0: workers keep up)",
        ),
    ]
    if "cpu_us_per_cdr" in e:
        cpu = e["cpu_us_per_cdr"]
        servers = f"Redis {cpu['redis']} us, PostgreSQL {cpu['postgresql']} us" if "redis" in cpu else ""
        rows.append(("CPU per CDR, receiver / workers", f"{cpu['receiver']} us / {cpu['workers']} us", servers))
    for name, mb in e["peak_mb"].items():
        growth = _warm_growth(e.get("rss_every_10s_mb", {}).get(name, []))
        rows.append(
            (
                f"peak memory {name}",
                f"{mb} MiB",
                f"rss {e['rss_start_mb'][name]} -> {e['rss_end_mb'][name]} MiB{growth}",
            )
        )
    return rows


def trend(samples: list[int]) -> float:
    """Least-squares slope per sample (a sample a second) over the second half of the run."""
    tail = samples[len(samples) // 2 :]
    n = len(tail)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(tail) / n
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(tail))
    return covariance / sum((x - mean_x) ** 2 for x in range(n))


def _warm_growth(samples: list[float]) -> str:
    """Growth from the 20 s sample (warm: imports done, pools filled) to the last one."""
    if len(samples) < 4:
        return ""
    return f"; {samples[2]} -> {samples[-1]} MiB from 20 s to the end ({len(samples)} samples)"


def _ledger(e: dict[str, Any], phase: str) -> tuple[str, str, str]:
    sent = e["offered"]["requests"]
    accepted, dup, rejected = answers(e["offered"])
    late = max(0, e["stored_total"] - accepted)  # answered after wrk stopped counting
    return (f"ledger ({phase})", f"sent {sent:,} = queued {accepted:,} + dup {dup:,} + rejected {rejected:,}",
            f"stored {e['stored_total']:,} (+{late} answered after wrk's cutoff), "
            f"lost {max(0, accepted - e['stored_total']):,}")  # fmt: skip


def _backfill_row(store: str, b: dict[str, Any], target: str) -> tuple[str, str, str]:
    cpu = ""
    if "worker_cpu_us_per_row" in b:
        cpu = f", CPU per row: workers {b['worker_cpu_us_per_row']} us, "
        if "fake_api_cpu_us_per_row" in b:
            cpu += f"poller {b['poller_cpu_us_per_row']} us, fake API {b['fake_api_cpu_us_per_row']} us"
        else:  # results from before the fake API was measured apart
            cpu += f"poller + fake API {b['poller_cpu_us_per_row']} us"
    runs = ""
    if "runs" in b:  # repeated; this is the run with the median rows/s
        runs = f", the median of {len(b['runs'])} runs ({min(b['runs']):,}-{max(b['runs']):,})"
    backlog = ""
    if "queued_jobs_max" in b:  # the poller held back at POLL_MAX_QUEUED_JOBS (0: no limit)
        backlog = f", jobs waiting max {b['queued_jobs_max']} (limit {b['queue_limit'] or 'none'})"
    return (f"backfill rows/s into {store}", f"{b['rows_per_s']:,}",
            f"{b['rows']:,} rows{runs}{cpu}{backlog}, target >= {target}")  # fmt: skip


def table(r: dict[str, Any]) -> str:
    """The rows of every phase that ran (``BENCH_PHASES``)."""
    rows: list[tuple[str, str, str]] = []
    for n in (1, 2):
        if f"floor_{n}" in r:
            rows += _receiver_rows(n, r[f"floor_{n}"], r[f"receiver_{n}"])
    if "e2e" in r:
        rows += _e2e_rows(r["e2e"], "closed loop")
    if "e2e_offered" in r:
        rows += _e2e_rows(r["e2e_offered"], f"{r['e2e_offered']['offered']['rps']:,.0f} req/s offered")
    for store, target in (("postgresql", "10,000"), ("sqlite", "30,000")):
        if f"backfill_{store}" in r:
            rows.append(_backfill_row(store, r[f"backfill_{store}"], target))
    for phase in ("e2e", "e2e_offered"):
        if phase in r:
            rows.append(_ledger(r[phase], phase))
    width = max(len(a) for a, _, _ in rows)
    value_width = max(len(b) for _, b, _ in rows)
    lines = [f"cdr-ingest bench, {r['when']}, {r['cores']} cores, runs of {r['seconds']} s, {r['workers']} workers"]
    if "speed_ms" in r:  # runs before it was measured have none
        at = " / ".join(f"{ms:g}" for ms in r["speed_ms"])
        lines.append(f"VM speed: a fixed piece of Python took {at} ms of CPU (start / end; lower is faster)")
    lines += [f"{a.ljust(width)}  {b.rjust(value_width)}  {c}" for a, b, c in rows]
    return "\n".join(lines)
