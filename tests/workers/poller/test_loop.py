"""The forever loop against the fake Callr API: checkpoints, overlap, restarts, crashes, and one
source's trouble never stopping another."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from tests.fakes.vendor_api import FakeCallr, Fault, v1_cdr, v2_call
from tests.workers.poller.conftest import Clock, Killed, Queue
from workers import jobs
from workers.poller.loop import Poller
from workers.settings import Settings
from workers.store import SqlStore

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(loop_store: SqlStore) -> SqlStore:
    """The loop's tests run on SQLite only: they test the loop, not the store."""
    return loop_store


def jsonrpc_only(callr_settings: Callable[..., Settings]) -> Settings:
    return callr_settings(CALLR_API_KEY=None, POLL_OVERLAP_S=3600)


def test_first_poll_reads_the_overlap_and_saves_a_checkpoint(
    callr: FakeCallr, callr_settings: Callable[..., Settings], make_poller: Callable[..., Poller], store: SqlStore
) -> None:
    """A never-polled source reads the last POLL_OVERLAP_S, one job per page, then checkpoints now."""
    callr.cdrs_in = [v1_cdr(1, NOW - timedelta(minutes=30)), v1_cdr(2, NOW - timedelta(hours=2))]
    queue = Queue()
    tally = make_poller(jsonrpc_only(callr_settings), queue, Clock()).poll_once()
    assert queue.call_ids() == ["1"] and tally.rows == 1 and tally.pages == 1
    cp = store.get_checkpoint("callr", "acct1", "callr.jsonrpc")
    assert cp is not None and cp.polled_until == NOW and cp.last_error is None


def test_restart_resumes_from_the_checkpoint_minus_the_overlap(
    callr: FakeCallr, callr_settings: Callable[..., Settings], make_poller: Callable[..., Poller]
) -> None:
    """A new poller process starts at its checkpoint minus the overlap, not at now and not at zero."""
    settings = jsonrpc_only(callr_settings)
    make_poller(settings, Queue(), Clock()).poll_once()
    callr.seen.clear()
    make_poller(settings, Queue(), Clock(NOW + timedelta(minutes=10))).poll_once()  # the restart
    asked = [r.body for r in callr.requests("callr.jsonrpc")]
    assert b'"2024-05-10 11:00:00","2024-05-10 12:00:00"' in asked[0]
    assert b'"2024-05-10 12:00:00","2024-05-10 12:10:00"' in asked[2]


def test_a_late_cdr_is_caught_by_the_overlap(
    callr: FakeCallr, callr_settings: Callable[..., Settings], make_poller: Callable[..., Poller]
) -> None:
    """A CDR that appears after its window was polled (but within the overlap) comes next poll."""
    settings, queue, clock = jsonrpc_only(callr_settings), Queue(), Clock()
    poller = make_poller(settings, queue, clock)
    poller.poll_once()
    callr.cdrs_out = [v1_cdr(7, NOW - timedelta(minutes=20), outbound=True)]  # written late by the vendor
    clock.now = NOW + timedelta(minutes=5)
    poller.poll_once()
    assert queue.call_ids() == ["7"]


