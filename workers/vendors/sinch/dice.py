"""Sinch Voice DiCE (Disconnected Call Event) callback → CDR. Pure.

Source: shared/vendors.md §4.2 (https://sinch.redocly.app/docs/voice/api-reference/voice/callbacks/dice.md;
fixture ``sinch/sinch-sdk-node`` ``packages/voice/tests/rest/v1/callbacks/callbacks-webhook.test.ts``).
Sinch posts every call event of an application to one callback URL; only ``event: "dice"``
carries the call's outcome, and ``ice``, ``ace``, ``pie``, ``notify`` are acknowledged and ignored.

Mapping: ``callid`` (``callId`` in some third-party docs: both read) → ``call_id``;
``timestamp`` → ``ended_at``, ASSUMING it is the moment of disconnection (DiCE is sent at
disconnect; the reference only says "The timestamp in UTC format"), parsed leniently (no ``Z``
means UTC, 7-digit fractions); ``duration`` → ``duration_s``; ``result``/``reason`` → status (see
``_common.status``); ``reason`` verbatim → ``hangup_cause``, never ``q850_cause``;
``debit.amount`` (a JSON number) → ``cost`` through its text, ``debit.currencyId`` (nullable) →
``currency``; ``from`` and ``to.endpoint`` → numbers (SIP and app user ids kept raw). Direction
from ``to.type`` (identity types of sinch/docs ``using-rest.md``): ``did`` (a number rented from
Sinch was called) → inbound, ``number`` (a phone number was called) → outbound, ``username`` (app
to app) → internal, anything else unknown.

UNKNOWN: whether ``duration`` includes ringing (so ``talk_s`` and ``answered_at`` stay empty:
nothing is derived from it); when the call started; DiCE retries (treated as at-most-once: the
daily CDR files are the backfill); whether ``from`` carries a ``+`` (a number without one is read
with ``SINCH_DEFAULT_REGION`` when set, else kept as it came).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workers.cdr import CDR, Direction, Source
from workers.normalize.numbers import to_e164
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.fields import Fields
from workers.vendors.sinch._common import VENDOR, hangup_source, status

FEED = "sinch.dice"
SOURCE = Source.WEBHOOK

_DIRECTIONS = {"did": Direction.INBOUND, "number": Direction.OUTBOUND, "username": Direction.INTERNAL}
# ``result`` and ``to`` stay in ``extra`` too: status and direction are read from them, not copies of them.
_COLUMNS = frozenset({"event", "callid", "callId", "timestamp", "duration", "reason", "from", "debit"})


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    body = Fields(payload, "body")
    if ignored := body.unless_event("event", "dice"):
        return ignored
    return Record(call_id=body.required_text(body.first_key("callid", "callId")), data=payload)


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    f = Fields(record.data, "body")
    to = Fields(f.get("to") or {}, "body.to")
    debit = Fields(f.get("debit") or {}, "body.debit")
    reason = f.text("reason")
    return CDR(
        vendor=VENDOR,
        account_id=account.id,
        call_id=f.required_text(f.first_key("callid", "callId")),
        direction=_DIRECTIONS.get((to.text("type") or "").lower(), Direction.UNKNOWN),
        from_number=to_e164(f.text("from"), account.region),
        to_number=to_e164(to.text("endpoint"), account.region),
        ended_at=f.time("timestamp"),
        duration_s=f.integer("duration"),
        status=status(f.text("result"), reason),
        hangup_cause=reason,
        hangup_source=hangup_source(reason),
        cost=debit.decimal("amount"),
        currency=debit.currency("currencyId"),
        extra=f.rest(_COLUMNS),
    )
