"""Stored rows ↔ table rows, for both dialects: ``cdrs`` here, the common encodings for every table. Pure.

SQLite keeps times as fixed-width UTC text (sorts like the instant), money as decimal text and
JSON as text; PostgreSQL uses timestamptz, numeric and jsonb. Money is quantized to the column's
six decimals on both, so the two stores hold the same values. A ``Table`` is what the store's
generic upsert needs to know about one table (``CDRS``; ``verification_rows.VERIFICATIONS``).
Compiled with mypyc (``workers.native``); ``Table`` and ``Encoding`` live in ``table.py``, which is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson

from workers.cdr import CDR, Direction, GroupedVersions, HangupSource, Identified, Source, Status, Stored, StoredCDR
from workers.normalize.times import format_utc, format_utc_text, parse_time
from workers.store.table import Encoding, Table

R = TypeVar("R", bound=Identified)

CDR_COLUMNS = (
    "id", "vendor", "account_id", "call_id", "leg", "other_leg_call_id", "interaction_id", "direction",
    "from_number", "to_number", "from_name", "caller_restricted", "started_at", "answered_at", "ended_at",
    "duration_s", "talk_s", "billed_s", "ring_s", "status", "q850_cause", "hangup_cause", "sip_code",
    "hangup_source", "cost", "currency", "mos", "jitter_ms", "packet_loss_pct", "codec", "extra",
    "sources", "first_seen_at", "updated_at", "raw", "merge_versions",
)  # fmt: skip
_MICRO = Decimal("0.000001")
# Every table ends with the merge bookkeeping (workers.merge): the same columns, the same encodings.
BOOKKEEPING_COLUMNS = ("sources", "first_seen_at", "updated_at", "raw", "merge_versions")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def dump_json(value: Any) -> str:
    return orjson.dumps(value, default=_json_default).decode()


def _time_text(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)


def _call_time_text(value: datetime | None) -> str | None:
    return None if value is None else format_utc_text(value)


def _money_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


TEXT = Encoding(time=_time_text, call_time=_call_time_text, json=dump_json, money=_money_text, boolean=int)


def to_row(row: StoredCDR, enc: Encoding) -> tuple[Any, ...]:
    """Column values for ``row`` in ``CDR_COLUMNS`` order, in ``enc``'s encodings. Built as one
    tuple: a backfill writes every row once, and a dict per row then picked apart was ~10% of a
    worker's CPU."""
    c = row.cdr
    time = enc.call_time
    return (
        row.id,
        c.vendor,
        c.account_id,
        c.call_id,
        c.leg,
        c.other_leg_call_id,
        c.interaction_id,
        str(c.direction),
        c.from_number,
        c.to_number,
        c.from_name,
        enc.boolean(bool(c.caller_restricted)),
        time(c.started_at),
        time(c.answered_at),
        time(c.ended_at),
        c.duration_s,
        c.talk_s,
        c.billed_s,
        c.ring_s,
        str(c.status),
        c.q850_cause,
        c.hangup_cause,
        c.sip_code,
        None if c.hangup_source is None else str(c.hangup_source),
        enc.money(None if c.cost is None else c.cost.quantize(_MICRO)),
        c.currency,
        c.mos,
        c.jitter_ms,
        c.packet_loss_pct,
        c.codec,
        enc.json(dict(c.extra)),
        *bookkeeping(row, enc),
    )


def bookkeeping(row: Stored[Any], enc: Encoding) -> tuple[Any, ...]:
    """The values of ``BOOKKEEPING_COLUMNS``, which end every table."""
    return (
        ",".join(sorted(row.sources)),  # StrEnum members: the values, sorted as text
        enc.time(row.first_seen_at),
        enc.time(row.updated_at),
        enc.json(dict(row.raw)),
        enc.json(pack_versions(row.versions)),
    )


