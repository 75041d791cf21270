"""The ingest endpoint's answer written whole (``receiver.whole_response``) under the real server:
the same HTTP/1.1 uvicorn would write with its two sends, keep-alive and close included."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
import redis

from receiver.body import send_json
from receiver.server import GuardedHttpToolsProtocol
from receiver.whole_response import writer
from tests.conftest import KAZOO_TOKEN
from tests.e2e.stack import Stack, running_stack, stack_env
from tests.fakes.serve import serve_in_thread
from tests.receiver.helpers import SAMPLES, queued
from tests.receiver.raw_http import connect, kazoo_request, responses
from workers.envelope import Envelope

CALLR = "/webhooks/callr"
RATE_LIMIT = 30  # requests a minute per route and client: the Kazoo tests send fewer


async def reports_its_writer(scope: dict, receive: object, send: object) -> None:
    if scope["type"] == "http":
        await send_json(scope, send, 202, {"whole": writer(scope) is not None})


@pytest.mark.parametrize("access_log", [False, True])
def test_offered_by_the_protocol_unless_uvicorn_logs_access(access_log: bool) -> None:
    """uvicorn's access log line is written by its ``send``: with it on, the answer goes through it."""
    with serve_in_thread(reports_its_writer, http=GuardedHttpToolsProtocol, access_log=access_log) as url:
        answer = httpx.post(url + "/webhooks/kazoo", content=b"{}")
    assert (answer.status_code, answer.json(), answer.headers["content-type"]) == (
        202, {"whole": not access_log}, "application/json")  # fmt: skip


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("whole")
    env = stack_env(redis_url, f"sqlite:///{tmp}/cdr.db", SPOOL_DIR=str(tmp / "spool"), KAZOO_WEBHOOK_TOKEN=KAZOO_TOKEN,
                    RATE_LIMIT=str(RATE_LIMIT))  # fmt: skip
    with running_stack(env, tmp) as stack:
        stack.serve()
        yield stack


@pytest.mark.e2e
def test_pipelined_requests_get_their_answers_in_order_on_a_kept_connection(
    server: Stack, redis_client: redis.Redis
) -> None:
    with connect(server.base_url) as s:
        s.sendall(kazoo_request("whole-1") + kazoo_request("whole-2") + kazoo_request("whole-1"))
        answers = responses(s, 3)
        s.sendall(kazoo_request("whole-3"))  # still open: a fourth request on the same connection
        answers += responses(s, 1)
    assert [(status, body["status"]) for status, _, body in answers] == [
        (b"HTTP/1.1 200 OK", "queued"), (b"HTTP/1.1 200 OK", "queued"),
        (b"HTTP/1.1 200 OK", "duplicate"), (b"HTTP/1.1 200 OK", "queued"),
    ]  # fmt: skip
    for _, headers, _ in answers:
        assert headers[b"content-type"] == b"application/json"
        assert b"date" in headers  # uvicorn's default headers, as its own send adds them
        assert b"connection" not in headers
    ids = sorted(orjson.loads(e.body)["call_id"] for e in queued(redis_client) if isinstance(e, Envelope))
    assert ids == ["whole-1", "whole-2", "whole-3"]


@pytest.mark.e2e
@pytest.mark.parametrize(("version", "extra"), [("1.0", ""), ("1.1", "Connection: close\r\n")])
def test_a_connection_not_kept_is_answered_then_closed(server: Stack, version: str, extra: str) -> None:
    with connect(server.base_url) as s:
        s.sendall(kazoo_request(f"whole-close-{version}", version=version, extra=extra))
        [(status, headers, body)] = responses(s, 1)
        assert s.recv(65536) == b""  # closed by the server once the answer is out
    assert (status, body["status"], headers[b"connection"]) == (b"HTTP/1.1 200 OK", "queued", b"close")


@pytest.mark.e2e
def test_refusals_are_written_whole_with_their_own_headers(server: Stack) -> None:
    """Unsigned Callr webhooks, pipelined past the rate limit: 401s, then 429s carrying their
    ``retry-after`` in the same write (the auth-failure lockout may be the first to answer 429)."""
    body = SAMPLES[CALLR][0]
    head = (f"POST {CALLR} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    with connect(server.base_url) as s:
        s.sendall((head + body) * (RATE_LIMIT + 1))
        answers = responses(s, RATE_LIMIT + 1)
    statuses = [status for status, _, _ in answers]
    assert statuses[0] == b"HTTP/1.1 401 Unauthorized" and statuses[-1] == b"HTTP/1.1 429 Too Many Requests"
    assert set(statuses) == {b"HTTP/1.1 401 Unauthorized", b"HTTP/1.1 429 Too Many Requests"}
    for status, headers, answer in answers:
        limited = status.endswith(b"429 Too Many Requests")
        assert (answer["error"], b"retry-after" in headers) == ("rate_limited" if limited else "unauthorized", limited)
