"""``make bench-poller``: a real backfill of BENCH_POLLER_ROWS (default 100,000) rows per poller source
from the fake vendor APIs (Sinch: a directory of daily files) into PostgreSQL.

Its own Redis and PostgreSQL (as ``make bench``), the fake APIs (tests/fakes/vendor_api.py) in a
thread, ``run_backfill`` in this process (fetch + enqueue, timed), and BENCH_WORKERS (default 2)
``cdr-ingest worker`` processes draining into a fresh database. Prints one line per source: rows/s
fetched and queued by the poller, and rows/s stored end to end (poller start → queue empty).
BENCH_POLLER_SOURCES (comma-separated) picks sources; default all five.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from rq import Queue, Worker

from bench.common import fresh_db, log, queue_idle, stored, wait_until_settled, with_servers
from bench.lifelike import lifelike_kazoo, lifelike_sinch, lifelike_v1, lifelike_v2, lifelike_vobiz
from bench.procs import cpu_s
from tests.e2e.stack import Stack, wait_until
from tests.fakes.kazoo_api import kazoo_row
from tests.fakes.serve import serve_in_thread
from tests.fakes.sinch_files import APP_KEY, verification_line, voice_line
from tests.fakes.vendor_api import FakeVendors, create_app, v1_cdr, v2_call
from tests.fakes.vobiz_api import vobiz_cdr
from tests.faults.servers import PostgresServer
from workers.logs import configure_logging
from workers.poller.backfill import run_backfill
from workers.poller.http import HttpClient
from workers.poller.progress import LogReporter
from workers.poller.pump import Enqueue, Tally
from workers.poller.runtime import QueueWriter
from workers.poller.sources import _files
from workers.poller.sources import callr as callr_sources
from workers.queue import ingest_queue
from workers.settings import Settings, load_settings

ROWS = int(os.environ.get("BENCH_POLLER_ROWS", "100000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
SOURCES = os.environ.get("BENCH_POLLER_SOURCES", "callr.jsonrpc,callr.export,vobiz.api,kazoo.cdrs,sinch.files")
DAYS = 5
START = datetime(2024, 5, 1, tzinfo=UTC)


def fill(vendors: FakeVendors, sinch_dir: Path, rows: int = ROWS) -> None:
    """``rows`` calls spread over DAYS days for every API; Sinch: one voice file a day (a tenth of the
    rows verifications, in a file of their own). Every call gets its own outside party (``bench.lifelike``)."""
    c, step = vendors.callr, timedelta(days=DAYS) / rows
    c.cdrs_in = [lifelike_v1(v1_cdr(n, START + n * step), n) for n in range(0, rows, 2)]
    c.cdrs_out = [lifelike_v1(v1_cdr(n, START + n * step, outbound=True), n) for n in range(1, rows, 2)]
    c.calls = [lifelike_v2(v2_call(n, START + n * step, direction="inbound" if n % 2 == 0 else "outbound"), n)
               for n in range(rows)]  # fmt: skip
    c.pending_polls = 0  # the task is done when first asked (after the 1 s first wait)
    c.cache_exports = True
    vendors.vobiz.cdrs = [lifelike_vobiz(vobiz_cdr(f"call-{n}", START + n * step, answered=n % 4 > 0), n)
                          for n in range(rows)]  # fmt: skip
    vendors.kazoo.cdrs = [lifelike_kazoo(kazoo_row(f"leg-{n}", START + n * step, answered=n % 4 > 0), n)
                          for n in range(rows)]  # fmt: skip
    for day in range(DAYS):
        at = START + timedelta(days=day)
        per_day = range(day * rows // DAYS, (day + 1) * rows // DAYS)
        voice = [lifelike_sinch(voice_line("pstn_terminated", f"sinch-{n}", START + n * step), n)
                 for n in per_day if n % 10]  # fmt: skip
        checks = [verification_line(f"v-{n}", START + n * step) for n in per_day if n % 10 == 0]
        (sinch_dir / f"voice-{at:%Y-%m-%d}.csv").write_text("\n".join(voice) + "\n")
        (sinch_dir / f"verification-{at:%Y-%m-%d}.csv").write_text("\n".join(checks) + "\n")


def source_env(source: str, url: str, vendors: FakeVendors, sinch_dir: Path) -> dict[str, str]:
    c, v, k = vendors.callr, vendors.vobiz, vendors.kazoo
    return {
        "callr": {"CALLR_API_URL": f"{url}/callr/v2.0", "CALLR_API_KEY": c.api_key,
                  "CALLR_JSONRPC_URL": f"{url}/callr/json-rpc/v1.1/", "CALLR_LOGIN": c.login,
                  "CALLR_PASSWORD": c.password, "CALLR_ACCOUNT_SID": "bench"},
        "vobiz": {"VOBIZ_API_URL": f"{url}/vobiz/api/v1", "VOBIZ_AUTH_ID": v.auth_id, "VOBIZ_AUTH_TOKEN": v.auth_token},
        "kazoo": {"KAZOO_API_URL": f"{url}/kazoo/v2", "KAZOO_ACCOUNT_ID": k.account_id,
                  "KAZOO_AUTH_TOKEN": k.auth_token},
        "sinch": {"SINCH_CDR_SOURCE": str(sinch_dir), "SINCH_APP_KEY": APP_KEY},
    }[source.split(".")[0]]  # fmt: skip


@dataclass
class FakeApis:
    """The fake vendor APIs, filled and served: what a backfill reads."""

    url: str
    vendors: FakeVendors
    sinch_dir: Path

    def env(self, source: str) -> dict[str, str]:
        """The settings' environment that points ``source``'s account at these APIs."""
        return source_env(source, self.url, self.vendors, self.sinch_dir)


@contextmanager
def fake_apis(tmp: Path, rows: int = ROWS) -> Iterator[FakeApis]:
    """The fake vendor APIs with ``rows`` calls each (``fill``; Sinch's files under ``tmp/sinch``),
    served from a thread of this process until the block ends."""
    vendors = FakeVendors()
    sinch_dir = tmp / "sinch"
    sinch_dir.mkdir(exist_ok=True)
    fill(vendors, sinch_dir, rows)
    with serve_in_thread(create_app(vendors)) as url:
        yield FakeApis(url, vendors, sinch_dir)


@contextmanager
def no_task_waits() -> Iterator[None]:
    """The fake API finishes a Callr export task at once: the poller's waits before asking for it
    (TASK_DELAYS_S, 1 s first) would be 10 s of sleep in a ~2 s backfill, measuring nothing of
    ours. Put back after (the poller's own tests wait as it does). Also a decorator."""
    delays = callr_sources.TASK_DELAYS_S
    callr_sources.TASK_DELAYS_S = (0,) * len(delays)
    try:
        yield
    finally:
        callr_sources.TASK_DELAYS_S = delays


def backfill_span(settings: Settings, source: str, *, client: HttpClient, enqueue: Enqueue) -> Tally:
    """The bench's whole span of ``source`` (DAYS days from START) through the real poller."""
    return run_backfill(settings, source.split(".")[0], START, START + timedelta(days=DAYS), client=client,
                        enqueue=enqueue, reporter=LogReporter(), clock=lambda: datetime.now(UTC),
                        source=source)  # fmt: skip


@contextmanager
def backlog_sampled(queue: Queue, every_s: float = 0.02) -> Iterator[list[int]]:
    """The queue's waiting jobs, sampled every ``every_s`` while the block runs."""
    samples: list[int] = []
    done = threading.Event()
    connection = queue.connection  # its pool hands this thread a connection of its own

    def sample() -> None:
        while not done.wait(every_s):
            samples.append(connection.llen(queue.key))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        done.set()
        thread.join()


@dataclass
class Ready:
    """A backfill's stack, warmed up and with its workers registered: what a timed pass needs."""

    source: str
    settings: Settings
    client: HttpClient
    redis: redis.Redis
    queue: Queue
    workers: list[subprocess.Popen[bytes]]
    writer: QueueWriter  # the poller's own: held back at POLL_MAX_QUEUED_JOBS

    def backfill(self) -> Tally:
        """The timed pass: the whole span through the poller's writer."""
        return backfill_span(self.settings, self.source, client=self.client, enqueue=self.writer)

    def drained(self) -> None:
        wait_until(lambda: queue_idle(self.redis, self.settings.queue_name), timeout_s=900,
                   what="the queue to drain")  # fmt: skip


@contextmanager
def ready(source: str, env: dict[str, str], tmp: Path, client: HttpClient) -> Iterator[Ready]:
    """An empty Redis, a warm-up pass of ``source`` (its rows thrown away: the fake Callr export
    builds each file once, ``cache_exports``, so a timed pass measures the poller, not the fake),
    then ``WORKERS`` workers, registered before the block: their start (imports, connecting) is
    not backfill time. Stopped after; the Callr task waits are skipped throughout."""
    settings = load_settings(env)
    r = redis.Redis.from_url(env["REDIS_URL"])
    r.flushdb()
    stack = Stack(env, tmp)
    writer = QueueWriter(settings)
    try:
        with no_task_waits():
            backfill_span(settings, source, client=client, enqueue=lambda envelopes: None)
            workers = [stack.worker(f"{source}-worker{i}") for i in range(WORKERS)]
            wait_until(lambda: Worker.count(connection=r) >= WORKERS, what="the workers to register")
            yield Ready(source, settings, client, r, ingest_queue(r, settings.queue_name), workers, writer)
    finally:
        writer.connection.close()
        stack.stop()


def run(source: str, env: dict[str, str], tmp: Path) -> dict[str, float]:
    with closing(HttpClient()) as client, ready(source, env, tmp, client) as stack:
        started = time.monotonic()
        workers_cpu_before = sum(cpu_s(p.pid) for p in stack.workers)
        process_cpu_before, poller_cpu_before = time.process_time(), time.thread_time()
        with backlog_sampled(stack.queue) as backlog:
            tally = stack.backfill()
        polled = time.monotonic() - started
        stack.drained()
        total = time.monotonic() - started
        worker_cpu = sum(cpu_s(p.pid) for p in stack.workers) - workers_cpu_before
        # This thread runs the poller; the fake API serves from another thread of this process.
        poller_cpu = time.thread_time() - poller_cpu_before
        fake_cpu = time.process_time() - process_cpu_before - poller_cpu
        # A worker may hold the last job between dequeuing it and registering it as started:
        # idle is believed once the stored count no longer moves.
        wait_until_settled(env["DATABASE_URL"])
    rows = stored(env["DATABASE_URL"])
    return {"rows_fetched": tally.rows, "pages": tally.pages, "rows_stored": rows,
            "queued_jobs_max": max(backlog, default=0), "queue_limit": stack.settings.poll_max_queued_jobs,
            "poller_s": round(polled, 2), "poller_rows_per_s": round(tally.rows / polled),
            "end_to_end_s": round(total, 2), "stored_rows_per_s": round(rows / total),
            # CPU per row: the workers (normalize, merge, store); the poller (fetch, wrap, enqueue); the
            # fake vendor API it reads (load, not ours: on the same cores all the same).
            "worker_cpu_us_per_row": round(worker_cpu / rows * 1e6),
            "poller_cpu_us_per_row": round(poller_cpu / rows * 1e6),
            "fake_api_cpu_us_per_row": round(fake_cpu / rows * 1e6)}  # fmt: skip


def main() -> int:
    configure_logging(fmt="json", level="WARNING")
    _files.SETTLE_S = 0  # the bench writes its files just before reading them

    def bench(redis_url: str, pg: PostgresServer, tmp: Path) -> None:
        with fake_apis(tmp) as apis:
            for source in SOURCES.split(","):
                log(f"backfill of {ROWS:,} rows through {source} into PostgreSQL, {WORKERS} workers")
                env = {"REDIS_URL": redis_url, "DATABASE_URL": fresh_db(pg, "poller"), "LOG_FORMAT": "json",
                       "LOG_LEVEL": "WARNING", **apis.env(source)}  # fmt: skip
                result = run(source, env, tmp)
                print(f"{source}: " + "  ".join(f"{k}={v}" for k, v in result.items()), flush=True)

    with_servers(bench, prefix="cdr-bench-poller-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
