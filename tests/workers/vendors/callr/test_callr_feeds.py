"""Callr webhook (v2, v1) and Actions push adapters against golden payloads."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import PAYLOADS
from tests.golden import check_golden, convert
from workers.errors import PayloadError
from workers.settings import Account
from workers.vendors import get_feed

ACCOUNT = Account(vendor="callr", id="acct1", currency="EUR")
CASES = [
    ("callr.webhook", "webhook_v2_inbound_answered.json"),
    ("callr.webhook", "webhook_v2_inbound_restricted_missed.json"),
    ("callr.webhook", "webhook_v2_outbound_busy.json"),
    ("callr.webhook", "webhook_v2_inbound_started.json"),
    ("callr.webhook", "webhook_v1_inbound_hangup.json"),
    ("callr.webhook", "webhook_v1_outbound_hangup.json"),
    ("callr.actions", "actions_push.json"),
]


@pytest.mark.parametrize(("feed", "name"), CASES)
def test_golden(feed: str, name: str) -> None:
    """Each sample payload converts to exactly its expected CDR."""
    check_golden(feed, PAYLOADS / "callr" / name, ACCOUNT)


def test_big_callid_kept_exact_and_cents_become_major_units() -> None:
    """A callid above 2^31 is exact text; billingDebit "0.8925" cents is 0.008925 EUR as a Decimal."""
    cdr = convert("callr.webhook", PAYLOADS / "callr" / "webhook_v2_outbound_busy.json", ACCOUNT)
    assert cdr["call_id"] == "242359184129"
    assert Decimal(cdr["cost"]) == Decimal("0.008925")
    assert cdr["currency"] == "EUR"


def test_restricted_caller_has_no_number() -> None:
    """An empty callerNumber with callerRestricted is null plus the flag, never a number ""."""
    cdr = convert("callr.webhook", PAYLOADS / "callr" / "webhook_v2_inbound_restricted_missed.json", ACCOUNT)
    assert cdr["from_number"] is None
    assert cdr["caller_restricted"] is True
    assert cdr["answered_at"] is None
    assert cdr["status"] == "no_answer"


def test_currency_comes_from_the_account() -> None:
    """Callr sends no currency: the configured one is used."""
    usd = Account(vendor="callr", id="acct1", currency="USD")
    cdr = convert("callr.actions", PAYLOADS / "callr" / "actions_push.json", usd)
    assert cdr["currency"] == "USD"


@pytest.mark.parametrize(
    ("feed", "payload", "field"),
    [
        ("callr.webhook", {"id": "x", "type": "v2.call.inbound.ended", "payload": {"direction": "inbound"}}, "callid"),
        ("callr.webhook", {"id": "x", "type": "v2.call.inbound.ended", "payload": "nope"}, "payload"),
        ("callr.webhook", {"id": "x"}, "type"),
        ("callr.webhook", {"event_id": "x", "type": "call.inbound_hangup", "data": {}}, "callid"),
        ("callr.actions", {"call": {}}, "cdr"),
        ("callr.actions", {"cdr": {"callid": 1.5}}, "callid"),
    ],
)
def test_missing_or_wrong_fields_are_named(feed: str, payload: dict[str, object], field: str) -> None:
    """A payload that is not a CDR raises PayloadError naming the field."""
    with pytest.raises(PayloadError, match=field):
        get_feed(feed).parse(payload)


@pytest.mark.parametrize("field", ["started", "durationTotal", "billingDebit", "callerRestricted"])
def test_bad_values_are_named(field: str) -> None:
    """A field with an unreadable value fails conversion with the field's name."""
    feed = get_feed("callr.actions")
    cdr = {"callid": 1, field: "garbage"}
    record = feed.parse({"cdr": cdr})
    with pytest.raises(PayloadError, match=field):
        feed.to_cdr(record, account=ACCOUNT, received_at=None)  # type: ignore[arg-type]
