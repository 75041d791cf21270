"""The poller's store methods on SQLite and PostgreSQL alike: checkpoints and the reconcile read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.workers.store.test_store import deliver, full_cdr
from workers.cdr import Source
from workers.store import SqlStore

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_migration_2_adds_checkpoints(store: SqlStore) -> None:
    """The schema is at version 2 or later and starts with no checkpoint."""
    assert store.schema_version() >= 2
    assert store.checkpoints() == []


def test_a_checkpoint_only_moves_forward(store: SqlStore) -> None:
    """Saving an earlier time keeps the later one; the error is replaced (None clears it)."""
    store.save_checkpoint("callr", "acct1", "callr.export", T0, now=T0)
    store.save_checkpoint("callr", "acct1", "callr.export", T0 - timedelta(hours=1), now=T0, error="HTTP 503")
    cp = store.get_checkpoint("callr", "acct1", "callr.export")
    assert cp is not None and cp.polled_until == T0 and cp.last_error == "HTTP 503"
    store.save_checkpoint("callr", "acct1", "callr.export", T0 + timedelta(minutes=5), now=T0)
    cp = store.get_checkpoint("callr", "acct1", "callr.export")
    assert cp is not None and cp.polled_until == T0 + timedelta(minutes=5) and cp.last_error is None


def test_one_checkpoint_per_vendor_account_source(store: SqlStore) -> None:
    """Checkpoints of other accounts, sources or vendors are separate rows."""
    for vendor, account, source in [("callr", "a", "callr.export"), ("callr", "a", "callr.jsonrpc"),
                                    ("callr", "b", "callr.export"), ("vobiz", "a", "vobiz.api")]:  # fmt: skip
        store.save_checkpoint(vendor, account, source, T0, now=T0)
    assert len(store.checkpoints()) == 4 and len(store.checkpoints("callr")) == 3
    assert store.get_checkpoint("callr", "b", "callr.jsonrpc") is None


def test_calls_by_sources_reads_one_day(store: SqlStore) -> None:
    """Calls started inside [start, end) of the vendor come back with their sources, others do not."""
    first = full_cdr("1", started_at=T0)
    store.upsert([deliver(first), deliver(first, Source.BACKFILL, 1, "b")], now=T0)
    store.upsert([deliver(full_cdr("2", started_at=T0 + timedelta(days=1)))], now=T0)
    store.upsert([deliver(full_cdr("3", started_at=T0, account_id="other"), Source.PUSH)], now=T0)
    day = T0.replace(hour=0)
    found = store.calls_by_sources("callr", day, day + timedelta(days=1))
    assert [(c.call_id, c.account_id, sorted(c.sources)) for c in found] == [
        ("1", "acct1", ["backfill", "webhook"]),
        ("3", "other", ["push"]),
    ]
    assert [c.call_id for c in store.calls_by_sources("callr", day, day + timedelta(days=1), account="other")] == ["3"]
    assert store.calls_by_sources("vobiz", day, day + timedelta(days=1)) == []
