"""Sinch Verification daily CDR file row → ``Verification`` (the ``verifications`` table). Pure.

Source: shared/vendors.md §4.1 (https://developers.sinch.com/docs/verification/api-reference/call-detail-records):
``VerificationId; UserSpaceId; Method; StartTimestamp; EndTimestamp; Result; Reason; CLI;
IdentityType; IdentityEndpoint; Country; Reference; Custom; ApplicationKey; Amount; Currency``. The
poller posts each line as ``sinch.files`` rows are posted (type ``verification``); a malformed line
is refused, so the worker quarantines it with its text. A verification is not a call leg
(schema.md "Verification records"), so ``to_cdr`` gives a ``Verification``.

Mapping: ``VerificationId`` → ``verification_id`` (id ``sinch:<account>:<VerificationId>``);
``Method`` lower-cased (``flashCall`` → ``flashcall``), ``Result`` lower-cased (``SUCCESSFUL`` →
``successful``); the two timestamps read leniently, UTC when they have no zone (format UNKNOWN);
``CLI`` (empty for SMS) → ``cli``; ``IdentityEndpoint`` → E.164 when ``IdentityType`` is
``number`` (else as it came); ``Country`` upper-cased; ``Amount``/``Currency`` → ``cost``/``currency``
(Decimal from the text); ``Reason``, ``Reference``, ``Custom`` verbatim. ``UserSpaceId`` and
``ApplicationKey`` have no column (they stay in ``raw``). UNKNOWN: the ``IdentityType`` and
``Reason`` vocabularies (kept as they come).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workers.cdr import Source
from workers.normalize.numbers import to_e164
from workers.settings import Account
from workers.vendors import Ignored, Record
from workers.vendors.fields import Fields
from workers.vendors.sinch._common import VENDOR
from workers.vendors.sinch.files import file_row
from workers.verification import Verification

FEED = "sinch.verifications"
SOURCE = Source.BACKFILL


def parse(payload: Mapping[str, Any]) -> Record | Ignored:
    _, row = file_row(payload, frozenset({"verification"}))
    return Record(call_id=row.required_text("VerificationId"), data=row.data)


def to_cdr(record: Record, *, account: Account, received_at: datetime) -> Verification:
    f = Fields(record.data, "row")
    identity_type = f.text("IdentityType")
    endpoint = f.text("IdentityEndpoint")
    if (identity_type or "").lower() == "number":
        endpoint = to_e164(endpoint, account.region)
    return Verification(
        vendor=VENDOR,
        account_id=account.id,
        verification_id=f.required_text("VerificationId"),
        method=_lower(f.text("Method")),
        started_at=f.time("StartTimestamp"),
        ended_at=f.time("EndTimestamp"),
        result=_lower(f.text("Result")),
        reason=f.text("Reason"),
        cli=f.text("CLI"),
        identity_type=identity_type,
        identity_endpoint=endpoint,
        country=(f.text("Country") or "").upper() or None,
        reference=f.text("Reference"),
        custom=f.get("Custom") or None,  # free text, kept byte for byte
        cost=f.decimal("Amount"),
        currency=f.currency("Currency"),
    )


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None
