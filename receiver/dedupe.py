"""The dedupe window: a delivery (vendor delivery id, else call id) seen within
``DEDUPE_WINDOW_S`` is answered ``200 duplicate`` without queueing. The store upsert stays the
real guarantee; this only saves work.

Claims are ``SET NX EX``, sent for a whole batch in one pipeline by the acceptor's flusher (no
Redis round trip per request). ``release`` undoes claims whose deliveries could not reach Redis,
so the vendor's retry, or the drain of the spool, is not mistaken for a duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import redis


def dedupe_key(feed: str, account: str, delivery: str) -> str:
    digest = hashlib.sha256(delivery.encode()).hexdigest()[:32]
    return f"cdr-ingest:dedupe:{feed}:{account}:{digest}"


class Dedupe:
    def __init__(self, client: redis.Redis, window_s: int) -> None:
        self._client = client
        self._window_s = window_s

    def claim(self, keys: Sequence[str | None], values: Sequence[str]) -> list[bool]:
        """For each key: True if new (and now claimed) or None, False if seen within the window."""
        wanted = [(k, v) for k, v in zip(keys, values, strict=True) if k is not None]
        if self._window_s <= 0 or not wanted:
            return [True] * len(keys)
        with self._client.pipeline(transaction=False) as pipe:
            for key, value in wanted:
                pipe.set(key, value, nx=True, ex=self._window_s)
            answers = iter(pipe.execute())
        return [True if k is None else bool(next(answers)) for k in keys]

    def release(self, keys: Sequence[str | None]) -> None:
        present = [k for k in keys if k is not None]
        if self._window_s > 0 and present:
            self._client.delete(*present)
