"""Reading CDRs for consumers: pages, one row, summaries, every row (for exports). Blocking calls:
the receiver runs them in its thread pool.

Rows come out as plain JSON-ready dicts (``public_row``): times in ISO 8601 UTC, money as decimal
strings, ``extra`` as an object; ``raw`` only for a single row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from workers.normalize.times import format_utc, parse_time
from workers.store import queries
from workers.store.base import SqlStore
from workers.store.queries import CdrFilter, Cursor
from workers.store.rows import CDR_COLUMNS

LIST_COLUMNS = tuple(c for c in CDR_COLUMNS if c not in ("raw", "merge_versions"))
ROW_COLUMNS = (*LIST_COLUMNS, "raw")
_TIMES = frozenset({"started_at", "answered_at", "ended_at", "first_seen_at", "updated_at"})
_MICRO = Decimal("0.000001")
NO_CURRENCY = "XXX"  # ISO 4217's code for "no currency": costs stored without one


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def public_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A row as either dialect returns it → the read API's representation. Pure."""
    out = dict(values)
    for name in _TIMES & out.keys():
        v = parse_time(out[name]) if isinstance(out[name], str) else out[name]
        out[name] = None if v is None else format_utc(v)
    if "cost" in out and out["cost"] is not None:
        out["cost"] = str(Decimal(str(out["cost"])).quantize(_MICRO))
    if out.get("currency") is not None:
        out["currency"] = out["currency"].strip()
    if "caller_restricted" in out:
        out["caller_restricted"] = bool(out["caller_restricted"])
    for name in ("extra", "raw"):
        if isinstance(out.get(name), str | bytes):
            out[name] = orjson.loads(out[name])
    return out


def _rows(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [r if isinstance(r, dict) else dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _values(cur: Any) -> list[Sequence[Any]]:
    return [list(r.values()) if isinstance(r, dict) else r for r in cur.fetchall()]


class CdrReader:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.dialect = queries.Dialect(param=store.param, text_types=store.text_types)

    def page(self, f: CdrFilter, after: Cursor | None = None, limit: int = 100) -> Page:
        limit = max(1, min(limit, queries.MAX_LIMIT))
        sql, args = queries.page(LIST_COLUMNS, f, after, limit, self.dialect)
        with self.store.reading() as cur:
            cur.execute(sql, args)
            rows = _rows(cur)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = None
        if more:
            last = public_row(rows[-1])
            started = None if last["started_at"] is None else parse_time(last["started_at"])
            next_cursor = Cursor(started, last["id"]).encode()
        return Page([public_row(r) for r in rows], next_cursor)

    def get(self, cdr_id: str) -> dict[str, Any] | None:
        p = self.dialect.param
        with self.store.reading() as cur:
            cur.execute(f"SELECT {', '.join(ROW_COLUMNS)} FROM cdrs WHERE id = {p}", [cdr_id])
            rows = _rows(cur)
        return public_row(rows[0]) if rows else None

    def iter_pages(self, f: CdrFilter, page_size: int = queries.MAX_LIMIT) -> Iterator[list[dict[str, Any]]]:
        """Every selected row, a page (one short query) at a time: memory stays flat at any size."""
        cursor: Cursor | None = None
        while True:
            page = self.page(f, cursor, page_size)
            if page.items:
                yield page.items
            if page.next_cursor is None:
                return
            cursor = Cursor.decode(page.next_cursor)

    def summary(self, f: CdrFilter) -> dict[str, Any]:
        totals_sql, totals_args = queries.totals(f, self.dialect)
        costs_sql, costs_args = queries.costs(f, self.dialect)
        with self.store.reading() as cur:
            cur.execute(totals_sql, totals_args)
            (totals,) = _values(cur)
            cur.execute(costs_sql, costs_args)
            costs = _values(cur)
        return summarize(totals, costs, millionths=self.dialect.text_types)


def summarize(totals: Sequence[Any], costs: Sequence[Sequence[Any]], *, millionths: bool) -> dict[str, Any]:
    """Aggregates → the summary document, in Decimal throughout. Pure."""
    total, answered = int(totals[0] or 0), int(totals[1] or 0)
    durations = {}
    for i, name in enumerate(("duration_s", "talk_s", "billed_s")):
        s, n = int(totals[2 + 2 * i] or 0), int(totals[3 + 2 * i] or 0)
        durations[name] = {"total": s, "avg": None if n == 0 else str((Decimal(s) / n).quantize(Decimal("0.01")))}
    by_currency: dict[str, dict[str, Any]] = {}
    for currency, amount, calls in costs:
        value = Decimal(amount or 0) / 1_000_000 if millionths else Decimal(str(amount or 0))
        key = (currency or NO_CURRENCY).strip()
        by_currency[key] = {"total": str(value.quantize(_MICRO)), "calls": int(calls)}
    rate = None if total == 0 else str((Decimal(answered) / total).quantize(Decimal("0.0001")))
    return {"total": total, "answered": answered, "answer_rate": rate, **durations, "cost": by_currency}
