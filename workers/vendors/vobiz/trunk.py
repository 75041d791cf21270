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

from attrs import evolve as replace

from workers.cdr import CDR, Source
from workers.normalize.times import before
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.fields import Fields
from workers.vendors.vobiz._common import call_cdr

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
    if ignored := body.unless_event("Event", "Hangup"):
        return ignored
    return Record(call_id=body.required_text("CallUUID"), data=payload, delivery_id=body.text("RequestID"))


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    f = Fields(record.data, "body")
    ended_at = f.time("EndTime")
    connected = f.integer("Billsec")
    call = call_cdr(f, account, link="BridgeUUID", cause="Reason", status_key="Status", answered=bool(connected),
                    international=False)  # fmt: skip
    return replace(
        call,
        started_at=f.time("StartTime"),
        answered_at=before(ended_at, connected) if connected else None,
        ended_at=ended_at,
        talk_s=connected,
        billed_s=connected,
        ring_s=f.integer("RingTime"),
        cost=f.decimal("Cost"),
        currency=f.currency("Currency"),
        mos=f.number("MOS"),
        extra=f.rest(_COLUMNS),
    )
