"""Helpers shared by the benchmarks: logging, fresh databases, counts, queue state."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import psycopg
import redis

from tests.e2e.stack import wait_until
from tests.faults.servers import PostgresServer, RedisServer
from workers.inbox import inbox_key
from workers.queue import ingest_queue
from workers.store import open_store

T = TypeVar("T")


def median_run(runs: Sequence[T], key: Callable[[T], float]) -> T:
    """The run with the median ``key`` (the upper one of an even count): this VM's speed drifts from
    one minute to the next, so the benches repeat a measurement and keep this one, with the range."""
    return sorted(runs, key=key)[len(runs) // 2]


def speed_ms() -> float:
    """CPU ms of a fixed piece of pure Python (small dicts, text, ints; the best of three): this VM's
    speed at the time, which drifts by half within an hour, so that runs hours apart can be told
    from changes to the code. Lower is faster."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        rows = [{"id": i, "text": f"{i:08x}", "n": i % 7} for i in range(100_000)]
        total = sum(len(r["text"]) + r["n"] for r in rows)
        best = min(best, time.process_time() - start)
        assert total > 0
    return round(best * 1000, 1)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fresh_db(pg: PostgresServer, name: str) -> str:
    """A new, migrated database on the benchmark's own PostgreSQL."""
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    url = pg.url.rsplit("/", 1)[0] + f"/{name}"
    migrated(url)
    return url


def migrated(url: str) -> str:
    store = open_store(url)
    try:
        store.migrate(now=datetime.now(UTC))
    finally:
        store.close()
    return url


def stored(database_url: str) -> int:
    """Call legs and verifications stored."""
    store = open_store(database_url)
    try:
        return store.count() + store.count("verifications")
    finally:
        store.close()


def wait_until_settled(database_url: str, timeout_s: float = 60) -> None:
    """A worker may hold the last job between dequeuing it and registering it as started: the
    queue looks idle then, so the run is believed over once the stored count stops moving."""
    seen: list[int] = []

    def settled() -> bool:
        seen.append(stored(database_url))
        time.sleep(0.5)
        return len(seen) > 1 and seen[-1] == seen[-2]

    wait_until(settled, timeout_s=timeout_s, what="the stored count to settle")


def queue_idle(r: redis.Redis, name: str) -> bool:
    """Nothing waiting: inbox empty, no job queued, running or scheduled for a retry."""
    q = ingest_queue(r, name)
    return (
        r.llen(inbox_key(name)) == 0
        and q.count == 0
        and q.started_job_registry.count == 0
        and q.scheduled_job_registry.count == 0
    )


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL of the benchmark's own, removed after."""
    pg = PostgresServer()
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


def with_servers(body: Callable[[str, PostgresServer, Path], None], prefix: str = "cdr-bench-") -> None:
    """``body(Redis URL, PostgreSQL server, a scratch directory)`` on a Redis and a PostgreSQL of
    the benchmark's own, stopped and removed after."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    redis_server = RedisServer(tmp / "redis")
    redis_server.start()
    try:
        with postgres_server() as pg:
            body(redis_server.url, pg, tmp)
    finally:
        redis_server.stop()
