"""The HTTP/1.1 protocol ``cdr-ingest serve`` runs: uvicorn's httptools protocol plus the two
limits it lacks, answered with our JSON errors before any ASGI app runs.

- **Header size.** httptools (llhttp) accepts a request line and headers of any size (we measured
  10 MB), buffering all of it. Past ``MAX_HEADER_BYTES``, counted both in the parsed request line
  and headers and in the raw bytes received while the headers are incomplete (a single endless
  header value reaches no parser callback), the connection gets 431 and is closed.
- **Header deadline (slowloris).** uvicorn only times out *idle keep-alive* connections; a new
  connection that sends nothing, or trickles its headers a byte at a time, is kept for ever and
  holds a slot of ``limit_concurrency``. The headers must be complete ``HEADER_TIMEOUT_S`` after the
  connection opens (or the next request starts), else 408 and close.
- **Body deadline.** The body must be complete ``BODY_TIMEOUT_S`` after its headers, else 408 and
  close (the app waiting on it sees a disconnect). An ``asyncio.timeout`` around the app's read
  cost ~10% of the receiver's CPU under load (``make bench``).
- **Keep-alive.** uvicorn's own: a connection idle ``KEEP_ALIVE_S`` after its last answer is closed,
  silently. Kept here as the connection's deadline instead of uvicorn's timer armed after every
  answer and cancelled by the next request (~2.7 µs a request).

Each connection keeps one deadline (for its headers, then its body, then its idling), set by the
parser's callbacks and the end of each answer; one timer per process checks them every
``SWEEP_S``, so a slow client is cut off at most that much late. Two timers per request (armed
and cancelled) were ~3% of the receiver's CPU.

Each request's scope also carries a writer of its whole response in one go
(``receiver.whole_response``), which the ingest endpoint answers with.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from receiver import whole_response
from receiver.errors import HeadersTooLarge, RequestTimeout, describe, raw_response
from workers.errors import CdrIngestError
from workers.logs import get_logger
from workers.settings import Settings

log = get_logger("cdr_ingest.receiver")


@dataclass(frozen=True)
class ServerLimits:
    max_header_bytes: int = Settings.max_header_bytes
    header_timeout_s: float = Settings.header_timeout_s
    body_timeout_s: float = Settings.body_timeout_s


SWEEP_S = 0.25
Awaited = Literal["headers", "body", "idle"]


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    # Set once per process by ``configure`` (the app factory runs before the first connection).
    limits: ClassVar[ServerLimits] = ServerLimits()
    # The open connections of this process, and the loop whose timer sweeps their deadlines.
    _open: ClassVar[set[GuardedHttpToolsProtocol]] = set()
    _swept_on: ClassVar[asyncio.AbstractEventLoop | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_headers = True
        self._header_bytes = 0
        self._headers_seen = 0
        self._parsed_bytes = 0
        self._refusal: CdrIngestError | None = None
        self._deadline: float | None = None  # loop time by which what is awaited must be in
        self._awaiting: Awaited = "headers"

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect_headers()
        GuardedHttpToolsProtocol._open.add(self)
        if GuardedHttpToolsProtocol._swept_on is not self.loop:
            GuardedHttpToolsProtocol._swept_on = self.loop
            self.loop.call_later(SWEEP_S, _sweep, self.loop)

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline = None
        GuardedHttpToolsProtocol._open.discard(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting == "idle":  # the next request starts: its headers are due from its first byte
            self._await("headers")
        awaiting, seen = self._awaiting_headers, self._headers_seen
        super().data_received(data)
        # Only a chunk that is headers from start to end counts: one that ends a body or completes
        # a request's headers is not held against the next request.
        if awaiting and self._awaiting_headers and seen == self._headers_seen and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(self._too_large())

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to a parser error, including the one ``_count`` raises to stop parsing.
        if self._refusal is not None:
            self._refuse(self._refusal)
        else:
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed_bytes = 0
        self._expect_headers()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # "name: value\r\n"
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._await("body")
        self._awaiting_headers = False
        self._header_bytes = 0
        self._headers_seen += 1
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope and not self.access_log:  # this request's cycle
            whole_response.offer(self.scope, cycle)

    def on_message_complete(self) -> None:
        self._awaiting_headers = True
        self._deadline = None
        super().on_message_complete()

    def _count(self, size: int) -> None:
        self._parsed_bytes += size
        if self._parsed_bytes > self.limits.max_header_bytes:
            self._refusal = self._too_large()
            raise self._refusal  # httptools stops parsing; uvicorn calls send_400_response

    def _too_large(self) -> HeadersTooLarge:
        return HeadersTooLarge(f"request line and headers are over {self.limits.max_header_bytes} bytes")

    def _expect_headers(self) -> None:
        """The headers' deadline, unless one runs already (from the connection's opening)."""
        if self._deadline is None:
            self._await("headers")

    def on_response_complete(self) -> None:
        """uvicorn's (0.54.0), but for its keep-alive timer: the connection's deadline instead, unless
        one runs (a body still arriving after its early answer, or the next request's headers)."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif self._deadline is None:
            self._await("idle")

    def _await(self, what: Awaited) -> None:
        """The connection's one deadline: ``what`` is due within its own limit from now."""
        if what == "headers":
            within: float = self.limits.header_timeout_s
        elif what == "body":
            within = self.limits.body_timeout_s
        else:
            within = self.timeout_keep_alive
        self._deadline, self._awaiting = self.loop.time() + within, what

    def _expired(self) -> None:
        self._deadline = None
        if self._awaiting == "body":
            self._body_too_slow()
        elif self._awaiting == "headers":
            self._headers_too_slow()
        elif not self.transport.is_closing():  # idle past the keep-alive timeout, as uvicorn's timer
            self.transport.close()

    def _headers_too_slow(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a pipelined request is trickling: close after this response
            return
        self._refuse(RequestTimeout(f"the request headers did not arrive within {self.limits.header_timeout_s:g} s"))

    def _body_too_slow(self) -> None:
        cycle = self.cycle
        if cycle is not None and cycle.response_started:
            # Answered already (413 from Content-Length, say) while the body still trickles in.
            cycle.keep_alive = False
            if cycle.response_complete:
                self.transport.close()
            return
        self._refuse(RequestTimeout(f"the body did not arrive within {self.limits.body_timeout_s:g} s"))

    def _refuse(self, exc: CdrIngestError) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            status, code = describe(exc)
            peer = self.client[0] if self.client else None
            log.info("http.refused", status=status, error=code, detail=str(exc), peer=peer)
            self.transport.write(raw_response(exc))
            self.transport.close()


def _sweep(loop: asyncio.AbstractEventLoop) -> None:
    """Cut off the connections past their deadline; run again in ``SWEEP_S``."""
    now = loop.time()
    for connection in [c for c in GuardedHttpToolsProtocol._open if c._deadline is not None and now >= c._deadline]:
        connection._expired()
    loop.call_later(SWEEP_S, _sweep, loop)


def configure(settings: Settings) -> None:
    """Apply the settings' limits to every connection this process accepts from now on."""
    GuardedHttpToolsProtocol.limits = ServerLimits(
        settings.max_header_bytes, settings.header_timeout_s, settings.body_timeout_s
    )
