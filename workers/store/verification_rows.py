"""``StoredVerification`` ↔ ``verifications`` table row, for both dialects. Pure.

The same encodings and merge bookkeeping as ``cdrs`` (``rows.py``); columns mirror shared/schema.md
"Verification records".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.store.rows import BOOKKEEPING_COLUMNS, Table, bookkeeping, encode_text, money, read_time, stored
from workers.verification import StoredVerification, Verification

VERIFICATION_COLUMNS = (
    "id", "vendor", "account_id", "verification_id", "method", "started_at", "ended_at", "result", "reason",
    "cli", "identity_type", "identity_endpoint", "country", "reference", "custom", "cost", "currency",
    *BOOKKEEPING_COLUMNS,
)  # fmt: skip
_RECORD = VERIFICATION_COLUMNS[1 : VERIFICATION_COLUMNS.index("sources")]
_TIMES = frozenset({"started_at", "ended_at", "first_seen_at", "updated_at"})
_JSON = frozenset({"raw", "merge_versions"})


def to_row(row: StoredVerification, text_types: bool) -> dict[str, Any]:
    v = row.cdr
    values: dict[str, Any] = {"id": row.id, **{name: getattr(v, name) for name in _RECORD}, **bookkeeping(row)}
    values["cost"] = money(v.cost)
    if text_types:
        encode_text(values, _TIMES, _JSON)
    return values


def from_row(values: Mapping[str, Any]) -> StoredVerification:
    fields: dict[str, Any] = {name: values[name] for name in _RECORD}
    for name in ("started_at", "ended_at"):
        fields[name] = read_time(fields[name])
    fields["cost"] = money(fields["cost"])
    fields["currency"] = None if fields["currency"] is None else fields["currency"].strip()
    return stored(values, Verification(**fields))


VERIFICATIONS: Table[Verification] = Table("verifications", VERIFICATION_COLUMNS, _JSON, to_row, from_row)
