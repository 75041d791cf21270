"""Redis commands the requests of one moment wait on, sent in one pipeline.

Each caller hands its commands to ``Pipelined.run`` and waits; the first one starts a flusher
task that, on the next turn of the event loop, takes everything pending (the commands of every
request that reached the same point meanwhile) and sends it as one non-transactional pipeline,
then again while more arrived during the round trip. Under load a burst costs one round trip per
batch; alone, a request waits one loop turn. Used by the rate counter (``limits``) and the Vobiz
nonces (``nonces``). A nonce's ``SET NX`` awaited on its own (the connection pool's checkout and health
check, redis-py's command path per request) had the Vobiz callback route cost the receiver 176 µs
of CPU a request; in a pipeline, 121 (5,728 -> 8,190 callbacks/s, one uvicorn worker, wrk at 64
connections; ``make bench``'s requests of that route only).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio as aioredis

Command = tuple[Any, ...]  # ("SET", key, "1", "NX", "EX", 60)


class Pipelined:
    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._pending: list[tuple[Sequence[Command], asyncio.Future[list[Any]]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def run(self, *commands: Command) -> list[Any]:
        """The commands' replies, in order. Raises ``redis.RedisError`` or ``OSError`` when Redis
        did not answer (the whole batch fails alike), or the error one of these commands got."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending.append((commands, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for commands, _ in batch:
                        for command in commands:
                            pipe.execute_command(*command)
                    replies = await pipe.execute(raise_on_error=False)
            except (redis.RedisError, OSError) as e:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            at = 0
            for commands, future in batch:
                mine, at = replies[at : at + len(commands)], at + len(commands)
                if future.done():
                    continue
                failed = next((r for r in mine if isinstance(r, Exception)), None)
                if failed is not None:
                    future.set_exception(failed)
                else:
                    future.set_result(mine)
