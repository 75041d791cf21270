"""The one ingest endpoint behind every webhook route.

Order matters: route enabled (404) → client address allowed for some account (403) → not locked
out after failed authentications, nor over ``RATE_LIMIT`` (429) → content type (415) → body within
the limit (413) and the deadline (408) → authentication over the raw bytes (401; counted, and 429
once the address is past ``AUTH_FAILURE_LIMIT``) → decode and the feed's own ``parse`` (400/422)
→ ignored events (200) → durable enqueue with the dedupe window checked and the nonce claimed in
the same batch (the route's accepted status: 202, 200 for Kazoo; 200 duplicate; 401 a replayed
nonce; or 503).
A payload that authenticates but is not a CDR is still enqueued, so the worker quarantines it.

The endpoint is a raw ASGI app (``receiver.app`` calls it before Starlette's middleware and router
for a POST on its path): Starlette's request and response objects and its exception middleware
were ~10% of the receiver's CPU under load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from starlette.datastructures import URL
from starlette.types import Receive, Scope, Send

from receiver.acceptor import Acceptor
from receiver.auth import SignedRequest, public_url
from receiver.body import ClientDisconnected, header_map, header_values, read_body, send_json
from receiver.clients import Address, admits
from receiver.dedupe import dedupe_key
from receiver.errors import SourceDisabled, UnsupportedMediaType, error_parts
from receiver.feeds import Route
from receiver.gate import Gate
from receiver.nonces import Nonces, replayed
from workers import metrics
from workers.bodies import decode, media_type
from workers.envelope import Envelope, kept_headers
from workers.errors import AuthError, PayloadError, TransientError
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = header_map(scope)
        peer = scope.get("client")
        client = self.ctx.gate.address(peer[0] if peer else None, header_values(scope, b"x-forwarded-for"))
        try:
            outcome, status, answer = await self._handle(scope, receive, headers, client)
        except ClientDisconnected as e:
            log.info("ingest.disconnected", feed=self.route.feed, detail=str(e), client=str(client))
            metrics.observe_delivery(self.route.feed, "disconnected")
            return
        except Exception as e:
            status, answer, extra = error_parts(e)
            if status == 500:
                log.exception("ingest.failed", feed=self.route.feed, client=str(client))
            else:
                log.info("ingest.rejected", feed=self.route.feed, status=status, error=answer["error"],
                         detail=answer["detail"], client=str(client))  # fmt: skip
            metrics.observe_delivery(self.route.feed, answer["error"])
            await send_json(scope, send, status, answer, [(k.lower().encode(), v.encode()) for k, v in extra.items()])
            return
        if outcome == "queued":
            metrics.observe_delivery(self.route.feed, "accepted", time.perf_counter() - started)
        else:
            metrics.observe_delivery(self.route.feed, outcome)
        await send_json(scope, send, status, answer)

    async def _authenticated(
        self, scope: Scope, receive: Receive, headers: dict[str, str], client: Address | None
    ) -> tuple[Account, Envelope, str | None]:
        """The account, the envelope, and the key of the request's nonce (if its route has one),
        claimed when the envelope is enqueued."""
        if not self.accounts:
            raise SourceDisabled(f"source {self.route.feed} is not configured")
        # Only the accounts whose allowlist admits the caller may authenticate it.
        accounts = tuple(a for a in self.accounts if admits(a.allowed_ips, client))
        self.ctx.gate.admit(client, bool(accounts), self.route.path)
        await self.ctx.gate.count_request(self.route.feed, client)
        content_type = headers.get("content-type", "")
        if media_type(content_type) not in self.route.content_types:
            allowed = ", ".join(sorted(self.route.content_types))
            raise UnsupportedMediaType(f"content type {media_type(content_type) or '(none)'!r}; send {allowed}")
        received_at = datetime.now(UTC)
        body = await read_body(receive, headers, self.ctx.settings.max_body_bytes)
        base = self.ctx.settings.public_base_url
        signed = SignedRequest(
            method=scope["method"],
            target=lambda: public_url(base, str(URL(scope=scope))),
            headers=headers,
            query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)),
            body=body,
            received_at=received_at,
            tolerance_s=self.ctx.settings.signature_tolerance_s,
        )
        try:
            account = self.route.check(signed, accounts, self.route.purpose)
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
        nonce = self.route.replay_key(signed) if self.route.replay_key else None
        key = self.ctx.nonces.key(self.route.feed, account.id, nonce) if self.ctx.nonces else None
        return account, envelope, key

    async def _handle(
        self, scope: Scope, receive: Receive, headers: dict[str, str], client: Address | None
    ) -> tuple[str, int, dict[str, str]]:
        """The outcome ("queued", "duplicate", "ignored"), and the status and JSON body telling the vendor."""
        account, envelope, nonce = await self._authenticated(scope, receive, headers, client)
        try:
            return await self._accept(account, envelope, nonce)
        except AuthError:  # a replayed nonce
            await self.ctx.gate.count_failure(client)
            raise

    async def _accept(self, account: Account, envelope: Envelope, nonce: str | None) -> tuple[str, int, dict[str, str]]:
        feed_name = self.route.feed
        try:
            record = self.feed.parse(decode(envelope.body, envelope.content_type))
        except PayloadError:
            await self._keep_for_quarantine(envelope, nonce)
            raise
        if isinstance(record, Ignored):
            if nonce is not None and self.ctx.nonces is not None:
                await self.ctx.nonces.claim(nonce)  # not enqueued, so claimed on its own
            log.info("ingest.ignored", feed=feed_name, account=account.id, reason=record.reason)
            return "ignored", 200, {"status": "ignored", "reason": record.reason}
        key = dedupe_key(feed_name, account.id, record.delivery_id or record.call_id)
        outcome = _checked(await self.ctx.acceptor.accept(envelope, key, nonce))
        if outcome == "duplicate":
            log.info("ingest.duplicate", feed=feed_name, account=account.id, call_id=record.call_id)
            return "duplicate", 200, {"status": "duplicate"}
        log.info(
            "ingest.accepted",
            feed=feed_name,
            account=account.id,
            call_id=record.call_id,
            ingest_id=envelope.ingest_id,
            durable_in="redis" if outcome == "queued" else "spool",
        )
        return "queued", self.route.accepted_status, {"status": "queued", "ingest_id": envelope.ingest_id}

    async def _keep_for_quarantine(self, envelope: Envelope, nonce: str | None) -> None:
        """Enqueue a payload that fails parsing, for the worker to quarantine; a replay of it is
        refused as a replay (401), and one whose nonce cannot be checked is not kept (503)."""
        try:
            _checked(await self.ctx.acceptor.accept(envelope, None, nonce))
        except TransientError as e:
            if nonce is not None:
                raise
            log.error("ingest.quarantine_lost", feed=self.route.feed, ingest_id=envelope.ingest_id, error=str(e))


def _checked(outcome: str) -> str:
    """The acceptor's outcome, unless it refuses the delivery: a replayed nonce (401), or one that
    could not be checked while Redis is down (503: the vendor retries)."""
    if outcome == "replay":
        raise replayed()
    if outcome == "unchecked":
        raise TransientError("Redis is unavailable, so the request's nonce cannot be checked: retry later")
    return outcome
