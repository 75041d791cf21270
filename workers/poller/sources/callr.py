"""Callr poller sources: legacy JSON-RPC ``cdr.get`` and the v2 ``POST /calls/export`` task.

``callr.jsonrpc`` (shared/vendors.md §1.7; request shape from THECALLR/sdk-dotnet ``JsonRpcClient``,
``CdrService``, ``Tools``): ``POST CALLR_JSONRPC_URL``, ``Content-Type: application/json-rpc``, Basic
``CALLR_LOGIN:CALLR_PASSWORD``, body ``{"jsonrpc": "2.0", "id": n, "method": "cdr.get", "params":
[type, from, to, null, null]}`` with ``type`` ``IN`` then ``OUT`` and times UTC ``YYYY-MM-DD HH:MM:SS``
(the SDK calls both bounds inclusive). The result is the list of ``CDR.In``/``CDR.Out`` objects
(the SDK also accepts an object of them). It is synchronous and unpaginated, and whether Callr
caps its size is UNKNOWN: windows of ``JSONRPC_WINDOW`` keep each answer small, cut into jobs
of ``PAGE_ROWS``. A JSON-RPC ``error`` stops the source (its code vocabulary is undocumented).
The API shuts down on 30 June 2027.

``callr.export`` (§1.6): ``POST {CALLR_API_URL}/calls/export?direction=&from=&to=`` with
``x-api-key``, ``direction`` ``inbound`` then ``outbound`` and RFC 3339 times. The answer, the
task protocol and the file format are UNKNOWN: see ``_callr_task`` for exactly what is assumed.
A task is polled with ``POST /tasks/{id}`` after ``TASK_DELAYS_S`` (about 15 minutes in all).
Windows of ``EXPORT_WINDOW``: one task per day and direction.

Both bounds are sent as the window's own: a call on the boundary second may come twice, which
the store's merge makes harmless; a gap could not be repaired.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson

from workers.errors import PayloadError
from workers.normalize.times import as_utc
from workers.poller.http import HttpClient, SourceStopped, SourceUnavailable, basic_auth
from workers.poller.sources import Memory, Page, Source, pages_of
from workers.poller.sources._callr_task import Pending, Rows, read_answer
from workers.settings import Account
from workers.tables import json_rows, rows_from_bytes

JSONRPC_WINDOW = timedelta(hours=1)
EXPORT_WINDOW = timedelta(days=1)
TASK_DELAYS_S = (1, 2, 4, 8, 15) + (30,) * 29
_ids = itertools.count(1)


def jsonrpc_configured(account: Account) -> bool:
    return bool(account.option("login") and account.secrets_for("jsonrpc") and account.option("jsonrpc_url"))


def export_configured(account: Account) -> bool:
    return bool(account.secrets_for("api") and account.option("api_url"))


def fetch_jsonrpc(
    account: Account, since: datetime, until: datetime, client: HttpClient, memory: Memory | None = None
) -> Iterator[Page]:
    url = str(account.option("jsonrpc_url"))
    auth = basic_auth(str(account.option("login")), account.secrets_for("jsonrpc")[0].reveal())
    headers = {"authorization": auth, "content-type": "application/json-rpc; charset=utf-8"}
    for cdr_type in ("IN", "OUT"):
        call = {
            "jsonrpc": "2.0",
            "id": next(_ids),
            "method": "cdr.get",
            "params": [cdr_type, v1_time(since), v1_time(until), None, None],
        }
        response = client.request("POST", url, source=JSONRPC.name, headers=headers, content=orjson.dumps(call))
        rows = jsonrpc_rows(response, f"callr.jsonrpc cdr.get {cdr_type}")
        yield from pages_of({"type": cdr_type, "row": row} for row in rows)


def jsonrpc_rows(response: httpx.Response, where: str) -> list[dict[str, Any]]:
    """The ``result`` of a JSON-RPC answer as rows; an ``error`` or an unreadable answer stops the source."""
    try:
        answer = response.json()
    except ValueError:
        raise SourceStopped(f"{where}: the answer is not JSON") from None
    if not isinstance(answer, Mapping):
        raise SourceStopped(f"{where}: the answer is not a JSON-RPC object")
    error = answer.get("error")
    if error:
        code, message = (error.get("code"), error.get("message")) if isinstance(error, Mapping) else (None, error)
        raise SourceStopped(f"{where}: JSON-RPC error {code}: {message}")
    result = answer.get("result")
    if not result:
        return []
    rows = json_rows(result)
    if rows is None and isinstance(result, Mapping):
        rows = json_rows(list(result.values()))
    if rows is None:
        raise SourceStopped(f"{where}: result is not a list of CDR objects")
    return rows


def fetch_export(
    account: Account, since: datetime, until: datetime, client: HttpClient, memory: Memory | None = None
) -> Iterator[Page]:
    base = str(account.option("api_url")).rstrip("/")
    headers = {"x-api-key": account.secrets_for("api")[0].reveal(), "accept": "application/json"}
    for direction in ("inbound", "outbound"):
        params = {"direction": direction, "from": v2_time(since), "to": v2_time(until)}
        response = client.request("POST", f"{base}/calls/export", source=EXPORT.name, headers=headers, params=params)
        rows = _export_rows(response, base, headers, client, f"callr.export {direction}")
        yield from pages_of({"direction": direction, "row": row} for row in rows)


def _export_rows(
    response: httpx.Response, base: str, headers: dict[str, str], client: HttpClient, where: str
) -> list[dict[str, Any]]:
    outcome = read_answer(response, where)
    delays = iter(TASK_DELAYS_S)
    while isinstance(outcome, Pending):
        delay = next(delays, None)
        if delay is None:
            raise SourceUnavailable(f"{where}: export task still not finished after {sum(TASK_DELAYS_S)} s")
        client.sleep(delay)
        answer = client.request("POST", f"{base}/tasks/{outcome.task_id}", source=EXPORT.name, headers=headers)
        outcome = read_answer(answer, where)
    if isinstance(outcome, Rows):
        return outcome.rows
    # The key goes only to Callr's own host, never to a storage link elsewhere.
    sent = headers if httpx.URL(outcome.url).host == httpx.URL(base).host else {}
    file = client.request("GET", outcome.url, source=EXPORT.name, headers=sent)
    try:
        return rows_from_bytes(file.content, file.headers.get("content-type"))
    except PayloadError as e:
        raise SourceStopped(f"{where}: unreadable export file: {e}") from None


def v1_time(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S")


def v2_time(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.") + f"{as_utc(value).microsecond // 1000:03d}Z"


JSONRPC = Source("callr.jsonrpc", "callr.jsonrpc", JSONRPC_WINDOW, fetch_jsonrpc, jsonrpc_configured)
EXPORT = Source("callr.export", "callr.export", EXPORT_WINDOW, fetch_export, export_configured)
SOURCES = (JSONRPC, EXPORT)
