"""A whole response in one write: the ASGI extension ``receiver.server``'s protocol offers the
ingest endpoint, in place of uvicorn's two ``send`` messages (start, then body).

For a webhook's answer (a small JSON body of known length, never HEAD, never streamed) this does
what uvicorn's ``RequestResponseCycle.send`` does for those two messages: wait while the transport
is paused for writing, drop the answer if the client is gone, add the server's default headers
(``date``) and ``connection: close`` when the connection will not be kept, write, then mark the
response complete, close or hand the connection back for its next request. It skips what such an
answer never needs: the per-header regular expressions over names and values the endpoint wrote
itself, the content-length parsing and the chunked-encoding branch, and the second message. A raw
ASGI app answering 202 under this uvicorn (wrk, one worker, a slow hour of this VM) took 50-55 µs
of CPU a request with the two sends and ~41 written whole; the receiver (``make bench-receiver``,
one uvicorn worker, each commit run from its own checkout, two rounds) 199-252 µs a request and
3,832-4,843 req/s before, 184-204 µs and 4,704-5,226 after.

Offered only when uvicorn writes no access log (``cdr-ingest serve`` turns it off): that log line
is written by ``send``. Any other server (tests' ASGI transports) is answered with the two messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

# The scope extension's name, and what it holds: ``(status, headers, body)`` → the answer written.
EXTENSION = "cdr-ingest.whole_response"
WholeResponse = Callable[[int, Iterable[tuple[bytes, bytes]], bytes], Awaitable[None]]


def offer(scope: Any, cycle: RequestResponseCycle) -> None:
    """Put the whole-response writer of ``cycle`` in its request's ``scope``."""

    async def write(status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> None:
        await send_whole(cycle, status, headers, body)

    scope.setdefault("extensions", {})[EXTENSION] = write


def writer(scope: Any) -> WholeResponse | None:
    extensions = scope.get("extensions")
    return None if extensions is None else extensions.get(EXTENSION)


async def send_whole(
    cycle: RequestResponseCycle, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes
) -> None:
    """``status``, ``headers`` (lower-case names; no content-length, no connection) and ``body``
    as one HTTP/1.1 response on ``cycle``'s connection, with uvicorn's bookkeeping after it."""
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.disconnected:
        return
    if cycle.response_started:
        raise RuntimeError("the response has started already")
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    content = [STATUS_LINE[status]]
    for name, value in (*cycle.default_headers, *headers):
        content += [name, b": ", value, b"\r\n"]
    content.append(b"content-length: %d\r\n" % len(body))
    if not cycle.keep_alive:
        content.append(b"connection: close\r\n")
    content += [b"\r\n", body]
    cycle.transport.write(b"".join(content))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()
