"""Nonces a vendor promises never to reuse (Vobiz V3), remembered in Redis for ``NONCE_WINDOW_S``
so a replayed request is refused (401). One ``SET NX EX`` per request, only on routes that have a
replay key, in one pipeline with the other requests' of the same moment (``receiver.pipelined``).
``release`` undoes a claim whose delivery could not be made durable, so the vendor's retry is not
mistaken for a replay. Without Redis the check cannot be made and the request is refused with 503
(retried), never accepted unchecked.
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


class Nonces:
    def __init__(self, client: aioredis.Redis, window_s: int) -> None:
        self._client = client
        self._claims = Pipelined(client)
        self._window_s = window_s

    async def claim(self, feed: str, account: str, nonce: str) -> str | None:
        """The claimed key; ``AuthError`` if the nonce was seen within the window (0 disables)."""
        if self._window_s <= 0:
            return None
        key = nonce_key(feed, account, nonce)
        try:
            (fresh,) = await self._claims.run(("SET", key, "1", "NX", "EX", self._window_s))
        except (redis.RedisError, OSError) as e:
            raise TransientError(f"cannot check the request's nonce: {e}") from None
        if not fresh:
            raise AuthError("this nonce was already used: the request is a replay")
        return key

    async def release(self, key: str) -> None:
        try:
            await self._client.delete(key)
        except (redis.RedisError, OSError):
            pass  # the key expires with the window
