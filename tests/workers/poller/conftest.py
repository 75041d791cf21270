"""Poller fixtures: the fake vendor API on 127.0.0.1 (one server per session, fresh state per
test), Callr settings pointing at it, and an HTTP client whose waits are recorded, never slept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fakes.serve import serve_in_thread
from tests.fakes.vendor_api import FakeCallr, FakeVendors, create_app
from workers.poller.http import HttpClient, RetryPolicy
from workers.settings import Settings


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
    _fake_server.vendors.callr = FakeCallr()
    return _fake_server


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
