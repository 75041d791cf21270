"""The store on SQLite and PostgreSQL alike: migrate, upsert through merge, quarantine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from workers.cdr import CDR, Direction, HangupSource, Source, Status
from workers.envelope import Envelope
from workers.merge import Delivery, as_comparable
from workers.store import SqlStore, open_store
from workers.store.rows import by_nulls
from workers.store.schema import migrations
from workers.store.sqlite import SqliteStore, with_nulls
from workers.verification import Verification

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def full_cdr(call_id: str = "240711945874", **over: object) -> CDR:
    values: dict[str, object] = dict(
        vendor="callr", account_id="acct1", call_id=call_id, other_leg_call_id="9", interaction_id="i-1",
        direction=Direction.INBOUND, from_number="+33612345678", to_number="+33187654321", from_name="Zoë ' \"",
        caller_restricted=True, started_at=T0, answered_at=T0 + timedelta(seconds=3, microseconds=123000),
        ended_at=T0 + timedelta(seconds=40), duration_s=40, talk_s=37, billed_s=60, ring_s=3,
        status=Status.ANSWERED, q850_cause=16, hangup_cause="NORMAL_CLEARING", sip_code=200,
        hangup_source=HangupSource.CALLEE, cost=Decimal("0.008925"), currency="EUR", mos=4.5, jitter_ms=2.5,
        packet_loss_pct=0.5, codec="PCMA", extra={"scenario": "S", "n": 1, "nested": {"a": [1, 2]}},
    )  # fmt: skip
    values.update(over)
    return CDR(**values)  # type: ignore[arg-type]


def deliver(c: CDR, source: Source = Source.WEBHOOK, minutes: int = 0, ingest_id: str = "a") -> Delivery:
    return Delivery(
        cdr=c, source=source, received_at=T0 + timedelta(minutes=minutes), ingest_id=ingest_id, raw={"x": 1}
    )


def test_migrate_is_idempotent(store: SqlStore) -> None:
    """A second migrate applies nothing and the version stays."""
    assert store.migrate(now=NOW) == []
    assert store.schema_version() == migrations(store.dialect)[-1].version


def test_every_column_roundtrips(store: SqlStore) -> None:
    """Every canonical field is stored and read back unchanged, on both stores."""
    c = full_cdr()
    (written,) = store.upsert([deliver(c)], now=NOW)
    read = store.get(c.id)
    assert read is not None
    assert read.cdr == c
    assert read == written
    assert read.sources == {Source.WEBHOOK}
    assert read.raw == {"webhook": {"x": 1}}


def test_every_verification_column_roundtrips(store: SqlStore) -> None:
    """A verification with every field set (each text distinct, so a column written in another's
    place shows) is stored and read back unchanged, on both stores."""
    v = Verification(
        vendor="sinch", account_id="app1", verification_id="v-1", method="flashcall", started_at=T0,
        ended_at=T0 + timedelta(seconds=9, microseconds=5), result="successful", reason="Expired", cli="+4670",
        identity_type="number", identity_endpoint="+46701234567", country="SE", reference="ref-1",
        custom="custom-1", cost=Decimal("0.012345"), currency="EUR",
    )  # fmt: skip
    delivery = Delivery(cdr=v, source=Source.BACKFILL, received_at=T0, ingest_id="a", raw={"x": 1})
    (written,) = store.upsert_verifications([delivery], now=NOW)
    read = store.get_verification(v.id)
    assert read is not None
    assert read.cdr == v
    assert read == written
    assert read.raw == {"backfill": {"x": 1}}


def test_merge_versions_are_stored_packed(store: SqlStore) -> None:
    """A row's merge bookkeeping is stored once per delivery that set something (a few hundred
    bytes), and a row written with one version per field (before packing) still merges."""
    c = full_cdr()
    (written,) = store.upsert([deliver(c, Source.WEBHOOK, 0, "a")], now=NOW)
    stored_versions = _merge_versions(store, c.id)
    assert sorted(stored_versions) == sorted(set(written.versions.values()))  # ordinary and billing: 2 keys
    old_layout = orjson.dumps(dict(written.versions)).decode()
    with store._transaction() as cur:
        cur.execute(f"UPDATE cdrs SET merge_versions = {store.param} WHERE id = {store.param}", [old_layout, c.id])
    assert store.get(c.id) == written
    (merged,) = store.upsert([deliver(full_cdr(talk_s=1), Source.PUSH, 1, "b")], now=NOW)
    assert merged.cdr.talk_s == 1 and merged.sources == {Source.WEBHOOK, Source.PUSH}
    assert store.get(c.id) == merged
    assert sorted(_merge_versions(store, c.id)) == sorted(set(merged.versions.values()))


def _merge_versions(store: SqlStore, cdr_id: str) -> dict[str, object]:
    with store._transaction() as cur:
        cur.execute(f"SELECT merge_versions FROM cdrs WHERE id = {store.param}", [cdr_id])
        row = cur.fetchone()
    value = row[0] if isinstance(row, tuple) else row["merge_versions"]
    return orjson.loads(value) if isinstance(value, str) else value


def test_redelivery_converges_on_one_row(store: SqlStore) -> None:
    """Webhook, push and backfill copies of a call make one row; sources is their union."""
    c = full_cdr()
    store.upsert([deliver(c, Source.WEBHOOK, 0, "a")], now=NOW)
    store.upsert([deliver(c, Source.WEBHOOK, 0, "a")], now=NOW)
    store.upsert([deliver(full_cdr(cost=Decimal("0.5")), Source.BACKFILL, 1, "b")], now=NOW)
    store.upsert([deliver(full_cdr(cost=Decimal("0.1"), from_name=None), Source.PUSH, 2, "c")], now=NOW)
    assert store.count() == 1
    row = store.get(c.id)
    assert row is not None
    assert row.sources == {Source.WEBHOOK, Source.BACKFILL, Source.PUSH}
    assert row.cdr.cost == Decimal("0.5")  # backfill billing wins
    assert row.cdr.from_name == c.from_name  # null never overwrites
    assert row.first_seen_at == T0


def test_batch_with_the_same_call_twice(store: SqlStore) -> None:
    """One batch holding two deliveries of one call writes one merged row."""
    rows = store.upsert(
        [deliver(full_cdr(talk_s=None), Source.WEBHOOK, 0, "a"), deliver(full_cdr(), Source.PUSH, 1, "b")], now=NOW
    )
    assert len(rows) == 1 and store.count() == 1
    assert rows[0].sources == {Source.WEBHOOK, Source.PUSH}


def test_minimal_cdr(store: SqlStore) -> None:
    """A CDR with only its identity stores nulls and defaults, and caller_restricted false."""
    c = CDR(vendor="callr", account_id=None, call_id="1")
    store.upsert([deliver(c)], now=NOW)
    read = store.get(c.id)
    assert read is not None and read.cdr.status is Status.UNKNOWN and read.cdr.caller_restricted is False


def test_one_batch_with_rows_of_different_nulls(store: SqlStore) -> None:
    """Rows with nulls in different columns, in one batch (SQLite writes each pattern's NULLs in its
    INSERT or UPDATE, ``rows.by_nulls``), read back as written, then as updated."""
    minimal = CDR(vendor="callr", account_id=None, call_id="2", caller_restricted=False)
    calls = [full_cdr("1"), minimal, full_cdr("3", from_name=None, mos=None)]
    written = {r.id: r for r in store.upsert([deliver(c, ingest_id=c.call_id) for c in calls], now=NOW)}
    assert [written[c.id].cdr for c in calls] == calls
    assert [store.get(c.id) for c in calls] == [written[c.id] for c in calls]
    # Again, later: the rows are updated (nulls in an UPDATE's values too).
    again = {r.id: r for r in store.upsert([deliver(c, Source.PUSH, 1, f"{c.call_id}b") for c in calls], now=NOW)}
    assert [again[c.id].cdr for c in calls] == calls
    assert [store.get(c.id) for c in calls] == [again[c.id] for c in calls]


def test_with_nulls_writes_null_in_place_of_the_placeholders_named() -> None:
    assert with_nulls("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", (1,)) == "INSERT INTO t (a, b, c) VALUES (?, NULL, ?)"
    assert with_nulls("UPDATE t SET a = ?, b = ? WHERE id = ?", ()) == "UPDATE t SET a = ?, b = ? WHERE id = ?"
    assert (
        with_nulls("UPDATE t SET a = ?, b = ? WHERE id = ?", (0, 1)) == "UPDATE t SET a = NULL, b = NULL WHERE id = ?"
    )


def test_by_nulls_groups_rows_by_where_their_nulls_are() -> None:
    rows = [(1, None, "a", None), (2, "b", "c", "d"), (3, None, "e", None)]
    assert by_nulls(rows) == {(1, 3): [(1, "a"), (3, "e")], (): [(2, "b", "c", "d")]}
    assert by_nulls([]) == {}


def test_concurrent_writers_lose_nothing(database_url: str) -> None:
    """Two store connections upserting the same new calls at once still merge every delivery."""
    stores = [open_store(database_url) for _ in range(2)]
    stores[0].migrate(now=NOW)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for n in range(30):
                c = full_cdr(call_id=str(n), extra={f"from{i}": True})
                stores[i].upsert([deliver(c, Source.WEBHOOK if i else Source.PUSH, i, f"{i}-{n}")], now=NOW)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for n in range(30):
        row = stores[0].get(full_cdr(call_id=str(n)).id)
        assert row is not None
        assert row.sources == {Source.WEBHOOK, Source.PUSH}
        assert row.cdr.extra.get("from0") and row.cdr.extra.get("from1")
    for s in stores:
        s.close()


class _InterleavedStore(SqliteStore):
    """SQLite, with a hook run once between a batch's read without the lock and its write
    transaction (where another writer may get in), and a count of the batches merged."""

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url)
        self.before_lock: Callable[[], None] | None = None
        self.merges = 0

    @contextmanager
    def _transaction(self) -> Iterator[object]:
        step, self.before_lock = self.before_lock, None
        if step is not None:
            step()
        with super()._transaction() as cur:
            yield cur

    def _merged(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        self.merges += 1
        return super()._merged(*args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("stored_before", [True, False], ids=["row-existed", "row-new"])
def test_sqlite_merges_again_when_another_writer_got_in_before_the_lock(
    sqlite_url: str, tmp_path: object, stored_before: bool
) -> None:
    """SQLite merges a batch before taking its write lock; when another writer changes (or first
    inserts) one of its rows in between, the batch is merged again under the lock and both
    deliveries are in the row, as if they had been written one after the other."""
    ours = deliver(full_cdr(talk_s=None, extra={"ours": 1}), Source.WEBHOOK, 2, "ours")
    theirs = deliver(full_cdr(cost=Decimal("0.5"), extra={"theirs": 1}), Source.BACKFILL, 1, "theirs")
    first = deliver(full_cdr(from_name="First"), Source.PUSH, 0, "first")
    store, other = _InterleavedStore(sqlite_url), open_store(sqlite_url)
    store.migrate(now=NOW)
    reference = open_store(f"sqlite:///{tmp_path}/reference.db")
    reference.migrate(now=NOW)
    for s in (store, reference) if stored_before else ():
        s.upsert([first], now=NOW)
    reference.upsert([theirs], now=NOW)
    (expected,) = reference.upsert([ours], now=NOW)

    store.merges = 0
    store.before_lock = lambda: other.upsert([theirs], now=NOW)
    (written,) = store.upsert([ours], now=NOW)

    assert store.merges == 2  # once before the lock, once under it
    assert as_comparable(written) == as_comparable(expected)
    read = store.get(written.id)
    assert read is not None and as_comparable(read) == as_comparable(expected)
    assert read.sources == {Source.WEBHOOK, Source.BACKFILL} | ({Source.PUSH} if stored_before else set())
    assert read.cdr.extra == {**(full_cdr().extra if stored_before else {}), "ours": 1, "theirs": 1}
    assert read.cdr.cost == Decimal("0.5")
    for s in (store, other, reference):
        s.close()


def test_sqlite_writes_what_it_merged_before_the_lock_when_nothing_changed(sqlite_url: str) -> None:
    """With no other writer in between, the batch merged before the lock is what is written: one
    merge per batch, new rows and existing ones alike."""
    store = _InterleavedStore(sqlite_url)
    store.migrate(now=NOW)
    store.upsert([deliver(full_cdr(call_id="1"))], now=NOW)
    store.merges = 0
    rows = store.upsert([deliver(full_cdr(call_id="1"), Source.PUSH, 1, "b"), deliver(full_cdr(call_id="2"))], now=NOW)
    assert store.merges == 1
    assert [r.sources for r in rows] == [{Source.WEBHOOK, Source.PUSH}, {Source.WEBHOOK}]
    assert [store.get(r.id) for r in rows] == rows
    store.close()


def test_quarantine_keeps_the_envelope(store: SqlStore) -> None:
    """A quarantined envelope is listed with its reason and can be marked replayed."""
    e = Envelope(feed="callr.webhook", account="acct1", received_at=T0, body="{not json", ingest_id="q1")
    store.quarantine(e, "body is not valid JSON", now=NOW)
    (q,) = store.quarantined()
    assert (q.ingest_id, q.reason, q.envelope["body"]) == ("q1", "body is not valid JSON", "{not json")
    assert Envelope.from_dict(q.envelope) == e
    store.mark_replayed(["q1"], now=NOW)
    assert store.quarantined() == []
    assert len(store.quarantined(["q1"], include_replayed=True)) == 1


def test_unknown_database_url() -> None:
    """Only sqlite:// and postgresql:// are stores."""
    from workers.errors import ConfigError

    with pytest.raises(ConfigError, match="DATABASE_URL"):
        open_store("mysql://x")


def test_a_new_sqlite_database_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: object) -> None:
    """16 KiB pages on a new file (fewer page writes per batch); a file made with SQLite's default
    4 KiB pages is opened, written and read as it is."""
    import sqlite3
    from pathlib import Path

    from workers.store.sqlite import PAGE_SIZE

    new, old = Path(str(tmp_path)) / "new.db", Path(str(tmp_path)) / "old.db"
    sqlite3.connect(old).execute("CREATE TABLE t (a)").connection.close()
    for path, pages in ((new, PAGE_SIZE), (old, 4096)):
        s = open_store(f"sqlite:///{path}")
        s.migrate(now=NOW)
        s.upsert([deliver(full_cdr())], now=NOW)
        s.close()
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA page_size").fetchone()[0] == pages
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
        reopened = open_store(f"sqlite:///{path}")
        assert reopened.count() == 1
        reopened.close()
