"""Window counters on real Redis: batched, shared across processes, per process without Redis;
limits refuse past the count and then from memory until the window ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from receiver.errors import RateLimited
from receiver.limits import WindowCounter, WindowLimit


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run(redis_url: str, body: Callable[[aioredis.Redis], Any]) -> Any:
    async def main() -> Any:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await body(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_concurrent_hits_share_one_round_trip(redis_url: str, redis_client: Any) -> None:
    """Fifty requests counted at once reach Redis as one pipeline, and each gets its own count."""

    async def body(client: aioredis.Redis) -> tuple[list[int], int]:
        pipelines = 0
        original = client.pipeline

        def spy(*args: Any, **kwargs: Any) -> Any:
            nonlocal pipelines
            pipelines += 1
            return original(*args, **kwargs)

        client.pipeline = spy  # type: ignore[method-assign]
        counter = WindowCounter(client, "t", 60)
        hits = await asyncio.gather(*(counter.hit("k") for _ in range(50)))
        return sorted(count for count, _ in hits), pipelines

    counts, pipelines = run(redis_url, body)
    assert counts == list(range(1, 51)) and pipelines == 1


def test_processes_share_the_count(redis_url: str, redis_client: Any) -> None:
    """Two counters (two receiver processes) add up in Redis; the window's key expires with it."""

    async def body(client: aioredis.Redis) -> list[int]:
        a, b = WindowCounter(client, "t", 60), WindowCounter(client, "t", 60)
        return [(await c.hit("k"))[0] for c in (a, b, a, b)]

    assert run(redis_url, body) == [1, 2, 3, 4]
    (key,) = redis_client.keys("cdr-ingest:t:*")
    assert 0 < redis_client.ttl(key) <= 61


def test_without_redis_counts_per_process(redis_client: Any) -> None:
    """With Redis away the limit still holds inside this process."""

    async def body(client: aioredis.Redis) -> list[int]:
        counter = WindowCounter(client, "t", 60)
        return [(await counter.hit("k"))[0] for _ in range(3)]

    assert run("redis://127.0.0.1:1/0", body) == [1, 2, 3]


def test_limit_refuses_then_remembers_until_the_window_ends(redis_url: str, redis_client: Any) -> None:
    """Past the limit: RateLimited with the seconds left; later requests are refused from memory; a new window opens."""
    wall, mono = Clock(), Clock()

    async def body(client: aioredis.Redis) -> None:
        limit = WindowLimit(WindowCounter(client, "t", 60, clock=wall), 2, "requests", clock=mono)
        await limit.count("k")
        await limit.count("k")
        with pytest.raises(RateLimited) as refused:
            await limit.count("k")
        assert 1 <= refused.value.retry_after_s <= 60 and "more than 2 requests per 60 s" in str(refused.value)
        redis_client.flushdb()  # the refusal below cannot come from Redis
        with pytest.raises(RateLimited):
            limit.check("k")
        limit.check("other")
        wall.now += 60
        mono.now += 60
        limit.check("k")
        await limit.count("k")

    run(redis_url, body)


def test_zero_turns_a_limit_off(redis_url: str, redis_client: Any) -> None:
    """A limit of 0 counts nothing and refuses nothing."""

    async def body(client: aioredis.Redis) -> None:
        limit = WindowLimit(WindowCounter(client, "t", 60), 0, "requests")
        for _ in range(5):
            await limit.count("k")

    run(redis_url, body)
    assert redis_client.keys("cdr-ingest:t:*") == []
