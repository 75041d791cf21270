"""``make bench``: its own Redis, PostgreSQL, receiver and workers; wrk drives signed load.

Prints one table (floor req/s, accepted req/s and ratio, p50/p99 to 202, p99 at 1,000 req/s
offered, end-to-end CDRs/s, backfill rows/s, peak memory per process, the ledger) and writes the
same figures as JSON under bench/results/. ``BENCH_SECONDS`` (default 10) sets the length of each
load run; ``BENCH_E2E_SECONDS`` (default 60) the sustained end-to-end run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis

from bench.payloads import SECRET, write_requests
from bench.procs import peak_rss_mb, rss_mb, wrk
from tests.e2e.stack import Stack, wait_until
from tests.faults.servers import PostgresServer, RedisServer
from workers.envelope import Envelope
from workers.queue import enqueue_envelopes, ingest_queue
from workers.services import free_port
from workers.store import open_store

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
E2E_SECONDS = int(os.environ.get("BENCH_E2E_SECONDS", "60"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
RESULTS = Path(__file__).parent / "results"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def floor(receiver_workers: int, requests: Path) -> dict:
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--port", str(port),
                          "--workers", str(receiver_workers), "--no-access-log", "--log-level", "warning"])  # fmt: skip
    try:
        wait_until(lambda: _answers(port), what="the floor app")
        return wrk(f"http://127.0.0.1:{port}", requests, threads=2, connections=64, seconds=SECONDS)
    finally:
        p.terminate()
        p.wait()


def _answers(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def stored(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM cdrs").fetchone()
    return int(row[0]) if row else 0


def queue_idle(r: redis.Redis, name: str) -> bool:
    q = ingest_queue(r, name)
    return q.count == 0 and q.started_job_registry.count == 0


def fresh_db(pg: PostgresServer, name: str) -> str:
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    url = pg.url.rsplit("/", 1)[0] + f"/{name}"
    store = open_store(url)
    store.migrate(now=datetime.now(UTC))
    store.close()
    return url


def receiver_runs(stack_env: dict[str, str], tmp: Path, requests: Path, receiver_workers: int) -> dict:
    """Receiver alone (no worker): max accepted req/s, then p99 at 1,000 req/s offered."""
    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    r.flushdb()
    stack = Stack({**stack_env, "RECEIVER_WORKERS": str(receiver_workers)}, tmp)
    try:
        stack.serve()
        pid = stack.processes[0].pid
        accepted = wrk(stack.base_url, requests, threads=2, connections=64, seconds=SECONDS)
        r.flushdb()
        # 50 connections, each waiting 50 ms between requests: about 1,000 req/s offered.
        offered = wrk(stack.base_url, requests, threads=2, connections=50, seconds=SECONDS, delay_ms=50)
        return {"accepted": accepted, "offered_1000": offered, "peak_mb": peak_rss_mb(pid)}
    finally:
        stack.stop()
        r.flushdb()


def end_to_end(stack_env: dict[str, str], tmp: Path, requests: Path) -> dict:
    """Receiver + workers + PostgreSQL under closed-loop load: stored CDRs/s and queue depth."""
    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    r.flushdb()
    stack = Stack({**stack_env, "RECEIVER_WORKERS": "2"}, tmp)
    try:
        stack.serve()
        workers = [stack.worker(f"worker{i}") for i in range(WORKERS)]
        before = stored(stack_env["DATABASE_URL"])
        rss_start = [rss_mb(p.pid) for p in stack.processes]
        depth: list[int] = []
        started = time.monotonic()
        load: dict = {}
        t = threading.Thread(target=lambda: load.update(
            wrk(stack.base_url, requests, threads=2, connections=32, seconds=E2E_SECONDS)))  # fmt: skip
        t.start()
        while t.is_alive():
            depth.append(ingest_queue(r, "cdr-ingest").count)
            time.sleep(1)
        t.join()
        window = time.monotonic() - started
        during = stored(stack_env["DATABASE_URL"]) - before
        wait_until(lambda: queue_idle(r, "cdr-ingest"), timeout_s=600, what="the queue to drain")
        drained_at = time.monotonic() - started
        total = stored(stack_env["DATABASE_URL"]) - before
        names = ["receiver", *[f"worker{i}" for i in range(WORKERS)]]
        return {
            "offered": load,
            "stored_during_window": during,
            "window_s": round(window, 1),
            "cdrs_per_s_window": round(during / window),
            "stored_total": total,
            "cdrs_per_s_until_drained": round(total / drained_at),
            "queue_depth_jobs": {"max": max(depth, default=0), "last": depth[-1] if depth else 0},
            "peak_mb": {n: peak_rss_mb(p.pid) for n, p in zip(names, [stack.processes[0], *workers], strict=True)},
            "rss_start_mb": dict(zip(names, rss_start, strict=True)),
            "rss_end_mb": {n: rss_mb(p.pid) for n, p in zip(names, [stack.processes[0], *workers], strict=True)},
        }
    finally:
        stack.stop()


def backfill(database_url: str, redis_url: str, tmp: Path, rows: int) -> dict:
    """Pages of 500 backfill rows straight onto the queue, then workers drain them into the store."""
    from bench.payloads import TEMPLATE

    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    store = open_store(database_url)
    store.migrate(now=datetime.now(UTC))
    store.close()
    queue = ingest_queue(r, "cdr-ingest")
    now = datetime.now(UTC)
    for start in range(0, rows, 500):
        page = [
            Envelope(feed="callr.actions", account="bench", received_at=now,
                     body=json.dumps({"cdr": {**TEMPLATE["payload"], "callid": 700_000_000_000 + n}}))
            for n in range(start, min(rows, start + 500))
        ]  # fmt: skip
        enqueue_envelopes(queue, page)
    env = {"REDIS_URL": redis_url, "DATABASE_URL": database_url, "CALLR_ACCOUNT_SID": "bench",
           "CALLR_ACTIONS_TOKEN": "x", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json"}  # fmt: skip
    stack = Stack(env, tmp)
    started = time.monotonic()
    try:
        for i in range(WORKERS):
            stack.worker(f"backfill{i}")
        wait_until(lambda: queue_idle(r, "cdr-ingest"), timeout_s=600, what="the backfill to drain")
        elapsed = time.monotonic() - started
    finally:
        stack.stop()
    check = open_store(database_url)
    n = check.count()
    check.close()
    return {"rows": n, "seconds": round(elapsed, 2), "rows_per_s": round(n / elapsed)}


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="cdr-bench-"))
    log("generating signed requests")
    requests = write_requests(tmp / "requests.txt", 0, int(os.environ.get("BENCH_REQUESTS", "400000")))
    redis_server = RedisServer(tmp / "redis")
    redis_server.start()
    pg = PostgresServer()
    pg.init()
    pg.start()
    results: dict = {"when": datetime.now(UTC).isoformat(), "cores": os.cpu_count(), "seconds": SECONDS,
                     "e2e_seconds": E2E_SECONDS, "workers": WORKERS}  # fmt: skip
    try:
        env = {"REDIS_URL": redis_server.url, "CALLR_WEBHOOK_SECRET": SECRET, "CALLR_ACCOUNT_SID": "bench",
               "LOG_FORMAT": "json", "LOG_LEVEL": "WARNING", "SPOOL_DIR": str(tmp / "spool")}  # fmt: skip
        for n in (1, 2):
            log(f"floor, {n} uvicorn worker(s)")
            results[f"floor_{n}"] = floor(n, requests)
            log(f"receiver, {n} uvicorn worker(s)")
            results[f"receiver_{n}"] = receiver_runs({**env, "DATABASE_URL": fresh_db(pg, "r")}, tmp, requests, n)
        log(f"end to end for {E2E_SECONDS} s")
        results["e2e"] = end_to_end({**env, "DATABASE_URL": fresh_db(pg, "e2e")}, tmp, requests)
        for name, url in (("postgresql", fresh_db(pg, "bf")), ("sqlite", f"sqlite:///{tmp}/bf.db")):
            log(f"backfill into {name}")
            results[f"backfill_{name}"] = backfill(
                url, redis_server.url, tmp, int(os.environ.get("BENCH_BACKFILL_ROWS", "100000"))
            )
    finally:
        redis_server.stop()
        pg.destroy()
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for path in (RESULTS / f"{stamp}.json", RESULTS / "latest.json"):
        path.write_text(json.dumps(results, indent=2) + "\n")
    from bench.report import table

    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
