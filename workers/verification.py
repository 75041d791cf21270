"""A verification record (mirrors ``shared/schema.md`` "Verification records"). Pure data, no I/O.

A verification (Sinch flash call, SMS, callout, seamless) is not a call leg, so it has its own
table, ``verifications``, with the cdrs conventions: the id ``vendor:account:verification_id``,
the same merge rules (``workers.merge``: null never overwrites, billing from a backfill wins,
``sources`` is the union).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

import attrs

from workers.cdr import Stored, cdr_id


@attrs.frozen(slots=False)
class Verification:
    IDENTITY: ClassVar[tuple[str, ...]] = ("vendor", "account_id", "verification_id")
    BILLING: ClassVar[frozenset[str]] = frozenset({"cost", "currency"})

    vendor: str
    account_id: str | None
    verification_id: str
    method: str | None = None  # flashcall, sms, callout, seamless
    started_at: datetime | None = None
    ended_at: datetime | None = None
    result: str | None = None  # successful, fail, denied, aborted, error
    reason: str | None = None
    cli: str | None = None
    identity_type: str | None = None
    identity_endpoint: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    reference: str | None = None
    custom: str | None = None
    cost: Decimal | None = None
    currency: str | None = None

    @property
    def id(self) -> str:
        return cdr_id(self.vendor, self.account_id, self.verification_id)


StoredVerification = Stored[Verification]
