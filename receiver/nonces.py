"""Nonces a vendor promises never to reuse (Vobiz V3), remembered in Redis for ``NONCE_WINDOW_S``
so a replayed request is refused (401).

A delivery that is enqueued claims its nonce in the inbox's own script, in the same step that
makes it durable (``workers.inbox``): no round trip of its own, and a delivery that could not be
made durable claims nothing, so the vendor's retry is not taken for a replay. One that is not
enqueued (an ignored event) claims it here, one ``SET NX EX``, in one pipeline with the other
requests' of the same moment (``receiver.pipelined``). Without Redis the check cannot be made and
the request is refused with 503 (retried), never accepted unchecked.

Claimed on their own, before the enqueue (each callback's nonce a round trip, its own pipeline
flush splitting the acceptor's batches), the Vobiz callbacks made ``make bench``'s mix of every
feed cost the receiver 77.7 µs of CPU a request in process (batches of 14); claimed in the inbox
script, 62.5 (batches of 32).
"""

from __future__ import annotations

import hashlib

import redis
import redis.asyncio as aioredis

from receiver.pipelined import Pipelined
from workers.errors import AuthError, TransientError


def nonce_key(feed: str, account: str, nonce: str) -> str:
    digest = hashlib.sha256(nonce.encode()).hexdigest()[:32]
    return f"cdr-ingest:nonce:{feed}:{account}:{digest}"


def replayed() -> AuthError:
    return AuthError("this nonce was already used: the request is a replay")


class Nonces:
    def __init__(self, client: aioredis.Redis, window_s: int) -> None:
        self._claims = Pipelined(client)
        self.window_s = window_s

    def key(self, feed: str, account: str, nonce: str | None) -> str | None:
        """The Redis key remembering the nonce; None without one, or when the window is 0 (off)."""
        if nonce is None or self.window_s <= 0:
            return None
        return nonce_key(feed, account, nonce)

    async def claim(self, key: str) -> None:
        """Claim a nonce outside the inbox: ``AuthError`` if it was seen within the window,
        ``TransientError`` when Redis cannot say."""
        try:
            (fresh,) = await self._claims.run(("SET", key, "1", "NX", "EX", self.window_s))
        except (redis.RedisError, OSError) as e:
            raise TransientError(f"cannot check the request's nonce: {e}") from None
        if not fresh:
            raise replayed()
