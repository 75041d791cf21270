"""Vobiz vocabulary shared by its feeds (trunk webhook, application callback, CDR API). Pure.

Sources: shared/vendors.md §2 (docs.vobiz.ai: trunks/webhook, xml/request, concepts/hangup-causes,
cdr/list-cdrs). Status words differ between Vobiz pages (``no-answer`` and ``no_answer``); all
spellings seen are mapped. ``completed`` only says the call ended (inbound calls always end
``completed``, answered or not), so the answer evidence and the FreeSWITCH cause decide it.

Both push feeds carry the same call params (``CallUUID``, ``Direction``, ``From``, ``To``,
``Duration``, ``HangupSource``, a FreeSWITCH cause name); ``call_cdr`` reads them once, and each
feed adds what only it has.
"""

from __future__ import annotations

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


def call_cdr(f: Fields, account: Account, *, link: str, cause: str, status_key: str, answered: bool,
             international: bool) -> CDR:  # fmt: skip
    """The call params both push feeds share. ``link`` names the other leg's uuid, ``cause`` the
    FreeSWITCH cause name, ``status_key`` the status word; ``international``: numbers carry their
    country code without ``+`` (documented for callbacks)."""
    call_id = f.required_text("CallUUID")
    reason = f.text(cause)
    return CDR(
        vendor=VENDOR,
        account_id=account.id,
        call_id=call_id,
        other_leg_call_id=other_leg(call_id, f.text(link)),
        direction=direction(f.text("Direction")),
        from_number=to_e164(f.text("From"), account.region, international=international),
        to_number=to_e164(f.text("To"), account.region, international=international),
        duration_s=f.integer("Duration"),
        status=status(f.text(status_key), reason, answered=answered),
        q850_cause=q850(reason),
        hangup_cause=reason,
        hangup_source=hangup_source(f.text("HangupSource")),
    )
