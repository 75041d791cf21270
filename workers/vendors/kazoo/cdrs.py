"""Kazoo crossbar ``GET /v2/accounts/{id}/cdrs`` listing row → CDR, one row per call leg (backfill). Pure.

Source: shared/vendors.md §3.1 (2600hz/kazoo ``core/kazoo_documents/src/kzd_cdrs.hrl`` and
``kzd_cdrs.erl``, ``applications/crossbar/doc/cdrs.md``). A listing row is not the stored document:
it is Kazoo's flattened columns (``id, call_id, caller_id_number, caller_id_name, callee_id_number,
callee_id_name, duration_seconds, billing_seconds, timestamp, hangup_cause, other_leg_call_id,
owner_id, to, from, direction, request, authorizing_id, cost, dialed_number, calling_from,
datetime, unix_timestamp, unix_timestamp_micro, rfc_1036, iso_8601, iso_8601_combined, call_type,
rate, rate_name, bridge_id, recording_url, media_recordings, media_server, call_priority,
interaction_id`` + ``reseller_cost, reseller_call_type``), every missing value rendered ``""``.
Identity, direction and times follow ``_common`` (read it first): the row id comes from the leg's
``call_id``, exactly as the ``channel_destroy`` webhook's, so both copies of a leg meet on one row.

Mapping: ``timestamp`` is the leg's START here (Gregorian seconds as text; Kazoo computes it as the
document's timestamp minus the duration), so ``ended_at`` = start + ``duration_seconds``; when it
is empty the ``datetime`` column (``YYYY-MM-DD_HH:MM:SS``, UTC: no ``utc_offset`` is asked for) is
read instead. The other renderings of that instant (``datetime``, ``unix_timestamp``, ``rfc_1036``,
``iso_8601``, ``iso_8601_combined``) are not kept in ``extra`` (``raw`` has them).
``cost`` is in Kazoo units, 1/10,000 of the currency (``rate`` in the same row is already in
currency units and stays in ``extra``) → ``cost`` in major units, with the account's currency
(``KAZOO_CURRENCY``, default USD: Kazoo's "dollar" is whatever the operator bills in). Kazoo
writes 0 when the account is not billed per minute: stored as 0, as Kazoo says it.
``dialed_number`` (Kazoo's own: the user part of ``request`` inbound, of ``to`` outbound) →
``to_number``; ``caller_id_number`` (else the user part of ``from``) → ``from_number``; the
listing's ``direction`` (the leg's ``call_direction``) stays in ``extra`` as ``call_direction``,
the webhook's key, and ``direction`` is ``unknown``.

UNKNOWN: ``hangup_code``, ``ringing_seconds`` and ``disposition`` are not listed (``sip_code``,
``ring_s``, ``hangup_source`` stay empty; the webhook fills the first two).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import evolve as replace

from workers.cdr import CDR, Source
from workers.normalize.money import KAZOO_UNITS, from_minor
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.fields import Fields
from workers.vendors.kazoo._common import durations, leg_cdr, leg_times_from_start

FEED = "kazoo.cdrs"
SOURCE = Source.BACKFILL

_RENDERINGS = frozenset({"datetime", "unix_timestamp", "rfc_1036", "iso_8601", "iso_8601_combined"})
_COLUMNS = _RENDERINGS | {
    "call_id", "other_leg_call_id", "interaction_id", "caller_id_number", "caller_id_name", "duration_seconds",
    "billing_seconds", "timestamp", "hangup_cause", "dialed_number", "cost", "direction",
}  # fmt: skip


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    row = Fields(payload, "row")
    return Record(call_id=row.required_text("call_id"), data=payload)


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> CDR:
    f = Fields(record.data, "row")
    times = leg_times_from_start(f.gregorian("timestamp") or f.time("datetime"), *durations(f))
    leg_direction = f.text("direction")
    call = leg_cdr(f, account, times, call_direction=leg_direction, dialed=f.text("dialed_number"))
    cost = from_minor(f.decimal("cost"), KAZOO_UNITS)
    extra = {k: v for k, v in f.rest(_COLUMNS).items() if v != ""}
    if leg_direction is not None:
        extra["call_direction"] = leg_direction
    return replace(call, cost=cost, currency=account.currency if cost is not None else None, extra=extra)
