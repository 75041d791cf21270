"""Errors → HTTP: the only place a status code is chosen. Every error body is
``{"error": "<code>", "detail": "<human sentence>"}``, never a stack trace.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from workers.errors import AuthError, CdrIngestError, PayloadError, TransientError


class SourceDisabled(CdrIngestError):
    """Unknown source, or one whose secret is not configured (never open by default)."""


class BodyTooLarge(CdrIngestError):
    pass


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


def describe(exc: Exception) -> tuple[int, str]:
    """(status, error code) for an exception raised while handling a delivery."""
    if isinstance(exc, AuthError):
        return 401, "unauthorized"
    if isinstance(exc, PayloadError):
        return (400, "malformed") if exc.malformed else (422, "not_a_cdr")
    if isinstance(exc, SourceDisabled | NotFound):
        return 404, "not_found"
    if isinstance(exc, InvalidQuery):
        return 400, "invalid_query"
    if isinstance(exc, BodyTooLarge):
        return 413, "too_large"
    if isinstance(exc, UnsupportedMediaType):
        return 415, "unsupported_media_type"
    if isinstance(exc, RateLimited):
        return 429, "rate_limited"
    if isinstance(exc, TransientError):
        return 503, "unavailable"
    return 500, "internal"


def error_response(exc: Exception) -> JSONResponse:
    status, code = describe(exc)
    detail = str(exc) if status != 500 else "internal error; the delivery was not accepted, please retry"
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    elif isinstance(exc, TransientError):
        headers["Retry-After"] = str(RETRY_AFTER_S)
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


async def not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "not_found", "detail": f"no endpoint at {request.url.path}"}, status_code=404)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {"error": "method_not_allowed", "detail": f"{request.method} is not allowed on {request.url.path}"},
        status_code=405,
    )


async def internal_error(request: Request, exc: Exception) -> Response:
    return error_response(exc)
