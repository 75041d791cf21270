"""The webhook table: path → feed, authentication scheme, secret purpose, accepted content types.

A route whose vendor has no account with a secret for its purpose is disabled: 404, never open.
Adding a push feed is one row here plus its module in ``workers/vendors/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from receiver import auth
from workers.bodies import JSON
from workers.settings import Account, Settings

Check = Callable[[auth.SignedRequest, Sequence[Account], str], Account]


@dataclass(frozen=True)
class Route:
    path: str
    feed: str
    purpose: str  # which of the account's secrets authenticates this endpoint
    check: Check
    content_types: frozenset[str]

    @property
    def vendor(self) -> str:
        return self.feed.split(".", 1)[0]

    def accounts(self, settings: Settings) -> tuple[Account, ...]:
        """Accounts able to authenticate here; empty means the route is disabled."""
        return tuple(a for a in settings.accounts_for(self.vendor) if a.secrets_for(self.purpose))


ROUTES: tuple[Route, ...] = (
    Route("/webhooks/callr", "callr.webhook", "webhook", auth.callr_hmac, frozenset({JSON})),
    Route("/webhooks/callr-actions", "callr.actions", "actions", auth.bearer, frozenset({JSON})),
)
