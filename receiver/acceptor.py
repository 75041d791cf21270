"""Durable acceptance: envelopes from concurrent requests go to Redis together.

Each request hands its envelope to ``accept`` and waits. A flusher task takes everything pending
and enqueues it as one RQ job from a worker thread (rq is synchronous); when Redis has the job,
every waiting request is answered 202. Under light load a batch holds one envelope and adds no
delay; under heavy load batches grow on their own, and Redis sees one job per batch instead of
one per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from workers.envelope import Envelope
from workers.errors import TransientError
from workers.logs import get_logger

log = get_logger("cdr_ingest.receiver")

Enqueue = Callable[[Sequence[Envelope]], object]


class Acceptor:
    def __init__(self, enqueue: Enqueue, *, max_batch: int = 500, flushers: int = 2) -> None:
        self._enqueue = enqueue
        self._max_batch = max_batch
        self._pending: list[tuple[Envelope, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._flushers = flushers
        self._executor = ThreadPoolExecutor(max_workers=flushers, thread_name_prefix="enqueue")
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._inflight = 0

    def start(self) -> None:
        """Start the flusher tasks (inside the running event loop: the app's lifespan)."""
        self._tasks = [asyncio.create_task(self._flush_forever()) for _ in range(self._flushers)]

    async def accept(self, envelope: Envelope) -> None:
        """Return once Redis holds the envelope; raise ``TransientError`` if it cannot."""
        if self._closing:
            raise TransientError("receiver is shutting down")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((envelope, future))
        self._wakeup.set()
        await future

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            if not self._pending:
                self._wakeup.clear()
            if not batch:
                continue
            self._inflight += 1
            try:
                await loop.run_in_executor(self._executor, self._enqueue, [e for e, _ in batch])
            except Exception as e:  # every waiting request must get an answer
                error = e if isinstance(e, TransientError) else TransientError(f"enqueue failed: {e}")
                log.error("ingest.enqueue_failed", envelopes=len(batch), error=str(e))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
            finally:
                self._inflight -= 1

    async def close(self) -> None:
        """Refuse new envelopes, let the pending ones reach Redis, then stop."""
        self._closing = True
        while self._pending or self._inflight:
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=True)
