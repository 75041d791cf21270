"""Rows for read API tests: a small, varied set of calls written through the real upsert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from workers.cdr import CDR, Direction, Source, Status
from workers.merge import Delivery
from workers.store import SqlStore

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2025, 1, 1, tzinfo=UTC)
READ_TOKEN = "read-api-token-0123456789"


def cdr(call_id: str, **over: Any) -> CDR:
    values: dict[str, Any] = dict(
        vendor="callr", account_id="acct1", call_id=call_id, direction=Direction.INBOUND,
        from_number="+33612345678", to_number="+33187654321", started_at=T0, duration_s=60, talk_s=50,
        billed_s=60, status=Status.ANSWERED, cost=Decimal("0.1"), currency="EUR",
    )  # fmt: skip
    values.update(over)
    return CDR(**values)


def put(store: SqlStore, *cdrs: CDR, source: Source = Source.WEBHOOK) -> list[str]:
    deliveries = [
        Delivery(cdr=c, source=source, received_at=NOW, ingest_id=f"i-{c.call_id}", raw={"call": c.call_id})
        for c in cdrs
    ]
    store.upsert(deliveries, now=NOW)
    return [c.id for c in cdrs]


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def dataset() -> list[CDR]:
    """Six calls that differ in every filtered column; one has no start time."""
    return [
        cdr("1", started_at=minutes(0), cost=Decimal("0.1")),
        cdr("2", started_at=minutes(1), status=Status.BUSY, talk_s=None, duration_s=5, cost=Decimal("0.2")),
        cdr("3", started_at=minutes(2), direction=Direction.OUTBOUND, from_number="+14155550100",
            to_number="+33612000000", cost=Decimal("-0.05"), duration_s=300, talk_s=290),
        cdr("4", vendor="kazoo", account_id="acct2", started_at=minutes(3), status=Status.NO_ANSWER,
            talk_s=None, cost=Decimal("1.25"), currency="USD", to_number="sip:alice@example.com"),
        cdr("5", started_at=minutes(4), account_id="acct2", cost=None, currency=None, duration_s=None),
        cdr("6", started_at=None, status=Status.FAILED, cost=Decimal("0.000001"), currency=None, duration_s=0),
    ]  # fmt: skip


def bearer(token: str = READ_TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
