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
from contextlib import closing
from pathlib import Path
from typing import Any

from bench import poller
from bench.common import log, migrated, with_servers
from tests.faults.servers import PostgresServer
from workers.logs import configure_logging
from workers.poller.http import HttpClient
from workers.queue import IngestJob, OrjsonSerializer

ROWS = int(os.environ.get("BENCH_POLLER_ROWS", "300000"))
LIMITS = os.environ.get("BENCH_PUSH_WAIT_LIMITS", "0,20,0,20").split(",")
MARK_EVERY_S = 0.5
SOURCE = "callr.export"


def summary(waits: Sequence[float]) -> dict[str, float]:
    """The marker jobs' waits: how many, median, 90th percentile (nearest rank), the longest."""
    ordered = sorted(waits)
    if not ordered:
        return {"jobs": 0}
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return {"jobs": len(ordered), "median_s": round(statistics.median(ordered), 2), "p90_s": round(p90, 2),
            "max_s": round(ordered[-1], 2)}  # fmt: skip


def run(limit: str, env: dict[str, str], tmp: Path) -> dict[str, Any]:
    markers: list[str] = []
    done = threading.Event()
    env = {**env, "POLL_MAX_QUEUED_JOBS": limit}
    with closing(HttpClient()) as client, poller.ready(SOURCE, env, tmp, client) as stack:

        def mark() -> None:
            while not done.wait(MARK_EVERY_S):
                markers.append(stack.queue.enqueue("builtins.len", [], result_ttl=600).id)

        marking = threading.Thread(target=mark, daemon=True)
        marking.start()
        started = time.monotonic()
        try:
            tally = stack.backfill()
            stack.drained()
        finally:
            done.set()
            marking.join()
        seconds = time.monotonic() - started
        waits = []
        for job_id in markers:
            job = IngestJob.fetch(job_id, connection=stack.redis, serializer=OrjsonSerializer)
            if job.started_at and job.enqueued_at:  # the last few may not have run before the stop
                waits.append((job.started_at - job.enqueued_at).total_seconds())
    return {"limit": int(limit), "rows": tally.rows, "seconds": round(seconds, 1),
            "rows_per_s": round(tally.rows / seconds), **summary(waits)}  # fmt: skip


def main() -> int:
    configure_logging(fmt="json", level="WARNING")

    def bench(redis_url: str, pg: PostgresServer, tmp: Path) -> None:
        with poller.fake_apis(tmp, ROWS) as apis:
            for i, limit in enumerate(LIMITS):
                log(f"backfill of {ROWS:,} rows into SQLite, POLL_MAX_QUEUED_JOBS={limit}, a job marked every 0.5 s")
                env = {"REDIS_URL": redis_url, "DATABASE_URL": migrated(f"sqlite:///{tmp}/push-wait{i}.db"),
                       "LOG_FORMAT": "json", "LOG_LEVEL": "WARNING",
                       **apis.env(SOURCE)}  # fmt: skip
                print("  ".join(f"{k}={v}" for k, v in run(limit, env, tmp).items()), flush=True)

    with_servers(bench, prefix="cdr-bench-push-wait-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
