"""``make bench-poller``: a real backfill of BENCH_POLLER_ROWS (default 100,000) Callr rows from the
fake vendor API into PostgreSQL, once per source (``callr.jsonrpc``, ``callr.export``).

Its own Redis and PostgreSQL (as ``make bench``), the fake API (tests/fakes/vendor_api.py) in a
thread, ``run_backfill`` in this process (fetch + enqueue, timed), and BENCH_WORKERS (default 2)
``cdr-ingest worker`` processes draining into a fresh database. Prints one line per source:
rows/s fetched and queued by the poller, and rows/s stored end to end (poller start → queue empty).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import redis

from bench.common import fresh_db, log, queue_idle, stored
from tests.e2e.stack import Stack, wait_until
from tests.fakes.serve import serve_in_thread
from tests.fakes.vendor_api import FakeVendors, create_app, v1_cdr, v2_call
from tests.faults.servers import PostgresServer, RedisServer
from workers.logs import configure_logging
from workers.poller.backfill import run_backfill
from workers.poller.http import HttpClient
from workers.poller.progress import LogReporter
from workers.queue import enqueue_envelopes, ingest_queue
from workers.settings import load_settings

ROWS = int(os.environ.get("BENCH_POLLER_ROWS", "100000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
DAYS = 5
START = datetime(2024, 5, 1, tzinfo=UTC)


def fill(vendors: FakeVendors) -> None:
    """ROWS calls spread over DAYS days, half inbound, half outbound, for both APIs."""
    step = timedelta(days=DAYS) / ROWS
    vendors.callr.cdrs_in = [v1_cdr(n, START + n * step) for n in range(0, ROWS, 2)]
    vendors.callr.cdrs_out = [v1_cdr(n, START + n * step, outbound=True) for n in range(1, ROWS, 2)]
    vendors.callr.calls = [
        v2_call(n, START + n * step, direction="inbound" if n % 2 == 0 else "outbound") for n in range(ROWS)
    ]
    vendors.callr.pending_polls = 0  # the task is done when first asked (after the 1 s first wait)


def run(source: str, env: dict[str, str], fake_url: str, vendors: FakeVendors, tmp: Path) -> dict[str, float]:
    c = vendors.callr
    env = {**env, "CALLR_API_URL": f"{fake_url}/callr/v2.0", "CALLR_API_KEY": c.api_key,
           "CALLR_JSONRPC_URL": f"{fake_url}/callr/json-rpc/v1.1/", "CALLR_LOGIN": c.login,
           "CALLR_PASSWORD": c.password}  # fmt: skip
    settings = load_settings(env)
    r = redis.Redis.from_url(env["REDIS_URL"])
    r.flushdb()
    queue = ingest_queue(r, settings.queue_name)
    stack = Stack(env, tmp)
    client = HttpClient()
    try:
        for i in range(WORKERS):
            stack.worker(f"{source}-worker{i}")
        started = time.monotonic()
        tally = run_backfill(
            settings, "callr", START, START + timedelta(days=DAYS), client=client,
            enqueue=partial(enqueue_envelopes, queue), reporter=LogReporter(), clock=lambda: datetime.now(UTC),
            source=source,
        )  # fmt: skip
        polled = time.monotonic() - started
        wait_until(lambda: queue_idle(r, settings.queue_name), timeout_s=900, what="the queue to drain")
        total = time.monotonic() - started
    finally:
        client.close()
        stack.stop()
    rows = stored(env["DATABASE_URL"])
    return {"rows_fetched": tally.rows, "jobs": tally.pages, "rows_stored": rows,
            "poller_s": round(polled, 2), "poller_rows_per_s": round(tally.rows / polled),
            "end_to_end_s": round(total, 2), "stored_rows_per_s": round(rows / total)}  # fmt: skip


def main() -> int:
    configure_logging(fmt="json", level="WARNING")
    tmp = Path(tempfile.mkdtemp(prefix="cdr-bench-poller-"))
    redis_server = RedisServer(tmp / "redis")
    redis_server.start()
    pg = PostgresServer()
    pg.init()
    pg.start()
    vendors = FakeVendors()
    fill(vendors)
    try:
        with serve_in_thread(create_app(vendors)) as url:
            for source in ("callr.jsonrpc", "callr.export"):
                log(f"backfill of {ROWS:,} rows through {source} into PostgreSQL, {WORKERS} workers")
                env = {"REDIS_URL": redis_server.url, "DATABASE_URL": fresh_db(pg, "poller"),
                       "CALLR_ACCOUNT_SID": "bench", "LOG_FORMAT": "json", "LOG_LEVEL": "WARNING"}  # fmt: skip
                result = run(source, env, url, vendors, tmp)
                print(f"{source}: " + "  ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    finally:
        redis_server.stop()
        pg.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
