"""Poller fixtures: vendor settings pointing at the fake vendor API (``tests/conftest.py``'s ``fake``),
and an HTTP client whose waits are recorded, never slept."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
from rq.registry import FailedJobRegistry

from tests.conftest import SINCH_KEY, FakeServer, work
from tests.fakes.vendor_api import FakeCallr, FakeKazoo, FakeVobiz
from workers import jobs
from workers.envelope import Envelope
from workers.poller.backfill import run_backfill
from workers.poller.http import HttpClient, RetryPolicy
from workers.poller.loop import Poller
from workers.poller.progress import LogReporter
from workers.poller.pump import Tally
from workers.poller.sources import _files
from workers.queue import enqueue_envelopes, ingest_queue
from workers.settings import Settings
from workers.store import SqlStore, open_store


@pytest.fixture
def callr(fake: FakeServer) -> FakeCallr:
    return fake.vendors.callr


@pytest.fixture
def callr_env(fake: FakeServer) -> dict[str, str]:
    """Both Callr poller sources configured against the fake (drop keys to disable one)."""
    c = fake.vendors.callr
    return {
        "CALLR_API_URL": f"{fake.url}/callr/v2.0",
        "CALLR_API_KEY": c.api_key,
        "CALLR_JSONRPC_URL": f"{fake.url}/callr/json-rpc/v1.1/",
        "CALLR_LOGIN": c.login,
        "CALLR_PASSWORD": c.password,
    }


@pytest.fixture
def vobiz(fake: FakeServer) -> FakeVobiz:
    return fake.vendors.vobiz


@pytest.fixture
def kazoo(fake: FakeServer) -> FakeKazoo:
    return fake.vendors.kazoo


@pytest.fixture
def sinch_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Sinch CDR directory; files count as soon as written (a test cannot age a file's ctime)."""
    monkeypatch.setattr(_files, "SETTLE_S", 0)
    path = tmp_path / "sinch-cdrs"
    path.mkdir()
    return path


@pytest.fixture
def poller_env(fake: FakeServer, sinch_dir: Path) -> dict[str, str]:
    """The Vobiz CDR API and Kazoo /cdrs sources configured against the fake, Sinch files in a directory."""
    v, k = fake.vendors.vobiz, fake.vendors.kazoo
    return {
        "VOBIZ_API_URL": f"{fake.url}/vobiz/api/v1", "VOBIZ_AUTH_ID": v.auth_id, "VOBIZ_AUTH_TOKEN": v.auth_token,
        "VOBIZ_DEFAULT_REGION": "IN", "KAZOO_API_URL": f"{fake.url}/kazoo/v2", "KAZOO_ACCOUNT_ID": k.account_id,
        "KAZOO_AUTH_TOKEN": k.auth_token, "KAZOO_DEFAULT_REGION": "US", "SINCH_CDR_SOURCE": str(sinch_dir),
        "SINCH_APP_KEY": SINCH_KEY,
    }  # fmt: skip


@pytest.fixture
def callr_settings(make_settings: Callable[..., Settings], callr_env: dict[str, str]) -> Callable[..., Settings]:
    def make(**env: Any) -> Settings:
        return make_settings(**{**callr_env, **env})

    return make


@dataclass
class Waits:
    slept: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def client(waits: Waits) -> Iterator[HttpClient]:
    """Short timeout (the fake's slow answers outlast it), no jitter, waits recorded not slept."""
    c = HttpClient(timeout_s=0.5, policy=RetryPolicy(attempts=4), sleep=waits, jitter=lambda: 0.0)
    yield c
    c.close()


Backfill = Callable[..., Tally]
DAY = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture
def backfill(
    runtime: jobs.Runtime,
    make_settings: Callable[..., Settings],
    callr_env: dict[str, str],
    poller_env: dict[str, str],
    redis_client: redis.Redis,
    client: HttpClient,
) -> Backfill:
    """Runs one backfill (``vendor`` callr and DAY unless told) into the real queue, then a burst
    worker until it is empty; the worker stores into ``runtime.store``, once per back end, and
    knows every vendor account configured against the fake APIs."""
    settings = make_settings(DATABASE_URL=runtime.settings.database_url, **callr_env, **poller_env)
    runtime.settings = settings
    queue = ingest_queue(redis_client, settings.queue_name)

    def run(vendor: str = "callr", **kw: Any) -> Tally:
        since, until = kw.pop("since", DAY), kw.pop("until", DAY + timedelta(days=1))
        reporter = kw.pop("reporter", LogReporter())
        enqueue = partial(enqueue_envelopes, queue)
        clock = partial(datetime.now, UTC)
        tally = run_backfill(settings, vendor, since, until, client=client, enqueue=enqueue, reporter=reporter,
                             clock=clock, **kw)  # fmt: skip
        work(queue, redis_client)
        assert FailedJobRegistry(queue=queue).count == 0
        return tally

    return run


NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


class Killed(BaseException):
    """Stands for kill -9 in the middle of a window: nothing after it runs."""


class Queue:
    """Collects what the poller enqueues; can be told to die on the n-th job."""

    def __init__(self) -> None:
        self.jobs: list[list[Envelope]] = []
        self.die_on: int | None = None

    def __call__(self, envelopes: Sequence[Envelope]) -> None:
        if self.die_on is not None and len(self.jobs) + 1 == self.die_on:
            raise Killed()
        self.jobs.append(list(envelopes))

    def call_ids(self) -> list[str]:
        return [str(e.body["row"]["callid"]) for job in self.jobs for e in job]


@pytest.fixture
def loop_store(sqlite_url: str) -> Iterator[SqlStore]:
    s = open_store(sqlite_url)
    s.migrate(now=NOW)
    yield s
    s.close()


@pytest.fixture
def make_poller(loop_store: SqlStore, client: HttpClient) -> Callable[..., Poller]:
    """Pollers on the loop store (SQLite: the loop is tested, not the store), a fake queue and clock."""

    def make(settings: Settings, queue: Queue, clock: Clock) -> Poller:
        return Poller(settings, store=loop_store, enqueue=queue, client=client, clock=clock)

    return make


@dataclass
class S3Bucket:
    url: str  # the moto server, for AWS_ENDPOINT_URL
    name: str
    client: Any  # a boto3 S3 client on it

    def env(self, prefix: str = "sinch/") -> dict[str, str]:
        return {"SINCH_CDR_SOURCE": f"s3://{self.name}/{prefix}", "AWS_ENDPOINT_URL": self.url,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret",
                "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


@pytest.fixture(scope="session")
def _moto_url() -> Iterator[str]:
    """moto's S3 in server mode on 127.0.0.1 (one per session): real HTTP, no AWS."""
    from moto.server import ThreadedMotoServer

    from workers.services import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(_moto_url: str) -> S3Bucket:
    """A fresh bucket for this test."""
    import boto3

    client = boto3.client("s3", endpoint_url=_moto_url, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing-secret")  # fmt: skip
    name = f"sinch-cdrs-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return S3Bucket(_moto_url, name, client)
