"""The one ingest endpoint behind every webhook route.

Order matters: route enabled (404) → content type (415) → body within the limit (413) →
authentication over the raw bytes (401) → a replayed nonce (401) → decode and the feed's own
``parse`` (400/422) → ignored events (200) → dedupe window (200 duplicate) → durable enqueue
(the route's accepted status: 202, 200 for Kazoo; or 503).
A payload that authenticates but is not a CDR is still enqueued, so the worker quarantines it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from receiver.acceptor import Acceptor
from receiver.auth import SignedRequest, public_url
from receiver.body import read_limited
from receiver.dedupe import Dedupe, dedupe_key
from receiver.errors import SourceDisabled, UnsupportedMediaType, describe, error_response
from receiver.feeds import Route
from receiver.nonces import nonce_key
from workers.bodies import decode, media_type
from workers.envelope import Envelope, kept_headers
from workers.errors import AuthError, CdrIngestError, PayloadError, TransientError
from workers.logs import get_logger
from workers.settings import Account, Settings
from workers.vendors import Ignored, get_feed

log = get_logger("cdr_ingest.receiver")


@dataclass
class IngestContext:
    settings: Settings
    acceptor: Acceptor
    dedupe: Dedupe
    nonces: Dedupe  # the same SET NX EX window, over NONCE_WINDOW_S, for replay keys


class IngestEndpoint:
    """The ASGI endpoint for one route; every outcome is one log line."""

    def __init__(self, route: Route, ctx: IngestContext) -> None:
        self.route = route
        self.ctx = ctx
        self.feed = get_feed(route.feed)
        self.accounts = route.accounts(ctx.settings)

    async def handle(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except CdrIngestError as e:
            status, code = describe(e)
            log.info("ingest.rejected", feed=self.route.feed, status=status, error=code, detail=str(e))
            return error_response(e)

    async def _authenticated(self, request: Request) -> tuple[Account, Envelope, str | None]:
        """The account, the envelope, and the replay key claimed for this request (if any)."""
        if not self.accounts:
            raise SourceDisabled(f"source {self.route.feed} is not configured")
        content_type = request.headers.get("content-type", "")
        if media_type(content_type) not in self.route.content_types:
            allowed = ", ".join(sorted(self.route.content_types))
            raise UnsupportedMediaType(f"content type {media_type(content_type) or '(none)'!r}; send {allowed}")
        received_at = datetime.now(UTC)
        body = await read_limited(request, self.ctx.settings.max_body_bytes)
        url = public_url(self.ctx.settings.public_base_url, str(request.url))
        signed = SignedRequest(
            method=request.method,
            url=url,
            path=urlsplit(url).path,
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query_params),
            body=body,
            received_at=received_at,
            tolerance_s=self.ctx.settings.signature_tolerance_s,
        )
        account = self.route.check(signed, self.accounts, self.route.purpose)
        replay = await self._claim_replay(signed, account)
        envelope = Envelope(
            feed=self.route.feed,
            account=account.id,
            received_at=received_at,
            body=body.decode("utf-8", errors="replace"),
            content_type=content_type,
            headers=kept_headers(signed.headers),
        )
        return account, envelope, replay

    async def _claim_replay(self, signed: SignedRequest, account: Account) -> str | None:
        value = self.route.replay_key(signed) if self.route.replay_key else None
        if value is None:
            return None
        key = nonce_key(self.route.feed, account.id, value)
        try:
            fresh = await self.ctx.nonces.claim(key, "1")
        except (redis.RedisError, OSError) as e:
            # Unlike the dedupe window this is a security check: without Redis, refuse (503, retried).
            raise TransientError(f"cannot check the request's nonce: {e}") from None
        if not fresh:
            raise AuthError("this nonce was already used: the request is a replay")
        return key

    async def _handle(self, request: Request) -> Response:
        account, envelope, replay = await self._authenticated(request)
        try:
            return await self._accept(account, envelope)
        except TransientError:
            if replay is not None:
                await self._release(self.ctx.nonces, replay)
            raise

    async def _accept(self, account: Account, envelope: Envelope) -> Response:
        feed_name = self.route.feed
        try:
            record = self.feed.parse(decode(envelope.body, envelope.content_type))
        except PayloadError:
            await self._keep_for_quarantine(envelope)
            raise
        if isinstance(record, Ignored):
            log.info("ingest.ignored", feed=feed_name, account=account.id, reason=record.reason)
            return JSONResponse({"status": "ignored", "reason": record.reason})
        key = dedupe_key(feed_name, account.id, record.delivery_id or record.call_id)
        if not await self._claim(key, envelope.ingest_id):
            log.info("ingest.duplicate", feed=feed_name, account=account.id, call_id=record.call_id)
            return JSONResponse({"status": "duplicate"})
        try:
            await self.ctx.acceptor.accept(envelope)
        except CdrIngestError:
            await self._release(self.ctx.dedupe, key)
            raise
        log.info(
            "ingest.accepted", feed=feed_name, account=account.id, call_id=record.call_id, ingest_id=envelope.ingest_id
        )
        return JSONResponse(
            {"status": "queued", "ingest_id": envelope.ingest_id}, status_code=self.route.accepted_status
        )

    async def _claim(self, key: str, ingest_id: str) -> bool:
        try:
            return await self.ctx.dedupe.claim(key, ingest_id)
        except (redis.RedisError, OSError) as e:
            # Without the window a duplicate may be stored twice; the upsert makes that harmless.
            log.warning("ingest.dedupe_unavailable", feed=self.route.feed, error=str(e))
            return True

    async def _release(self, window: Dedupe, key: str) -> None:
        try:
            await window.release(key)
        except (redis.RedisError, OSError):
            pass

    async def _keep_for_quarantine(self, envelope: Envelope) -> None:
        try:
            await self.ctx.acceptor.accept(envelope)
        except CdrIngestError as e:
            log.error("ingest.quarantine_lost", feed=self.route.feed, ingest_id=envelope.ingest_id, error=str(e))
