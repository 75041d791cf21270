"""``cdr-ingest poll``: every ``POLL_INTERVAL_S``, each configured (account, source) is fetched from
its checkpoint minus ``POLL_OVERLAP_S`` up to now, window by window, and the checkpoint saved
after each window.

One source's trouble never stops the others. A vendor that keeps failing (timeouts, 429, 5xx,
Redis or the store down) is tried again next round; one that refuses (bad credentials, any other
4xx, an unreadable answer) is stopped until the poller restarts, with one error line saying why
and the reason kept on its checkpoint row for ``cdr-ingest stats``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from workers import metrics
from workers.errors import TransientError
from workers.logs import get_logger
from workers.normalize.times import format_utc
from workers.poller.checkpoints import poll_start, whole_second, windows
from workers.poller.http import HttpClient, SourceStopped
from workers.poller.pump import Enqueue, Tally, pump, targets
from workers.poller.runtime import StopRequested
from workers.poller.sources import Memory, Source
from workers.settings import Account, Settings
from workers.store import KEEP_STATE, SqlStore

log = get_logger("cdr_ingest.poller")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Poller:
    def __init__(
        self,
        settings: Settings,
        *,
        store: SqlStore,
        enqueue: Enqueue,
        client: HttpClient,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.store = store
        self.enqueue = enqueue
        self.client = client
        self.clock = clock
        self.overlap = timedelta(seconds=settings.poll_overlap_s)
        self.stopped: dict[tuple[str, str], str] = {}  # (account, source) -> why

    def run(self, stop: threading.Event) -> None:
        pairs = targets(self.settings)
        log.info(
            "poll.started",
            sources=[f"{s.name}:{a.id}" for a, s in pairs],
            interval_s=self.settings.poll_interval_s,
            overlap_s=self.settings.poll_overlap_s,
        )
        if not pairs:
            log.warning("poll.idle", reason="no account has poller credentials (see deploy/env.example)")
        while not stop.is_set():
            self.poll_once(stop)
            stop.wait(self.settings.poll_interval_s)

    def poll_once(self, stop: threading.Event | None = None) -> Tally:
        total = Tally()
        for account, source in targets(self.settings):
            if (account.id, source.name) not in self.stopped and not (stop and stop.is_set()):
                total.add(self.poll_source(account, source, stop))
        return total

    def poll_source(self, account: Account, source: Source, stop: threading.Event | None = None) -> Tally:
        now = whole_second(self.clock())
        key = dict(source=source.name, account=account.id)
        checkpoint = self.store.get_checkpoint(source.vendor, account.id, source.name)
        start = whole_second(poll_start(checkpoint, now, self.overlap))
        memory = Memory(checkpoint.state if checkpoint else None)
        tally = Tally()
        try:
            for since, until in windows(start, now, source.window):
                if stop is not None and stop.is_set():
                    break
                done = pump(source, account, since, until, client=self.client, enqueue=self.enqueue, clock=self.clock,
                            memory=memory)  # fmt: skip
                state = memory.state if memory.changed else KEEP_STATE
                self.store.save_checkpoint(source.vendor, account.id, source.name, until, now=self.clock(), state=state)
                metrics.observe_poll(source.name, account.id, rows=done.rows, checkpoint=until, now=self.clock())
                tally.add(done)
                log.info(
                    "poll.window",
                    **key,
                    since=format_utc(since),
                    until=format_utc(until),
                    rows=done.rows,
                    pages=done.pages,
                )
        except SourceStopped as e:
            self.stopped[(account.id, source.name)] = str(e)
            log.error(
                "poll.source_stopped",
                **key,
                status=e.status,
                reason=str(e),
                action="fix the account or the request, then restart the poller",
            )
            self._note_error(source, account, start, str(e))
        except StopRequested:
            # Not an error: the window is read again from its checkpoint after the restart.
            log.info("poll.stopping", **key, reason="asked to stop while the queue was full")
        except TransientError as e:
            log.warning("poll.source_failed", **key, reason=str(e), retry_in_s=self.settings.poll_interval_s)
            self._note_error(source, account, start, str(e))
        except Exception as e:  # a bug in one source must not end the polling of the others
            log.exception("poll.source_crashed", **key, reason=repr(e))
            self._note_error(source, account, start, repr(e))
        return tally

    def _note_error(self, source: Source, account: Account, start: datetime, error: str) -> None:
        try:
            self.store.save_checkpoint(source.vendor, account.id, source.name, start, now=self.clock(), error=error)
        except TransientError as e:
            log.warning("poll.checkpoint_failed", source=source.name, account=account.id, reason=str(e))
