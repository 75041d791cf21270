"""Numbers: E.164 when the value is a phone number, raw otherwise, None when empty."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.normalize.numbers import sip_user, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+33612345678", None, "+33612345678"),
        ("+33 6 12 34 56 78", None, "+33612345678"),
        ("0033612345678", None, "+33612345678"),
        ("0612345678", "FR", "+33612345678"),
        ("0612345678", None, "0612345678"),
        ("(415) 555-0100", "us", "+14155550100"),
        (14155550100, "US", "+14155550100"),
        ("sip:alice@example.com", None, "sip:alice@example.com"),
        ("alice@example.com", "FR", "alice@example.com"),
        ("anonymous", None, "anonymous"),
        ("", None, None),
        ("   ", "FR", None),
        (None, None, None),
        ("+1", None, "+1"),
    ],
)
def test_to_e164(raw: str | None, region: str | None, expected: str | None) -> None:
    """Numbers normalize; SIP URIs, user ids and impossible numbers stay as they came."""
    assert to_e164(raw, region) == expected


numbers = st.from_regex(r"\+?[0-9 ()\-]{0,20}", fullmatch=True) | st.text(max_size=20)


@given(numbers, st.sampled_from([None, "FR", "US", "IN", "GB"]))
def test_idempotent(raw: str, region: str | None) -> None:
    """Normalizing a normalized value changes nothing."""
    once = to_e164(raw, region)
    assert to_e164(once, region) == once


@given(numbers, st.sampled_from([None, "FR", "US"]))
def test_never_empty_string(raw: str, region: str | None) -> None:
    """The result is None or non-empty text: "" is never stored as a number."""
    assert to_e164(raw, region) != ""


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("14155550100", None, "+14155550100"),
        ("14155550100", "IN", "+14155550100"),
        ("919876543210", "IN", "+919876543210"),
        ("09876543210", "IN", "+919876543210"),
        ("09876543210", None, "09876543210"),
        ("+33612345678", "IN", "+33612345678"),
        ("12", "IN", "12"),
        ("sip:100@pbx", "IN", "sip:100@pbx"),
    ],
)
def test_international_without_plus(raw: str, region: str | None, expected: str) -> None:
    """Numbers documented as carrying their country code read as +<digits>; a 0-prefixed one is national."""
    assert to_e164(raw, region, international=True) == expected


@pytest.mark.parametrize(
    ("raw", "region", "international", "expected"),
    [
        # phonenumbers drops one "0" after +31 on every pass over these digits: not a stable number
        ("310000000", None, True, "310000000"),
        ("+310000000", None, False, "+310000000"),
        # a national prefix written after the country code is dropped once, and that is stable
        ("+44 (0)20 7946 0000", None, False, "+442079460000"),
    ],
)
def test_a_number_that_does_not_read_back_as_itself_is_kept_as_written(
    raw: str, region: str | None, international: bool, expected: str
) -> None:
    once = to_e164(raw, region, international=international)
    assert once == expected
    assert to_e164(once, region, international=international) == once


@given(numbers, st.sampled_from([None, "FR", "US", "IN"]))
def test_international_idempotent_and_never_empty(raw: str, region: str | None) -> None:
    """The international reading is idempotent and never yields "" either."""
    once = to_e164(raw, region, international=True)
    assert once != ""
    assert to_e164(once, region, international=True) == once


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+15552345678@matrix.test.com", "+15552345678"),
        ("sip:2001@acme.example.com;transport=tcp", "2001"),
        ("SIPS:alice@example.com", "alice"),
        ("+15552345678", "+15552345678"),
        ("@realm", None),
        ("", None),
        (None, None),
    ],
)
def test_sip_user(value: str | None, expected: str | None) -> None:
    """The user part of a SIP address (Kazoo request/to/from); anything without @ as it came."""
    assert sip_user(value) == expected


@given(st.text(max_size=40))
def test_sip_user_idempotent(value: str) -> None:
    """Taking the user part twice changes nothing, and the result is never empty text."""
    once = sip_user(value)
    assert once != ""
    assert sip_user(once) == once
