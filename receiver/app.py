"""The Starlette application: routes, lifespan (Redis clients, the acceptor), error handlers.

``create_app(settings)`` for tests and embedding; ``from_env()`` is the factory uvicorn runs
(``cdr-ingest serve``), reading the settings once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import redis
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route as HttpRoute
from starlette.types import Receive, Scope, Send

from receiver import errors, openapi, server
from receiver.acceptor import Acceptor, DurableSink
from receiver.feeds import ROUTES
from receiver.gate import Gate
from receiver.health import healthz, metrics_endpoint, readyz_endpoint
from receiver.ingest import IngestContext, IngestEndpoint
from receiver.nonces import Nonces
from receiver.read_api import ReadApi
from receiver.spool import Spool
from workers import collector, metrics
from workers.inbox import Inbox
from workers.logs import configure_logging
from workers.queue import ingest_queue, redis_connection
from workers.settings import Settings, load_settings
from workers.stats import queue_depths
from workers.store import open_store
from workers.store.reads import CdrReader


class ReceiverApp(Starlette):
    """Starlette, but a POST to a webhook path goes straight to its raw ASGI ``IngestEndpoint``,
    skipping the middleware and the router (the hot path; every other request, including any other
    method on a webhook path, is Starlette's)."""

    def __init__(self, *, webhooks: dict[str, IngestEndpoint], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.webhooks = webhooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.webhooks.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> Starlette:
    async_redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    sync_redis = redis_connection(settings.redis_url)
    queue = ingest_queue(sync_redis, settings.queue_name)

    inbox = Inbox(
        sync_redis,
        queue,
        window_s=settings.dedupe_window_s,
        job_timeout_s=settings.job_timeout_s,
        async_connection=async_redis,
        nonce_window_s=settings.nonce_window_s,
    )

    def ping() -> bool:
        try:
            return bool(sync_redis.ping())
        except (redis.RedisError, OSError):
            return False

    spool = Spool(Path(settings.spool_dir), settings.spool_max_bytes)
    acceptor = Acceptor(DurableSink(inbox.push_async, spool, ping, inbox.push))
    gate = Gate.from_settings(settings, async_redis)
    ctx = IngestContext(settings, acceptor, gate, Nonces(async_redis, settings.nonce_window_s))
    # The read API opens the store only when enabled; the webhooks never need it.
    reader = CdrReader(open_store(settings.database_url)) if settings.read_api_tokens else None
    spec = openapi.document()

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(spec)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        acceptor.start()
        try:
            yield
        finally:
            await acceptor.close()
            await inbox.aclose()
            await async_redis.aclose()
            sync_redis.close()
            if reader is not None:
                reader.store.close()
            metrics.process_exit(settings)

    webhooks = {r.path: IngestEndpoint(r, ctx) for r in ROUTES}
    routes = [HttpRoute(path, endpoint, methods=["POST"]) for path, endpoint in webhooks.items()]
    routes += [
        HttpRoute("/healthz", healthz, methods=["GET"]),
        HttpRoute("/readyz", readyz_endpoint(async_redis, spool), methods=["GET"]),
        HttpRoute(
            "/metrics",
            metrics_endpoint(
                settings,
                metrics.QueueCollector(settings.queue_name, lambda: queue_depths(queue)),
                metrics.SpoolCollector(spool.state),
            ),
            methods=["GET"],
        ),
        HttpRoute("/openapi.json", openapi_json, methods=["GET"]),
        *ReadApi(reader, settings.read_api_tokens, gate, settings.read_api_allowed_ips).routes(),
    ]
    return ReceiverApp(
        webhooks=webhooks,
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
    configure_logging(fmt=settings.log_format, level=settings.log_level, mask_phone_numbers=settings.log_mask_numbers)
    server.configure(settings)  # the limits of the connections uvicorn accepts in this process
    app = create_app(settings)
    collector.settle()  # what exists now lives as long as the process: never walked by the collector again
    return app
