"""Vobiz trunk webhook and application callback feeds against golden payloads."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import PAYLOADS
from tests.golden import check_golden, convert
from workers.bodies import FORM, JSON
from workers.errors import PayloadError
from workers.settings import Account
from workers.vendors import Record, get_feed

ACCOUNT = Account(vendor="vobiz", id="MA_XXXXXXXX", region="IN", options={"timezone": "Asia/Kolkata"})
CASES = [
    ("vobiz.trunk", "trunk_hangup_answered.json"),
    ("vobiz.trunk", "trunk_hangup_no_answer.json"),
    ("vobiz.trunk", "trunk_hangup_busy.json"),
    ("vobiz.trunk", "trunk_call_initiated_rejected.json"),
    ("vobiz.callback", "callback_hangup_answered.form"),
    ("vobiz.callback", "callback_dial_leg_busy.form"),
    ("vobiz.callback", "callback_no_answer_without_event.form"),
    ("vobiz.callback", "callback_inbound_cancelled.json"),
    ("vobiz.callback", "callback_ring.form"),
]


def _content_type(name: str) -> str:
    return FORM if name.endswith(".form") else JSON


@pytest.mark.parametrize(("feed", "name"), CASES)
def test_golden(feed: str, name: str) -> None:
    """Each payload converts to exactly its expected CDR."""
    check_golden(feed, PAYLOADS / "vobiz" / name, ACCOUNT, _content_type(name))


def test_trunk_cost_float_becomes_exact_decimal_and_vobiz_code_is_not_q850() -> None:
    """Cost 0.45 (a JSON float) is Decimal 0.45; HangupCauseCode 4000 stays in extra, q850 is NORMAL_CLEARING's 16."""
    cdr = convert("vobiz.trunk", PAYLOADS / "vobiz" / "trunk_hangup_answered.json", ACCOUNT)
    assert Decimal(cdr["cost"]) == Decimal("0.45") and cdr["cost"] == "0.45"
    assert (cdr["q850_cause"], cdr["hangup_cause"]) == (16, "NORMAL_CLEARING")
    assert cdr["extra"]["HangupCauseCode"] == 4000
    assert cdr["answered_at"] == "2026-03-25T10:00:05+00:00"  # EndTime − Billsec


def test_callback_local_times_read_in_the_console_zone() -> None:
    """Zone-less callback times are console-local: 15:30 in Asia/Kolkata is 10:00 UTC."""
    cdr = convert("vobiz.callback", PAYLOADS / "vobiz" / "callback_hangup_answered.form", ACCOUNT, FORM)
    assert cdr["started_at"] == "2026-03-25T10:00:00+00:00"
    utc = Account(vendor="vobiz", id="MA_XXXXXXXX", options={"timezone": "UTC"})
    cdr = convert("vobiz.callback", PAYLOADS / "vobiz" / "callback_hangup_answered.form", utc, FORM)
    assert cdr["started_at"] == "2026-03-25T15:30:00+00:00"


def test_callback_numbers_carry_their_country_code() -> None:
    """From=14155550100 (documented: country code, no +) is +14155550100 even with default region IN."""
    cdr = convert("vobiz.callback", PAYLOADS / "vobiz" / "callback_no_answer_without_event.form", ACCOUNT, FORM)
    assert (cdr["from_number"], cdr["to_number"]) == ("+14155550100", "+918012345678")


@pytest.mark.parametrize(
    ("raw", "cause", "billed", "expected"),
    [
        ("completed", "NORMAL_CLEARING", "12", "answered"),
        ("completed", "ORIGINATOR_CANCEL", "0", "cancelled"),
        ("completed", "NORMAL_CLEARING", "0", "unknown"),
        ("no-answer", "", "0", "no_answer"),
        ("no_answer", "", "0", "no_answer"),
        ("timeout", "", "0", "no_answer"),
        ("busy", "", "0", "busy"),
        ("failed", "", "0", "failed"),
        ("cancel", "", "0", "cancelled"),
        ("weird", "USER_BUSY", "0", "busy"),
    ],
)
def test_callback_status_spellings(raw: str, cause: str, billed: str, expected: str) -> None:
    """Every status spelling Vobiz pages use maps; completed defers to billing and the cause."""
    feed = get_feed("vobiz.callback")
    payload = {"CallUUID": "u1", "CallStatus": raw, "HangupCause": cause, "BillDuration": billed}
    record = feed.parse({**payload, "Event": "Hangup"})
    assert isinstance(record, Record)
    assert feed.to_cdr(record, account=ACCOUNT, received_at=None).status == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("feed", "payload", "field"),
    [
        ("vobiz.trunk", {"CallUUID": "x"}, "Event"),
        ("vobiz.trunk", {"Event": "Hangup"}, "CallUUID"),
        ("vobiz.callback", {"Event": "Hangup", "CallStatus": "completed"}, "CallUUID"),
        ("vobiz.callback", {"CallStatus": "busy"}, "CallUUID"),
    ],
)
def test_missing_fields_are_named(feed: str, payload: dict[str, object], field: str) -> None:
    """A hangup without its id (or a trunk event without a name) raises PayloadError naming the field."""
    with pytest.raises(PayloadError, match=field):
        get_feed(feed).parse(payload)


@pytest.mark.parametrize(("field", "value"), [("Cost", "cheap"), ("Currency", "RUPEES"), ("EndTime", "soon")])
def test_bad_trunk_values_are_named(field: str, value: str) -> None:
    """An unreadable value fails conversion with the field's name."""
    feed = get_feed("vobiz.trunk")
    record = feed.parse({"Event": "Hangup", "CallUUID": "u1", field: value})
    with pytest.raises(PayloadError, match=field):
        feed.to_cdr(record, account=ACCOUNT, received_at=None)  # type: ignore[arg-type]
