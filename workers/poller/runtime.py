"""What a poller process opens, once: the store (checkpoints), the ingest queue, the HTTP client.

The queue writer holds the poller back while the workers are behind (``POLL_MAX_QUEUED_JOBS``):
the poller pages a vendor's API two to three times as fast as two workers store it (``make
bench``: ~50,000 rows/s against ~20,000-27,000), so a backfill of millions of rows would otherwise
sit in Redis as jobs (its memory growing for the whole run) and every webhook's drain job would
wait behind all of them. With a bound, the backlog is at most that many jobs (~2,000 rows each:
a couple of seconds of the workers' work, so they never run dry) and a push waits behind no more
(``make bench-push-wait``, 1,000,000 rows into SQLite: a push's job waited a median 15-17 s and up
to 30 s without the bound, 1.5-1.6 s and up to 2.3 s with it; rows/s within this VM's spread).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from workers.envelope import Envelope
from workers.errors import TransientError
from workers.logs import get_logger
from workers.poller.http import HttpClient
from workers.queue import enqueue_envelopes, ingest_queue, redis_connection
from workers.settings import Settings
from workers.store import SqlStore, open_store

log = get_logger("cdr_ingest.poller")

QUEUE_CHECK_S = 0.05  # how often a held-back poller looks at the queue again
QUEUE_FULL_LOG_S = 60.0  # while held back, one line this often


class StopRequested(TransientError):
    """The poller was told to stop while it waited for room in the queue. Its window is not fully
    queued, so the checkpoint stays where it was and the window is read again after the restart."""


@dataclass
class Opened:
    client: HttpClient
    enqueue: QueueWriter
    store: SqlStore | None


class QueueWriter:
    """``enqueue_envelopes`` on the ingest queue (one RQ job per page of envelopes), once fewer than
    ``settings.poll_max_queued_jobs`` jobs wait for a worker (0: at once, always)."""

    def __init__(
        self,
        settings: Settings,
        *,
        stop: threading.Event | None = None,
        check_s: float = QUEUE_CHECK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = redis_connection(settings.redis_url)
        self.queue = ingest_queue(self.connection, settings.queue_name)
        self.max_queued = settings.poll_max_queued_jobs
        self.stop = stop or threading.Event()
        self.check_s = check_s
        self.clock = clock
        self._held_s = 0.0  # time held back since the last ``poll.queue_full`` line
        self._next_line: float | None = None  # no line before this time

    def __call__(self, envelopes: Sequence[Envelope]) -> object:
        self.wait_for_room()
        return enqueue_envelopes(self.queue, envelopes)

    def wait_for_room(self) -> None:
        """Return once the queue holds fewer than ``max_queued`` waiting jobs; raise ``StopRequested``
        if ``stop`` is set meanwhile, ``TransientError`` if Redis fails."""
        if not self.max_queued:
            return
        queued = self._queued()
        if queued < self.max_queued:
            return
        started = self.clock()
        try:
            while queued >= self.max_queued:
                self._say_full(queued)
                if self.stop.wait(self.check_s):
                    raise StopRequested(f"stopped while {queued} jobs waited for a worker")
                queued = self._queued()
        finally:
            self._held_s += self.clock() - started

    def _say_full(self, queued: int) -> None:
        """One warning when the poller is first held back, then at most one a ``QUEUE_FULL_LOG_S``
        however many pages wait in between (held back, a poller waits before nearly every page)."""
        now = self.clock()
        if self._next_line is not None and now < self._next_line:
            return
        log.warning("poll.queue_full", queued_jobs=queued, limit=self.max_queued, held_s=round(self._held_s, 1),
                    action="waiting for the workers")  # fmt: skip
        self._held_s = 0.0
        self._next_line = now + QUEUE_FULL_LOG_S

    def _queued(self) -> int:
        try:
            return self.queue.count
        except (redis.RedisError, OSError) as e:
            raise TransientError(f"Redis did not say how many jobs wait: {e}") from e


@contextmanager
def opened(settings: Settings, *, with_store: bool, stop: threading.Event | None = None) -> Iterator[Opened]:
    client = HttpClient()
    enqueue = QueueWriter(settings, stop=stop)
    store = open_store(settings.database_url) if with_store else None
    try:
        yield Opened(client=client, enqueue=enqueue, store=store)
    finally:
        client.close()
        enqueue.connection.close()
        if store is not None:
            store.close()
