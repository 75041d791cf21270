"""Shared fixtures: real Redis (a claimed DB number, flushed around each test), real PostgreSQL
(a schema of this session's own), SQLite in a temp dir, settings factories, the fake vendor APIs,
log reset."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import structlog
from rq import Queue, SimpleWorker

from tests.fakes.serve import serve_in_thread
from tests.fakes.vendor_api import FakeCallr, FakeKazoo, FakeVendors, FakeVobiz, create_app
from workers import jobs
from workers.settings import Settings, load_settings
from workers.store import SqlStore, open_store

REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
PG_BASE = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PAYLOADS = Path(__file__).parent / "payloads"


@pytest.fixture(scope="session")
def redis_db() -> Iterator[int]:
    """A Redis DB number no other test session is using (claimed with SET NX in DB 0)."""
    lock = redis.Redis.from_url(f"{REDIS_BASE}/0")
    token = uuid.uuid4().hex
    for n in range(1, 16):
        if lock.set(f"cdr-ingest:test-db-claim:{n}", token, nx=True, ex=3 * 3600):
            break
    else:
        pytest.fail("every Redis test DB (1-15) is claimed by another test session")
    try:
        yield n
    finally:
        if lock.get(f"cdr-ingest:test-db-claim:{n}") == token.encode():
            lock.delete(f"cdr-ingest:test-db-claim:{n}")
        lock.close()


@pytest.fixture(scope="session")
def redis_url(redis_db: int) -> str:
    return f"{REDIS_BASE}/{redis_db}"


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema made for this session, dropped after."""
    schema = f"cdr_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_BASE else "?"
    yield f"{PG_BASE}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def _pg_migrated(pg_url: str) -> str:
    from datetime import UTC, datetime

    store = open_store(pg_url)
    store.migrate(now=datetime.now(UTC))
    store.close()
    return pg_url


@pytest.fixture
def pg_store_url(_pg_migrated: str) -> Iterator[str]:
    """The session schema, migrated, with every table emptied before the test."""
    with psycopg.connect(_pg_migrated, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        tables = [t for t in tables if t != "schema_migrations"]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)}")
    yield _pg_migrated


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cdr.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once per store."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/cdr.db"
    url: str = request.getfixturevalue("pg_store_url")
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    from datetime import UTC, datetime

    s = open_store(database_url)
    s.migrate(now=datetime.now(UTC))
    yield s
    s.close()


CALLR_SECRET = "callr-webhook-secret"
CALLR_TOKEN = "callr-actions-token"
VOBIZ_SECRET = "vobiz-trunk-secret"
VOBIZ_TOKEN = "vobiz-auth-token"
VOBIZ_MAIN_TOKEN = "vobiz-main-token"
SINCH_KEY = "669E367E-6BBA-48AB-AF15-266871C28135"  # the sinch/docs worked example's application
SINCH_SECRET = "BeIukql3pTKJ8RGL5zo0DA=="
KAZOO_ACCOUNT = "91eb05e5c68d7ca05e7618b6821d2d16"
KAZOO_TOKEN = "kazoo-url-token"
PUBLIC_BASE = "https://cdr.example.com"
# Every push source of issue 3 enabled, as an operator would configure them.
PUSH_ENV = {
    "VOBIZ_AUTH_ID": "MA_XXXXXXXX",
    "VOBIZ_WEBHOOK_SECRET": VOBIZ_SECRET,
    "VOBIZ_AUTH_TOKEN": VOBIZ_TOKEN,
    "VOBIZ_MAIN_AUTH_TOKEN": VOBIZ_MAIN_TOKEN,
    "VOBIZ_DEFAULT_REGION": "IN",
    "SINCH_APP_KEY": SINCH_KEY,
    "SINCH_APP_SECRET": SINCH_SECRET,
    "KAZOO_ACCOUNT_ID": KAZOO_ACCOUNT,
    "KAZOO_WEBHOOK_TOKEN": KAZOO_TOKEN,
    "PUBLIC_BASE_URL": PUBLIC_BASE,
}


@pytest.fixture
def make_settings(redis_url: str, sqlite_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings as ``load_settings`` builds them from an environment; keywords override."""

    def make(**env: Any) -> Settings:
        base = {
            "REDIS_URL": redis_url,
            "DATABASE_URL": sqlite_url,
            "CALLR_WEBHOOK_SECRET": CALLR_SECRET,
            "CALLR_ACTIONS_TOKEN": CALLR_TOKEN,
            "CALLR_ACCOUNT_SID": "acct1",
            "LOG_FORMAT": "json",
            "SPOOL_DIR": str(tmp_path / "spool"),
        }
        base.update({k: str(v) for k, v in env.items() if v is not None})
        for k in [k for k, v in env.items() if v is None]:
            base.pop(k, None)
        return load_settings(base)

    return make


@pytest.fixture
def runtime(
    make_settings: Callable[..., Settings], database_url: str, redis_client: redis.Redis
) -> Iterator[jobs.Runtime]:
    """A worker's runtime (settings, a migrated store on each back end) installed for ``jobs.ingest``."""
    from datetime import UTC, datetime

    settings = make_settings(DATABASE_URL=database_url)
    store = open_store(database_url)
    store.migrate(now=datetime.now(UTC))
    rt = jobs.Runtime(settings=settings, store=store)
    jobs.configure(rt)
    yield rt
    jobs.configure(None)
    store.close()


class BurstWorker(SimpleWorker):
    """A real RQ worker without the command channel: its pubsub thread costs a 1 s join per burst."""

    def subscribe(self) -> None:
        pass


def work(queue: Queue, connection: redis.Redis) -> None:
    """Run the queue empty in this process, as ``cdr-ingest worker --burst`` would."""
    from workers.queue import OrjsonSerializer

    BurstWorker([queue], connection=connection, serializer=OrjsonSerializer).work(burst=True)


@dataclass
class FakeServer:
    vendors: FakeVendors
    url: str


@pytest.fixture(scope="session")
def _fake_server() -> Iterator[FakeServer]:
    vendors = FakeVendors()
    with serve_in_thread(create_app(vendors)) as url:
        yield FakeServer(vendors, url)


@pytest.fixture
def fake(_fake_server: FakeServer) -> FakeServer:
    """The fake vendor APIs on 127.0.0.1 (one server per session), with fresh state for this test."""
    _fake_server.vendors.callr = FakeCallr()
    _fake_server.vendors.vobiz = FakeVobiz()
    _fake_server.vendors.kazoo = FakeKazoo()
    return _fake_server


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the attacks sent (tests/receiver/test_attacks.py) and the fault-injection ledgers
    (tests/faults) at the end of the run."""
    from tests.faults.ledger import REPORTS
    from tests.receiver.helpers import ATTACK_LOG

    if ATTACK_LOG:
        terminalreporter.section("attacks and the responses they got")
        width = max(len(name) for name, _, _ in ATTACK_LOG)
        for name, status, response in ATTACK_LOG:
            terminalreporter.write_line(f"{name.ljust(width)}  {status}  {response}")
    if REPORTS:
        terminalreporter.section("fault-injection ledgers")
        for report in REPORTS:
            terminalreporter.write_line("  ".join(f"{k}={v}" for k, v in report.items()))
