"""Re-deliveries of one call merge into one row (``shared/schema.md`` "Merging re-deliveries"). Pure.

The same rules serve every stored record: call legs (``CDR``) and verifications (``Verification``);
each record type names its identity fields (never merged) and its billing fields.
Each field is a last-writer-wins register: the value of the delivery with the highest version
among those that carried a value. A version is ``priority|received_at|ingest_id``; billing fields
(cost, currency, billed_s) from a backfill get priority 1, so exports win over push values,
everything else is decided by the newest delivery. Null (and an unknown status or direction) never
overwrites. ``sources`` is the union, ``first_seen_at`` the earliest receipt, ``raw`` keeps the
newest payload per path. Taking the maximum per field is idempotent, commutative and
associative, so any number of deliveries in any order, applied any number of times, give the
same row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

from workers.cdr import CDR, Direction, GroupedVersions, Source, Status, Stored
from workers.normalize.times import format_utc
from workers.verification import Verification

# Unset, besides null: an unknown status or direction (those fields' "not said"), by identity. Any
# other value is a value, "unknown" text and HangupSource.UNKNOWN (that field's "not said" is null)
# included: were they unset too, a new row would keep them where a merge would not.
_UNSET_IDS = frozenset(map(id, (Status.UNKNOWN, Direction.UNKNOWN)))
R = TypeVar("R", CDR, Verification)


@attrs.frozen(slots=False)
class Delivery(Generic[R]):
    """One normalized delivery of a call leg (or a verification), with where and when it came from."""

    cdr: R
    source: Source
    received_at: datetime
    ingest_id: str
    raw: Any


def _versions(delivery: Delivery[Any]) -> tuple[str, str]:
    """(version of an ordinary field, version of a billing field) for this delivery."""
    base = f"|{format_utc(delivery.received_at)}|{delivery.ingest_id}"
    return "0" + base, ("1" if delivery.source is Source.BACKFILL else "0") + base


def _is_unset(value: Any) -> bool:
    return value is None or id(value) in _UNSET_IDS


def _merged(record_type: type[CDR | Verification]) -> tuple[str, ...]:
    """The fields merged one by one: all but the identity and ``extra`` (merged key by key)."""
    # ``IDENTITY + ("extra",)``, not ``(*IDENTITY, "extra")``: mypyc (workers.native) fails on the latter here
    return tuple(f.name for f in attrs.fields(record_type) if f.name not in record_type.IDENTITY + ("extra",))


def _split(record_type: type[CDR | Verification]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The merged fields as (ordinary, billing)."""
    names = _merged(record_type)
    return tuple(n for n in names if n not in record_type.BILLING), tuple(n for n in names if n in record_type.BILLING)


MERGED_FIELDS = {CDR: _merged(CDR), Verification: _merged(Verification)}
# For a new row (billing fields are never enums), and the ``raw.<source>`` keys, made once.
SPLIT_FIELDS = {CDR: _split(CDR), Verification: _split(Verification)}
_RAW_KEYS = {s: f"raw.{s.value}" for s in Source}


def merge(existing: Stored[R] | None, delivery: Delivery[R], *, now: datetime) -> Stored[R]:
    """The row after ``delivery`` is applied to ``existing`` (None: the call is new)."""
    if existing is None:
        return _first(delivery, now=now)
    incoming = delivery.cdr
    if existing.id != incoming.id:
        raise ValueError(f"cannot merge {incoming.id} into {existing.id}")

    versions = dict(existing.versions)
    ordinary, billing = _versions(delivery)
    changes: dict[str, Any] = {}
    for name in MERGED_FIELDS[type(incoming)]:
        value = getattr(incoming, name)
        if not _is_unset(value) and _wins(versions, name, billing if name in incoming.BILLING else ordinary):
            changes[name] = value

    if isinstance(incoming, CDR):
        extra = dict(getattr(existing.cdr, "extra", {}))
        for key, value in incoming.extra.items():
            if value is not None and _wins(versions, f"extra.{key}", ordinary):
                extra[key] = value
        changes["extra"] = extra

    raw = dict(existing.raw)
    if _wins(versions, _RAW_KEYS[delivery.source], ordinary):
        raw[delivery.source.value] = delivery.raw

    return Stored(
        cdr=attrs.evolve(existing.cdr, **changes),
        sources=existing.sources | {delivery.source},
        first_seen_at=min(existing.first_seen_at, delivery.received_at),
        updated_at=now,
        raw=raw,
        versions=versions,
    )


def _first(delivery: Delivery[R], *, now: datetime) -> Stored[R]:
    """A new call: the delivery as it is, each field it carries versioned by it (the hot path)."""
    incoming = delivery.cdr
    ordinary, billing = _versions(delivery)
    fields = vars(incoming)
    plain, paid = SPLIT_FIELDS[type(incoming)]
    # ``not _is_unset(value)``, inlined: this runs for every field of every new row.
    keys = [name for name in plain if (value := fields[name]) is not None and id(value) not in _UNSET_IDS]
    record = incoming
    if isinstance(incoming, CDR):
        extra = {k: v for k, v in incoming.extra.items() if v is not None}
        keys += [f"extra.{k}" for k in extra]
        if len(extra) != len(incoming.extra):
            cleaned: dict[str, Any] = {"extra": extra}
            record = attrs.evolve(incoming, **cleaned)
    source = delivery.source
    keys.append(_RAW_KEYS[source])
    paid_keys = [name for name in paid if fields[name] is not None]  # billing fields are never enums
    grouped = {ordinary: keys}
    if billing == ordinary:
        keys += paid_keys
    elif paid_keys:
        grouped[billing] = paid_keys
    return Stored(
        cdr=record,
        sources=frozenset((source,)),
        first_seen_at=delivery.received_at,
        updated_at=now,
        raw={source.value: delivery.raw},
        versions=GroupedVersions(grouped),
    )


def _wins(versions: dict[str, str], key: str, version: str) -> bool:
    """Record ``version`` for ``key`` and say whether it beats what set the current value."""
    current = versions.get(key)
    if current is not None and current >= version:
        return False
    versions[key] = version
    return True


def as_comparable(row: Stored[Any]) -> Mapping[str, Any]:
    """The row without ``updated_at`` (a wall-clock write time), for equality checks."""
    return {
        "cdr": row.cdr,
        "sources": row.sources,
        "first_seen_at": row.first_seen_at,
        "raw": row.raw,
        "versions": row.versions,
    }
