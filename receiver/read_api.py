"""The read API for downstream consumers: ``GET /cdrs``, ``/cdrs/{id}``, ``/cdrs/summary``,
``/cdrs/export.csv``, behind ``Authorization: Bearer $READ_API_TOKEN``.

With no token configured the API is disabled: every route answers 404, never open. Store calls
block, so they run in the thread pool and the event loop keeps answering webhooks.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from receiver.errors import InvalidQuery, NotFound, SourceDisabled, error_response
from workers import csv_export
from workers.cdr import Direction, Status
from workers.errors import AuthError, CdrIngestError
from workers.normalize.times import parse_time
from workers.settings import Secret
from workers.store.queries import MAX_LIMIT, CdrFilter, Cursor
from workers.store.reads import CdrReader

FILTERS = ("vendor", "account", "direction", "status", "from_number", "to_number", "started_from", "started_to",
           "min_duration")  # fmt: skip
LIST_PARAMS = frozenset({*FILTERS, "limit", "cursor"})
DEFAULT_LIMIT = 100


def _one(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise InvalidQuery(f"{name} may be given once")
    return values[0] if values else None


def _choices(params: QueryParams, name: str, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
    values = tuple(params.getlist(name))
    for v in values:
        if allowed is not None and v not in allowed:
            raise InvalidQuery(f"{name} must be one of {', '.join(allowed)}, got {v!r}")
        if not v or len(v) > 200:
            raise InvalidQuery(f"{name} must be 1 to 200 characters")
    return values


def _number(params: QueryParams, name: str) -> str | None:
    """An exact number, or a prefix ending in ``*``. A ``+`` sent unencoded arrives as a space."""
    value = _one(params, name)
    if value is None:
        return None
    if value.startswith(" "):
        value = "+" + value[1:]
    if not value.strip("*") or len(value) > 200:
        raise InvalidQuery(f"{name} must be a number (E.164, e.g. %2B33612345678) or a prefix ending in *")
    return value


def _time(params: QueryParams, name: str) -> Any:
    value = _one(params, name)
    try:
        return parse_time(value)
    except ValueError:
        raise InvalidQuery(f"{name} must be an ISO 8601 time (UTC when no offset), got {value!r}") from None


def _int(params: QueryParams, name: str, low: int, high: int) -> int | None:
    value = _one(params, name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise InvalidQuery(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def parse_filter(params: QueryParams, allowed: frozenset[str] = frozenset(FILTERS)) -> CdrFilter:
    """Query parameters → ``CdrFilter``; ``InvalidQuery`` names the first wrong one."""
    unknown = sorted(set(params.keys()) - allowed)
    if unknown:
        raise InvalidQuery(f"unknown parameter {unknown[0]!r}; known: {', '.join(sorted(allowed))}")
    if any("\x00" in v for _, v in params.multi_items()):
        raise InvalidQuery("parameters may not contain NUL characters")  # PostgreSQL text cannot hold them
    f = CdrFilter(
        vendors=_choices(params, "vendor"),
        accounts=_choices(params, "account"),
        directions=_choices(params, "direction", [str(d) for d in Direction]),
        statuses=_choices(params, "status", [str(s) for s in Status]),
        from_number=_number(params, "from_number"),
        to_number=_number(params, "to_number"),
        started_from=_time(params, "started_from"),
        started_to=_time(params, "started_to"),
        min_duration_s=_int(params, "min_duration", 0, 2**31 - 1),
    )
    return f


def parse_page(params: QueryParams) -> tuple[Cursor | None, int]:
    token = _one(params, "cursor")
    try:
        cursor = None if token is None else Cursor.decode(token)
    except ValueError as e:
        raise InvalidQuery(str(e)) from None
    limit = _int(params, "limit", 1, MAX_LIMIT)
    return cursor, DEFAULT_LIMIT if limit is None else limit


class ReadApi:
    def __init__(self, reader: CdrReader | None, token: Secret | None) -> None:
        self.reader = reader
        self.token = token

    def routes(self) -> list[Route]:
        # Fixed paths first: /cdrs/{id:path} would otherwise take "summary" for an id.
        return [
            Route("/cdrs", self._endpoint(self.list), methods=["GET"]),
            Route("/cdrs/summary", self._endpoint(self.summary), methods=["GET"]),
            Route("/cdrs/export.csv", self._endpoint(self.export), methods=["GET"]),
            Route("/cdrs/{id:path}", self._endpoint(self.one), methods=["GET"]),
        ]

    def _endpoint(self, handler: Callable[[Request, CdrReader], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                reader = self._authorize(request)
                response: Response = await handler(request, reader)
                return response
            except CdrIngestError as e:
                response = error_response(e)
                if isinstance(e, AuthError):
                    response.headers["WWW-Authenticate"] = 'Bearer realm="cdrs"'
                return response

        return endpoint

    def _authorize(self, request: Request) -> CdrReader:
        if self.token is None or self.reader is None:
            raise SourceDisabled("the read API is disabled (READ_API_TOKEN is not set)")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise AuthError("missing Authorization: Bearer token")
        if not hmac.compare_digest(given.strip().encode(), self.token.reveal().encode()):
            raise AuthError("bearer token is not valid")
        return self.reader

    async def list(self, request: Request, reader: CdrReader) -> Response:
        f = parse_filter(request.query_params, LIST_PARAMS)
        cursor, limit = parse_page(request.query_params)
        page = await run_in_threadpool(reader.page, f, cursor, limit)
        return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})

    async def one(self, request: Request, reader: CdrReader) -> Response:
        parse_filter(request.query_params, frozenset())
        cdr_id = request.path_params["id"]
        row = None if "\x00" in cdr_id else await run_in_threadpool(reader.get, cdr_id)
        if row is None:
            raise NotFound(f"no CDR with id {cdr_id!r}")
        return JSONResponse(row)

    async def summary(self, request: Request, reader: CdrReader) -> Response:
        f = parse_filter(request.query_params)
        return JSONResponse(await run_in_threadpool(reader.summary, f))

    async def export(self, request: Request, reader: CdrReader) -> Response:
        f = parse_filter(request.query_params)
        pages = reader.iter_pages(f)
        # The first page before the status line: a store that is down is still a 503, not a cut file.
        first = await run_in_threadpool(next, pages, None)

        async def body() -> AsyncIterator[str]:
            yield csv_export.header()
            rows = first
            while rows is not None:
                yield "".join(csv_export.lines(rows))
                rows = await run_in_threadpool(next, pages, None)

        return StreamingResponse(
            body(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="cdrs.csv"'},
        )
