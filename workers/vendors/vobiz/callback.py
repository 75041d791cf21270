"""Vobiz application ``hangup_url`` callback (Plivo-style) → CDR. Pure.

Source: shared/vendors.md §2.3 (https://docs.vobiz.ai/xml/request, /compare/plivo/webhooks,
/concepts/validating-callbacks). The body is ``application/x-www-form-urlencoded`` (JSON on older
doc versions); the receiver decodes either into the same mapping (form values are all strings).
Documented params: ``CallUUID, From, To, ForwardedFrom, CallStatus, Direction, ALegUUID,
ALegRequestUUID, HangupCause, Duration, BillDuration``; events ``Ring``, ``StartApp``, ``Hangup``
in ``Event``. A hangup is ``Event=Hangup`` (``call.completed`` in the JSON docs) or, without an
``Event``, a ``CallStatus`` that ends a call; anything else is acknowledged and ignored.

Mapping: ``From``/``To`` "include the country code" without ``+`` (docs), so they are read as
international (a 0-prefixed national value falls back to ``VOBIZ_DEFAULT_REGION``).
``HangupCause`` is the FreeSWITCH-style name → ``hangup_cause`` and ``q850_cause``. ``CallStatus``
``completed`` (every inbound call ends so) defers to the evidence: ``BillDuration`` > 0 or an
``AnswerTime`` means answered, else the cause decides; busy, failed, timeout, no-answer/no_answer
and cancel map directly. ``ALegUUID`` links a B-leg to its A-leg (``other_leg_call_id``).
``Duration`` → ``duration_s``, ``BillDuration`` → ``billed_s``. There is no delivery id (the V3
nonce is per request), so re-deliveries are recognized by ``CallUUID``.

UNKNOWN (Plivo sends them, Vobiz does not document them): ``StartTime``, ``AnswerTime``,
``EndTime`` (read in ``VOBIZ_TIMEZONE`` when they carry no offset, since Vobiz gives
console-local times elsewhere), ``HangupSource`` (mapped when present), ``CallerName``, cost
fields (kept in ``extra``); whether ``Duration`` includes ringing (so ``talk_s`` stays empty);
the keys of the JSON variant (only these Plivo-style keys are read: a JSON body without
``CallUUID`` is quarantined).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from attrs import evolve as replace

from workers.cdr import CDR, Source
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.fields import Fields
from workers.vendors.vobiz._common import call_cdr

FEED = "vobiz.callback"
SOURCE = Source.WEBHOOK

_HANGUP_EVENTS = frozenset({"hangup", "call.completed"})
_ENDED = frozenset(
    {"completed", "busy", "failed", "timeout", "no-answer", "no_answer", "cancel", "canceled", "cancelled"}
)
_COLUMNS = frozenset(
    {
        "Event", "CallUUID", "From", "To", "Direction", "ALegUUID", "HangupCause", "StartTime", "AnswerTime",
        "EndTime", "Duration", "BillDuration", "HangupSource",
    }
)  # fmt: skip


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    body = Fields(payload, "body")
    event = body.text("Event")
    if event is not None and event.lower() not in _HANGUP_EVENTS:
        return Ignored(f"event {event} carries no CDR")
    call_status = body.text("CallStatus")
    if event is None and (call_status or "").lower() not in _ENDED:
        return Ignored(f"call status {call_status or '(none)'} is not a hangup")
    return Record(call_id=body.required_text("CallUUID"), data=payload)


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    f = Fields(record.data, "body")
    zone = ZoneInfo(account.option("timezone") or "UTC")
    answered_at = f.time("AnswerTime", zone)
    billed = f.integer("BillDuration")
    answered = bool(billed) or answered_at is not None
    call = call_cdr(f, account, link="ALegUUID", cause="HangupCause", status_key="CallStatus", answered=answered,
                    international=True)  # fmt: skip
    return replace(
        call,
        started_at=f.time("StartTime", zone),
        answered_at=answered_at,
        ended_at=f.time("EndTime", zone),
        billed_s=billed,
        extra=f.rest(_COLUMNS),
    )
