"""Poller fixtures: vendor settings pointing at the fake vendor API (``tests/conftest.py``'s ``fake``),
and an HTTP client whose waits are recorded, never slept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from rq import Queue, SimpleWorker

from tests.conftest import FakeServer
from tests.fakes.vendor_api import FakeCallr, FakeKazoo, FakeVobiz
from workers.poller.http import HttpClient, RetryPolicy
from workers.queue import OrjsonSerializer
from workers.settings import Settings


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
def poller_env(fake: FakeServer) -> dict[str, str]:
    """The Vobiz CDR API and Kazoo /cdrs sources configured against the fake."""
    v, k = fake.vendors.vobiz, fake.vendors.kazoo
    return {
        "VOBIZ_API_URL": f"{fake.url}/vobiz/api/v1", "VOBIZ_AUTH_ID": v.auth_id, "VOBIZ_AUTH_TOKEN": v.auth_token,
        "VOBIZ_DEFAULT_REGION": "IN", "KAZOO_API_URL": f"{fake.url}/kazoo/v2", "KAZOO_ACCOUNT_ID": k.account_id,
        "KAZOO_AUTH_TOKEN": k.auth_token, "KAZOO_DEFAULT_REGION": "US",
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


class BurstWorker(SimpleWorker):
    """A real RQ worker without the command channel: its pubsub thread costs a 1 s join per burst."""

    def subscribe(self) -> None:
        pass


def work(queue: Queue, connection: redis.Redis) -> None:
    """Run the queue empty in this process, as ``cdr-ingest worker --burst`` would."""
    BurstWorker([queue], connection=connection, serializer=OrjsonSerializer).work(burst=True)
