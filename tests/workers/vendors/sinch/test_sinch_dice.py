"""Sinch DiCE feed against golden payloads: the real SDK fixture and documented variants."""

from __future__ import annotations

import pytest

from tests.conftest import PAYLOADS
from tests.golden import check_golden, convert
from workers.errors import PayloadError
from workers.settings import Account
from workers.vendors import get_feed

ACCOUNT = Account(vendor="sinch", id="669E367E-6BBA-48AB-AF15-266871C28135")
CASES = [
    "dice_sdk_fixture.json",
    "dice_inbound_cancelled.json",
    "dice_outbound_busy.json",
    "dice_app_to_app_failed.json",
    "ace_docs_signing_example.json",
    "ice_sdk_fixture.json",
]


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    """Each payload converts to exactly its expected CDR (or is ignored)."""
    check_golden("sinch.dice", PAYLOADS / "sinch" / name, ACCOUNT)


def test_float_debit_is_exact_and_lenient_timestamp_is_utc() -> None:
    """debit.amount 0.1758 is Decimal 0.1758; a timestamp with no Z and 7 digits is read as UTC."""
    cdr = convert("sinch.dice", PAYLOADS / "sinch" / "dice_sdk_fixture.json", ACCOUNT)
    assert (cdr["cost"], cdr["currency"]) == ("0.1758", "EUR")
    cdr = convert("sinch.dice", PAYLOADS / "sinch" / "dice_inbound_cancelled.json", ACCOUNT)
    assert cdr["ended_at"] == "2024-01-19T09:19:28.937219+00:00"
    assert (cdr["call_id"], cdr["status"], cdr["currency"]) == ("4398599d1ba84ef3bde0a82dfb61abed", "cancelled", None)


@pytest.mark.parametrize(
    ("result", "reason", "expected"),
    [
        ("ANSWERED", "CALLERHANGUP", "answered"),
        ("ANSWERED", "CANCEL", "answered"),
        ("NOANSWER", "CANCEL", "cancelled"),
        ("NOANSWER", "TIMEOUT", "no_answer"),
        ("BUSY", "N/A", "busy"),
        ("FAILED", "GENERALERROR", "failed"),
        ("N/A", "CONGESTION", "failed"),
        ("N/A", "CALLERHANGUP", "unknown"),
        ("SOMETHINGNEW", "N/A", "unknown"),
    ],
)
def test_result_and_reason_tables(result: str, reason: str, expected: str) -> None:
    """result/reason map per schema.md; a value in no table is unknown with the raw reason kept."""
    feed = get_feed("sinch.dice")
    record = feed.parse({"event": "dice", "callid": "c1", "result": result, "reason": reason})
    cdr = feed.to_cdr(record, account=ACCOUNT, received_at=None)  # type: ignore[arg-type]
    assert (cdr.status, cdr.hangup_cause) == (expected, reason)


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"callid": "c"}, "event"), ({"event": "dice"}, "callid"), ({"event": "dice", "callId": ""}, "callId")],
)
def test_missing_fields_are_named(payload: dict[str, object], field: str) -> None:
    """A dice event without a call id (or a body without an event) raises PayloadError naming it."""
    with pytest.raises(PayloadError, match=field):
        get_feed("sinch.dice").parse(payload)


@pytest.mark.parametrize(
    ("field", "value"),
    [("debit", {"amount": "lots"}), ("debit", {"amount": 1, "currencyId": "EURO"}), ("timestamp", 5)],
)
def test_bad_values_are_named(field: str, value: object) -> None:
    """An unreadable value fails conversion with the field's name."""
    feed = get_feed("sinch.dice")
    record = feed.parse({"event": "dice", "callid": "c1", field: value})
    with pytest.raises(PayloadError, match=field):
        feed.to_cdr(record, account=ACCOUNT, received_at=None)  # type: ignore[arg-type]
