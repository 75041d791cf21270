"""``make bench-forking``: RQ's forking worker against the non-forking one the workers run
(``workers.worker.run_worker``, a ``SimpleWorker``), on the same jobs.

Its own Redis and PostgreSQL; ``BENCH_FORKING_JOBS`` (default 40) jobs of 500 lifelike Callr
webhooks each (what a drain job takes from the inbox), drained by one worker in burst mode, each
kind three times, alternating. The forking worker's work horse opens its own store for each job (a
connection shared across a fork is not safe to use from both sides) and pauses the cyclic garbage
collector as ours does. Printed: rows/s and the worker's CPU a row, its forked children included.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from time import perf_counter
from typing import Any

import redis
from rq import Queue, Worker
from rq.job import Job

from bench.common import fresh_db, log, stored, with_servers
from bench.payloads import body
from tests.faults.servers import PostgresServer
from workers import jobs
from workers.collector import collector_paused
from workers.envelope import Envelope
from workers.logs import configure_logging
from workers.queue import OrjsonSerializer, enqueue_envelopes, ingest_queue
from workers.settings import Settings, load_settings
from workers.store import open_store
from workers.worker import IngestQueue, run_worker

JOBS = int(os.environ.get("BENCH_FORKING_JOBS", "40"))
ROWS = 500


class ForkingIngestWorker(Worker):
    """RQ's default worker: a forked work horse per job, with a store of its own."""

    settings: Settings

    def perform_job(self, job: Job, queue: Queue, *args: Any) -> bool:
        store = open_store(self.settings.database_url)
        jobs.configure(jobs.Runtime(settings=self.settings, store=store))
        try:
            with collector_paused():
                return bool(super().perform_job(job, queue, *args))
        finally:
            jobs.configure(None)
            store.close()


def forking(settings: Settings) -> None:
    """``run_worker``'s worker, forking: the same queue, serializer and scheduler."""
    connection = redis.Redis.from_url(settings.redis_url)
    queue = IngestQueue(settings.queue_name, connection=connection, serializer=OrjsonSerializer)
    worker = ForkingIngestWorker([queue], connection=connection, serializer=OrjsonSerializer)
    worker.settings = settings
    worker.work(burst=True, with_scheduler=True, logging_level="WARNING")


def run(name: str, drain: Callable[[Settings], object], env: dict[str, str], first: int) -> dict[str, float]:
    settings = load_settings(env)
    connection = redis.Redis.from_url(settings.redis_url)
    connection.flushdb()
    queue = ingest_queue(connection, settings.queue_name)
    received = datetime.now(UTC)
    for j in range(JOBS):
        calls = range(first + j * ROWS, first + (j + 1) * ROWS)
        enqueue_envelopes(queue, [Envelope("callr.webhook", "bench", received, body(n).decode()) for n in calls])
    before, started = os.times(), perf_counter()
    drain(settings)
    seconds, after = perf_counter() - started, os.times()
    cpu = sum(getattr(after, f) - getattr(before, f) for f in ("user", "system", "children_user", "children_system"))
    rows = stored(settings.database_url)
    result = {"rows": rows, "rows_per_s": round(rows / seconds), "cpu_us_per_row": round(cpu / rows * 1e6)}
    log(f"{name}: {result}")
    return result


def main() -> int:
    configure_logging(fmt="json", level="WARNING")
    results: dict[str, list[dict[str, float]]] = {"simple": [], "forking": []}

    def runs(redis_url: str, pg: PostgresServer, tmp: Path) -> None:
        for i, (name, drain) in enumerate([("simple", partial(run_worker, burst=True)), ("forking", forking)] * 3):
            database = fresh_db(pg, f"fork{i}")
            env = {"REDIS_URL": redis_url, "DATABASE_URL": database, "CALLR_ACCOUNT_SID": "bench",
                   "CALLR_WEBHOOK_SECRET": "bench", "SPOOL_DIR": str(tmp / "spool")}  # fmt: skip
            results[name].append(run(name, drain, env, first=(i + 1) * 10_000_000))

    with_servers(runs, prefix="cdr-bench-forking-")
    print(f"one worker, {JOBS} jobs of {ROWS} webhooks into PostgreSQL: rows/s (worker CPU µs a row)")
    for name, measured in results.items():
        print(f"{name:8s} " + ", ".join(f"{r['rows_per_s']:,.0f} ({r['cpu_us_per_row']:.0f})" for r in measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
