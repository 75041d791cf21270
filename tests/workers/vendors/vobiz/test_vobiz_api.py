"""Vobiz CDR API feed (backfill) against the real SDK sample, and its convergence with the push feeds."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import PAYLOADS
from tests.golden import RECEIVED_AT, check_expected, convert, convert_payload
from workers.errors import PayloadError
from workers.settings import Account
from workers.vendors import get_feed

ACCOUNT = Account(vendor="vobiz", id="MA_XXXXXXXX", region="IN", options={"timezone": "Asia/Kolkata"})
SAMPLE = PAYLOADS / "vobiz" / "cdr_list_sdk_mock.json"
ROWS = orjson.loads(SAMPLE.read_bytes())["data"]


@pytest.mark.parametrize("index", [0, 1])
def test_golden_on_the_sdk_sample(index: int) -> None:
    """Each record of the real list response converts to exactly its expected CDR."""
    actual = convert_payload("vobiz.api", ROWS[index], ACCOUNT)
    check_expected(actual, PAYLOADS / "vobiz" / f"cdr_list_sdk_mock.{index}.expected.json")


def test_money_is_exact_and_the_vobiz_code_is_not_q850() -> None:
    """total_cost 0.45 (a float) is Decimal 0.45; hangup_cause_code 4000 stays in extra; q850 from the name."""
    cdr = convert_payload("vobiz.api", ROWS[0], ACCOUNT)
    assert (cdr["cost"], cdr["currency"]) == ("0.45", "INR")
    assert (cdr["q850_cause"], cdr["hangup_cause"], cdr["extra"]["hangup_cause_code"]) == (16, "NORMAL_CLEARING", 4000)
    assert cdr["other_leg_call_id"] is None  # bridge_uuid is the call's own uuid in the sample


def test_unanswered_call_has_no_answer_time_and_no_quality() -> None:
    """answer_time null → answered_at null, status from NO_ANSWER, and the zero MOS/jitter are not stored."""
    cdr = convert_payload("vobiz.api", ROWS[1], ACCOUNT)
    assert (cdr["status"], cdr["answered_at"], cdr["hangup_source"]) == ("no_answer", None, "callee")
    assert (cdr["mos"], cdr["jitter_ms"], cdr["packet_loss_pct"], cdr["from_name"]) == (None, None, None, None)


def test_backfill_row_meets_the_trunk_webhook_row() -> None:
    """The CDR API's uuid is the trunk webhook's CallUUID: same row id, same times and cause."""
    api = convert_payload("vobiz.api", ROWS[0], ACCOUNT)
    trunk = convert("vobiz.trunk", PAYLOADS / "vobiz" / "trunk_hangup_answered.json", ACCOUNT)
    assert api["id"] == trunk["id"] == "vobiz:MA_XXXXXXXX:aabbccdd-1234-5678-90ab-cdef12345678"
    assert (api["started_at"], api["ended_at"]) == (trunk["started_at"], trunk["ended_at"])
    assert (api["status"], api["q850_cause"], api["direction"]) == (trunk["status"], trunk["q850_cause"], "outbound")


def test_total_cost_falls_back_to_cost() -> None:
    """A record without total_cost takes cost."""
    feed = get_feed("vobiz.api")
    row = {k: v for k, v in ROWS[0].items() if k != "total_cost"} | {"cost": 1.1}
    cdr = feed.to_cdr(feed.parse(row), account=ACCOUNT, received_at=RECEIVED_AT)  # type: ignore[arg-type]
    assert str(cdr.cost) == "1.1"


@pytest.mark.parametrize(("row", "field"), [({"call_direction": "inbound"}, "uuid"), ([], "row")])
def test_a_row_without_uuid_is_refused(row: object, field: str) -> None:
    """A record without its uuid (or not an object) raises PayloadError naming it: the worker quarantines it."""
    with pytest.raises(PayloadError, match=field):
        get_feed("vobiz.api").parse(row)  # type: ignore[arg-type]
