"""``StoredVerification`` ↔ ``verifications`` table row, for both dialects. Pure.

The same encodings and merge bookkeeping as ``cdrs`` (``rows.py``); columns mirror shared/schema.md
"Verification records".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.store.rows import BOOKKEEPING_COLUMNS, bookkeeping, money, read_time, stored
from workers.store.table import Encoding, Table
from workers.verification import StoredVerification, Verification

VERIFICATION_COLUMNS = (
    "id", "vendor", "account_id", "verification_id", "method", "started_at", "ended_at", "result", "reason",
    "cli", "identity_type", "identity_endpoint", "country", "reference", "custom", "cost", "currency",
    *BOOKKEEPING_COLUMNS,
)  # fmt: skip
_RECORD = VERIFICATION_COLUMNS[1 : VERIFICATION_COLUMNS.index("sources")]


def to_row(row: StoredVerification, enc: Encoding) -> tuple[Any, ...]:
    """Column values for ``row`` in ``VERIFICATION_COLUMNS`` order, in ``enc``'s encodings."""
    v = row.cdr
    return (
        row.id,
        v.vendor,
        v.account_id,
        v.verification_id,
        v.method,
        enc.call_time(v.started_at),
        enc.call_time(v.ended_at),
        v.result,
        v.reason,
        v.cli,
        v.identity_type,
        v.identity_endpoint,
        v.country,
        v.reference,
        v.custom,
        enc.money(money(v.cost)),
        v.currency,
        *bookkeeping(row, enc),
    )


def from_row(values: Mapping[str, Any]) -> StoredVerification:
    fields: dict[str, Any] = {name: values[name] for name in _RECORD}
    for name in ("started_at", "ended_at"):
        fields[name] = read_time(fields[name])
    fields["cost"] = money(fields["cost"])
    fields["currency"] = None if fields["currency"] is None else fields["currency"].strip()
    return stored(values, Verification(**fields))


VERIFICATIONS: Table[Verification] = Table("verifications", VERIFICATION_COLUMNS, to_row, from_row)
