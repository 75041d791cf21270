"""Probes and metrics: ``/healthz`` (the process runs), ``/readyz`` (Redis answers; the spool is
reported), ``/metrics``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis
import redis.asyncio as aioredis
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from receiver.spool import Spool
from workers import metrics
from workers.settings import Settings


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readyz_endpoint(client: aioredis.Redis, spool: Spool) -> Callable[[Request], Awaitable[Response]]:
    """200 when Redis answers, 503 otherwise (the contract); the body reports the spool either way,
    since deliveries still get a 202 from the spool while Redis is down."""

    async def readyz(request: Request) -> Response:
        state = await run_in_threadpool(spool.state)
        body: dict[str, object] = {"spool": {"bytes": state.bytes, "segments": state.segments}}
        try:
            await client.ping()
        except (redis.RedisError, OSError) as e:
            body |= {"status": "unavailable", "redis": "down", "detail": f"Redis does not answer: {e}"}
            return JSONResponse(body, status_code=503)
        return JSONResponse(body | {"status": "ready", "redis": "up"})

    return readyz


def metrics_endpoint(settings: Settings, *extra: Collector) -> Callable[[Request], Awaitable[Response]]:
    """Prometheus text; collecting reads files and Redis, so it runs in the thread pool."""

    async def metrics_page(request: Request) -> Response:
        body = await run_in_threadpool(metrics.exposition, settings, extra)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics_page
