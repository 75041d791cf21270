"""Sinch Voice daily CDR file row → CDR, one call per row (backfill). Pure.

Source: shared/vendors.md §4.1 (sinch/docs ``docs/voice/voice-rest-api/voice-rest-api-cdr.md``).
The poller splits each file (``_layout.split_file``: header or field count, see there for what is
UNKNOWN about the files) and posts ``{"type": <call type>, "file": ..., "line": n, "row": {column:
text}}``; a line that fits no layout arrives as a malformed row and is refused here, so the
worker quarantines it with its text.

Mapping: ``CallId`` → ``call_id``, the DiCE callback's ``callid``, so both copies of a call meet on
one row. The call type gives the direction: phone-terminated and SIP-terminated → outbound,
phone-originated → inbound, app-to-app → internal (``unknown`` for an unknown header).
``CallTime`` → ``started_at``, ASSUMED to be when the call started (the docs only say "time"),
read leniently, UTC when it has no zone (its format is UNKNOWN); ``AnswerTime`` (phone-terminated
only) → ``answered_at`` when it reads as a time, else it stays in ``extra`` (UNKNOWN whether it is
a time or a delay). ``Duration`` (int s) → ``duration_s``; whether it includes ringing is UNKNOWN,
so no end time or talk time is derived (the DiCE copy brings the end). ``Result``/``Reason`` →
status, ``hangup_cause`` and ``hangup_source`` as for DiCE (``_common``). ``From``/``To`` → E.164
where they are numbers (``SINCH_DEFAULT_REGION`` for numbers without ``+``); app user ids
(``FromUserId``/``ToUserId``) are kept as they are. ``Amount`` (major units, text → Decimal) and
``Currency`` → ``cost``/``currency``. ``Custom`` (free text, maybe PII) and the other columns stay
in ``extra`` verbatim, with the call type as ``call_type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workers.cdr import CDR, Direction, Source
from workers.errors import PayloadError
from workers.normalize.numbers import to_e164
from workers.settings import Account
from workers.tables import check_row
from workers.vendors import Ignored, Record
from workers.vendors.fields import Fields
from workers.vendors.sinch._common import VENDOR, hangup_source, status
from workers.vendors.sinch._layout import VOICE_TYPES

FEED = "sinch.files"
SOURCE = Source.BACKFILL

DIRECTIONS = {
    "pstn_terminated": Direction.OUTBOUND,
    "sip_terminated": Direction.OUTBOUND,
    "phone_originated": Direction.INBOUND,
    "app_app": Direction.INTERNAL,
}
_COLUMNS = frozenset(
    {"CallId", "CallTime", "Result", "Reason", "Duration", "From", "To", "FromUserId", "ToUserId", "Amount", "Currency"}
)


def file_row(payload: Mapping[str, Any], types: frozenset[str]) -> tuple[str, Fields]:
    """The row of a posted line and its type; a malformed line or a type of another feed is refused."""
    kind = payload.get("type")
    if kind not in types:
        raise PayloadError(f"body.type: expected one of {', '.join(sorted(types))}, got {kind!r}")
    row = payload.get("row")
    if not isinstance(row, Mapping):
        raise PayloadError('body.row: required (the poller posts {"type": ..., "row": {...}})')
    check_row(row, f"{payload.get('file')} line {payload.get('line')}")
    return str(kind), Fields(row, "row")


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    kind, row = file_row(payload, VOICE_TYPES)
    return Record(call_id=row.required_text("CallId"), data=row.data, context={"type": kind})


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    f = Fields(record.data, "row")
    kind = str(record.context["type"])
    reason = f.text("Reason")
    answered_at, consumed = _answer_time(f)
    if kind == "app_app":
        caller, callee = f.text("FromUserId"), f.text("ToUserId")
    else:
        caller, callee = to_e164(f.text("From"), account.region), to_e164(f.text("To"), account.region)
    return CDR(
        vendor=VENDOR,
        account_id=account.id,
        call_id=f.required_text("CallId"),
        direction=DIRECTIONS.get(kind, Direction.UNKNOWN),
        from_number=caller,
        to_number=callee,
        started_at=f.time("CallTime"),
        answered_at=answered_at,
        duration_s=f.integer("Duration"),
        status=status(f.text("Result"), reason),
        hangup_cause=reason,
        hangup_source=hangup_source(reason),
        cost=f.decimal("Amount"),
        currency=f.currency("Currency"),
        extra={**{k: v for k, v in f.rest(_COLUMNS | consumed).items() if v != ""}, "call_type": kind},
    )


def _answer_time(f: Fields) -> tuple[datetime | None, frozenset[str]]:
    try:
        return f.time("AnswerTime"), frozenset({"AnswerTime"})
    except PayloadError:
        return None, frozenset()
