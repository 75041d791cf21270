"""What every webhook and read API request passes before its body is read: who is calling
(``clients``), whether that address may call (allowlists: 403), whether it is locked out after
failed authentications, and, when ``RATE_LIMIT`` is on, whether it is over the request rate (429).

Cost on the hot path: the lockout check is memory only; failed authentications are counted in
Redis only when one happens; the request rate costs one batched ``INCR`` per request, and only when
the operator turned it on.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
from starlette.requests import Request

from receiver.clients import Address, client_address, limit_key
from receiver.errors import Forbidden
from receiver.limits import WindowCounter, WindowLimit
from workers.settings import Network, Settings


class Gate:
    def __init__(self, trusted_proxies: Sequence[Network], failures: WindowLimit, rate: WindowLimit) -> None:
        self.trusted_proxies = tuple(trusted_proxies)
        self.failures = failures
        self.rate = rate

    @classmethod
    def from_settings(cls, settings: Settings, client: aioredis.Redis) -> Gate:
        failures = WindowCounter(client, "auth-failures", settings.auth_failure_window_s)
        requests = WindowCounter(client, "rate", settings.rate_limit_window_s)
        return cls(
            settings.trusted_proxies,
            WindowLimit(failures, settings.auth_failure_limit, "failed authentications"),
            WindowLimit(requests, settings.rate_limit, "requests"),
        )

    def client(self, request: Request) -> Address | None:
        peer = request.client.host if request.client else None
        return self.address(peer, request.headers.getlist("x-forwarded-for"))

    def address(self, peer: str | None, forwarded_for: list[str]) -> Address | None:
        """The caller: the peer, or the address a trusted proxy forwarded for (``TRUSTED_PROXIES``)."""
        return client_address(peer, forwarded_for, self.trusted_proxies)

    def admit(self, client: Address | None, allowed: bool, what: str) -> None:
        """403 unless an allowlist admits the client (``clients.admits``); 429 while it is locked
        out after failed authentications (memory only)."""
        if not allowed:
            raise Forbidden(f"{client or 'an unidentified address'} may not call {what}")
        self.failures.check(limit_key(client))

    async def count_request(self, source: str, client: Address | None) -> None:
        """One request from the client to the source: 429 past ``RATE_LIMIT`` (when on)."""
        if self.rate.enabled:
            key = f"{source}|{limit_key(client)}"
            self.rate.check(key)
            await self.rate.count(key)

    async def count_failure(self, client: Address | None) -> None:
        """One failed authentication: 429 instead of 401 once the address is past ``AUTH_FAILURE_LIMIT``."""
        await self.failures.count(limit_key(client))
