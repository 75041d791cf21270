"""Re-deliveries of one call merge into one row (``shared/schema.md`` "Merging re-deliveries"). Pure.

Each field is a last-writer-wins register: the value of the delivery with the highest version
among those that carried a value. A version is ``priority|received_at|ingest_id``; billing fields
(cost, currency, billed_s) from a backfill get priority 1, so exports win over push values,
everything else is decided by the newest delivery. Null (and an ``unknown`` enum) never
overwrites. ``sources`` is the union, ``first_seen_at`` the earliest receipt, ``raw`` keeps the
newest payload per path. Taking the maximum per field is idempotent, commutative and
associative, so any number of deliveries in any order, applied any number of times, give the
same row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workers.cdr import BILLING_FIELDS, CALL_FIELDS, CDR, Direction, Source, Status, StoredCDR
from workers.normalize.times import format_utc

_UNSET_ENUMS = (Status.UNKNOWN, Direction.UNKNOWN)


@dataclass(frozen=True)
class Delivery:
    """One normalized delivery of a call leg, with where and when it came from."""

    cdr: CDR
    source: Source
    received_at: datetime
    ingest_id: str
    raw: Any


def _version(delivery: Delivery, field_name: str) -> str:
    priority = 1 if field_name in BILLING_FIELDS and delivery.source is Source.BACKFILL else 0
    return f"{priority}|{format_utc(delivery.received_at)}|{delivery.ingest_id}"


def _is_unset(value: Any) -> bool:
    return value is None or value in _UNSET_ENUMS


def merge(existing: StoredCDR | None, delivery: Delivery, *, now: datetime) -> StoredCDR:
    """The row after ``delivery`` is applied to ``existing`` (None: the call is new)."""
    incoming = delivery.cdr
    if existing is None:
        base = dataclasses.replace(incoming, **{f: _blank(f) for f in CALL_FIELDS}, extra={})
        existing = StoredCDR(
            cdr=base,
            sources=frozenset(),
            first_seen_at=delivery.received_at,
            updated_at=now,
            raw={},
            versions={},
        )
    elif existing.id != incoming.id:
        raise ValueError(f"cannot merge {incoming.id} into {existing.id}")

    versions = dict(existing.versions)
    changes: dict[str, Any] = {}
    for name in CALL_FIELDS:
        value = getattr(incoming, name)
        if not _is_unset(value) and _wins(versions, name, _version(delivery, name)):
            changes[name] = value

    extra = dict(existing.cdr.extra)
    for key, value in incoming.extra.items():
        if value is not None and _wins(versions, f"extra.{key}", _version(delivery, "extra")):
            extra[key] = value

    raw = dict(existing.raw)
    if _wins(versions, f"raw.{delivery.source}", _version(delivery, "raw")):
        raw[str(delivery.source)] = delivery.raw

    return StoredCDR(
        cdr=dataclasses.replace(existing.cdr, **changes, extra=extra),
        sources=existing.sources | {delivery.source},
        first_seen_at=min(existing.first_seen_at, delivery.received_at),
        updated_at=now,
        raw=raw,
        versions=versions,
    )


def _wins(versions: dict[str, str], key: str, version: str) -> bool:
    """Record ``version`` for ``key`` and say whether it beats what set the current value."""
    current = versions.get(key)
    if current is not None and current >= version:
        return False
    versions[key] = version
    return True


def _blank(name: str) -> Any:
    default = CDR.__dataclass_fields__[name].default
    return default if default is not dataclasses.MISSING else None


def as_comparable(row: StoredCDR) -> Mapping[str, Any]:
    """The row without ``updated_at`` (a wall-clock write time), for equality checks."""
    return {
        "cdr": row.cdr,
        "sources": row.sources,
        "first_seen_at": row.first_seen_at,
        "raw": row.raw,
        "versions": row.versions,
    }
