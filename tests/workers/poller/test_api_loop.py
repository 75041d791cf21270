"""The poll loop over the Vobiz and Kazoo sources: checkpoints, the overlap catching late rows, a
restart after a kill mid-window (nothing missed, nothing doubled in the store)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.kazoo_api import kazoo_row
from tests.fakes.vendor_api import FakeKazoo, FakeVobiz
from tests.fakes.vobiz_api import vobiz_cdr
from tests.workers.poller.conftest import Clock, Killed, Queue
from workers import jobs
from workers.poller.loop import Poller
from workers.settings import Settings
from workers.store import SqlStore

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
SOURCE = {"vobiz": "vobiz.api", "kazoo": "kazoo.cdrs"}


def ids(queue: Queue) -> list[str]:
    bodies = [e.body for job in queue.jobs for e in job]
    return [b.get("uuid") or b["call_id"] for b in bodies]


@pytest.fixture
def settings(make_settings: Callable[..., Settings], poller_env: dict[str, str]) -> Callable[[str], Settings]:
    """Only the one vendor's source configured, overlap one hour."""

    def make(vendor: str) -> Settings:
        other = {"vobiz": {"KAZOO_AUTH_TOKEN": None}, "kazoo": {"VOBIZ_AUTH_TOKEN": None}}[vendor]
        return make_settings(**(poller_env | other), POLL_OVERLAP_S=3600, CALLR_WEBHOOK_SECRET=None)

    return make


def add(vendor: str, vobiz: FakeVobiz, kazoo: FakeKazoo, name: str, start: datetime) -> None:
    if vendor == "vobiz":
        vobiz.cdrs = [*vobiz.cdrs, vobiz_cdr(name, start)]
    else:
        kazoo.cdrs = [*kazoo.cdrs, kazoo_row(name, start)]


@pytest.mark.parametrize("vendor", ["vobiz", "kazoo"])
def test_checkpoint_then_a_restart_catches_a_late_row(
    vendor: str,
    vobiz: FakeVobiz,
    kazoo: FakeKazoo,
    settings: Callable[[str], Settings],
    make_poller: Callable[..., Poller],
    loop_store: SqlStore,
) -> None:
    """First poll: the last hour, checkpoint at now. A row written late (started 20 min ago) is
    fetched by the restarted poller, which starts at the checkpoint minus the overlap."""
    add(vendor, vobiz, kazoo, "early", NOW - timedelta(minutes=40))
    queue = Queue()
    make_poller(settings(vendor), queue, Clock(NOW)).poll_once()
    account = vobiz.auth_id if vendor == "vobiz" else kazoo.account_id
    cp = loop_store.get_checkpoint(vendor, account, SOURCE[vendor])
    assert ids(queue) == ["early"] and cp is not None and cp.polled_until == NOW and cp.last_error is None
    add(vendor, vobiz, kazoo, "late", NOW - timedelta(minutes=20))
    restarted = Queue()
    make_poller(settings(vendor), restarted, Clock(NOW + timedelta(minutes=5))).poll_once()
    assert "late" in ids(restarted)
    cp = loop_store.get_checkpoint(vendor, account, SOURCE[vendor])
    assert cp is not None and cp.polled_until == NOW + timedelta(minutes=5)


def test_kazoo_killed_mid_window_then_restarted(
    kazoo: FakeKazoo, settings: Callable[[str], Settings], make_poller: Callable[..., Poller], loop_store: SqlStore
) -> None:
    """Three days to catch up, killed on the second day's job: the checkpoint keeps day one, the
    restart fetches the rest, and the store ends with every leg exactly once."""
    kazoo.cdrs = [
        kazoo_row(f"leg{d}-{i}", NOW - timedelta(days=d, hours=2, minutes=i)) for d in range(3) for i in range(5)
    ]
    loop_store.save_checkpoint("kazoo", kazoo.account_id, "kazoo.cdrs", NOW - timedelta(days=3), now=NOW)
    queue = Queue()
    queue.die_on = 2
    with pytest.raises(Killed):
        make_poller(settings("kazoo"), queue, Clock(NOW)).poll_once()
    cp = loop_store.get_checkpoint("kazoo", kazoo.account_id, "kazoo.cdrs")
    assert cp is not None and cp.polled_until == NOW - timedelta(days=2, hours=1)
    queue.die_on = None
    make_poller(settings("kazoo"), queue, Clock(NOW + timedelta(minutes=1))).poll_once()
    jobs.configure(jobs.Runtime(settings=settings("kazoo"), store=loop_store))
    try:
        for job in queue.jobs:
            jobs.ingest([e.to_dict() for e in job])
    finally:
        jobs.configure(None)
    assert loop_store.count() == 15 and loop_store.quarantined() == []
