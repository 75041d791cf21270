"""What the poller keeps in the store: one checkpoint per (vendor, account, source), and the
read behind ``cdr-ingest reconcile`` (which paths delivered each call of a day).

A mixin of ``SqlStore``: the same SQL on both dialects, through the store's own transaction.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from workers.cdr import Source
from workers.normalize.times import parse_time

KEEP_STATE: Any = object()  # save_checkpoint: leave the stored state as it is
_CHECKPOINT_COLUMNS = ("vendor", "account", "source", "polled_until", "updated_at", "last_error", "state")


@dataclass(frozen=True)
class Checkpoint:
    """Everything before ``polled_until`` has been fetched and enqueued for this source."""

    vendor: str
    account: str
    source: str
    polled_until: datetime
    updated_at: datetime
    last_error: str | None = None
    state: Any = None


@dataclass(frozen=True)
class CallSources:
    """One stored call leg and the paths that delivered it."""

    id: str
    account_id: str | None
    call_id: str
    leg: str | None
    sources: frozenset[Source]


class PollingQueries:
    param: str

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]: ...

    @abstractmethod
    def _time(self, value: datetime) -> Any:
        """A time as the dialect stores it."""

    @abstractmethod
    def _json(self, value: Any) -> Any:
        """A JSON value as the dialect stores it."""

    def get_checkpoint(self, vendor: str, account: str, source: str) -> Checkpoint | None:
        found = [c for c in self.checkpoints(vendor) if (c.account, c.source) == (account, source)]
        return found[0] if found else None

    def checkpoints(self, vendor: str | None = None) -> list[Checkpoint]:
        sql = f"SELECT {', '.join(_CHECKPOINT_COLUMNS)} FROM checkpoints"
        args: list[Any] = []
        if vendor is not None:
            sql += f" WHERE vendor = {self.param}"
            args.append(vendor)
        with self._transaction() as cur:
            cur.execute(sql + " ORDER BY vendor, account, source", args)
            rows = [_mapping(r, _CHECKPOINT_COLUMNS) for r in cur.fetchall()]
        return [
            Checkpoint(
                vendor=r["vendor"],
                account=r["account"],
                source=r["source"],
                polled_until=_read_time(r["polled_until"]),
                updated_at=_read_time(r["updated_at"]),
                last_error=r["last_error"],
                state=orjson.loads(r["state"]) if isinstance(r["state"], str) else r["state"],
            )
            for r in rows
        ]

    def save_checkpoint(
        self,
        vendor: str,
        account: str,
        source: str,
        polled_until: datetime,
        *,
        now: datetime,
        error: str | None = None,
        state: Any = KEEP_STATE,
    ) -> None:
        """Move the checkpoint forward (never back), set its error (None clears it) and, when
        given, its ``state`` (what the source remembers: ``sources.Memory``)."""
        p = self.param
        keep = state is KEEP_STATE
        set_state = "" if keep else ", state = excluded.state"
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO checkpoints (vendor, account, source, polled_until, updated_at, last_error, state)"
                f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})"
                " ON CONFLICT (vendor, account, source) DO UPDATE SET"
                " polled_until = CASE WHEN excluded.polled_until > checkpoints.polled_until"
                " THEN excluded.polled_until ELSE checkpoints.polled_until END,"
                f" updated_at = excluded.updated_at, last_error = excluded.last_error{set_state}",
                [vendor, account, source, self._time(polled_until), self._time(now), error,
                 None if keep or state is None else self._json(state)],
            )  # fmt: skip

    def calls_by_sources(
        self, vendor: str, start: datetime, end: datetime, *, account: str | None = None
    ) -> list[CallSources]:
        """Call legs of ``vendor`` that started in ``[start, end)``, with their ``sources``."""
        p = self.param
        sql = f"SELECT id, account_id, call_id, leg, sources FROM cdrs WHERE vendor = {p}"
        sql += f" AND started_at >= {p} AND started_at < {p}"
        args: list[Any] = [vendor, self._time(start), self._time(end)]
        if account is not None:
            sql += f" AND account_id = {p}"
            args.append(account)
        with self._transaction() as cur:
            cur.execute(sql + " ORDER BY id", args)
            rows = [_mapping(r, ("id", "account_id", "call_id", "leg", "sources")) for r in cur.fetchall()]
        return [
            CallSources(
                id=r["id"],
                account_id=r["account_id"],
                call_id=r["call_id"],
                leg=r["leg"],
                sources=frozenset(Source(s) for s in r["sources"].split(",") if s),
            )
            for r in rows
        ]


def _mapping(values: Any, columns: Sequence[str]) -> dict[str, Any]:
    return values if isinstance(values, dict) else dict(zip(columns, values, strict=True))


def _read_time(value: Any) -> datetime:
    parsed = parse_time(value) if isinstance(value, str) else value
    assert isinstance(parsed, datetime)
    return parsed
