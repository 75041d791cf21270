"""Numbers: E.164 when the value is a phone number, raw otherwise, None when empty."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workers.normalize.numbers import _as_written, _parsed, sip_user, to_e164


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


country_codes = st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)).map(str)
plus_digits = st.builds(lambda cc, rest: f"+{cc}{rest}", country_codes | st.from_regex(r"[0-9]{1,3}", fullmatch=True),
                        st.from_regex(r"[0-9]{0,14}", fullmatch=True))  # fmt: skip


@settings(max_examples=1000)
@given(plus_digits)
@example("+33612345678")  # kept as written
@example("+3361234")  # too short: no possible number
@example("+4402079460000")  # a national prefix after the country code: parsed
@example("+310000000")  # a leading zero after the country code: parsed
@example("+5491123456789")  # Argentina's prefix pattern matches anything: parsed
@example("+789123456789")  # Russia's national prefix 8 after +7, stripped by the parser
def test_as_written_agrees_with_phonenumbers(number: str) -> None:
    """Where ``_as_written`` answers without the parser, the parser (``_parsed``: phonenumbers
    alone) answers the same."""
    verdict = _as_written(number)
    if verdict is True:
        assert _parsed(number, None) == number
    elif verdict is False:
        assert _parsed(number, None) is None


def test_as_written_agrees_with_phonenumbers_for_every_country_code_and_length() -> None:
    """Every country code, every national length phonenumbers reads (1-17 digits), two numbers
    each: where ``_as_written`` decides (its lengths asked of phonenumbers once per country code),
    the parser decides the same."""
    rng = random.Random(20261202)
    decided = 0
    for country_code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for length in range(1, 18):
            for _ in range(2):
                national = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(length - 1))
                number = f"+{country_code}{national}"
                verdict = _as_written(number)
                if verdict is not None:
                    decided += 1
                    assert _parsed(number, None) == (number if verdict else None), number
    assert decided > 7000  # most numbers are decided without the parser


def test_most_e164_numbers_skip_the_parser() -> None:
    """The fast path is taken for ordinary E.164 numbers (else it saves nothing)."""
    assert _as_written("+33612345678") is True
    assert _as_written("+14155550100") is True
    assert _as_written("+919876543210") is True
    assert _as_written("+3361234") is False
    assert _as_written("+4402079460000") is None
