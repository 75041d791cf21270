"""Callr webhooks → CDR: v2 ``v2.call.{inbound,outbound}.ended`` and legacy v1 ``call.*_hangup``. Pure.

Source: shared/vendors.md §1.2 (v2 envelope ``{id, at, sid, type, try, payload}``) and §1.3/§1.7
(v1 envelope ``{event_id, event_at, hook_hash, try, type, data}``). ``*.started`` / ``*_start``
events carry no CDR and are ignored. The v2 ``v2.call.outbound.ended`` payload shape is UNKNOWN
beyond "the same CDR structure" (docs.callr.com CDR page); it is read with the same converter.
UNKNOWN: whether the envelope ``sid`` is the account sid, so the account comes from configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workers.cdr import CDR, Direction, Source
from workers.errors import PayloadError
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.callr._common import v1_to_cdr, v2_call_id, v2_to_cdr
from workers.vendors.fields import Fields

FEED = "callr.webhook"
SOURCE = Source.WEBHOOK

_V2_ENDED = {"v2.call.inbound.ended": Direction.INBOUND, "v2.call.outbound.ended": Direction.OUTBOUND}
_V1_HANGUP = {"call.inbound_hangup": Direction.INBOUND, "call.outbound_hangup": Direction.OUTBOUND}


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    event = Fields(payload, "body")
    event_type = event.text("type")
    if event_type is None:
        raise PayloadError("body.type: required (a Callr webhook envelope has a type)")
    if event_type in _V2_ENDED:
        cdr = event.get("payload")
        return Record(
            call_id=v2_call_id(cdr, "payload"),
            data=cdr,
            delivery_id=event.text("id"),
            context={"version": 2, "type": event_type},
        )
    if event_type in _V1_HANGUP:
        cdr = event.get("data")
        return Record(
            call_id=Fields(cdr, "data").identifier("callid"),
            data=cdr,
            delivery_id=event.text("event_id"),
            context={"version": 1, "type": event_type},
        )
    return Ignored(f"event type {event_type} carries no CDR")


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    if record.context.get("version") == 1:
        direction = _V1_HANGUP[str(record.context["type"])]
        return v1_to_cdr(record.data, account=account, direction=direction, where="data")
    return v2_to_cdr(record.data, account=account, where="payload")
