"""``make bench-push-wait``: how long a push's job waits in the queue while a backfill runs, with the
poller's bound (``POLL_MAX_QUEUED_JOBS``) and without it.

A Redis and a PostgreSQL of its own (as ``make bench``; the store is SQLite), the fake Callr export
API in a thread, ``BENCH_WORKERS`` (2) ``cdr-ingest worker`` processes, and the real poller backfilling
``BENCH_POLLER_ROWS`` (default 300,000) rows through its own ``QueueWriter``. Meanwhile a no-op job
goes onto the ingest queue every ``MARK_EVERY_S``, as the receiver enqueues a drain job; each one's
wait is RQ's ``started_at - enqueued_at``. ``BENCH_PUSH_WAIT_LIMITS`` (default ``0,20,0,20``: in turn,
so a slow minute hits both) are the bounds tried. Prints one line per run: rows/s and the waits.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis
from rq import Worker

from bench import poller
from bench.common import log, migrated, queue_idle, with_servers
from tests.e2e.stack import Stack, wait_until
from tests.fakes.serve import serve_in_thread
from tests.fakes.vendor_api import FakeVendors, create_app
from tests.faults.servers import PostgresServer
from workers.logs import configure_logging
from workers.poller.http import HttpClient
from workers.poller.runtime import QueueWriter
from workers.queue import IngestJob, OrjsonSerializer, ingest_queue
from workers.settings import load_settings

ROWS = int(os.environ.get("BENCH_POLLER_ROWS", "300000"))
LIMITS = os.environ.get("BENCH_PUSH_WAIT_LIMITS", "0,20,0,20").split(",")
MARK_EVERY_S = 0.5


def summary(waits: Sequence[float]) -> dict[str, float]:
    """The marker jobs' waits: how many, median, 90th percentile (nearest rank), the longest."""
    ordered = sorted(waits)
    if not ordered:
        return {"jobs": 0}
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return {"jobs": len(ordered), "median_s": round(statistics.median(ordered), 2), "p90_s": round(p90, 2),
            "max_s": round(ordered[-1], 2)}  # fmt: skip


def run(limit: str, env: dict[str, str], tmp: Path) -> dict[str, Any]:
    settings = load_settings({**env, "POLL_MAX_QUEUED_JOBS": limit})
    r = redis.Redis.from_url(settings.redis_url)
    r.flushdb()
    queue = ingest_queue(r, settings.queue_name)
    stack = Stack({**env, "POLL_MAX_QUEUED_JOBS": limit}, tmp)
    client, writer = HttpClient(), QueueWriter(settings)
    markers: list[str] = []
    done = threading.Event()

    def mark() -> None:
        while not done.wait(MARK_EVERY_S):
            markers.append(queue.enqueue("builtins.len", [], result_ttl=600).id)

    try:
        with poller.no_task_waits():
            poller.backfill_span(settings, "callr.export", client=client, enqueue=lambda envelopes: None)  # warm-up
            for i in range(poller.WORKERS):
                stack.worker(f"push-wait-worker{i}")
            wait_until(lambda: Worker.count(connection=r) >= poller.WORKERS, what="the workers to register")
            marking = threading.Thread(target=mark, daemon=True)
            marking.start()
            started = time.monotonic()
            tally = poller.backfill_span(settings, "callr.export", client=client, enqueue=writer)
            wait_until(lambda: queue_idle(r, settings.queue_name), timeout_s=900, what="the queue to drain")
            seconds = time.monotonic() - started
            done.set()
            marking.join()
    finally:
        client.close()
        writer.connection.close()
        stack.stop()
    waits = []
    for job_id in markers:
        job = IngestJob.fetch(job_id, connection=r, serializer=OrjsonSerializer)
        if job.started_at and job.enqueued_at:  # the last few may not have run before the stop
            waits.append((job.started_at - job.enqueued_at).total_seconds())
    return {"limit": int(limit), "rows": tally.rows, "seconds": round(seconds, 1),
            "rows_per_s": round(tally.rows / seconds), **summary(waits)}  # fmt: skip


def main() -> int:
    configure_logging(fmt="json", level="WARNING")

    def bench(redis_url: str, pg: PostgresServer, tmp: Path) -> None:
        vendors = FakeVendors()
        sinch_dir = tmp / "sinch"
        sinch_dir.mkdir()
        poller.fill(vendors, sinch_dir, ROWS)
        with serve_in_thread(create_app(vendors)) as url:
            for i, limit in enumerate(LIMITS):
                log(f"backfill of {ROWS:,} rows into SQLite, POLL_MAX_QUEUED_JOBS={limit}, a job marked every 0.5 s")
                env = {"REDIS_URL": redis_url, "DATABASE_URL": migrated(f"sqlite:///{tmp}/push-wait{i}.db"),
                       "LOG_FORMAT": "json", "LOG_LEVEL": "WARNING",
                       **poller.source_env("callr.export", url, vendors, sinch_dir)}  # fmt: skip
                print("  ".join(f"{k}={v}" for k, v in run(limit, env, tmp).items()), flush=True)

    with_servers(bench, prefix="cdr-bench-push-wait-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
