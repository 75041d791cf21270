"""Reading a request body under a size limit and a deadline: refused (413) from Content-Length
before reading, or as soon as the streamed bytes pass the limit, without reading the rest; and
refused (408) when the whole body has not arrived within ``BODY_TIMEOUT_S``, so a client trickling
bytes cannot hold a request (and its connection slot) for ever."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from receiver.errors import BodyTooLarge, RequestTimeout
from workers.errors import PayloadError


async def read_limited(request: Request, limit: int, timeout_s: float) -> bytes:
    try:
        async with asyncio.timeout(timeout_s):
            return await _read(request, limit)
    except TimeoutError:
        raise RequestTimeout(f"the body did not arrive within {timeout_s:g} s") from None


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise PayloadError("Content-Length is not a number", malformed=True) from None
        if size > limit:
            raise BodyTooLarge(f"body of {size} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)
