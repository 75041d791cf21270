"""Reading Callr v2 export answers (``POST /calls/export``, ``POST /tasks/{id}``). Pure.

Everything here is ASSUMED: Callr documents neither answer (shared/vendors.md §1.6). The migration
guide maps ``cdr.export_async`` to ``POST /calls/export`` and ``jobs.get`` to ``POST /tasks/{taskid}``,
so the export is taken to be an asynchronous task. An answer is read, in this order, as:
1. rows: a CSV (or zip/gzip) body, a JSON list, or a JSON object holding a list under a usual key
   (``data``, ``rows``, ``result``, ...: ``workers.tables.ROW_KEYS``), also one level down;
2. a failed task: ``status``/``state`` is one of ``FAILED`` → the source stops, with the message;
3. a download link under ``url``, ``downloadUrl``, ``link``, ``file``... (or inside ``result``),
   absolute or relative to the answering URL; the file is then read as in 1;
4. a pending task: an id under ``sid``, ``taskid``, ``taskId``, ``task_id`` or ``id`` (or inside
   ``task``), polled again;
a finished task with none of these, or anything else, stops the source: never guess empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from workers.bodies import JSON, media_type
from workers.errors import PayloadError
from workers.poller.http import SourceStopped
from workers.tables import json_rows, rows_from_bytes

DONE = frozenset({"done", "completed", "complete", "success", "succeeded", "finished", "ok", "ready"})
FAILED = frozenset({"failed", "failure", "error", "errored", "cancelled", "canceled", "expired", "aborted"})
ID_KEYS = ("sid", "taskid", "taskId", "task_id", "id")
LINK_KEYS = ("url", "downloadUrl", "download_url", "fileUrl", "file_url", "link", "href", "file", "location")


@dataclass(frozen=True)
class Rows:
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Download:
    url: str


@dataclass(frozen=True)
class Pending:
    task_id: str


Outcome = Rows | Download | Pending


def read_answer(response: httpx.Response, where: str) -> Outcome:
    content_type = response.headers.get("content-type")
    try:
        if media_type(content_type) != JSON and not response.content.lstrip().startswith((b"{", b"[")):
            return Rows(rows_from_bytes(response.content, content_type))
        return read_task(response.json(), where, str(response.url))
    except (PayloadError, ValueError) as e:
        raise SourceStopped(f"{where}: unreadable answer: {e}") from None


def read_task(body: Any, where: str, base_url: str) -> Outcome:
    rows = json_rows(body)
    if rows is not None:
        return Rows(rows)
    if not isinstance(body, Mapping):
        raise SourceStopped(f"{where}: expected rows or a task, got {type(body).__name__}")
    task = body["task"] if isinstance(body.get("task"), Mapping) else body
    status = str(task.get("status") or task.get("state") or "").lower()
    if status in FAILED:
        message = task.get("message") or task.get("error") or status
        raise SourceStopped(f"{where}: export task {_first(task, ID_KEYS)} ended {status}: {message}")
    link = _link(task)
    if link is not None:
        return Download(str(httpx.URL(base_url).join(link)))
    task_id = _first(task, ID_KEYS)
    if status in DONE or task_id is None:
        raise SourceStopped(f"{where}: task answer has no rows, no link and {status or 'no status'}: {body!r:.300}")
    return Pending(str(task_id))


def _first(data: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    return next((data[k] for k in keys if data.get(k) not in (None, "")), None)


def _link(task: Mapping[str, Any]) -> str | None:
    result = task.get("result")
    if isinstance(result, str) and result.startswith(("http://", "https://", "/")):
        return result
    for holder in (task, result if isinstance(result, Mapping) else {}):
        value = _first(holder, LINK_KEYS)
        if isinstance(value, str):
            return value
    return None
