"""Vobiz vocabulary shared by its feeds (trunk webhook, application callback, CDR API). Pure.

Sources: shared/vendors.md §2 (docs.vobiz.ai: trunks/webhook, xml/request, concepts/hangup-causes,
cdr/list-cdrs). Status words differ between Vobiz pages (``no-answer`` and ``no_answer``); all
spellings seen are mapped. ``completed`` only says the call ended (inbound calls always end
``completed``, answered or not), so the answer evidence and the FreeSWITCH cause decide it.

Every feed carries the same call params, under push names (``CallUUID``, ``Direction``, ``From``,
``To``, ``Duration``, ``HangupSource``) or CDR API names (``uuid``, ``call_direction``, ...), and a
FreeSWITCH cause name; ``call_cdr`` reads them once, and each feed adds what only it has. The call
id is the call's uuid in all of them (``CallUUID`` is the CDR API's ``uuid``), so the webhook,
callback and backfill copies of a call meet on one row.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.cdr import CDR, Direction, HangupSource, Status
from workers.normalize.causes import cause_code, q850, status_from_cause
from workers.normalize.numbers import to_e164
from workers.settings import Account
from workers.vendors.fields import Fields

VENDOR = "vobiz"

_STATUS = {
    "answered": Status.ANSWERED,
    "busy": Status.BUSY,
    "no-answer": Status.NO_ANSWER,
    "no_answer": Status.NO_ANSWER,
    "timeout": Status.NO_ANSWER,
    "failed": Status.FAILED,
    "cancel": Status.CANCELLED,
    "canceled": Status.CANCELLED,
    "cancelled": Status.CANCELLED,
}
# Hangup sources of docs.vobiz.ai/concepts/hangup-causes. "API Request" and "Answer XML" are the
# customer's own application ending the call.
_SOURCES = {
    "caller": HangupSource.CALLER,
    "callee": HangupSource.CALLEE,
    "call recipient": HangupSource.CALLEE,
    "vobiz": HangupSource.SYSTEM,
    "api request": HangupSource.SYSTEM,
    "answer xml": HangupSource.SYSTEM,
    "error": HangupSource.SYSTEM,
    "carrier": HangupSource.CARRIER,
}
_DIRECTIONS = {"inbound": Direction.INBOUND, "outbound": Direction.OUTBOUND}


def status(raw: str | None, cause: str | None, *, answered: bool) -> Status:
    """An answered call is answered; else the status word; else (``completed``, unknown) the cause."""
    if answered:
        return Status.ANSWERED
    return _STATUS.get((raw or "").strip().lower()) or status_from_cause(cause_code(cause), answered=False)


def hangup_source(value: str | None) -> HangupSource | None:
    if value is None:
        return None
    return _SOURCES.get(value.strip().lower(), HangupSource.UNKNOWN)


def direction(value: str | None) -> Direction:
    return _DIRECTIONS.get((value or "").strip().lower(), Direction.UNKNOWN)


def other_leg(call_id: str, linked: str | None) -> str | None:
    """The linked leg's uuid (``BridgeUUID``, ``ALegUUID``), unless it is this leg's own."""
    return linked if linked and linked != call_id else None


@dataclass(frozen=True)
class CallKeys:
    """Where a Vobiz payload keeps the call params every feed reads."""

    call_id: str = "CallUUID"
    direction: str = "Direction"
    from_number: str = "From"
    to_number: str = "To"
    duration: str = "Duration"
    hangup_source: str = "HangupSource"


PUSH_KEYS = CallKeys()  # trunk webhook and application callback (Plivo-style params)


def call_cdr(f: Fields, account: Account, *, link: str, cause: str, status_key: str | None, answered: bool,
             international: bool, keys: CallKeys = PUSH_KEYS) -> CDR:  # fmt: skip
    """The call params every Vobiz feed shares. ``link`` names the other leg's uuid, ``cause`` the
    FreeSWITCH cause name, ``status_key`` the status word (None: the feed has none); ``international``:
    numbers carry their country code without ``+`` (documented for callbacks); ``keys``: where the
    feed keeps the rest (``CallUUID`` in push payloads, ``uuid`` in the CDR API)."""
    call_id = f.required_text(keys.call_id)
    reason = f.text(cause)
    return CDR(
        vendor=VENDOR,
        account_id=account.id,
        call_id=call_id,
        other_leg_call_id=other_leg(call_id, f.text(link)),
        direction=direction(f.text(keys.direction)),
        from_number=to_e164(f.text(keys.from_number), account.region, international=international),
        to_number=to_e164(f.text(keys.to_number), account.region, international=international),
        duration_s=f.integer(keys.duration),
        status=status(f.text(status_key) if status_key else None, reason, answered=answered),
        q850_cause=q850(reason),
        hangup_cause=reason,
        hangup_source=hangup_source(f.text(keys.hangup_source)),
    )
