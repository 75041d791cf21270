"""The raw-ASGI edges of the ingest endpoint: the request's headers, its body under a size limit,
and a JSON answer.

The body is refused (413) from Content-Length before reading, or as soon as the streamed bytes
pass the limit, without reading the rest. Its deadline (``BODY_TIMEOUT_S``, 408) is kept by the
server protocol (``receiver/server.py``), which closes the connection: the read here then ends
with ``ClientDisconnected``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from receiver.errors import BodyTooLarge
from receiver.whole_response import writer
from workers.errors import PayloadError


class ClientDisconnected(Exception):
    """The client went away (or was cut off by a deadline) before its body was complete."""


def header_map(scope: Scope) -> dict[str, str]:
    """Lower-cased names → values (latin-1, as Starlette decodes them; the last of a repeated name)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def header_values(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == name]


async def read_body(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise PayloadError("Content-Length is not a number", malformed=True) from None
        if size > limit:
            raise BodyTooLarge(f"body of {size} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected("the client closed the connection before its body was complete")
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(f"body is over the {limit}-byte limit")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_json(
    scope: Scope, send: Send, status: int, payload: Any, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """One JSON response, as Starlette's JSONResponse writes it (compact, UTF-8): in one write where
    the server offers it (``receiver.whole_response``), else as the two ASGI messages."""
    body = orjson.dumps(payload)
    whole = writer(scope)
    if whole is not None:
        await whole(status, [(b"content-type", b"application/json"), *headers], body)
        return
    start = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json"), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})
