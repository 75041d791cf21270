"""Callr v2 ``POST /calls/export`` → CDR, one exported row per record (backfill). Pure.

Source: shared/vendors.md §1.6. The export's format is UNKNOWN; what is assumed here:
- a row is the v2 CDR object of §1.4 (``callid``, ``direction``, ``callerNumber``, ``started``, ...),
  read from CSV with a header (every value then text: ``""`` is no value) or from a JSON list;
- column names match the v2 field names ignoring case, ``_``, ``-`` and spaces (``call_id``,
  ``Caller Number`` and ``callerNumber`` are the same column); other columns go to ``extra``;
- money is ``billingDebit`` in cents, like the webhook object, and the currency is the account's.

The poller wraps each row as ``{"direction": <what it asked for>, "row": {...}}``: the row's own
``direction`` wins, the requested one fills in when the export has no such column. A row the table
reader found malformed (wrong field count) is refused here, so it is quarantined with its text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from workers.cdr import CDR, Source
from workers.errors import PayloadError
from workers.settings import Account
from workers.tables import check_row
from workers.vendors import Ignored, Record
from workers.vendors.callr._common import V2_COLUMNS, v2_call_id, v2_to_cdr

FEED = "callr.export"
SOURCE = Source.BACKFILL

# Every documented v2 CDR field (§1.4): the columns an export row is matched against.
V2_FIELDS = V2_COLUMNS | {
    "status", "hangupTech", "billingCredit", "billingDestinationLabel", "billingDestinationID",
    "billingPaymentType", "scenarioSid", "scenarioName", "scenarioTypeName", "scenarioTypeVersion",
}  # fmt: skip
_FOLDED = {re.sub(r"[^a-z0-9]", "", name.lower()): name for name in V2_FIELDS}


@lru_cache(maxsize=1024)
def _field_name(column: str) -> str:
    """The v2 field a column name stands for (itself when none): an export repeats its columns on
    every row, so this is cached (the regex was ~15% of a backfill worker's CPU)."""
    return _FOLDED.get(re.sub(r"[^a-z0-9]", "", column.lower()), column)


def canonical(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with its columns renamed to the v2 field names; empty cells dropped."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or value == "":
            continue
        out[_field_name(str(key))] = value
    return out


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    row = payload.get("row")
    if not isinstance(row, Mapping):
        raise PayloadError('body.row: required (the poller posts {"direction": ..., "row": {...}})')
    check_row(row, "row")
    data = canonical(row)
    requested = payload.get("direction")
    if "direction" not in data and isinstance(requested, str):
        data["direction"] = requested
    return Record(call_id=v2_call_id(data, "row"), data=data, context={"direction": requested})


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    return v2_to_cdr(record.data, account=account, where="row")
