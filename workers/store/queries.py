"""The read API's SQL, for both dialects: filters, keyset pages, summary aggregates. Pure.

Every value reaches the database as a bound parameter; the only text put into SQL comes from the
constants here (column names, operators), never from a request.

Pagination is keyset on ``(started_at, id)``, rows with no ``started_at`` last: a cursor is the
last row's key, and the next page is every row after it. Rows inserted while a client pages
never shift a page, so nothing is read twice or skipped; a new row shows up on a later page if
it sorts after the cursor.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from workers.normalize.times import format_utc, parse_time

MAX_LIMIT = 1000


@dataclass(frozen=True)
class Dialect:
    param: str  # "?" or "%s"
    text_types: bool  # SQLite: times, money and JSON as text

    def time(self, value: datetime) -> Any:
        return format_utc(value) if self.text_types else value

    def cost_sum(self) -> str:
        # SQLite keeps cost as text with exactly six decimals: summing it as an integer count of
        # millionths is exact, where SUM(cost) would go through floating point.
        return "SUM(CAST(REPLACE(cost, '.', '') AS INTEGER))" if self.text_types else "SUM(cost)"


@dataclass(frozen=True)
class CdrFilter:
    """What ``GET /cdrs``, ``/summary`` and ``/export.csv`` select. Empty tuples select everything."""

    vendors: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    from_number: str | None = None  # exact, or a prefix when it ends with "*"
    to_number: str | None = None
    started_from: datetime | None = None  # inclusive
    started_to: datetime | None = None  # exclusive
    min_duration_s: int | None = None


@dataclass(frozen=True)
class Cursor:
    """The key of the last row of a page; opaque to clients (base64url JSON)."""

    started_at: datetime | None
    id: str

    def encode(self) -> str:
        key = [None if self.started_at is None else format_utc(self.started_at), self.id]
        return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Raise ``ValueError`` for anything this module did not produce."""
        try:
            started, cdr_id = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
            raise ValueError("cursor is not one this API returned") from None
        if not isinstance(cdr_id, str) or not (started is None or isinstance(started, str)):
            raise ValueError("cursor is not one this API returned")
        return cls(parse_time(started), cdr_id)


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def where(f: CdrFilter, d: Dialect) -> tuple[str, list[Any]]:
    """The WHERE clause (with its leading keyword, or empty) and its arguments."""
    p = d.param
    parts: list[str] = []
    args: list[Any] = []
    for column, values in (("vendor", f.vendors), ("account_id", f.accounts),
                           ("direction", f.directions), ("status", f.statuses)):  # fmt: skip
        if values:
            parts.append(f"{column} IN ({', '.join([p] * len(values))})")
            args.extend(values)
    for column, number in (("from_number", f.from_number), ("to_number", f.to_number)):
        if number is None:
            continue
        if number.endswith("*"):
            parts.append(f"{column} LIKE {p} ESCAPE '\\'")
            args.append(_like_prefix(number[:-1]))
        else:
            parts.append(f"{column} = {p}")
            args.append(number)
    if f.started_from is not None:
        parts.append(f"started_at >= {p}")
        args.append(d.time(f.started_from))
    if f.started_to is not None:
        parts.append(f"started_at < {p}")
        args.append(d.time(f.started_to))
    if f.min_duration_s is not None:
        parts.append(f"duration_s >= {p}")
        args.append(f.min_duration_s)
    return (" WHERE " + " AND ".join(parts) if parts else ""), args


def page(columns: tuple[str, ...], f: CdrFilter, after: Cursor | None, limit: int, d: Dialect) -> tuple[str, list[Any]]:
    """One page in key order; asks for ``limit + 1`` rows so the caller knows whether more follow."""
    p = d.param
    sql, args = where(f, d)
    if after is not None:
        if after.started_at is None:
            keyset = f"(started_at IS NULL AND id > {p})"
            args.append(after.id)
        else:
            keyset = f"((started_at, id) > ({p}, {p}) OR started_at IS NULL)"
            args.extend([d.time(after.started_at), after.id])
        sql += (" AND " if sql else " WHERE ") + keyset
    args.append(limit + 1)
    return f"SELECT {', '.join(columns)} FROM cdrs{sql} ORDER BY started_at NULLS LAST, id LIMIT {p}", args


def totals(f: CdrFilter, d: Dialect) -> tuple[str, list[Any]]:
    """One row: calls, answered calls, and (sum, count) of each duration column."""
    sql, args = where(f, d)
    # Every column named: PostgreSQL's dict rows would fold same-named ones together.
    durations = ", ".join(f"SUM({c}) AS {c}_sum, COUNT({c}) AS {c}_n" for c in ("duration_s", "talk_s", "billed_s"))
    answered = "SUM(CASE WHEN status = 'answered' THEN 1 ELSE 0 END) AS answered"
    return f"SELECT COUNT(*) AS calls, {answered}, {durations} FROM cdrs{sql}", args


def costs(f: CdrFilter, d: Dialect) -> tuple[str, list[Any]]:
    """(currency, cost sum, calls with a cost) per currency; SQLite's sum is in millionths."""
    sql, args = where(f, d)
    sql += (" AND " if sql else " WHERE ") + "cost IS NOT NULL"
    select = f"SELECT currency, {d.cost_sum()} AS amount, COUNT(*) AS calls FROM cdrs{sql}"
    return select + " GROUP BY currency ORDER BY currency", args
