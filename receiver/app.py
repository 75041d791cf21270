"""The Starlette application: routes, lifespan (Redis clients, the acceptor), error handlers.

``create_app(settings)`` for tests and embedding; ``from_env()`` is the factory uvicorn runs
(``cdr-ingest serve``), reading the settings once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.routing import Route as HttpRoute

from receiver import errors
from receiver.acceptor import Acceptor, DurableSink
from receiver.dedupe import Dedupe
from receiver.feeds import ROUTES
from receiver.health import healthz, readyz_endpoint
from receiver.ingest import IngestContext, IngestEndpoint
from receiver.nonces import Nonces
from receiver.spool import Spool
from workers.envelope import Envelope
from workers.logs import configure_logging
from workers.queue import enqueue_envelopes, ingest_queue, redis_connection
from workers.settings import Settings, load_settings


def create_app(settings: Settings) -> Starlette:
    async_redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    sync_redis = redis_connection(settings.redis_url)
    queue = ingest_queue(sync_redis, settings.queue_name)

    def enqueue(envelopes: Sequence[Envelope]) -> Any:
        return enqueue_envelopes(queue, envelopes, job_timeout_s=settings.job_timeout_s)

    def ping() -> bool:
        try:
            return bool(sync_redis.ping())
        except (redis.RedisError, OSError):
            return False

    spool = Spool(Path(settings.spool_dir), settings.spool_max_bytes)
    acceptor = Acceptor(DurableSink(enqueue, spool, ping, Dedupe(sync_redis, settings.dedupe_window_s)))
    ctx = IngestContext(settings, acceptor, Nonces(async_redis, settings.nonce_window_s))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        acceptor.start()
        try:
            yield
        finally:
            await acceptor.close()
            await async_redis.aclose()
            sync_redis.close()

    routes = [HttpRoute(r.path, IngestEndpoint(r, ctx).handle, methods=["POST"]) for r in ROUTES]
    routes += [
        HttpRoute("/healthz", healthz, methods=["GET"]),
        HttpRoute("/readyz", readyz_endpoint(async_redis, spool), methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            404: errors.not_found,
            405: errors.method_not_allowed,
            Exception: errors.internal_error,
        },
    )


def from_env() -> Starlette:
    settings = load_settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    return create_app(settings)