def by_nulls(rows: list[tuple[Any, ...]]) -> dict[tuple[int, ...], list[tuple[Any, ...]]]:
    """Rows grouped by the positions of their nulls, each without them: for a statement that writes
    those NULLs in its text. SQLite's driver looks for an adapter for every ``None`` it binds
    (~0.27 µs each, against ~0.1 for a string); a backfilled Callr row has 9. A batch of one
    feed is mostly one group."""
    groups: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        nulls = tuple([i for i, value in enumerate(row) if value is None])
        values = tuple([value for value in row if value is not None]) if nulls else row
        group = groups.get(nulls)
        if group is None:
            groups[nulls] = [values]
        else:
            group.append(values)
    return groups


def pack_versions(versions: Mapping[str, str]) -> dict[str, list[str]]:
    """The stored form of ``versions``: the keys grouped under the version that set them. A row's
    fields mostly share one or two versions, so this is a couple of hundred bytes where one
    version per key was ~1.7 KB (two thirds of a stored row). A new row's are grouped already."""
    if isinstance(versions, GroupedVersions):
        return versions.grouped
    packed: dict[str, list[str]] = {}
    for key, version in versions.items():
        packed.setdefault(version, []).append(key)
    return packed


def unpack_versions(column: Mapping[str, Any]) -> dict[str, str]:
    """``pack_versions`` undone. Rows written before it (key → version) read as they are: a version
    (``priority|…``) never looks like a key, and the two layouts are never mixed in one row."""
    versions: dict[str, str] = {}
    for name, value in column.items():
        if isinstance(value, str):
            versions[name] = value
        else:
            versions.update(dict.fromkeys(value, name))
    return versions


def money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(_MICRO)


def stored(values: Mapping[str, Any], record: R) -> Stored[R]:
    """The bookkeeping columns of a row read from either dialect, around its record."""
    first_seen, updated = read_time(values["first_seen_at"]), read_time(values["updated_at"])
    assert first_seen is not None and updated is not None
    return Stored(
        cdr=record,
        sources=frozenset(Source(s) for s in values["sources"].split(",") if s),
        first_seen_at=first_seen,
        updated_at=updated,
        raw=_json(values["raw"]),
        versions=unpack_versions(_json(values["merge_versions"])),
    )


def read_time(value: Any) -> datetime | None:
    return parse_time(value) if isinstance(value, str) else value


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def from_row(values: Mapping[str, Any]) -> StoredCDR:
    """A row as read from either dialect → ``StoredCDR``."""
    cdr = CDR(
        vendor=values["vendor"],
        account_id=values["account_id"],
        call_id=values["call_id"],
        leg=values["leg"],
        other_leg_call_id=values["other_leg_call_id"],
        interaction_id=values["interaction_id"],
        direction=Direction(values["direction"]),
        from_number=values["from_number"],
        to_number=values["to_number"],
        from_name=values["from_name"],
        caller_restricted=bool(values["caller_restricted"]),
        started_at=read_time(values["started_at"]),
        answered_at=read_time(values["answered_at"]),
        ended_at=read_time(values["ended_at"]),
        duration_s=values["duration_s"],
        talk_s=values["talk_s"],
        billed_s=values["billed_s"],
        ring_s=values["ring_s"],
        status=Status(values["status"]),
        q850_cause=values["q850_cause"],
        hangup_cause=values["hangup_cause"],
        sip_code=values["sip_code"],
        hangup_source=None if values["hangup_source"] is None else HangupSource(values["hangup_source"]),
        cost=money(values["cost"]),
        currency=None if values["currency"] is None else values["currency"].strip(),
        mos=values["mos"],
        jitter_ms=values["jitter_ms"],
        packet_loss_pct=values["packet_loss_pct"],
        codec=values["codec"],
        extra=_json(values["extra"]),
    )
    return stored(values, cdr)


CDRS: Table[CDR] = Table("cdrs", CDR_COLUMNS, to_row, from_row)
