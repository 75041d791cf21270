"""Kazoo conventions every Kazoo feed must share, so that the webhook and backfill copies of a leg
meet on one row. Pure.

Sources: shared/vendors.md §3 (2600hz/kazoo ``applications/crossbar/doc/cdrs.md``,
``core/kazoo_documents/src/kzd_cdrs.hrl``, ``applications/webhooks/src/webhooks_channel_util.erl``).

- Identity: Kazoo reports every leg separately, and the leg's ``call_id`` (its SIP Call-ID) is the
  only id every Kazoo delivery carries (``channel_destroy`` has no ``interaction_id``). So the
  row's ``call_id`` is the leg's ``call_id`` and ``leg`` stays empty: the row id
  ``kazoo:<account>:<call_id>`` is per leg by construction. Legs of one call are linked by
  ``other_leg_call_id`` and, where a delivery has it, ``interaction_id``.
- Direction: ``call_direction`` is the leg's direction relative to the switch, not the call's
  (the A-leg of an outbound call is "inbound", vendors.md §7.6), so it is never ``direction``:
  it stays in ``extra.call_direction`` and ``direction`` is ``unknown``.
- Times: a document's (and the webhook's) ``timestamp`` is when the CDR was generated, i.e. the
  hangup. The start is ``timestamp − duration_seconds`` (Kazoo's own formula for its listing's
  start), the answer ``timestamp − billing_seconds`` when ``billing_seconds`` > 0 (a leg with
  billing seconds was answered). The ``/cdrs`` listing's ``timestamp`` is that start already
  (``kzd_cdrs``), so there the end is ``timestamp + duration_seconds``: the same instants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workers.cdr import CDR, Status
from workers.normalize.causes import cause_code, q850, status_from_cause
from workers.normalize.numbers import sip_user, to_e164
from workers.normalize.times import after, before
from workers.settings import Account
from workers.vendors.fields import Fields

VENDOR = "kazoo"


@dataclass(frozen=True)
class LegTimes:
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None


def leg_times(ended_at: datetime | None, duration_s: int | None, billing_s: int | None) -> LegTimes:
    return LegTimes(
        started_at=before(ended_at, duration_s),
        answered_at=before(ended_at, billing_s) if billing_s else None,
        ended_at=ended_at,
    )


def leg_times_from_start(started_at: datetime | None, duration_s: int | None, billing_s: int | None) -> LegTimes:
    """The listing's times: its ``timestamp`` is the leg's start."""
    ended_at = after(started_at, duration_s)
    return LegTimes(started_at, before(ended_at, billing_s) if billing_s else None, ended_at)


def status(hangup_cause: str | None, billing_s: int | None) -> Status:
    return status_from_cause(cause_code(hangup_cause), answered=bool(billing_s))


def dialed_number(call_direction: str | None, request_user: str | None, to_user: str | None) -> str | None:
    """Kazoo's own ``dialed_number`` (kzd_cdrs.hrl): the user part of ``request`` on an inbound
    leg, of ``to`` on an outbound one."""
    return to_user if (call_direction or "").lower() == "outbound" else request_user


def durations(f: Fields) -> tuple[int | None, int | None]:
    """``(duration_seconds, billing_seconds)``: ringing included, and answered time."""
    return f.integer("duration_seconds"), f.integer("billing_seconds")


def leg_cdr(f: Fields, account: Account, times: LegTimes, *, call_direction: str | None,
            dialed: str | None = None) -> CDR:  # fmt: skip
    """What every Kazoo delivery of a leg says alike: ids, parties, times, durations, cause. The
    caller is ``caller_id_number`` (else the user part of ``from``), the callee Kazoo's dialed
    number (``dialed`` when the delivery has it computed)."""
    duration, billing = durations(f)
    cause = f.text("hangup_cause")
    caller = f.text("caller_id_number") or sip_user(f.text("from"))
    dialed = dialed or dialed_number(call_direction, sip_user(f.text("request")), sip_user(f.text("to")))
    return CDR(
        vendor=VENDOR,
        account_id=account.id,
        call_id=f.required_text("call_id"),
        other_leg_call_id=f.text("other_leg_call_id"),
        interaction_id=f.text("interaction_id"),
        from_number=to_e164(caller, account.region),
        to_number=to_e164(dialed, account.region),
        from_name=f.text("caller_id_name"),
        started_at=times.started_at,
        answered_at=times.answered_at,
        ended_at=times.ended_at,
        duration_s=duration,
        talk_s=billing,
        billed_s=billing,
        status=status(cause, billing),
        q850_cause=q850(cause),
        hangup_cause=cause,
    )
