"""What both stores do: migrate, upsert through ``merge`` (cdrs and verifications alike), read, quarantine.

Upserts are batched: one transaction locks the batch's existing rows (in id order, so two
workers never deadlock), merges every delivery in Python with the pure ``merge``, and writes the
results. Any database error surfaces as ``TransientError`` so the job is retried.

A store whose write lock is the whole database (SQLite: one writer at a time) merges and encodes
the batch before taking it, from the rows as read without it; inside the lock it reads them again
and writes what it built only if they are unchanged, else it merges again from what it read there.
The lock then covers a read, the writes and the commit, not the batch's merging.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

import orjson

from workers.cdr import CDR, Stored, StoredCDR
from workers.envelope import Envelope
from workers.merge import Delivery, merge
from workers.normalize.times import format_utc, parse_time
from workers.store.polling import PollingQueries
from workers.store.rows import CDRS, TEXT
from workers.store.schema import MIGRATIONS_TABLE, migrations
from workers.store.table import Encoding, Table
from workers.store.verification_rows import VERIFICATIONS
from workers.verification import StoredVerification, Verification

R = TypeVar("R", CDR, Verification)
TABLES: dict[str, Table[Any]] = {t.name: t for t in (CDRS, VERIFICATIONS)}


@dataclass(frozen=True)
class QuarantinedEnvelope:
    ingest_id: str
    feed: str
    account: str
    received_at: datetime
    reason: str
    envelope: dict[str, Any]
    quarantined_at: datetime
    replayed_at: datetime | None


class SqlStore(PollingQueries, ABC):
    dialect: str
    encoding: Encoding  # how times, money, JSON and booleans are bound
    param: str  # placeholder: "?" or "%s"
    merges_before_lock = False  # True where the write lock is the whole database (module text)

    @property
    def text_types(self) -> bool:
        """Whether times, money and JSON are stored as text (SQLite); the read queries ask."""
        return self.encoding is TEXT

    # -- dialect hooks -------------------------------------------------------------------------
    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """A write transaction yielding a cursor; errors become ``TransientError``."""

    @abstractmethod
    def _lock_clause(self) -> str: ...

    @abstractmethod
    def _insert_new(self, cur: Any, table: Table[Any], rows: list[tuple[Any, ...]]) -> None:
        """Insert rows believed new; raise ``ConcurrentInsert`` if another writer got there first."""

    @abstractmethod
    def close(self) -> None: ...

    def reading(self) -> AbstractContextManager[Any]:
        """A cursor for reads (the read API, stats); errors become ``TransientError``."""
        return self._transaction()

    # -- schema --------------------------------------------------------------------------------
    def migrate(self, *, now: datetime) -> list[int]:
        """Apply the migrations not yet applied; return their versions."""
        applied: list[int] = []
        with self._transaction() as cur:
            cur.execute(MIGRATIONS_TABLE)
            cur.execute("SELECT version FROM schema_migrations")
            done = {r[0] if isinstance(r, tuple) else r["version"] for r in cur.fetchall()}
            for m in migrations(self.dialect):
                if m.version in done:
                    continue
                for statement in m.statements:
                    cur.execute(statement)
                cur.execute(
                    f"INSERT INTO schema_migrations (version, applied_at) VALUES ({self.param}, {self.param})",
                    (m.version, format_utc(now)),
                )
                applied.append(m.version)
        return applied

    def schema_version(self) -> int:
        with self._transaction() as cur:
            cur.execute(MIGRATIONS_TABLE)
            cur.execute("SELECT max(version) AS v FROM schema_migrations")
            row = cur.fetchone()
        value = row[0] if isinstance(row, tuple) else row["v"]
        return int(value or 0)

    # -- CDRs and verifications ----------------------------------------------------------------
    def upsert(self, deliveries: Sequence[Delivery[CDR]], *, now: datetime) -> list[StoredCDR]:
        """Merge every delivery into its row in one transaction; return the rows written."""
        return self._upsert(CDRS, deliveries, now=now)

    def upsert_verifications(
        self, deliveries: Sequence[Delivery[Verification]], *, now: datetime
    ) -> list[StoredVerification]:
        """The same as ``upsert``, into the ``verifications`` table."""
        return self._upsert(VERIFICATIONS, deliveries, now=now)

    def _upsert(self, table: Table[R], deliveries: Sequence[Delivery[R]], *, now: datetime) -> list[Stored[R]]:
        if not deliveries:
            return []
        for attempt in range(5):
            try:
                return self._upsert_once(table, deliveries, now=now)
            except ConcurrentInsert:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _upsert_once(self, table: Table[R], deliveries: Sequence[Delivery[R]], *, now: datetime) -> list[Stored[R]]:
        ids = sorted({d.cdr.id for d in deliveries})
        plan: _Merged[R] | None = None
        if self.merges_before_lock:
            with self.reading() as cur:
                read = self._select_values(cur, table, ids, lock=False)
            plan = self._merged(table, deliveries, ids, read, now=now)  # with no cursor (nor its lock) held
        with self._transaction() as cur:
            existing = self._select_values(cur, table, ids, lock=True)
            if plan is None or plan.read != existing:  # another writer changed a row since it was read
                plan = self._merged(table, deliveries, ids, existing, now=now)
            self._insert_new(cur, table, [r for r in plan.rows if r[0] not in existing])
            self._update(cur, table, [r for r in plan.rows if r[0] in existing])
        return [plan.merged[i] for i in ids]

    def _merged(
        self, table: Table[R], deliveries: Sequence[Delivery[R]], ids: Sequence[str], read: dict[str, Any],
        *, now: datetime,
    ) -> _Merged[R]:  # fmt: skip
        """Every delivery merged into its row as ``read`` (the stored values by id)."""
        columns, from_row = table.columns, table.from_row
        merged = {i: from_row(_as_mapping(values, columns)) for i, values in read.items()}
        for d in deliveries:
            merged[d.cdr.id] = merge(merged.get(d.cdr.id), d, now=now)
        to_row, encoding = table.to_row, self.encoding
        return _Merged(read, merged, [to_row(merged[i], encoding) for i in ids])

    def _select(self, cur: Any, table: Table[R], ids: Sequence[str], *, lock: bool) -> dict[str, Stored[R]]:
        values = self._select_values(cur, table, ids, lock=lock).values()
        return {row.id: row for row in (table.from_row(_as_mapping(v, table.columns)) for v in values)}

    def _select_values(self, cur: Any, table: Table[Any], ids: Sequence[str], *, lock: bool) -> dict[str, Any]:
        """The stored rows of ``ids`` as the driver returns them, by id (comparable as they are)."""
        found: dict[str, Any] = {}
        cols = ", ".join(table.columns)
        for chunk in _chunks(ids, 500):
            marks = ", ".join([self.param] * len(chunk))
            lock_sql = self._lock_clause() if lock else ""
            cur.execute(f"SELECT {cols} FROM {table.name} WHERE id IN ({marks}) ORDER BY id{lock_sql}", chunk)
            for values in cur.fetchall():
                found[values["id"] if isinstance(values, dict) else values[0]] = values  # id is first
        return found

    def _update(self, cur: Any, table: Table[Any], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        sets = ", ".join(f"{c} = {self.param}" for c in table.update_columns)
        self._executemany(
            cur, f"UPDATE {table.name} SET {sets} WHERE id = {self.param}", [table.update_values(r) for r in rows]
        )

    def _executemany(self, cur: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """``sql`` once per row of values; a dialect may bind them its own faster way."""
        cur.executemany(sql, rows)

    def insert_sql(self, table: Table[Any]) -> str:
        marks = ", ".join([self.param] * len(table.columns))
        return f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})"

    def get(self, cdr_id: str) -> StoredCDR | None:
        with self._transaction() as cur:
            return self._select(cur, CDRS, [cdr_id], lock=False).get(cdr_id)

    def get_verification(self, verification_id: str) -> StoredVerification | None:
        with self._transaction() as cur:
            return self._select(cur, VERIFICATIONS, [verification_id], lock=False).get(verification_id)

    def count(self, table: str = "cdrs") -> int:
        with self._transaction() as cur:
            cur.execute(f"SELECT count(*) AS n FROM {TABLES[table].name}")
            row = cur.fetchone()
        return int(row[0] if isinstance(row, tuple) else row["n"])

    # -- quarantine ----------------------------------------------------------------------------
    def quarantine(self, envelope: Envelope, reason: str, *, now: datetime) -> None:
        """Keep an envelope that cannot be normalized, with why; a re-quarantine updates the reason."""
        p = self.param
        values = [
            envelope.ingest_id,
            envelope.feed,
            envelope.account,
            self._time(envelope.received_at),
            reason,
            self._json(envelope.to_dict()),
            self._time(now),
        ]
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO quarantine (ingest_id, feed, account, received_at, reason, envelope, quarantined_at)"
                f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})"
                " ON CONFLICT (ingest_id) DO UPDATE SET reason = excluded.reason,"
                " quarantined_at = excluded.quarantined_at, replayed_at = NULL",
                values,
            )

    def quarantined(
        self, ingest_ids: Sequence[str] = (), *, include_replayed: bool = False
    ) -> list[QuarantinedEnvelope]:
        cols = "ingest_id, feed, account, received_at, reason, envelope, quarantined_at, replayed_at"
        where, args = [], list(ingest_ids)
        if ingest_ids:
            where.append(f"ingest_id IN ({', '.join([self.param] * len(ingest_ids))})")
        if not include_replayed:
            where.append("replayed_at IS NULL")
        sql = f"SELECT {cols} FROM quarantine"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._transaction() as cur:
            cur.execute(sql + " ORDER BY quarantined_at, ingest_id", args)
            rows = [_as_mapping(r, cols.split(", ")) for r in cur.fetchall()]
        return [
            QuarantinedEnvelope(
                ingest_id=r["ingest_id"],
                feed=r["feed"],
                account=r["account"],
                received_at=_time_value(r["received_at"]),
                reason=r["reason"],
                envelope=orjson.loads(r["envelope"]) if isinstance(r["envelope"], str) else r["envelope"],
                quarantined_at=_time_value(r["quarantined_at"]),
                replayed_at=None if r["replayed_at"] is None else _time_value(r["replayed_at"]),
            )
            for r in rows
        ]

    def mark_replayed(self, ingest_ids: Sequence[str], *, now: datetime) -> None:
        if not ingest_ids:
            return
        with self._transaction() as cur:
            cur.executemany(
                f"UPDATE quarantine SET replayed_at = {self.param} WHERE ingest_id = {self.param}",
                [(self._time(now), i) for i in ingest_ids],
            )

    def _time(self, value: datetime) -> Any:
        return self.encoding.time(value)

    def _json(self, value: Any) -> Any:
        return self.encoding.json(value)


class _Merged(NamedTuple, Generic[R]):
    """A batch merged: the stored values it started from, the rows by id, their values to write."""

    read: dict[str, Any]
    merged: dict[str, Stored[R]]
    rows: list[tuple[Any, ...]]


class ConcurrentInsert(Exception):
    """Another writer inserted a row this transaction believed new; the batch is retried."""


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _as_mapping(values: Any, columns: Sequence[str]) -> dict[str, Any]:
    if isinstance(values, dict):
        return values
    return dict(zip(columns, values, strict=True))


def _time_value(value: Any) -> datetime:
    parsed = parse_time(value) if isinstance(value, str) else value
    assert isinstance(parsed, datetime)
    return parsed
