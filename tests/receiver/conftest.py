"""Receiver fixtures: the app in-process (Starlette TestClient) on real Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from receiver.app import create_app
from workers.settings import Settings


@pytest.fixture
def client_for(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**env: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**env)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(client_for: Callable[..., TestClient]) -> TestClient:
    return client_for()
