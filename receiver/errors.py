"""Errors → HTTP: the only place a status code is chosen. Every error body is
``{"error": "<code>", "detail": "<human sentence>"}``, never a stack trace, never a secret.

Beyond the contract's list: 403 for an address outside an allowlist (the request may be perfectly
signed: it is the caller that is refused, not its credentials, so not 401), 408 for a body (or
headers) that did not arrive within the deadline, 431 for oversized headers.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from workers.errors import AuthError, CdrIngestError, PayloadError, TransientError


class SourceDisabled(CdrIngestError):
    """Unknown source, or one whose secret is not configured (never open by default)."""


class BodyTooLarge(CdrIngestError):
    pass


class Forbidden(CdrIngestError):
    """The client address is not in the source's (or the read API's) allowlist."""


class RequestTimeout(CdrIngestError):
    """The client sent its headers or body too slowly (``HEADER_TIMEOUT_S``, ``BODY_TIMEOUT_S``)."""


class HeadersTooLarge(CdrIngestError):
    """The request line and headers together are over ``MAX_HEADER_BYTES``."""


class UnsupportedMediaType(CdrIngestError):
    pass


class InvalidQuery(CdrIngestError):
    """A read API query parameter is wrong (400), e.g. an unknown status or a bad cursor."""


class NotFound(CdrIngestError):
    """The read API has no such row."""


class RateLimited(CdrIngestError):
    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


RETRY_AFTER_S = 30


# Exception class → (status, error code); the first match wins.
STATUSES: tuple[tuple[type[Exception], int, str], ...] = (
    (AuthError, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (SourceDisabled, 404, "not_found"),
    (NotFound, 404, "not_found"),
    (InvalidQuery, 400, "invalid_query"),
    (RequestTimeout, 408, "timeout"),
    (BodyTooLarge, 413, "too_large"),
    (UnsupportedMediaType, 415, "unsupported_media_type"),
    (RateLimited, 429, "rate_limited"),
    (HeadersTooLarge, 431, "headers_too_large"),
    (TransientError, 503, "unavailable"),
)


def describe(exc: Exception) -> tuple[int, str]:
    """(status, error code) for an exception raised while handling a request."""
    if isinstance(exc, PayloadError):
        return (400, "malformed") if exc.malformed else (422, "not_a_cdr")
    for kind, status, code in STATUSES:
        if isinstance(exc, kind):
            return status, code
    return 500, "internal"


def error_parts(exc: Exception) -> tuple[int, dict[str, str], dict[str, str]]:
    """(status, JSON body, extra headers) of the answer to an exception."""
    status, code = describe(exc)
    detail = str(exc) if status != 500 else "internal error; the delivery was not accepted, please retry"
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    elif isinstance(exc, TransientError):
        headers["Retry-After"] = str(RETRY_AFTER_S)
    return status, {"error": code, "detail": detail}, headers


def error_response(exc: Exception) -> JSONResponse:
    status, body, headers = error_parts(exc)
    return JSONResponse(body, status_code=status, headers=headers)


def raw_response(exc: Exception) -> bytes:
    """The same JSON error as a whole HTTP/1.1 response that closes the connection, for the server
    protocol (``receiver/server.py``), which answers before any ASGI app runs."""
    status, code = describe(exc)
    body = orjson.dumps({"error": code, "detail": str(exc)})
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


async def not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "not_found", "detail": f"no endpoint at {request.url.path}"}, status_code=404)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {"error": "method_not_allowed", "detail": f"{request.method} is not allowed on {request.url.path}"},
        status_code=405,
    )


async def internal_error(request: Request, exc: Exception) -> Response:
    return error_response(exc)
