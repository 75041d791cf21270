"""Helpers shared by the benchmarks: logging, fresh databases, counts, queue state."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import psycopg
import redis

from tests.faults.servers import PostgresServer
from workers.inbox import inbox_key
from workers.queue import ingest_queue
from workers.store import open_store


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
    store = open_store(database_url)
    try:
        return store.count()
    finally:
        store.close()


def queue_idle(r: redis.Redis, name: str) -> bool:
    """Nothing waiting: inbox empty, no job queued, running or scheduled for a retry."""
    q = ingest_queue(r, name)
    return (
        r.llen(inbox_key(name)) == 0
        and q.count == 0
        and q.started_job_registry.count == 0
        and q.scheduled_job_registry.count == 0
    )
