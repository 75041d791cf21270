"""Callr CDR objects → CDR, shared by the webhook, Actions and backfill feeds. Pure.

Sources: shared/vendors.md §1.4 (v2 object: docs.callr.com webhook-v2-call-inbound-ended and the
Actions pre-defined variables) and §1.7 (v1 ``CDR.In``/``CDR.Out``: THECALLR/sdk-dotnet).

Money: v2 ``billingDebit`` and v1 ``billing_customer_debit_eur`` are strings in CENTS and Callr
sends no currency, so the account's configured currency (``CALLR_CURRENCY``) is used; v1 names say
``_eur`` even on USD accounts. ``billingCredit`` is kept in ``extra`` as it came.

UNKNOWN (kept out of columns, or marked where assumed):
- v2 ``status``: only ``answered`` is documented; the CDR page also names "missed" and "failed",
  mapped below; any other value → ``unknown`` (raw kept in ``extra.status``) and the status then
  comes from the Q.850 cause.
- v2 ``answered`` on unanswered calls (null or absent: both handled).
- v1 ``cli_pres`` vocabulary is undocumented: values starting ``ALLOWED`` are taken as not
  restricted, ``RESTRICTED``/``PROHIB*`` as restricted, anything else leaves the flag unset.
- v1 ``cli_country_code`` is assumed to be an ISO 3166 alpha-2 region (used only to read a
  number written without ``+``).
"""

from __future__ import annotations

from workers.cdr import CDR, Direction, HangupSource, Status
from workers.normalize.causes import q850, sip_code, status_from_cause
from workers.normalize.money import CENTS, from_minor
from workers.normalize.numbers import to_e164
from workers.settings import Account
from workers.vendors.fields import Fields

VENDOR = "callr"

_V2_STATUS = {
    "answered": Status.ANSWERED,
    "missed": Status.NO_ANSWER,  # named on the CDR page, meaning assumed
    "failed": Status.FAILED,  # named on the CDR page
    "busy": Status.BUSY,
    "cancelled": Status.CANCELLED,
    "canceled": Status.CANCELLED,
}
_HANGUP_SOURCES = {
    "caller": HangupSource.CALLER,
    "callee": HangupSource.CALLEE,
    "system": HangupSource.SYSTEM,
    "gateway": HangupSource.SYSTEM,  # v1 GATEWAY is v2's "system"
}
_DIRECTIONS = {"inbound": Direction.INBOUND, "outbound": Direction.OUTBOUND}
_V1_DIALSTATUS = {
    "ANSWER": Status.ANSWERED,
    "NOANSWER": Status.NO_ANSWER,
    "BUSY": Status.BUSY,
    "CANCEL": Status.CANCELLED,
    "CONGESTION": Status.FAILED,
    "CHANUNAVAIL": Status.FAILED,
    "NODIAL": Status.FAILED,
}

V2_COLUMNS = frozenset(
    {
        "direction", "callid", "callerName", "callerNumber", "callerRestricted", "callee", "started",
        "answered", "ended", "hangupSource", "hangupCause", "durationTotal", "durationAnswered",
        "durationBilled", "billingDebit",
    }
)  # fmt: skip
V1_COLUMNS = frozenset(
    {
        "callid", "cli_pres", "cli_number", "cli_name", "start", "answer", "hangup", "hangupsource",
        "hangupcause", "duration", "duration_answered", "duration_billed", "billing_customer_debit_eur",
        "did_intl_number", "number", "callid_in", "dialstatus",
    }
)  # fmt: skip


def v2_call_id(cdr: object, where: str) -> str:
    return Fields(cdr, where).identifier("callid")


def v2_to_cdr(data: object, *, account: Account, where: str = "cdr") -> CDR:
    """The v2 CDR object (webhook ``payload``, Actions ``call.cdr``) → CDR."""
    f = Fields(data, where)
    answered_at = f.time("answered")
    raw_status = (f.text("status") or "").lower()
    cause = f.text("hangupCause")
    status = _V2_STATUS.get(raw_status) or status_from_cause(q850(cause), answered=answered_at is not None)
    extra = f.rest(V2_COLUMNS)
    if raw_status in _V2_STATUS:
        extra.pop("status", None)
    return CDR(
        vendor=VENDOR,
        account_id=account.id,
        call_id=f.identifier("callid"),
        direction=_direction(f.text("direction")),
        from_number=to_e164(f.text("callerNumber"), account.region),
        to_number=to_e164(f.text("callee"), account.region),
        from_name=f.text("callerName"),
        caller_restricted=f.boolean("callerRestricted"),
        started_at=f.time("started"),
        answered_at=answered_at,
        ended_at=f.time("ended"),
        duration_s=f.integer("durationTotal"),
        talk_s=f.integer("durationAnswered"),
        billed_s=f.integer("durationBilled"),
        status=status,
        q850_cause=q850(cause),
        hangup_cause=cause,
        sip_code=sip_code(f.text("hangupTech")),
        hangup_source=_hangup_source(f.text("hangupSource")),
        cost=from_minor(f.decimal("billingDebit"), CENTS),
        currency=account.currency,
        extra=extra,
    )


def v1_to_cdr(data: object, *, account: Account, direction: Direction, where: str = "data") -> CDR:
    """A v1 ``CDR.In`` / ``CDR.Out`` object (legacy webhooks, JSON-RPC ``cdr.get``) → CDR."""
    f = Fields(data, where)
    answered_at = f.time("answer")
    cause = f.text("hangupcause")
    dialstatus = (f.text("dialstatus") or "").upper()
    status = _V1_DIALSTATUS.get(dialstatus) or status_from_cause(q850(cause), answered=answered_at is not None)
    region = f.text("cli_country_code") or account.region
    to_raw = f.text("number") if direction is Direction.OUTBOUND else f.text("did_intl_number")
    extra = f.rest(V1_COLUMNS)
    if dialstatus and dialstatus not in _V1_DIALSTATUS:
        extra["dialstatus"] = dialstatus
    return CDR(
        vendor=VENDOR,
        account_id=account.id,
        call_id=f.identifier("callid"),
        other_leg_call_id=f.text("callid_in"),
        direction=direction,
        from_number=to_e164(f.text("cli_number"), region),
        to_number=to_e164(to_raw, f.text("number_country_code") or account.region),
        from_name=f.text("cli_name"),
        caller_restricted=_restricted(f.text("cli_pres")),
        started_at=f.time("start"),
        answered_at=answered_at,
        ended_at=f.time("hangup"),
        duration_s=f.integer("duration"),
        talk_s=f.integer("duration_answered"),
        billed_s=f.integer("duration_billed"),
        status=status,
        q850_cause=q850(cause),
        hangup_cause=cause,
        hangup_source=_hangup_source(f.text("hangupsource")),
        cost=from_minor(f.decimal("billing_customer_debit_eur"), CENTS),
        currency=account.currency,
        extra=extra,
    )


def _direction(value: str | None) -> Direction:
    return _DIRECTIONS.get((value or "").lower(), Direction.UNKNOWN)


def _hangup_source(value: str | None) -> HangupSource | None:
    if value is None:
        return None
    return _HANGUP_SOURCES.get(value.lower(), HangupSource.UNKNOWN)


def _restricted(cli_pres: str | None) -> bool | None:
    value = (cli_pres or "").upper()
    if value.startswith("ALLOWED"):
        return False
    if value.startswith(("RESTRICTED", "PROHIB")):
        return True
    return None
