"""The one ingest endpoint behind every webhook route.

Order matters: route enabled (404) → client address allowed for some account (403) → not locked
out after failed authentications, nor over ``RATE_LIMIT`` (429) → content type (415) → body within
the limit (413) and the deadline (408) → authentication over the raw bytes (401; counted, and 429
once the address is past ``AUTH_FAILURE_LIMIT``) → a replayed nonce (401) → decode and the feed's own
``parse`` (400/422) → ignored events (200) → durable enqueue with the dedupe window checked in
the same batch (the route's accepted status: 202, 200 for Kazoo; 200 duplicate; or 503).
A payload that authenticates but is not a CDR is still enqueued, so the worker quarantines it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from receiver.acceptor import Acceptor
from receiver.auth import SignedRequest, public_url
from receiver.body import read_limited
from receiver.clients import Address, admits
from receiver.dedupe import dedupe_key
from receiver.errors import SourceDisabled, UnsupportedMediaType, describe, error_response
from receiver.feeds import Route
from receiver.gate import Gate
from receiver.nonces import Nonces
from workers import metrics
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
    gate: Gate
    nonces: Nonces | None = None  # for routes with a replay key (Vobiz V3)


class IngestEndpoint:
    """The ASGI endpoint for one route; every outcome is one log line."""

    def __init__(self, route: Route, ctx: IngestContext) -> None:
        self.route = route
        self.ctx = ctx
        self.feed = get_feed(route.feed)
        self.accounts = route.accounts(ctx.settings)

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        client = self.ctx.gate.client(request)
        try:
            outcome, response = await self._handle(request, client)
        except CdrIngestError as e:
            status, code = describe(e)
            log.info(
                "ingest.rejected", feed=self.route.feed, status=status, error=code, detail=str(e), client=str(client)
            )
            metrics.observe_delivery(self.route.feed, code)
            return error_response(e)
        if outcome == "queued":
            metrics.observe_delivery(self.route.feed, "accepted", time.perf_counter() - started)
        else:
            metrics.observe_delivery(self.route.feed, outcome)
        return response

    async def _authenticated(self, request: Request, client: Address | None) -> tuple[Account, Envelope, str | None]:
        """The account, the envelope, and the nonce claimed for this request (if its route has one)."""
        if not self.accounts:
            raise SourceDisabled(f"source {self.route.feed} is not configured")
        # Only the accounts whose allowlist admits the caller may authenticate it.
        accounts = tuple(a for a in self.accounts if admits(a.allowed_ips, client))
        self.ctx.gate.admit(client, bool(accounts), self.route.path)
        await self.ctx.gate.count_request(self.route.feed, client)
        content_type = request.headers.get("content-type", "")
        if media_type(content_type) not in self.route.content_types:
            allowed = ", ".join(sorted(self.route.content_types))
            raise UnsupportedMediaType(f"content type {media_type(content_type) or '(none)'!r}; send {allowed}")
        received_at = datetime.now(UTC)
        body = await read_limited(request, self.ctx.settings.max_body_bytes, self.ctx.settings.body_timeout_s)
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
        try:
            account = self.route.check(signed, accounts, self.route.purpose)
            nonce = await self._claim_nonce(signed, account)
        except AuthError:
            await self.ctx.gate.count_failure(client)  # 429 instead, past the failure limit
            raise
        envelope = Envelope(
            feed=self.route.feed,
            account=account.id,
            received_at=received_at,
            body=body.decode("utf-8", errors="replace"),
            content_type=content_type,
            headers=kept_headers(signed.headers),
        )
        return account, envelope, nonce

    async def _claim_nonce(self, signed: SignedRequest, account: Account) -> str | None:
        value = self.route.replay_key(signed) if self.route.replay_key else None
        if value is None or self.ctx.nonces is None:
            return None
        return await self.ctx.nonces.claim(self.route.feed, account.id, value)

    async def _handle(self, request: Request, client: Address | None) -> tuple[str, Response]:
        """The outcome ("queued", "duplicate", "ignored") and the response telling the vendor."""
        account, envelope, nonce = await self._authenticated(request, client)
        try:
            return await self._accept(account, envelope)
        except TransientError:
            if nonce is not None and self.ctx.nonces is not None:
                await self.ctx.nonces.release(nonce)  # the vendor's retry is not a replay
            raise

    async def _accept(self, account: Account, envelope: Envelope) -> tuple[str, Response]:
        feed_name = self.route.feed
        try:
            record = self.feed.parse(decode(envelope.body, envelope.content_type))
        except PayloadError:
            await self._keep_for_quarantine(envelope)
            raise
        if isinstance(record, Ignored):
            log.info("ingest.ignored", feed=feed_name, account=account.id, reason=record.reason)
            return "ignored", JSONResponse({"status": "ignored", "reason": record.reason})
        key = dedupe_key(feed_name, account.id, record.delivery_id or record.call_id)
        outcome = await self.ctx.acceptor.accept(envelope, key)
        if outcome == "duplicate":
            log.info("ingest.duplicate", feed=feed_name, account=account.id, call_id=record.call_id)
            return "duplicate", JSONResponse({"status": "duplicate"})
        log.info(
            "ingest.accepted",
            feed=feed_name,
            account=account.id,
            call_id=record.call_id,
            ingest_id=envelope.ingest_id,
            durable_in="redis" if outcome == "queued" else "spool",
        )
        body = {"status": "queued", "ingest_id": envelope.ingest_id}
        return "queued", JSONResponse(body, status_code=self.route.accepted_status)

    async def _keep_for_quarantine(self, envelope: Envelope) -> None:
        try:
            await self.ctx.acceptor.accept(envelope)
        except CdrIngestError as e:
            log.error("ingest.quarantine_lost", feed=self.route.feed, ingest_id=envelope.ingest_id, error=str(e))
