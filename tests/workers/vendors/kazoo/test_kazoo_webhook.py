"""Kazoo channel_destroy feed against golden payloads, in JSON and form encodings."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PAYLOADS
from tests.golden import check_golden, convert
from workers.bodies import FORM, JSON
from workers.errors import PayloadError
from workers.settings import Account
from workers.vendors import Ignored, get_feed

ACCOUNT = Account(vendor="kazoo", id="91eb05e5c68d7ca05e7618b6821d2d16", region="US")
CASES = [
    "channel_destroy.json",
    "channel_destroy_as_form.form",
    "channel_destroy_outbound_busy.form",
    "channel_destroy_cancelled.json",
    "channel_create.json",
]


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    """Each payload converts to exactly its expected CDR (or is ignored)."""
    check_golden("kazoo.webhook", PAYLOADS / "kazoo" / name, ACCOUNT, FORM if name.endswith(".form") else JSON)


def test_form_and_json_of_one_leg_are_one_row() -> None:
    """The same leg as form data (every value a string) and as JSON gives the same id and columns."""
    as_json = convert("kazoo.webhook", PAYLOADS / "kazoo" / "channel_destroy.json", ACCOUNT)
    as_form = convert("kazoo.webhook", PAYLOADS / "kazoo" / "channel_destroy_as_form.form", ACCOUNT, FORM)
    assert (
        as_form["id"]
        == as_json["id"]
        == "kazoo:91eb05e5c68d7ca05e7618b6821d2d16:NDlkNGI3OTZlMDgzNWQxNGYxNTA3NjQ4NDZjNDFkOTc"
    )
    assert {k: v for k, v in as_form.items() if k != "extra"} == {k: v for k, v in as_json.items() if k != "extra"}
    assert as_form["extra"]["custom_channel_vars"] == {
        "authorizing_type": "device",
        "owner_id": as_json["extra"]["owner_id"],
    }


def test_gregorian_timestamp_is_the_hangup() -> None:
    """timestamp 63724349409 is 2019-05-06T08:10:09Z, the end; the start is duration_seconds before it."""
    cdr = convert("kazoo.webhook", PAYLOADS / "kazoo" / "channel_destroy.json", ACCOUNT)
    assert cdr["ended_at"] == "2019-05-06T08:10:09+00:00"
    assert cdr["started_at"] == "2019-05-06T08:10:03+00:00"


def test_leg_direction_is_not_the_call_direction() -> None:
    """call_direction is relative to the switch: kept in extra, never in direction."""
    cdr = convert("kazoo.webhook", PAYLOADS / "kazoo" / "channel_destroy_outbound_busy.form", ACCOUNT, FORM)
    assert (cdr["direction"], cdr["extra"]["call_direction"]) == ("unknown", "outbound")
    assert (cdr["status"], cdr["sip_code"], cdr["q850_cause"]) == ("busy", 486, 17)


def test_stored_cdr_document_is_not_a_webhook() -> None:
    """Kazoo's stored CDR doc (no hook_event) posted here is refused naming hook_event."""
    with pytest.raises(PayloadError, match="hook_event"):
        get_feed("kazoo.webhook").parse(json.loads((PAYLOADS / "kazoo" / "cdr_doc_fixture.json").read_text()))


@pytest.mark.parametrize("event", ["channel_create", "channel_answer", "channel_bridge", "CHANNEL_DESTROY_X"])
def test_other_hook_events_are_ignored(event: str) -> None:
    """Hook events other than channel_destroy carry no CDR."""
    assert isinstance(get_feed("kazoo.webhook").parse({"hook_event": event, "call_id": "c"}), Ignored)


@pytest.mark.parametrize(
    ("field", "value"), [("timestamp", "yesterday"), ("timestamp", 6.5), ("billing_seconds", "6s")]
)
def test_bad_values_are_named(field: str, value: object) -> None:
    """An unreadable value fails conversion with the field's name."""
    feed = get_feed("kazoo.webhook")
    record = feed.parse({"hook_event": "channel_destroy", "call_id": "c1", field: value})
    with pytest.raises(PayloadError, match=field):
        feed.to_cdr(record, account=ACCOUNT, received_at=None)  # type: ignore[arg-type]
