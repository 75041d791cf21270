"""The bench's table: the rows of whichever phases ran, and the backlog trend it judges runs by."""

from __future__ import annotations

from typing import Any

from bench.common import median_run, speed_ms
from bench.report import accepted_rps, answers, table, trend


def test_trend_is_the_second_halfs_slope() -> None:
    assert trend([0] * 10 + [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]) == 100.0
    assert trend([5000, 9000, 7000, 8000, 8000, 8000, 8000, 8000]) == 0.0
    assert trend([3]) == 0.0


def _e2e(samples: list[int]) -> dict[str, Any]:
    return {
        "offered": {"requests": 1000, "rps": 100.0, "statuses": {"202": 990, "200": 10}},
        "stored_during_window": 990, "window_s": 10.0, "cdrs_per_s_window": 99, "stored_total": 992,
        "cdrs_per_s_until_drained": 98, "queue_depth": {"max": max(samples), "last": samples[-1], "samples": samples},
        "peak_mb": {"receiver": 160.0}, "rss_start_mb": {"receiver": 150.0}, "rss_end_mb": {"receiver": 160.0},
        "rss_every_10s_mb": {"receiver": [150.0, 159.0, 160.0, 160.0]},
    }  # fmt: skip


def test_table_shows_only_the_phases_that_ran() -> None:
    head = {"when": "2026-11-23T00:00:00+00:00", "cores": 2, "seconds": 10, "workers": 2}
    backfill = {"backfill_postgresql": {"rows": 100_000, "rows_per_s": 12_000}}
    only_backfill = table({**head, **backfill})
    assert "backfill rows/s into postgresql" in only_backfill and "12,000" in only_backfill
    assert "end to end" not in only_backfill and "floor" not in only_backfill
    assert "CPU per row" not in only_backfill  # results from before it was measured
    cpu = {"worker_cpu_us_per_row": 95, "poller_cpu_us_per_row": 30}
    with_cpu = table({**head, "backfill_sqlite": {"rows": 100_000, "rows_per_s": 12_000, **cpu}})
    assert "CPU per row: workers 95 us, poller + fake API 30 us, target >= 30,000" in with_cpu
    apart = table({**head, "backfill_sqlite": {"rows": 100_000, "rows_per_s": 12_000, **cpu,
                                               "poller_cpu_us_per_row": 12, "fake_api_cpu_us_per_row": 7}})  # fmt: skip
    assert "CPU per row: workers 95 us, poller 12 us, fake API 7 us, target >= 30,000" in apart

    both = table({**head, "e2e": _e2e([0, 0, 10, 20, 30]), "e2e_offered": _e2e([5, 5, 5, 5])})
    assert "end to end CDRs/s (closed loop)" in both and "end to end CDRs/s (100 req/s offered)" in both
    assert "trend +10/s" in both and "trend +0/s" in both
    assert "ledger (e2e)" in both and "ledger (e2e_offered)" in both
    assert "lost 0" in both and "160.0 -> 160.0 MiB from 20 s" in both
    assert "CPU per CDR" not in both
    cpu = {"receiver": 150, "workers": 110, "redis": 20, "postgresql": 40}
    measured = table({**head, "e2e": {**_e2e([0, 0]), "cpu_us_per_cdr": cpu}})
    assert (
        "CPU per CDR, receiver / workers" in measured and "150 us / 110 us  Redis 20 us, PostgreSQL 40 us" in measured
    )


def test_answers_are_counted_by_their_own_status() -> None:
    """Kazoo's queued is a 200, as a duplicate is: the ledger and the accepted rate read the answer's
    "status"; a 401 is neither. Runs from before (statuses only, Callr only) read 202 and 200."""
    run = {"requests": 10, "duration_us": 2_000_000, "statuses": {"202": 6, "200": 3, "401": 1},
           "outcomes": {"queued": 7, "duplicate": 2, "other": 1}}  # fmt: skip
    assert answers(run) == (7, 2, 1) and accepted_rps(run) == 3.5
    assert answers({"requests": 10, "duration_us": 1, "statuses": {"202": 6, "200": 3, "401": 1}}) == (6, 3, 1)
    head = {"when": "2026-12-03T00:00:00+00:00", "cores": 2, "seconds": 10, "workers": 2}
    e2e = {**_e2e([0, 0]), "offered": {**run, "rps": 5.0}, "stored_total": 7}
    assert "sent 10 = queued 7 + dup 2 + rejected 1" in table({**head, "e2e": e2e})


