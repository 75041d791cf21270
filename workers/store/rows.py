"""``StoredCDR`` ↔ table row, for both dialects. Pure.

SQLite keeps times as fixed-width UTC text (sorts like the instant), money as decimal text and
JSON as text; PostgreSQL uses timestamptz, numeric and jsonb. Money is quantized to the column's
six decimals on both, so the two stores hold the same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from workers.cdr import CDR, Direction, HangupSource, Source, Status, StoredCDR
from workers.normalize.times import format_utc, parse_time

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


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def dump_json(value: Any) -> str:
    return orjson.dumps(value, default=_json_default).decode()


def to_row(row: StoredCDR, *, text_types: bool) -> dict[str, Any]:
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
        "sources": ",".join(sorted(str(s) for s in row.sources)),
        "first_seen_at": row.first_seen_at,
        "updated_at": row.updated_at,
        "raw": dict(row.raw),
        "merge_versions": dict(row.versions),
    }
    if text_types:
        for name in _TIMES:
            if values[name] is not None:
                values[name] = format_utc(values[name])
        for name in _JSON:
            values[name] = dump_json(values[name])
        if values["cost"] is not None:
            values["cost"] = str(values["cost"])
        values["caller_restricted"] = int(values["caller_restricted"])
    return values


def from_row(values: Mapping[str, Any]) -> StoredCDR:
    """A row as read from either dialect → ``StoredCDR``."""

    def time(name: str) -> datetime | None:
        v = values[name]
        return parse_time(v) if isinstance(v, str) else v

    def js(name: str) -> Any:
        v = values[name]
        return orjson.loads(v) if isinstance(v, str | bytes) else v

    cost = values["cost"]
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
        started_at=time("started_at"),
        answered_at=time("answered_at"),
        ended_at=time("ended_at"),
        duration_s=values["duration_s"],
        talk_s=values["talk_s"],
        billed_s=values["billed_s"],
        ring_s=values["ring_s"],
        status=Status(values["status"]),
        q850_cause=values["q850_cause"],
        hangup_cause=values["hangup_cause"],
        sip_code=values["sip_code"],
        hangup_source=None if values["hangup_source"] is None else HangupSource(values["hangup_source"]),
        cost=None if cost is None else Decimal(str(cost)).quantize(_MICRO),
        currency=None if values["currency"] is None else values["currency"].strip(),
        mos=values["mos"],
        jitter_ms=values["jitter_ms"],
        packet_loss_pct=values["packet_loss_pct"],
        codec=values["codec"],
        extra=js("extra"),
    )
    first_seen, updated = time("first_seen_at"), time("updated_at")
    assert first_seen is not None and updated is not None
    return StoredCDR(
        cdr=cdr,
        sources=frozenset(Source(s) for s in values["sources"].split(",") if s),
        first_seen_at=first_seen,
        updated_at=updated,
        raw=js("raw"),
        versions=js("merge_versions"),
    )
