"""Vobiz CDR API (``GET /account/{auth_id}/cdr``) → CDR, one listed record per row (backfill). Pure.

Source: shared/vendors.md §2.1 (https://docs.vobiz.ai/cdr/list-cdrs; sample
``vobiz-ai/Vobiz-Csharp-sdk`` ``ListCdrsTest.cs``). The poller posts each element of ``data`` as it
came.

Mapping: ``uuid`` → ``call_id``: it is the trunk webhook's and the callback's ``CallUUID`` (the
sample's ``uuid`` values reappear as ``CallUUID``/``BridgeUUID`` in the push examples), so both
paths meet on one row; ``sip_call_id`` (a different id, §7.15) and the numeric ``id`` stay in
``extra``. ``bridge_uuid`` → ``other_leg_call_id`` unless it is the call's own uuid (as in the
sample). ``call_direction``, ``caller_id_number`` / ``destination_number`` (read with
``VOBIZ_DEFAULT_REGION`` when they carry no ``+``), ``caller_id_name``. ``start_time`` /
``answer_time`` / ``end_time`` (ISO 8601 ``Z``; ``answer_time`` is null when unanswered) → the
three times. ``duration`` (s) → ``duration_s``, ``billsec`` → ``talk_s`` and ``billed_s`` (as the
trunk's ``Billsec``), ``ring_time`` → ``ring_s``. Answered when ``answer_time`` is set or
``billsec`` > 0, else the status follows ``hangup_cause`` (the FreeSWITCH name: also
``q850_cause`` for 1-127); ``hangup_cause_code`` (4000...) is Vobiz's own numbering, never Q.850,
and stays in ``extra`` with ``hangup_cause_name``, ``hangup_disposition``, ``failure_code`` and
``failure_reason``. ``hangup_source`` (``Caller``, ``Callee``...) as the push feeds map it.

Money: the JSON floats are read through their text (0.45 is ``Decimal("0.45")``). ``cost`` of the
row is ``total_cost`` (what the call cost in all, streaming included), else ``cost``; both
components stay in ``extra``. ASSUMED: ``total_cost`` = ``cost`` + ``streaming_cost`` (the docs
do not say; the sample only has zero streaming cost).

Quality: ``mos``, ``jitter`` → ``jitter_ms`` and ``packet_loss`` → ``packet_loss_pct`` only for an
answered call (an unanswered one reports zeros, which are not measurements). UNKNOWN: the unit of
``jitter`` (taken as milliseconds, FreeSWITCH's) and of ``packet_loss`` (taken as a percentage);
whether a ``status`` word is ever listed (read when present, as the partner API filters on one).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import evolve as replace

from workers.cdr import CDR, Source
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.fields import Fields
from workers.vendors.vobiz._common import CallKeys, call_cdr

FEED = "vobiz.api"
SOURCE = Source.BACKFILL

KEYS = CallKeys(
    call_id="uuid",
    direction="call_direction",
    from_number="caller_id_number",
    to_number="destination_number",
    duration="duration",
    hangup_source="hangup_source",
)
_COLUMNS = frozenset(
    {
        "uuid", "bridge_uuid", "call_direction", "caller_id_name", "caller_id_number", "destination_number",
        "start_time", "answer_time", "end_time", "duration", "billsec", "ring_time", "hangup_cause",
        "hangup_source", "total_cost", "currency", "mos", "jitter", "packet_loss", "codec", "status",
    }
)  # fmt: skip


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    row = Fields(payload, "row")
    return Record(call_id=row.required_text("uuid"), data=payload)


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    f = Fields(record.data, "row")
    answered_at = f.time("answer_time")
    billsec = f.integer("billsec")
    answered = answered_at is not None or bool(billsec)
    call = call_cdr(f, account, link="bridge_uuid", cause="hangup_cause", status_key="status", answered=answered,
                    international=False, keys=KEYS)  # fmt: skip
    total = f.decimal("total_cost")
    return replace(
        call,
        from_name=f.text("caller_id_name"),
        started_at=f.time("start_time"),
        answered_at=answered_at,
        ended_at=f.time("end_time"),
        talk_s=billsec,
        billed_s=billsec,
        ring_s=f.integer("ring_time"),
        cost=total if total is not None else f.decimal("cost"),
        currency=f.currency("currency"),
        mos=f.number("mos") if answered else None,
        jitter_ms=f.number("jitter") if answered else None,
        packet_loss_pct=f.number("packet_loss") if answered else None,
        codec=f.text("codec"),
        extra=f.rest(_COLUMNS),
    )
