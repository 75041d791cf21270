"""The Callr sources against the fake API: request shapes (SDK-compatible JSON-RPC, export
parameters), every export answer the poller accepts, and paging into jobs."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from tests.fakes.vendor_api import FakeCallr, v1_cdr, v2_call
from tests.workers.poller.conftest import FakeServer
from workers.poller.http import HttpClient, SourceStopped, SourceUnavailable
from workers.poller.sources import PAGE_ROWS, Page, get_source, sources_for
from workers.poller.sources._callr_task import Download, Pending, Rows, read_task
from workers.poller.sources.callr import EXPORT, JSONRPC, TASK_DELAYS_S, jsonrpc_rows
from workers.settings import Settings

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def rows(pages: list[Page]) -> list[dict[str, object]]:
    return [dict(r) for p in pages for r in p.rows]


def test_jsonrpc_request_matches_the_sdk(
    callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient
) -> None:
    """cdr.get is a JSON-RPC 2.0 POST, Basic login:password, params [type, from, to, null, null] in UTC."""
    (account,) = callr_settings().accounts
    list(JSONRPC.fetch(account, T0, T0 + timedelta(hours=1), client))
    first, second = callr.requests("callr.jsonrpc")
    call = orjson.loads(first.body)
    assert call["jsonrpc"] == "2.0" and call["method"] == "cdr.get" and isinstance(call["id"], int)
    assert call["params"] == ["IN", "2024-05-01 10:00:00", "2024-05-01 11:00:00", None, None]
    assert orjson.loads(second.body)["params"][0] == "OUT"
    assert first.headers["content-type"].startswith("application/json-rpc")
    expected = base64.b64encode(f"{callr.login}:{callr.password}".encode()).decode()
    assert first.headers["authorization"] == f"Basic {expected}"


def test_jsonrpc_rows_carry_their_type(
    callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient
) -> None:
    """Each row goes out wrapped with the type it was fetched with (CDR.In/Out do not say)."""
    callr.cdrs_in = [v1_cdr(1, T0 + timedelta(minutes=5)), v1_cdr(2, T0 + timedelta(hours=2))]
    callr.cdrs_out = [v1_cdr(3, T0 + timedelta(minutes=6), outbound=True)]
    (account,) = callr_settings().accounts
    got = rows(list(JSONRPC.fetch(account, T0, T0 + timedelta(hours=1), client)))
    assert [(r["type"], r["row"]["callid"]) for r in got] == [("IN", 1), ("OUT", 3)]  # type: ignore[index]


def test_a_big_answer_is_cut_into_pages(
    callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient
) -> None:
    """One window's answer of 2 × PAGE_ROWS + 201 rows becomes pages of PAGE_ROWS: one RQ job each."""
    callr.cdrs_in = [v1_cdr(i, T0 + timedelta(milliseconds=i)) for i in range(1, 2 * PAGE_ROWS + 202)]
    (account,) = callr_settings().accounts
    pages = list(JSONRPC.fetch(account, T0, T0 + timedelta(hours=1), client))
    assert [len(p.rows) for p in pages] == [PAGE_ROWS, PAGE_ROWS, 201]


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        ({"result": [{"callid": 1}]}, [{"callid": 1}]),
        ({"result": {"a": {"callid": 1}, "b": {"callid": 2}}}, [{"callid": 1}, {"callid": 2}]),
        ({"result": []}, []),
        ({"result": None, "error": None}, []),
    ],
)
def test_jsonrpc_result_as_list_or_object(answer: dict[str, object], found: list[object]) -> None:
    """The result may be a list of CDR objects or an object of them (the .NET SDK reads both)."""
    response = httpx.Response(200, json=answer)
    assert jsonrpc_rows(response, "test") == found


def test_jsonrpc_error_stops_the_source() -> None:
    """A JSON-RPC error object (even on HTTP 200) stops the source with its code and message."""
    response = httpx.Response(200, json={"result": None, "error": {"code": 22, "message": "Invalid date"}})
    with pytest.raises(SourceStopped, match="JSON-RPC error 22: Invalid date"):
        jsonrpc_rows(response, "test")


