"""Vobiz SIP-trunk webhook → CDR: the ``Hangup`` event carries the call record. Pure.

Source: shared/vendors.md §2.2 (https://docs.vobiz.ai/trunks/webhook). Keys of the documented
Hangup example: ``Event, CallUUID, RequestID, Timestamp, From, To, Direction, Status, AccountId,
TrunkID, Domain, SourceIP, SIPCallID, BridgeUUID, Reason, StartTime, EndTime, Duration, Billsec,
RingTime, Cost, Currency, MOS, HangupCauseName, HangupCauseCode, HangupSource``. ``CallInitiated``
(admission, allowed or rejected) carries no CDR and is ignored; it spells the account ``auth_id``
where Hangup says ``AccountId``. The row's account is the configured one, so neither is read: both
stay in ``extra`` as they came.

Mapping: ``Reason`` is a FreeSWITCH cause name → ``hangup_cause`` and, for 1-127, ``q850_cause``;
``HangupCauseCode`` (4000...) is Vobiz's own numbering, never Q.850: it stays in ``extra`` with
``HangupCauseName``. ``Duration`` is ring + talk (docs) → ``duration_s``; ``Billsec`` is "the time
the call was actually connected" and the billable seconds → ``talk_s`` and ``billed_s``;
``RingTime`` → ``ring_s``. No answer time is sent: ``answered_at`` = ``EndTime`` − ``Billsec`` when
``Billsec`` > 0. ``Cost`` is a JSON float, converted through its text. ``RequestID`` (also the
``X-Vobiz-Request-ID`` header) is the id the docs say to de-duplicate on.

UNKNOWN: the signature header and secret (the page says to confirm both in the Console; see
``receiver/auth.py``); the format of ``From``/``To`` (read with ``VOBIZ_DEFAULT_REGION`` when they
have no ``+``); the ``Status`` vocabulary beyond ``completed`` (the API's spellings are mapped
too); the key of the jitter the page mentions (none in its list: whatever comes stays in
``extra``); retries (the page says both "no retry" and "de-duplicate retries").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workers.cdr import CDR, Source
from workers.errors import PayloadError
from workers.normalize.causes import q850
from workers.normalize.numbers import to_e164
from workers.normalize.times import before
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.fields import Fields
from workers.vendors.vobiz._common import VENDOR, direction, hangup_source, other_leg, status

FEED = "vobiz.trunk"
SOURCE = Source.WEBHOOK

_COLUMNS = frozenset(
    {
        "Event", "CallUUID", "From", "To", "Direction", "BridgeUUID", "Reason", "StartTime", "EndTime",
        "Duration", "Billsec", "RingTime", "Cost", "Currency", "MOS", "HangupSource",
    }
)  # fmt: skip


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    body = Fields(payload, "body")
    event = body.text("Event")
    if event is None:
        raise PayloadError("body.Event: required (a Vobiz trunk webhook names its event)")
    if event.lower() != "hangup":
        return Ignored(f"event {event} carries no CDR")
    return Record(call_id=body.required_text("CallUUID"), data=payload, delivery_id=body.text("RequestID"))


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    f = Fields(record.data, "body")
    call_id = f.required_text("CallUUID")
    ended_at = f.time("EndTime")
    connected = f.integer("Billsec")
    cause = f.text("Reason")
    return CDR(
        vendor=VENDOR,
        account_id=account.id,
        call_id=call_id,
        other_leg_call_id=other_leg(call_id, f.text("BridgeUUID")),
        direction=direction(f.text("Direction")),
        from_number=to_e164(f.text("From"), account.region),
        to_number=to_e164(f.text("To"), account.region),
        started_at=f.time("StartTime"),
        answered_at=before(ended_at, connected) if connected else None,
        ended_at=ended_at,
        duration_s=f.integer("Duration"),
        talk_s=connected,
        billed_s=connected,
        ring_s=f.integer("RingTime"),
        status=status(f.text("Status"), cause, answered=bool(connected)),
        q850_cause=q850(cause),
        hangup_cause=cause,
        hangup_source=hangup_source(f.text("HangupSource")),
        cost=f.decimal("Cost"),
        currency=f.currency("Currency"),
        mos=f.number("MOS"),
        extra=f.rest(_COLUMNS),
    )
