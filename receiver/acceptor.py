"""Durable acceptance: a delivery is answered 2xx only once Redis (or, while Redis is down, the
fsync'd local spool) holds it.

Each request hands its envelope to ``accept`` and waits. A flusher task takes everything pending
and stores it as one batch, on the event loop: one Redis round trip per batch appends it to the
inbox (``workers.inbox``), so under load Redis sees one call per batch instead of one per
request, and under light load a batch holds one envelope and adds no delay. One flusher: a second
one took the requests arriving during the first one's round trip as a batch of their own, and
smaller batches cost ~7% of the receiver's throughput (``make bench``, receiver alone). Under load
it lets the loop turn a few times before taking a batch (``BUSY_YIELDS``), for the same reason. Only the spool's
fsync and its drain run in threads (they block), and only while Redis is or was down.

When Redis fails, batches go to the spool and a recovery task drains the spool back into Redis,
oldest first, as soon as Redis answers; new batches keep going to the spool until it is empty,
so order is kept.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import redis

from receiver.spool import Spool
from workers.envelope import Envelope
from workers.errors import TransientError
from workers.inbox import Keys
from workers.logs import get_logger

log = get_logger("cdr_ingest.receiver")

Enqueue = Callable[[Sequence[Envelope]], object]


Push = Callable[[Sequence[Envelope], Keys, Keys | None], list[str]]
AsyncPush = Callable[[Sequence[Envelope], Keys, Keys | None], Awaitable[list[str]]]


class DurableSink:
    """Redis first, the spool when Redis fails.

    ``push_async`` appends a batch to the Redis inbox from the event loop, applying the dedupe
    window and claiming the nonces in the same round trip (``workers.inbox.Inbox.push_async``),
    and says what became of each envelope; ``push`` is its blocking twin, used to drain the spool
    from a thread.
    """

    def __init__(self, push_async: AsyncPush, spool: Spool, ping: Callable[[], bool], push: Push) -> None:
        self._push_async = push_async
        self._push = push
        self.spool = spool
        self._ping = ping
        self._lock = threading.Lock()
        self.redis_ok = True

    async def store(
        self, envelopes: Sequence[Envelope], keys: Keys | None = None, nonces: Keys | None = None
    ) -> list[str]:
        """Per envelope, once durable: "queued", "duplicate" (its dedupe key was seen), "replay"
        (its nonce was) or "spooled"; "unchecked" for one with a nonce while Redis is down (the
        nonce cannot be checked, so it is not kept: the vendor retries).

        Raises ``TransientError`` when neither Redis nor the spool can take them.
        """
        wanted = list(keys) if keys is not None else [None] * len(envelopes)
        claims = list(nonces) if nonces is not None else [None] * len(envelopes)
        if self.redis_ok:
            try:
                return await self._push_async(envelopes, wanted, claims)
            except (TransientError, redis.RedisError, OSError) as e:
                self.redis_ok = False
                log.error("ingest.redis_down", error=str(e), action="spooling")
        # Without Redis there is no dedupe window: everything is kept; the store upsert absorbs repeats.
        kept = [e for e, nonce in zip(envelopes, claims, strict=True) if nonce is None]
        if kept:
            await asyncio.to_thread(self.spool.append, kept)  # fsync blocks: off the event loop
        return ["spooled" if nonce is None else "unchecked" for nonce in claims]

    def _enqueue(self, envelopes: Sequence[Envelope]) -> None:
        """The spool's way back into Redis: the inbox, without the dedupe window."""
        try:
            self._push(envelopes, [None] * len(envelopes), None)
        except (redis.RedisError, OSError) as e:
            raise TransientError(f"Redis refused the spooled envelopes: {e}") from e

    def recover(self) -> int:
        """Drain the spool when Redis answers again; return envelopes re-enqueued."""
        with self._lock:
            if self.redis_ok and self.spool.state().segments == 0:
                return 0
            if not self._ping():
                return 0
            try:
                sent = self.spool.drain(self._enqueue)
            except TransientError as e:
                log.error("spool.drain_failed", error=str(e))
                return 0
            if self.spool.state().segments == 0 and not self.redis_ok:
                self.redis_ok = True
                log.info("ingest.redis_back", drained=sent)
            return sent


