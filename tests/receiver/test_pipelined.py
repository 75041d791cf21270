"""Commands awaited at the same moment share one pipeline; each caller gets its own replies or its
own error; Redis away fails every caller of the batch alike (never hangs one)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from receiver.nonces import Nonces
from receiver.pipelined import Pipelined
from tests.receiver.test_limits import run
from workers.errors import AuthError


def _counting(client: aioredis.Redis) -> list[int]:
    """Counts the pipelines the client opens."""
    opened = [0]
    original = client.pipeline

    def spy(*args: Any, **kwargs: Any) -> Any:
        opened[0] += 1
        return original(*args, **kwargs)

    client.pipeline = spy  # type: ignore[method-assign]
    return opened


def test_callers_of_one_moment_share_a_pipeline_and_keep_their_replies(redis_url: str, redis_client: Any) -> None:
    redis_client.set("text", "not a number")

    async def body(client: aioredis.Redis) -> tuple[list[Any], int]:
        opened = _counting(client)
        batch = Pipelined(client)
        calls = [batch.run(("INCR", f"k{i}"), ("INCR", f"k{i}")) for i in range(10)]
        calls.append(batch.run(("INCR", "text")))
        return await asyncio.gather(*calls, return_exceptions=True), opened[0]

    replies, pipelines = run(redis_url, body)
    assert pipelines == 1
    assert replies[:10] == [[1, 2]] * 10
    assert isinstance(replies[10], redis.ResponseError)  # only its own caller sees it


def test_without_redis_every_caller_gets_the_error() -> None:
    async def body(client: aioredis.Redis) -> list[Any]:
        batch = Pipelined(client)
        return await asyncio.gather(*(batch.run(("SET", f"k{i}", "1")) for i in range(3)), return_exceptions=True)

    assert all(isinstance(r, redis.ConnectionError) for r in run("redis://127.0.0.1:1/0", body))


def test_nonces_claimed_at_once_take_one_round_trip_and_a_repeat_is_refused(redis_url: str, redis_client: Any) -> None:
    async def body(client: aioredis.Redis) -> tuple[list[Any], int]:
        opened = _counting(client)
        nonces = Nonces(client, 60)
        claims = [nonces.claim(str(nonces.key("vobiz.callback", "a", n))) for n in ["1", "2", "3", "2"]]
        return await asyncio.gather(*claims, return_exceptions=True), opened[0]

    claimed, pipelines = run(redis_url, body)
    assert pipelines == 1
    assert claimed[:3] == [None, None, None]
    with pytest.raises(AuthError, match="replay"):
        raise claimed[3]
    assert len(redis_client.keys("cdr-ingest:nonce:*")) == 3
