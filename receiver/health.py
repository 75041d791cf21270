"""Probes: ``/healthz`` (the process runs) and ``/readyz`` (Redis answers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis
import redis.asyncio as aioredis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readyz_endpoint(client: aioredis.Redis) -> Callable[[Request], Awaitable[Response]]:
    async def readyz(request: Request) -> Response:
        try:
            await client.ping()
        except (redis.RedisError, OSError) as e:
            return JSONResponse(
                {"status": "unavailable", "redis": "down", "detail": f"Redis does not answer: {e}"}, status_code=503
            )
        return JSONResponse({"status": "ready", "redis": "up"})

    return readyz
