"""Keep-alive under the real server: an idle connection is closed ``KEEP_ALIVE_S`` after its last
answer (``receiver/server.py`` keeps that as the connection's deadline, not uvicorn's timer), a
busy one stays open, and a request starting on a kept connection has its headers' deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import orjson
import pytest

from tests.conftest import KAZOO_TOKEN
from tests.e2e.stack import Stack, running_stack, stack_env
from tests.receiver.raw_http import connect, kazoo_request, responses

# Every test starts with an empty Redis (``redis_client``): a call id sent again within the dedupe
# window would be answered "duplicate".
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("redis_client")]

KEEP_ALIVE_S, HEADER_TIMEOUT_S = 1, 3


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("keep-alive")
    env = stack_env(redis_url, f"sqlite:///{tmp}/cdr.db", SPOOL_DIR=str(tmp / "spool"), KAZOO_WEBHOOK_TOKEN=KAZOO_TOKEN,
                    KEEP_ALIVE_S=str(KEEP_ALIVE_S), HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S))  # fmt: skip
    with running_stack(env, tmp) as stack:
        stack.serve()
        yield stack


def closed_after(s: socket.socket) -> float:
    """Seconds until the server closes ``s`` (nothing else may arrive meanwhile)."""
    started = time.monotonic()
    s.settimeout(HEADER_TIMEOUT_S + 5)
    assert s.recv(65536) == b""
    return time.monotonic() - started


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(server: Stack) -> None:
    with connect(server.base_url) as s:
        s.sendall(kazoo_request("keep-idle"))
        [(status, _, _)] = responses(s, 1)
        idle = closed_after(s)
    # The sweep runs every 0.25 s; well before the 3 s headers' deadline, which is not what closed it.
    assert status == b"HTTP/1.1 200 OK" and KEEP_ALIVE_S - 0.1 <= idle < HEADER_TIMEOUT_S - 0.5, idle


def test_a_connection_in_use_stays_open_past_the_timeout(server: Stack) -> None:
    with connect(server.base_url) as s:
        answers = []
        for n in range(4):  # 2.4 s in all, each request within the timeout of the answer before it
            s.sendall(kazoo_request(f"keep-busy-{n}"))
            answers += responses(s, 1)
            time.sleep(KEEP_ALIVE_S * 0.6)
    assert [body["status"] for _, _, body in answers] == ["queued"] * 4


def test_a_request_on_a_kept_connection_has_its_headers_deadline(server: Stack) -> None:
    """Once a request starts on an idle kept connection, its headers are due ``HEADER_TIMEOUT_S``
    from its first byte (a 408), and the keep-alive timeout no longer applies."""
    with connect(server.base_url) as s:
        s.sendall(kazoo_request("keep-then-trickle"))
        responses(s, 1)
        time.sleep(KEEP_ALIVE_S / 2)
        s.sendall(b"POST /webhooks/kazoo HTTP/1.1\r\n")
        started, answer = time.monotonic(), None
        s.settimeout(0.4)
        while answer is None:
            try:
                answer = s.recv(65536)  # b"": closed without an answer
            except TimeoutError:
                s.sendall(b"X-A: b\r\n")
        waited = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ") and orjson.loads(body)["error"] == "timeout", answer
    assert HEADER_TIMEOUT_S - 0.1 <= waited < HEADER_TIMEOUT_S + 1.5, waited
