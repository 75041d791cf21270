"""``make bench-replay``: a worker's CPU a backfilled row, in process, without RQ or the poller's
process in the way: the figure to compare two commits by when this VM's speed drifts.

The real poller (``callr.export``) pages ``BENCH_REPLAY_ROWS`` (default 100,000) rows from the fake
vendor API (``bench.poller.fill``) and its jobs are kept as the worker would receive them (the
envelopes' dicts); then ``workers.jobs.ingest`` replays them, the collector paused as a worker
pauses it, into a fresh SQLite file (and, with ``BENCH_REPLAY_POSTGRES=1``, a fresh PostgreSQL
database of this run's own server), ``BENCH_RUNS`` times (default 3). Printed per run: CPU µs a
row of this process and rows/s.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing, nullcontext
from pathlib import Path
from typing import Any

from bench import poller
from bench.common import fresh_db, log, migrated, postgres_server
from workers import jobs
from workers.collector import collector_paused
from workers.envelope import Envelope, delivery_count, pack
from workers.logs import configure_logging
from workers.poller.http import HttpClient
from workers.settings import Settings, load_settings
from workers.store import open_store

ROWS = int(os.environ.get("BENCH_REPLAY_ROWS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ENV = {"REDIS_URL": "redis://127.0.0.1:1/0", "CALLR_ACCOUNT_SID": "bench"}  # no Redis is used


@poller.no_task_waits()
def captured_jobs(rows: int = ROWS) -> tuple[dict[str, str], list[list[dict[str, Any]]]]:
    """The poller's jobs for ``rows`` Callr export rows, and the settings' environment that reads them."""
    captured: list[list[dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp, poller.fake_apis(Path(tmp), rows) as apis, \
            closing(HttpClient()) as client:  # fmt: skip
        env = {**ENV, **apis.env("callr.export")}

        def keep(envelopes: Sequence[Envelope]) -> None:
            captured.append(pack(envelopes))  # the job's items, as ``enqueue_envelopes`` writes them

        poller.backfill_span(load_settings(env), "callr.export", client=client, enqueue=keep)
    return env, captured


def replay(settings: Settings, batches: list[list[dict[str, Any]]]) -> dict[str, float]:
    """Every batch through ``jobs.ingest`` into ``settings.database_url``: CPU µs a row, rows/s."""
    store = open_store(settings.database_url)
    jobs.configure(jobs.Runtime(settings=settings, store=store))
    rows = sum(delivery_count(b) for b in batches)
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        with collector_paused():
            for batch in batches:
                jobs.ingest(batch)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        stored = store.count()
    finally:
        jobs.configure(None)
        store.close()
    return {"rows": stored, "cpu_us_per_row": round(cpu / rows * 1e6, 1), "rows_per_s": round(rows / wall)}


def main() -> int:
    configure_logging(fmt="json", level="WARNING")
    log(f"capturing the poller's jobs for {ROWS:,} Callr export rows")
    env, batches = captured_jobs()
    with_postgres = os.environ.get("BENCH_REPLAY_POSTGRES") == "1"
    with tempfile.TemporaryDirectory(prefix="cdr-bench-replay-") as tmp, \
            postgres_server() if with_postgres else nullcontext() as pg:  # fmt: skip
        for i in range(RUNS):
            targets = {"sqlite": migrated(f"sqlite:///{tmp}/replay{i}.db")}
            if pg is not None:
                targets["postgresql"] = fresh_db(pg, f"replay{i}")
            for name, url in targets.items():
                log(f"run {i + 1}, {name}: {replay(load_settings({**env, 'DATABASE_URL': url}), batches)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
