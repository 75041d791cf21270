"""The dedupe window: a delivery (vendor delivery id, else call id) seen within
``DEDUPE_WINDOW_S`` is answered ``200 duplicate`` without queueing. The store upsert stays the
real guarantee; this only saves work. ``claim`` is ``SET NX EX``; ``release`` undoes a claim
whose delivery could not be accepted, so the vendor's retry is not mistaken for a duplicate.
"""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis


def dedupe_key(feed: str, account: str, delivery: str) -> str:
    digest = hashlib.sha256(delivery.encode()).hexdigest()[:32]
    return f"cdr-ingest:dedupe:{feed}:{account}:{digest}"


class Dedupe:
    def __init__(self, client: aioredis.Redis, window_s: int) -> None:
        self._client = client
        self._window_s = window_s

    async def claim(self, key: str, ingest_id: str) -> bool:
        """True if this delivery is new (and now claimed), False if already seen in the window."""
        if self._window_s <= 0:
            return True
        return bool(await self._client.set(key, ingest_id, nx=True, ex=self._window_s))

    async def release(self, key: str) -> None:
        if self._window_s > 0:
            await self._client.delete(key)
