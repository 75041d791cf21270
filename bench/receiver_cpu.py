"""``make bench-receiver``: where a delivery's CPU goes with the receiver alone under wrk.

Its own Redis (AOF, as ``make bench``); the receiver with ``BENCH_RECEIVER_WORKERS`` uvicorn
workers (default 2); wrk at 64 connections for ``BENCH_SECONDS`` (default 10) on ``make bench``'s
requests of every feed (``BENCH_FEED``, a feed name, keeps one). ``BENCH_RUNS`` runs (default 3).
Per run: accepted req/s, CPU µs a request of the receiver, Redis and wrk (from ``/proc`` and
``getrusage``), and the envelopes per inbox push (Redis's ``EVALSHA`` calls): the figures the
README's "Every feed, step by step" gives. To compare two commits in the same minutes, run each
from a checkout of its own, one after the other (``git worktree add /tmp/old COMMIT``, build its
compiled modules there, then ``cd /tmp/old && PYTHONPATH=/tmp/old .../python -m bench.receiver_cpu``):
``python -m`` imports from the working directory first, and the receiver it starts inherits it, so
``PYTHONPATH`` alone, from this checkout, measures this checkout twice.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
from pathlib import Path

import redis

from bench.common import log
from bench.payloads import ENV, FEEDS, write_requests
from bench.procs import cpu_s, wrk
from tests.e2e.stack import Stack
from tests.faults.servers import RedisServer

WORKERS = int(os.environ.get("BENCH_RECEIVER_WORKERS", "2"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
FEED = os.environ.get("BENCH_FEED")
REQUESTS = 300_000


def requests_file(path: Path, feed: str | None, count: int = REQUESTS) -> Path:
    """``count`` deliveries of every feed in turn, or of ``feed`` only."""
    if feed is None:
        return write_requests(path, 0, count)
    return write_requests(path, [name for name, *_ in FEEDS].index(feed), count, step=len(FEEDS))


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(requests: Path, tmp: Path) -> dict[str, float]:
    redis_server = RedisServer(tmp / "redis")
    redis_server.start()
    assert redis_server.process is not None
    env = {**ENV, "REDIS_URL": redis_server.url, "LOG_FORMAT": "json", "LOG_LEVEL": "WARNING",
           "SPOOL_DIR": str(tmp / "spool"), "DATABASE_URL": f"sqlite:///{tmp}/unused.db",
           "RECEIVER_WORKERS": str(WORKERS)}  # fmt: skip
    stack = Stack(env, tmp)
    try:
        stack.serve()
        receiver, server = stack.processes[0].pid, redis_server.process.pid
        before = (cpu_s(receiver), cpu_s(server), _children_cpu_s())
        result = wrk(stack.base_url, requests, threads=2, connections=64, seconds=SECONDS)
        after = (cpu_s(receiver), cpu_s(server), _children_cpu_s())
        pushes = redis.Redis.from_url(redis_server.url).info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    finally:
        stack.stop()
        redis_server.stop()
    queued = result["outcomes"].get("queued", 0)
    us = [round((a - b) / max(1, queued) * 1e6, 1) for a, b in zip(after, before, strict=True)]
    return {"req_per_s": round(queued / (result["duration_us"] / 1e6)), "receiver_us": us[0], "redis_us": us[1],
            "wrk_us": us[2], "envelopes_per_push": round(queued / max(1, pushes), 1)}  # fmt: skip


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="cdr-bench-receiver-"))
    requests = requests_file(tmp / "requests.txt", FEED)
    for i in range(RUNS):
        log(f"run {i + 1}: {one_run(requests, tmp / str(i))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