# After a batch of at least BUSY_BATCH, the flusher lets the event loop turn BUSY_YIELDS times before
# taking the next one: the requests read meanwhile (and those already under way) join it. Measured
# with make bench's requests, wrk at 64 connections, two uvicorn workers: batches ~14 -> ~23, the
# receiver's CPU a request -7 to -13%, Redis's -10%, accepted req/s +4 to +8% (one worker: batches
# ~28 -> ~54, CPU -10%); 6 or 10 turns did no better than 3. A lone request (the batch before it
# small) is flushed at once, as before.
BUSY_BATCH = 4
BUSY_YIELDS = 3


class Acceptor:
    def __init__(self, sink: DurableSink, *, max_batch: int = 500, flushers: int = 1, recover_every_s: float = 1.0):
        self.sink = sink
        self._max_batch = max_batch
        self._recover_every_s = recover_every_s
        self._pending: list[tuple[Envelope, str | None, str | None, asyncio.Future[str]]] = []
        self._wakeup = asyncio.Event()
        self._flushers = flushers
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool-recovery")
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._inflight = 0

    def start(self) -> None:
        """Start the flusher and recovery tasks (inside the running loop: the app's lifespan)."""
        self._tasks = [asyncio.create_task(self._flush_forever()) for _ in range(self._flushers)]
        self._tasks.append(asyncio.create_task(self._recover_forever()))

    async def accept(self, envelope: Envelope, dedupe_key: str | None = None, nonce_key: str | None = None) -> str:
        """What ``DurableSink.store`` made of the envelope: "queued" or "spooled" once durable,
        "duplicate" when ``dedupe_key`` was seen within the window, "replay" when ``nonce_key`` was
        claimed before, "unchecked" when it could not be; ``TransientError`` if it cannot be made
        durable."""
        if self._closing:
            raise TransientError("receiver is shutting down")
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append((envelope, dedupe_key, nonce_key, future))
        self._wakeup.set()
        return await future

    async def _flush_forever(self) -> None:
        previous = 0
        while True:
            await self._wakeup.wait()
            if previous >= BUSY_BATCH:
                for _ in range(BUSY_YIELDS):  # busy: let the requests under way reach accept first
                    await asyncio.sleep(0)
            batch = self._pending[: self._max_batch]
            previous = len(batch)
            del self._pending[: self._max_batch]
            if not self._pending:
                self._wakeup.clear()
            if not batch:
                continue
            envelopes, keys, nonces, futures = zip(*batch, strict=True)
            self._inflight += 1
            try:
                outcomes = await self.sink.store(envelopes, keys, nonces)
            except Exception as e:  # every waiting request must get an answer
                error = e if isinstance(e, TransientError) else TransientError(f"could not store the delivery: {e}")
                log.error("ingest.not_durable", envelopes=len(batch), error=str(e))
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
            else:
                for future, outcome in zip(futures, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
            finally:
                self._inflight -= 1

    async def _recover_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._recover_every_s)
            try:
                await loop.run_in_executor(self._executor, self.sink.recover)
            except Exception as e:  # keep trying; the spool stays on disk meanwhile
                log.error("spool.recover_failed", error=str(e))

    async def close(self) -> None:
        """Refuse new envelopes, make the pending ones durable, then stop."""
        self._closing = True
        while self._pending or self._inflight:
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # A last drain: a spool left behind waits for the next receiver started on this directory.
        await asyncio.get_running_loop().run_in_executor(self._executor, self.sink.recover)
        self._executor.shutdown(wait=True)
        self.sink.spool.close()
