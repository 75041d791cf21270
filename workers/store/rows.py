"""Stored rows ↔ table rows, for both dialects: ``cdrs`` here, the common encodings for every table. Pure.

SQLite keeps times as fixed-width UTC text (sorts like the instant), money as decimal text and
JSON as text; PostgreSQL uses timestamptz, numeric and jsonb. Money is quantized to the column's
six decimals on both, so the two stores hold the same values. A ``Table`` is what the store's
generic upsert needs to know about one table (``CDRS``; ``verification_rows.VERIFICATIONS``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from operator import itemgetter
from typing import Any, Generic, TypeVar

import orjson

from workers.cdr import CDR, Direction, GroupedVersions, HangupSource, Identified, Source, Status, Stored, StoredCDR
from workers.normalize.times import format_utc, parse_time

R = TypeVar("R", bound=Identified)

CDR_COLUMNS = (
    "id", "vendor", "account_id", "call_id", "leg", "other_leg_call_id", "interaction_id", "direction",
    "from_number", "to_number", "from_name", "caller_restricted", "started_at", "answered_at", "ended_at",
    "duration_s", "talk_s", "billed_s", "ring_s", "status", "q850_cause", "hangup_cause", "sip_code",
    "hangup_source", "cost", "currency", "mos", "jitter_ms", "packet_loss_pct", "codec", "extra",
    "sources", "first_seen_at", "updated_at", "raw", "merge_versions",
)  # fmt: skip
_TIMES = frozenset({"started_at", "answered_at", "ended_at", "first_seen_at", "updated_at"})
_JSON = frozenset({"extra", "raw", "merge_versions"})
_MICRO = Decimal("0.000001")
# Every table ends with the merge bookkeeping (workers.merge): the same columns, the same encodings.
BOOKKEEPING_COLUMNS = ("sources", "first_seen_at", "updated_at", "raw", "merge_versions")


@dataclass(frozen=True)
class Table(Generic[R]):
    name: str
    columns: tuple[str, ...]
    json_columns: frozenset[str]
    to_row: Callable[[Stored[R], bool], dict[str, Any]]  # (row, text_types) -> column values
    from_row: Callable[[Mapping[str, Any]], Stored[R]]

    @cached_property
    def values(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        """A row's values in column order (for INSERT), picked in C."""
        return itemgetter(*self.columns)

    @cached_property
    def json_positions(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.columns) if c in self.json_columns)

    @cached_property
    def update_columns(self) -> tuple[str, ...]:
        """What ``UPDATE ... SET`` sets: every column but id."""
        return tuple(c for c in self.columns if c != "id")

    @cached_property
    def update_values(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        """A row's values for ``UPDATE ... SET (update_columns) WHERE id``."""
        return itemgetter(*self.update_columns, "id")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def dump_json(value: Any) -> str:
    return orjson.dumps(value, default=_json_default).decode()


def to_row(row: StoredCDR, text_types: bool) -> dict[str, Any]:
    """Column values for ``row``; ``text_types`` selects SQLite's encodings."""
    c = row.cdr
    values: dict[str, Any] = {
        "id": row.id,
        "vendor": c.vendor,
        "account_id": c.account_id,
        "call_id": c.call_id,
        "leg": c.leg,
        "other_leg_call_id": c.other_leg_call_id,
        "interaction_id": c.interaction_id,
        "direction": str(c.direction),
        "from_number": c.from_number,
        "to_number": c.to_number,
        "from_name": c.from_name,
        "caller_restricted": bool(c.caller_restricted),
        "started_at": c.started_at,
        "answered_at": c.answered_at,
        "ended_at": c.ended_at,
        "duration_s": c.duration_s,
        "talk_s": c.talk_s,
        "billed_s": c.billed_s,
        "ring_s": c.ring_s,
        "status": str(c.status),
        "q850_cause": c.q850_cause,
        "hangup_cause": c.hangup_cause,
        "sip_code": c.sip_code,
        "hangup_source": None if c.hangup_source is None else str(c.hangup_source),
        "cost": None if c.cost is None else c.cost.quantize(_MICRO),
        "currency": c.currency,
        "mos": c.mos,
        "jitter_ms": c.jitter_ms,
        "packet_loss_pct": c.packet_loss_pct,
        "codec": c.codec,
        "extra": dict(c.extra),
        **bookkeeping(row),
    }
    if text_types:
        encode_text(values, _TIMES, _JSON)
        values["caller_restricted"] = int(values["caller_restricted"])
    return values


def bookkeeping(row: Stored[Any]) -> dict[str, Any]:
    return {
        "sources": ",".join(sorted(row.sources)),  # StrEnum members: the values, sorted as text
        "first_seen_at": row.first_seen_at,
        "updated_at": row.updated_at,
        "raw": dict(row.raw),
        "merge_versions": pack_versions(row.versions),
    }


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


def encode_text(values: dict[str, Any], times: frozenset[str], json: frozenset[str]) -> None:
    """SQLite's encodings, in place: times as fixed-width UTC text, JSON and money as text."""
    for name in times:
        if values[name] is not None:
            values[name] = format_utc(values[name])
    for name in json:
        values[name] = dump_json(values[name])
    if values.get("cost") is not None:
        values["cost"] = str(values["cost"])


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


CDRS: Table[CDR] = Table("cdrs", CDR_COLUMNS, _JSON, to_row, from_row)
