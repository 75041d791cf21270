"""``make bench-poller-cpu``: the poller's CPU a backfilled row, in process, without workers or the
VM's other load in the way: the figure to compare two commits of the poller by (``make bench``'s
"poller N us" moves with everything else that shares the cores).

The real poller (``callr.export``) pages ``BENCH_POLLER_ROWS`` (default 100,000) rows from the fake
vendor API (``bench.poller.fill``, served from a thread of this process) and enqueues them through
its own ``QueueWriter`` into a Redis of this run's own, with no bound (no worker takes the jobs; the
queue is emptied between runs), ``BENCH_RUNS`` times (default 3) after a warm-up pass. Printed per
run: CPU µs a row of the poller's thread (fetch, read, wrap, pack, compress, enqueue) and of the
whole process (the fake API's thread too).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from bench import poller
from bench.common import log
from tests.faults.servers import RedisServer
from workers.envelope import delivery_count
from workers.logs import configure_logging
from workers.poller.http import HttpClient
from workers.poller.runtime import QueueWriter
from workers.settings import Settings, load_settings

RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def timed_pass(settings: Settings, client: HttpClient) -> dict[str, float]:
    """One backfill of the bench's span into the queue, on an empty Redis: CPU µs a row, rows queued."""
    writer = QueueWriter(settings)
    writer.connection.flushdb()
    try:
        thread, process = time.thread_time(), time.process_time()
        tally = poller.backfill_span(settings, "callr.export", client=client, enqueue=writer)
        thread, process = time.thread_time() - thread, time.process_time() - process
        queued = sum(delivery_count(job.args[0]) for job in writer.queue.jobs)
    finally:
        writer.connection.flushdb()
        writer.connection.close()
    return {"rows": tally.rows, "queued": queued, "poller_cpu_us_per_row": round(thread / tally.rows * 1e6, 1),
            "process_cpu_us_per_row": round(process / tally.rows * 1e6, 1)}  # fmt: skip


@poller.no_task_waits()
def run(rows: int = poller.ROWS, runs: int = RUNS) -> list[dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="cdr-bench-poller-cpu-") as tmp:
        redis_server = RedisServer(Path(tmp) / "redis")
        redis_server.start()
        try:
            with poller.fake_apis(Path(tmp), rows) as apis, closing(HttpClient()) as client:
                settings = load_settings({"REDIS_URL": redis_server.url, "POLL_MAX_QUEUED_JOBS": "0",
                                          **apis.env("callr.export")})  # fmt: skip
                poller.backfill_span(settings, "callr.export", client=client, enqueue=lambda envelopes: None)
                return [timed_pass(settings, client) for _ in range(runs)]
        finally:
            redis_server.stop()


def main() -> int:
    configure_logging(fmt="json", level="WARNING")
    log(f"the poller paging {poller.ROWS:,} Callr export rows into Redis, {RUNS} runs")
    for i, result in enumerate(run()):
        log(f"run {i + 1}: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
