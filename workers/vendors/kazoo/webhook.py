"""Kazoo ``channel_destroy`` webhook → CDR, one row per call leg. Pure.

Source: shared/vendors.md §3.3 (2600hz/kazoo ``applications/webhooks/doc/events/channels.md``,
``applications/webhooks/src/webhooks_channel_util.erl``; sample
``applications/crossbar/priv/webhooks_channel_destroy-samples.json``). Kazoo posts form data
(PHP-style nested keys, decoded by ``workers/bodies.py``; every value is then a string) or JSON;
other ``hook_event``s (channel_create, channel_answer, channel_bridge, ...) are acknowledged and
ignored. Identity, direction and times follow ``_common`` (read it first).

Mapping: ``hangup_cause`` (FreeSWITCH name) → ``hangup_cause`` and, for 1-127, ``q850_cause``;
``hangup_code`` ``sip:NNN`` → ``sip_code``; status from the cause, answered when
``billing_seconds`` > 0. ``duration_seconds`` (ringing included) → ``duration_s``,
``billing_seconds`` → ``talk_s`` and ``billed_s``, ``ringing_seconds`` → ``ring_s``.
``caller_id_number`` (else the user part of ``from``) → ``from_number``; Kazoo's dialed number →
``to_number`` (``callee_id_number`` stays in ``extra``: in Kazoo's own sample it repeats the
caller). The payload's ``account_id`` stays in ``extra``: the row's account is the one the
token authenticated (a hook with ``include_subaccounts`` also delivers sub-accounts' legs).

UNKNOWN: who hung up (``disposition`` is not in the webhook, so ``hangup_source`` is empty); cost
(not in the webhook; the /cdrs backfill has it); how a withheld caller id arrives (kept as it
came, ``caller_restricted`` not set); a delivery id (none is sent: re-deliveries are recognized
by ``call_id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import evolve as replace

from workers.cdr import CDR, Source
from workers.normalize.causes import sip_code
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.fields import Fields
from workers.vendors.kazoo._common import durations, leg_cdr, leg_times

FEED = "kazoo.webhook"
SOURCE = Source.WEBHOOK

_COLUMNS = frozenset(
    {
        "hook_event", "call_id", "other_leg_call_id", "interaction_id", "caller_id_number", "caller_id_name",
        "timestamp", "duration_seconds", "billing_seconds", "ringing_seconds", "hangup_cause", "hangup_code",
    }
)  # fmt: skip


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    body = Fields(payload, "body")
    if ignored := body.unless_event("hook_event", "channel_destroy"):
        return ignored
    return Record(call_id=body.required_text("call_id"), data=payload)


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    f = Fields(record.data, "body")
    times = leg_times(f.gregorian("timestamp"), *durations(f))
    call = leg_cdr(f, account, times, call_direction=f.text("call_direction"))
    return replace(
        call,
        ring_s=f.integer("ringing_seconds"),
        sip_code=sip_code(f.text("hangup_code")),
        extra=f.rest(_COLUMNS),
    )
