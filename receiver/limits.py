"""Fixed-window limits counted in Redis, so they hold across processes and receivers.

``WindowCounter.hit`` is one ``INCR`` (+ ``EXPIRE``) per call, but every call waiting at the same
moment goes to Redis in one pipeline (``receiver.pipelined``), so a burst costs one round trip per
batch. A key over its limit is then refused from this process's memory until the window
ends: a flood costs no Redis work at all. Without Redis the counts are kept in this process, so a
limit still holds per process. Windows are aligned on the wall clock (``time // window``), the
same for every process; a client can get up to twice the limit across a window boundary.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import redis
import redis.asyncio as aioredis

from receiver.errors import RateLimited
from receiver.pipelined import Pipelined
from workers.logs import get_logger

log = get_logger("cdr_ingest.receiver")
MAX_BLOCKED = 100_000  # remembered refusals per process; expired ones are dropped past this


class WindowCounter:
    def __init__(self, client: aioredis.Redis, name: str, window_s: int, clock: Callable[[], float] = time.time):
        self._redis = Pipelined(client)
        self._prefix = f"cdr-ingest:{name}"
        self.window_s = window_s
        self._clock = clock
        self._local: dict[str, int] = {}  # counts while Redis is away; keys carry their window
        self._redis_ok = True

    async def hit(self, key: str) -> tuple[int, float]:
        """(the key's count in the current window including this hit, seconds until the window ends)."""
        now = self._clock()
        index = int(now // self.window_s)
        counted = f"{self._prefix}:{index}:{key}"
        try:
            count, _ = await self._redis.run(("INCR", counted), ("EXPIRE", counted, self.window_s + 1))
            self._redis_ok = True
        except (redis.RedisError, OSError) as e:
            if self._redis_ok:
                log.warning("limits.redis_down", counter=self._prefix, error=str(e), action="counting per process")
            self._redis_ok = False
            count = self._count_locally(counted)
        return int(count), (index + 1) * self.window_s - now

    def _count_locally(self, key: str) -> int:
        if len(self._local) > MAX_BLOCKED:
            self._local.clear()
        self._local[key] = self._local.get(key, 0) + 1
        return self._local[key]


class WindowLimit:
    """At most ``limit`` counted events per key per window; past it, ``RateLimited`` until the window ends."""

    def __init__(self, counter: WindowCounter, limit: int, what: str, clock: Callable[[], float] = time.monotonic):
        self._counter = counter
        self.limit = limit
        self._what = what  # "requests" or "failed authentications", for the error detail
        self._clock = clock
        self._blocked: dict[str, float] = {}  # key -> monotonic deadline

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def check(self, key: str) -> None:
        """Refuse a key already over its limit in this window; memory only, no Redis."""
        deadline = self._blocked.get(key)
        if deadline is None:
            return
        left = deadline - self._clock()
        if left <= 0:
            del self._blocked[key]
            return
        raise self._refusal(key, left)

    async def count(self, key: str) -> None:
        """Count one event for the key; ``RateLimited`` when that puts it over the limit."""
        if not self.enabled:
            return
        count, left = await self._counter.hit(key)
        if count > self.limit:
            self._block(key, left)
            raise self._refusal(key, left)

    def _block(self, key: str, seconds: float) -> None:
        if len(self._blocked) >= MAX_BLOCKED:
            now = self._clock()
            self._blocked = {k: d for k, d in self._blocked.items() if d > now}
        if len(self._blocked) < MAX_BLOCKED:
            self._blocked[key] = self._clock() + seconds

    def _refusal(self, key: str, left: float) -> RateLimited:
        return RateLimited(
            f"more than {self.limit} {self._what} per {self._counter.window_s} s from {key.rsplit('|', 1)[-1]}; "
            "retry later",
            retry_after_s=max(1, math.ceil(left)),
        )
