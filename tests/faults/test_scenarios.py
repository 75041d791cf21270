"""Fault injection: a stream of signed deliveries while something fails; the ledger must balance
(sent = accepted + duplicate + rejected + quarantined) and every accepted delivery must be stored.

Each scenario runs the real receiver (uvicorn) and real RQ workers as processes against a private
redis-server (AOF) and a private PostgreSQL cluster on free ports.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from rq.registry import StartedJobRegistry

from tests.conftest import CALLR_SECRET, CALLR_TOKEN
from tests.e2e.stack import Stack, running_stack, wait_until
from tests.faults.ledger import REPORTS, Ledger, call_id, send_stream
from tests.faults.servers import PostgresServer, RedisServer
from workers.queue import ingest_queue
from workers.store import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.init()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def database(postgres: PostgresServer) -> str:
    name = f"s_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def stack(redis_server: RedisServer, database: str, tmp_path: Path) -> Iterator[Stack]:
    env = {
        "REDIS_URL": redis_server.url,
        "DATABASE_URL": database,
        "CALLR_WEBHOOK_SECRET": CALLR_SECRET,
        "CALLR_ACTIONS_TOKEN": CALLR_TOKEN,
        "CALLR_ACCOUNT_SID": "acct1",
        "LOG_FORMAT": "json",
        "SPOOL_DIR": str(tmp_path / "spool"),
        "JOB_TIMEOUT_S": "5",
        "WORKER_MAINTENANCE_S": "1",
    }
    with running_stack(env, tmp_path) as s:
        s.serve()
        yield s


def settle(ledger: Ledger, database: str, numbers: set[int], timeout_s: float = 90) -> None:
    """Wait until every accepted delivery is stored (or time out), then fill in stored and lost."""
    store = open_store(database)
    try:

        def missing() -> set[int]:
            return {n for n in ledger.accepted if store.get(call_id(n)) is None}

        try:
            wait_until(lambda: not missing(), timeout_s=timeout_s, what="every accepted delivery to be stored")
        except AssertionError:
            pass
        ledger.lost = len(missing())
        ledger.stored = sum(1 for n in numbers if store.get(call_id(n)) is not None)
    finally:
        store.close()
    REPORTS.append(ledger.summary())
    assert ledger.balances()
    assert ledger.lost == 0, ledger.summary()


def test_redis_stopped_mid_stream(stack: Stack, redis_server: RedisServer, database: str) -> None:
    """Redis stops a third into the stream and restarts 5 s later: the spool answers 202 meanwhile, nothing is lost."""
    worker = stack.worker()
    ledger = Ledger("redis stopped 5 s")
    numbers = list(range(300))
    down_at = {"t": 0.0}

    def fault(i: int) -> None:
        if i == 100:
            redis_server.stop()
            down_at["t"] = time.monotonic()
        if i == 200:
            time.sleep(max(0.0, 5 - (time.monotonic() - down_at["t"])))
            redis_server.start()

    send_stream(stack.base_url, ledger, numbers, concurrency=4, interval_s=0.02, on_sent=fault)
    spooled = stack.log("receiver").count('"durable_in": "spool"')
    ledger.notes["spooled"] = spooled
    settle(ledger, database, set(numbers))
    assert spooled > 0 and ledger.outcomes["accepted"] == len(numbers)
    assert worker.poll() is None, "the worker must ride out the Redis outage, not exit"


def test_worker_killed_mid_batch(stack: Stack, redis_server: RedisServer, database: str) -> None:
    """A worker is kill -9'd while it holds a job; a surviving worker re-runs it: nothing is lost."""
    victim = stack.worker("victim")
    stack.worker("survivor")
    client = redis.Redis.from_url(redis_server.url)
    queue = ingest_queue(client, "cdr-ingest")
    ledger = Ledger("worker kill -9")
    numbers = list(range(600))
    killed = {"abandoned": 0}

    def fault(i: int) -> None:
        if i == 300 and victim.poll() is None:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not StartedJobRegistry(queue=queue).get_job_ids(cleanup=False):
                time.sleep(0.001)
            os.kill(victim.pid, signal.SIGKILL)
            killed["abandoned"] = len(StartedJobRegistry(queue=queue).get_job_ids(cleanup=False))

    send_stream(stack.base_url, ledger, numbers, concurrency=16, on_sent=fault)
    ledger.notes["jobs_in_flight_at_kill"] = killed["abandoned"]
    settle(ledger, database, set(numbers))
    client.close()


def test_postgres_restarted_mid_stream(stack: Stack, postgres: PostgresServer, database: str) -> None:
    """PostgreSQL restarts mid-stream: failed store writes are retried by RQ until they land."""
    stack.worker()
    ledger = Ledger("postgres restarted")
    numbers = list(range(300))

    def fault(i: int) -> None:
        if i == 100:
            postgres.stop()
        if i == 150:
            time.sleep(2)
            postgres.start()

    send_stream(stack.base_url, ledger, numbers, concurrency=4, interval_s=0.01, on_sent=fault)
    ledger.notes["store_failures_retried"] = stack.log("worker").count("ingest.store_failed")
    settle(ledger, database, set(numbers))


def test_receiver_sigterm_mid_stream(stack: Stack, database: str) -> None:
    """SIGTERM to the receiver mid-stream: in-flight requests finish, and every 2xx is stored."""
    stack.worker()
    receiver = stack.processes[0]
    ledger = Ledger("receiver SIGTERM")
    numbers = list(range(400))

    def fault(i: int) -> None:
        if i == 200:
            receiver.send_signal(signal.SIGTERM)

    send_stream(stack.base_url, ledger, numbers, concurrency=8, interval_s=0.005, on_sent=fault)
    receiver.wait(timeout=30)
    ledger.notes["receiver_exit_code"] = receiver.returncode
    settle(ledger, database, set(numbers))
    assert ledger.outcomes["accepted"] >= 150 and ledger.outcomes["rejected"] > 0


def test_redelivery_storm(stack: Stack, database: str) -> None:
    """Every delivery sent 10 times, concurrently: one 202 and nine duplicates each, one row each."""
    stack.worker()
    ledger = Ledger("redelivery storm x10")
    distinct = list(range(150))
    numbers = [n for n in distinct for _ in range(10)]
    send_stream(stack.base_url, ledger, numbers, concurrency=32)
    settle(ledger, database, set(distinct))
    assert ledger.stored == len(distinct)
    assert ledger.outcomes["accepted"] == len(distinct) and ledger.outcomes["duplicate"] == 9 * len(distinct)
    store = open_store(database)
    try:
        assert store.count() == len(distinct)
    finally:
        store.close()
