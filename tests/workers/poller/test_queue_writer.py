"""The poller's queue writer against real Redis: it holds the poller back while ``POLL_MAX_QUEUED_JOBS``
jobs wait for a worker, lets it go on once a worker takes one, and gives way to a stop."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from structlog.testing import capture_logs

from tests.fakes.vendor_api import FakeCallr, v1_cdr
from tests.workers.poller.conftest import Clock
from workers.envelope import Envelope, delivery_count
from workers.errors import TransientError
from workers.poller.http import HttpClient
from workers.poller.loop import Poller
from workers.poller.pump import Tally
from workers.poller.runtime import QUEUE_FULL_LOG_S, QueueWriter, StopRequested
from workers.settings import Settings
from workers.store import SqlStore

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
CHECK_S = 0.01


def envelopes(n: int = 1) -> list[Envelope]:
    return [Envelope(feed="callr.export", account="acct1", received_at=NOW, body="{}") for _ in range(n)]


@pytest.fixture
def writer(make_settings: Callable[..., Settings], redis_client: redis.Redis) -> Iterator[Callable[..., QueueWriter]]:
    made: list[QueueWriter] = []

    def make(limit: int, stop: threading.Event | None = None) -> QueueWriter:
        w = QueueWriter(make_settings(POLL_MAX_QUEUED_JOBS=str(limit)), stop=stop, check_s=CHECK_S)
        made.append(w)
        return w

    yield make
    for w in made:
        w.connection.close()


def in_thread(call: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as e:  # handed to the test
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, errors


def test_the_limit_defaults_to_twenty_jobs_and_zero_turns_it_off(make_settings: Callable[..., Settings]) -> None:
    assert make_settings().poll_max_queued_jobs == 20
    assert make_settings(POLL_MAX_QUEUED_JOBS="0").poll_max_queued_jobs == 0


def test_below_the_limit_each_page_is_one_job_at_once(writer: Callable[..., QueueWriter]) -> None:
    w = writer(3)
    with capture_logs() as logs:
        for _ in range(3):
            w(envelopes(2))
    assert w.queue.count == 3 and [delivery_count(j.args[0]) for j in w.queue.jobs] == [2, 2, 2]
    assert not [e for e in logs if e["event"].startswith("poll.queue")]


def test_a_full_queue_holds_the_writer_until_a_worker_takes_a_job(writer: Callable[..., QueueWriter]) -> None:
    w = writer(2)
    w(envelopes())
    w(envelopes())
    with capture_logs() as logs:
        t, errors = in_thread(lambda: w(envelopes(3)))
        t.join(0.3)
        assert t.is_alive() and w.queue.count == 2  # held back: nothing more in Redis
        w.queue.pop_job_id()  # a worker takes the oldest job
        t.join(5)
    assert not t.is_alive() and not errors
    assert w.queue.count == 2 and delivery_count(w.queue.jobs[-1].args[0]) == 3
    full = [e for e in logs if e["event"] == "poll.queue_full"]
    assert len(full) == 1 and full[0]["queued_jobs"] == 2 and full[0]["limit"] == 2 and full[0]["held_s"] == 0
    assert full[0]["log_level"] == "warning" and full[0]["action"] == "waiting for the workers"


def test_held_back_before_every_page_it_says_so_once_a_minute(
    writer: Callable[..., QueueWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held back, the poller waits before nearly every page: one line, then at most one a
    ``QUEUE_FULL_LOG_S``, each with the time held since the last. Scripted: each page finds the
    queue full twice, then room; the fake clock moves 10 s a look (4 looks a page: 40 s)."""
    w = writer(1)
    counts = itertools.cycle([1, 1, 0])
    monkeypatch.setattr(w, "_queued", lambda: next(counts))
    ticks = itertools.count(0, 10)
    w.clock = lambda: float(next(ticks))
    with capture_logs() as logs:
        for _ in range(12):  # 480 s of the fake clock
            w(envelopes())
    lines = [e for e in logs if e["event"] == "poll.queue_full"]
    assert 5 <= len(lines) <= 8 and lines[0]["held_s"] == 0
    assert all(e["held_s"] >= QUEUE_FULL_LOG_S / 2 for e in lines[1:])  # the time held since the last line
    assert w.queue.count == 12


def test_stopping_while_held_back_raises_and_enqueues_nothing(writer: Callable[..., QueueWriter]) -> None:
    stop = threading.Event()
    w = writer(1, stop)
    w(envelopes())
    t, errors = in_thread(lambda: w(envelopes()))
    t.join(0.1)
    stop.set()
    t.join(5)
    assert not t.is_alive() and len(errors) == 1 and isinstance(errors[0], StopRequested)
    assert "1 jobs waited" in str(errors[0]) and w.queue.count == 1


def test_no_limit_never_looks_at_the_queue(writer: Callable[..., QueueWriter]) -> None:
    w = writer(0)
    for _ in range(30):
        w(envelopes())
    assert w.queue.count == 30


def test_redis_down_while_counting_is_transient(make_settings: Callable[..., Settings]) -> None:
    w = QueueWriter(make_settings(REDIS_URL="redis://127.0.0.1:1/0"), check_s=CHECK_S)
    try:
        with pytest.raises(TransientError, match="how many jobs wait"):
            w.wait_for_room()
    finally:
        w.connection.close()


def test_a_poller_stopped_while_held_back_keeps_its_checkpoint_and_notes_no_error(
    callr: FakeCallr,
    callr_settings: Callable[..., Settings],
    loop_store: SqlStore,
    client: HttpClient,
    redis_client: redis.Redis,
) -> None:
    """The window was not fully queued: the checkpoint stays put (the window is read again after the
    restart) and the source's row shows no error, since nothing failed."""
    settings = callr_settings(CALLR_API_KEY=None, POLL_OVERLAP_S=3600, POLL_MAX_QUEUED_JOBS="1")
    callr.cdrs_in = [v1_cdr(1, NOW - timedelta(minutes=30))]
    stop = threading.Event()
    w = QueueWriter(settings, stop=stop, check_s=CHECK_S)
    try:
        w(envelopes())  # the queue is full before the poll starts
        poller = Poller(settings, store=loop_store, enqueue=w, client=client, clock=Clock(NOW))
        tallies: list[Tally] = []
        with capture_logs() as logs:
            t, errors = in_thread(lambda: tallies.append(poller.poll_once(stop)))
            t.join(0.2)
            assert t.is_alive()  # held back
            stop.set()
            t.join(5)
        assert not t.is_alive() and not errors
        assert tallies[0].rows == 0 and w.queue.count == 1
        assert loop_store.get_checkpoint("callr", "acct1", "callr.jsonrpc") is None
        events = [e["event"] for e in logs]
        assert "poll.stopping" in events and "poll.source_failed" not in events
    finally:
        w.connection.close()
