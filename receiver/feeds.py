"""The webhook table: path → feed, authentication scheme, secret purpose, accepted content types.

A route whose vendor has no account with a secret for its purpose is disabled: 404, never open.
Adding a push feed is one row here plus its module in ``workers/vendors/``.

Kazoo counts only HTTP 200 as a delivered webhook: anything else is recorded as a failure, never
retried, and repeated failures disable the hook (vendors.md §3.3). So its route answers a queued
delivery with 200, not the contract's 202; the body is the same ``{"status": "queued", ...}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from receiver import auth
from workers.bodies import FORM, JSON
from workers.settings import Account, Settings

Check = Callable[[auth.SignedRequest, Sequence[Account], str], Account]
# A value the vendor promises never to send twice (Vobiz V3 nonce): seen again → 401.
ReplayKey = Callable[[auth.SignedRequest], str | None]


@dataclass(frozen=True)
class Route:
    path: str
    feed: str
    purpose: str  # which of the account's secrets authenticates this endpoint
    check: Check
    content_types: frozenset[str]
    replay_key: ReplayKey | None = None
    accepted_status: int = 202  # the answer once the delivery is queued

    @property
    def vendor(self) -> str:
        return self.feed.split(".", 1)[0]

    def accounts(self, settings: Settings) -> tuple[Account, ...]:
        """Accounts able to authenticate here; empty means the route is disabled."""
        return tuple(a for a in settings.accounts_for(self.vendor) if a.secrets_for(self.purpose))


ROUTES: tuple[Route, ...] = (
    Route("/webhooks/callr", "callr.webhook", "webhook", auth.callr_hmac, frozenset({JSON})),
    Route("/webhooks/callr-actions", "callr.actions", "actions", auth.bearer, frozenset({JSON})),
    Route("/webhooks/vobiz", "vobiz.trunk", "webhook", auth.vobiz_hmac, frozenset({JSON})),
    Route(
        "/webhooks/vobiz-callback",
        "vobiz.callback",
        "callback",
        auth.vobiz_v3,
        frozenset({FORM, JSON}),
        replay_key=auth.vobiz_v3_nonce,
    ),
    Route("/webhooks/sinch", "sinch.dice", "app", auth.sinch_application, frozenset({JSON})),
    Route("/webhooks/kazoo", "kazoo.webhook", "webhook", auth.url_token, frozenset({FORM, JSON}), accepted_status=200),
)