@pytest.mark.parametrize("mode", ["task-link-csv", "task-json", "inline-json", "inline-csv"])
def test_export_every_answer_shape(
    mode: str, callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient
) -> None:
    """Task then CSV download, task with JSON rows, or rows at once (JSON or CSV): same rows."""
    callr.export_mode = mode
    callr.calls = [
        v2_call(10, T0 + timedelta(minutes=1)),
        v2_call(11, T0 + timedelta(minutes=2), direction="outbound"),
        v2_call(12, T0 + timedelta(days=2)),
    ]
    (account,) = callr_settings().accounts
    got = rows(list(EXPORT.fetch(account, T0, T0 + timedelta(days=1), client)))
    assert [(r["direction"], str(r["row"]["callid"])) for r in got] == [("inbound", "10"), ("outbound", "11")]  # type: ignore[index]
    request = callr.requests("callr.export")[0]
    assert request.params == {
        "direction": "inbound",
        "from": "2024-05-01T10:00:00.000Z",
        "to": "2024-05-02T10:00:00.000Z",
    }
    assert request.headers["x-api-key"] == callr.api_key


def test_a_pending_task_is_polled_with_growing_waits(
    callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient
) -> None:
    """POST /tasks/{sid} is asked again, after 1 s, 2 s, 4 s..., until the task is done."""
    callr.pending_polls = 3
    (account,) = callr_settings().accounts
    slept: list[float] = []
    client.sleep = slept.append
    list(EXPORT.fetch(account, T0, T0 + timedelta(hours=1), client))
    assert slept[:4] == [1, 2, 4, 8]
    assert len(callr.requests("callr.task")) == 2 * 4 and len(callr.requests("callr.file")) == 2


def test_a_task_that_never_finishes_is_given_up(
    callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient
) -> None:
    """After TASK_DELAYS_S the source is unavailable for this round (transient)."""
    callr.pending_polls = 10_000
    (account,) = callr_settings().accounts
    with pytest.raises(SourceUnavailable, match="still not finished"):
        list(EXPORT.fetch(account, T0, T0 + timedelta(hours=1), client))
    assert len(callr.requests("callr.task")) == len(TASK_DELAYS_S)


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ({"sid": "t1", "status": "pending"}, Pending("t1")),
        ({"task": {"taskId": "t2", "state": "RUNNING"}}, Pending("t2")),
        ({"sid": "t1", "status": "done", "result": {"url": "/files/t1.csv"}}, Download("https://api.example.com/files/t1.csv")),
        ({"status": "completed", "downloadUrl": "https://s3.example.net/x.csv"}, Download("https://s3.example.net/x.csv")),
        ({"status": "done", "result": {"data": []}}, Rows([])),
        ([{"callid": 1}], Rows([{"callid": 1}])),
    ],
)  # fmt: skip
def test_task_answers_read(body: object, outcome: object) -> None:
    """The assumed task vocabulary: pending ids, download links (absolute or relative), rows."""
    assert read_task(body, "test", "https://api.example.com/v2.0/tasks/t1") == outcome


@pytest.mark.parametrize(
    "body",
    [{"sid": "t1", "status": "failed", "message": "too many rows"}, {"status": "done"}, {"what": "ever"}, "text"],
)
def test_failed_or_unreadable_tasks_stop_the_source(body: object) -> None:
    """A failed task, a finished one with nothing to read, or an unknown answer stops the source."""
    with pytest.raises(SourceStopped):
        read_task(body, "test", "https://api.example.com/v2.0/tasks/t1")


def test_the_key_is_never_sent_to_another_host(
    fake: FakeServer, callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient
) -> None:
    """The export file on Callr's own host gets the key; a link to another host (storage) does not."""
    (account,) = callr_settings().accounts
    list(EXPORT.fetch(account, T0, T0 + timedelta(hours=1), client))
    assert callr.requests("callr.file")[0].headers["x-api-key"] == callr.api_key
    callr.seen.clear()
    callr.presigned_base = fake.url.replace("127.0.0.1", "localhost")
    list(EXPORT.fetch(account, T0, T0 + timedelta(hours=1), client))
    assert "x-api-key" not in callr.requests("callr.file")[0].headers


def test_sources_are_registered_and_need_their_credentials(callr_settings: Callable[..., Settings]) -> None:
    """Both Callr sources are in the registry; each is configured only with its own credentials."""
    assert {s.name for s in sources_for("callr")} == {"callr.jsonrpc", "callr.export"}
    assert get_source("callr.export") is EXPORT
    only_key = callr_settings(CALLR_LOGIN=None, CALLR_PASSWORD=None).accounts[0]
    assert EXPORT.configured(only_key) and not JSONRPC.configured(only_key)
    only_rpc = callr_settings(CALLR_API_KEY=None).accounts[0]
    assert JSONRPC.configured(only_rpc) and not EXPORT.configured(only_rpc)
