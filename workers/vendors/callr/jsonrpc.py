"""Callr legacy JSON-RPC ``cdr.get(type, from, to)`` → CDR, one ``CDR.In``/``CDR.Out`` per record. Pure.

Source: shared/vendors.md §1.7 (objects from THECALLR/sdk-dotnet ``Objects/Cdr``). A ``CDR.In`` and
a ``CDR.Out`` do not say their own direction: it is the ``type`` (``IN``/``OUT``) the row was
fetched with, which the poller carries beside it: ``{"type": "IN", "row": {...}}``. Times are UTC
without a zone; money is cents in ``billing_customer_debit_eur`` whatever the currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workers.cdr import CDR, Direction, Source
from workers.errors import PayloadError
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.callr._common import v1_to_cdr
from workers.vendors.fields import Fields

FEED = "callr.jsonrpc"
SOURCE = Source.BACKFILL

TYPES = {"IN": Direction.INBOUND, "OUT": Direction.OUTBOUND}


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    cdr_type = (Fields(payload, "body").text("type") or "").upper()
    if cdr_type not in TYPES:
        raise PayloadError("body.type: must be IN or OUT (the cdr.get type the row was fetched with)")
    row = Fields(payload.get("row"), "row")
    return Record(call_id=row.identifier("callid"), data=row.data, context={"type": cdr_type})


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    return v1_to_cdr(record.data, account=account, direction=TYPES[str(record.context["type"])], where="row")
