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

from workers.cdr import Status
from workers.normalize.causes import cause_code, status_from_cause
from workers.normalize.times import after, before

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
