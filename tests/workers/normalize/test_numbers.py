"""Numbers: E.164 when the value is a phone number, raw otherwise, None when empty."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.normalize.numbers import to_e164


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