def test_the_ratio_is_the_median_pairs_and_shows_the_spread() -> None:
    """The floor and the receiver run in turn: the table gives the pair with the median ratio (the
    runs kept as ``floor_n`` and ``receiver_n.accepted``) and the range over every pair."""
    head = {"when": "2026-12-03T00:00:00+00:00", "cores": 2, "seconds": 10, "workers": 2}

    def run(rps: float) -> dict[str, Any]:
        return {"requests": int(rps), "duration_us": 1_000_000, "rps": rps, "outcomes": {"queued": int(rps)},
                "p50_us": 5000, "p99_us": 20000}  # fmt: skip

    pairs = [{"floor_rps": 10_000, "accepted_rps": 4_500}, {"floor_rps": 9_000, "accepted_rps": 4_590},
             {"floor_rps": 10_000, "accepted_rps": 5_500}]  # fmt: skip
    receiver = {"accepted": run(4_590), "offered_1000": run(1_000), "peak_mb": 55.0, "pairs": pairs}
    text = table({**head, "floor_1": run(9_000), "receiver_1": receiver})
    assert "ratio 51%, the median of 3 pairs (45%-55%) (target >= 50%)" in text
    old = table({**head, "floor_1": run(9_000), "receiver_1": {k: v for k, v in receiver.items() if k != "pairs"}})
    assert "ratio 51% (target >= 50%)" in old  # results from before the pairs


def test_a_repeated_backfill_shows_its_median_run_and_the_range() -> None:
    head = {"when": "2026-12-03T00:00:00+00:00", "cores": 2, "seconds": 10, "workers": 2}
    median = {"rows": 100_000, "rows_per_s": 25_000, "worker_cpu_us_per_row": 45, "poller_cpu_us_per_row": 16,
              "fake_api_cpu_us_per_row": 0, "runs": [31_000, 25_000, 21_000]}  # fmt: skip
    text = table({**head, "backfill_sqlite": median})
    assert (
        "backfill rows/s into sqlite  25,000  100,000 rows, the median of 3 runs (21,000-31,000), CPU per row" in text
    )


def test_a_backfill_shows_how_many_jobs_waited_at_most_against_the_poller_limit() -> None:
    head = {"when": "2026-12-03T00:00:00+00:00", "cores": 2, "seconds": 10, "workers": 2}
    held = {"rows": 100_000, "rows_per_s": 25_000, "queued_jobs_max": 20, "queue_limit": 20}
    assert "100,000 rows, jobs waiting max 20 (limit 20), target >= 30,000" in table({**head, "backfill_sqlite": held})
    free = {**held, "queued_jobs_max": 31, "queue_limit": 0}
    assert "jobs waiting max 31 (limit none)" in table({**head, "backfill_sqlite": free})
    assert "jobs waiting" not in table({**head, "backfill_sqlite": {"rows": 100_000, "rows_per_s": 25_000}})


def test_the_median_run_is_the_middle_one_by_its_key() -> None:
    runs = [{"rows_per_s": 31_000}, {"rows_per_s": 21_000}, {"rows_per_s": 25_000}]
    assert median_run(runs, key=lambda r: r["rows_per_s"]) == {"rows_per_s": 25_000}
    assert median_run([3, 1, 4, 2], key=float) == 3  # an even count: the upper of the two
    assert median_run([7], key=float) == 7


def test_the_vms_speed_at_the_start_and_the_end_heads_the_table() -> None:
    head = {"when": "2026-12-03T00:00:00+00:00", "cores": 2, "seconds": 10, "workers": 2}
    backfill = {"backfill_postgresql": {"rows": 100_000, "rows_per_s": 12_000}}
    text = table({**head, **backfill, "speed_ms": [64.1, 80.0]})
    assert (
        text.splitlines()[1]
        == "VM speed: a fixed piece of Python took 64.1 / 80 ms of CPU (start / end; lower is faster)"
    )
    assert "VM speed" not in table({**head, **backfill})  # runs from before it was measured


def test_the_speed_index_is_cpu_time_of_real_work() -> None:
    ms = speed_ms()
    assert 1 < ms < 5_000  # 100,000 small dicts: milliseconds, on any machine this runs on


def test_the_push_waits_are_summed_up_by_count_median_p90_and_longest() -> None:
    from bench.push_wait import summary

    waits = [0.5, 0.1, 2.0, 0.3, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9]
    assert summary(waits) == {"jobs": 10, "median_s": 0.55, "p90_s": 2.0, "max_s": 2.0}
    assert summary([1.234]) == {"jobs": 1, "median_s": 1.23, "p90_s": 1.23, "max_s": 1.23}
    assert summary([]) == {"jobs": 0}
