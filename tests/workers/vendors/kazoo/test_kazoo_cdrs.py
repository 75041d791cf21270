"""Kazoo /cdrs listing feed (backfill): golden rows, the listing's start-based times, units, and
convergence with the channel_destroy webhook row of the same leg."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import PAYLOADS
from tests.golden import RECEIVED_AT, check_golden, convert
from workers.errors import PayloadError
from workers.settings import Account
from workers.vendors import get_feed

ACCOUNT = Account(vendor="kazoo", id="91eb05e5c68d7ca05e7618b6821d2d16", region="US", currency="USD")
KAZOO = PAYLOADS / "kazoo"


@pytest.mark.parametrize("name", ["cdrs_row_channel_destroy.json", "cdrs_row_doc_fixture.json"])
def test_golden(name: str) -> None:
    """Each listing row converts to exactly its expected CDR."""
    check_golden("kazoo.cdrs", KAZOO / name, ACCOUNT)


def test_listing_row_meets_the_webhook_row() -> None:
    """The listing's timestamp is the start, the webhook's the end: same id, same three times."""
    listed = convert("kazoo.cdrs", KAZOO / "cdrs_row_channel_destroy.json", ACCOUNT)
    pushed = convert("kazoo.webhook", KAZOO / "channel_destroy.json", ACCOUNT)
    assert listed["id"] == pushed["id"] == f"kazoo:{ACCOUNT.id}:NDlkNGI3OTZlMDgzNWQxNGYxNTA3NjQ4NDZjNDFkOTc"
    for key in ("started_at", "answered_at", "ended_at", "from_number", "to_number", "status", "q850_cause"):
        assert listed[key] == pushed[key], key
    assert listed["extra"]["call_direction"] == pushed["extra"]["call_direction"] == "inbound"


def test_cost_is_in_ten_thousandths_and_rate_stays_dollars() -> None:
    """cost "600" is 0.06 in the account's currency; rate stays as Kazoo wrote it, in extra."""
    cdr = convert("kazoo.cdrs", KAZOO / "cdrs_row_channel_destroy.json", ACCOUNT)
    assert (cdr["cost"], cdr["currency"], cdr["extra"]["rate"]) == ("0.06", "USD", "0.06")


def test_empty_strings_are_no_value() -> None:
    """A listing renders missing values as "": no time, no duration, no number is invented from them."""
    cdr = convert("kazoo.cdrs", KAZOO / "cdrs_row_doc_fixture.json", ACCOUNT)
    assert (cdr["started_at"], cdr["duration_s"], cdr["other_leg_call_id"]) == (None, None, None)
    assert "timestamp" not in cdr["extra"] and "bridge_id" not in cdr["extra"]
    assert cdr["to_number"] == "*97"


def test_datetime_column_when_timestamp_is_empty() -> None:
    """Without a timestamp, the underscore datetime column (UTC) gives the start."""
    row = orjson.loads((KAZOO / "cdrs_row_channel_destroy.json").read_bytes()) | {"timestamp": ""}
    feed = get_feed("kazoo.cdrs")
    cdr = feed.to_cdr(feed.parse(row), account=ACCOUNT, received_at=RECEIVED_AT)  # type: ignore[arg-type]
    assert cdr.started_at is not None and cdr.started_at.isoformat() == "2019-05-06T08:10:03+00:00"


@pytest.mark.parametrize(
    ("row", "field"),
    [({"timestamp": "63724349403"}, "call_id"), ({"call_id": "x", "cost": "lots"}, "cost"),
     ({"call_id": "x", "timestamp": "yesterday"}, "timestamp")],
)  # fmt: skip
def test_rows_that_are_not_legs_are_refused(row: dict[str, str], field: str) -> None:
    """A row without call_id or with an unreadable value raises PayloadError naming the field."""
    feed = get_feed("kazoo.cdrs")
    with pytest.raises(PayloadError, match=field):
        feed.to_cdr(feed.parse(row), account=ACCOUNT, received_at=RECEIVED_AT)  # type: ignore[arg-type]