def test_killed_mid_window_then_restarted_misses_and_doubles_nothing(
    callr: FakeCallr,
    callr_settings: Callable[..., Settings],
    make_poller: Callable[..., Poller],
    store: SqlStore,
    make_settings: Callable[..., Settings],
) -> None:
    """Killed on the second job of three days of export: the checkpoint stays at day one, the restart
    refetches from there, and the store ends with each call once."""
    settings = callr_settings(CALLR_LOGIN=None, CALLR_PASSWORD=None, POLL_OVERLAP_S=3600)
    callr.export_mode = "inline-json"
    callr.calls = [v2_call(100 + d, NOW - timedelta(days=d, hours=1 + d // 3)) for d in range(4)]
    store.save_checkpoint("callr", "acct1", "callr.export", NOW - timedelta(days=3), now=NOW)
    queue = Queue()
    queue.die_on = 2
    with pytest.raises(Killed):
        make_poller(settings, queue, Clock()).poll_once()
    cp = store.get_checkpoint("callr", "acct1", "callr.export")
    assert cp is not None and cp.polled_until == NOW - timedelta(days=2, hours=1)  # one window of four done
    queue.die_on = None
    make_poller(settings, queue, Clock(NOW + timedelta(minutes=1))).poll_once()
    assert sorted(set(queue.call_ids())) == ["100", "101", "102"]  # 103 started before checkpoint - overlap
    jobs.configure(jobs.Runtime(settings=settings, store=store))
    try:
        for job in queue.jobs:
            jobs.ingest([e.to_dict() for e in job])
    finally:
        jobs.configure(None)
    assert store.count() == 3 and store.quarantined() == []


def test_a_refused_source_stops_alone_and_says_why(
    callr: FakeCallr, callr_settings: Callable[..., Settings], make_poller: Callable[..., Poller], store: SqlStore
) -> None:
    """Bad JSON-RPC credentials stop that source (one error line, kept on its checkpoint); the
    export source of the same account goes on polling, and the stopped one is not asked again."""
    callr.export_mode = "inline-json"
    settings = callr_settings(CALLR_PASSWORD="wrong", POLL_OVERLAP_S=3600)
    poller = make_poller(settings, Queue(), Clock())
    with capture_logs() as logs:
        poller.poll_once()
        poller.poll_once()
    (stopped,) = [e for e in logs if e["event"] == "poll.source_stopped"]
    assert stopped["source"] == "callr.jsonrpc" and stopped["status"] == 401 and stopped["log_level"] == "error"
    assert len(callr.requests("callr.jsonrpc")) == 1 and len(callr.requests("callr.export")) == 4
    cp = store.get_checkpoint("callr", "acct1", "callr.jsonrpc")
    assert cp is not None and "401" in (cp.last_error or "")


def test_a_failing_vendor_is_tried_again_next_round(
    callr: FakeCallr, callr_settings: Callable[..., Settings], make_poller: Callable[..., Poller], store: SqlStore
) -> None:
    """5xx through every retry: the checkpoint does not move and the error is noted; next round
    succeeds, moves it and clears the error."""
    callr.fault("callr.jsonrpc", *[Fault(503)] * 4)
    callr.cdrs_in = [v1_cdr(1, NOW - timedelta(minutes=10))]
    queue, clock = Queue(), Clock()
    poller = make_poller(jsonrpc_only(callr_settings), queue, clock)
    poller.poll_once()
    cp = store.get_checkpoint("callr", "acct1", "callr.jsonrpc")
    assert cp is not None and cp.polled_until == NOW - timedelta(hours=1) and "503" in (cp.last_error or "")
    clock.now = NOW + timedelta(minutes=5)
    poller.poll_once()
    cp = store.get_checkpoint("callr", "acct1", "callr.jsonrpc")
    assert cp is not None and cp.polled_until == clock.now and cp.last_error is None
    assert queue.call_ids() == ["1"]


def test_run_polls_until_told_to_stop(
    callr: FakeCallr, callr_settings: Callable[..., Settings], make_poller: Callable[..., Poller], store: SqlStore
) -> None:
    """run() polls at once, then waits POLL_INTERVAL_S; setting the stop event ends it promptly."""
    poller = make_poller(jsonrpc_only(callr_settings), Queue(), Clock())
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop,))
    thread.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while store.get_checkpoint("callr", "acct1", "callr.jsonrpc") is None and datetime.now(UTC) < deadline:
            threading.Event().wait(0.02)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert store.get_checkpoint("callr", "acct1", "callr.jsonrpc") is not None


def test_each_window_reports_its_metrics(
    callr: FakeCallr, callr_settings: Callable[..., Settings], make_poller: Callable[..., Poller]
) -> None:
    """After a poll, /metrics knows the rows fetched and how far behind now the source's checkpoint is."""
    from prometheus_client import REGISTRY

    def sample(name: str) -> float:
        labels = {"feed": "callr.jsonrpc", "account": "acct1"}
        return REGISTRY.get_sample_value(name, labels) or 0.0

    rows_before = sample("cdr_ingest_poller_rows_total")
    callr.cdrs_in = [v1_cdr(1, NOW - timedelta(minutes=30))]
    make_poller(jsonrpc_only(callr_settings), Queue(), Clock()).poll_once()
    assert sample("cdr_ingest_poller_rows_total") == rows_before + 1
    assert sample("cdr_ingest_poller_checkpoint_timestamp_seconds") == NOW.timestamp()
