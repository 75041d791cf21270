"""Money: Decimal in major units, never through float arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.normalize.money import CENTS, KAZOO_UNITS, from_minor, to_currency, to_decimal


def test_float_goes_through_its_text() -> None:
    """0.1 on the wire is Decimal("0.1"), not the binary fraction behind the float."""
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(0.0045) == Decimal("0.0045")


@pytest.mark.parametrize(
    ("value", "per", "expected"),
    [("5.50", CENTS, Decimal("0.055")), ("0.8925", CENTS, Decimal("0.008925")), (1234, KAZOO_UNITS, Decimal("0.1234"))],
)
def test_minor_units(value: str | int, per: Decimal, expected: Decimal) -> None:
    """Cents (Callr) and Kazoo units (1/10,000 dollar) convert exactly to major units."""
    assert from_minor(value, per) == expected


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", True])
def test_not_an_amount(value: object) -> None:
    """Garbage, NaN and infinities are refused."""
    with pytest.raises(ValueError):
        to_decimal(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), (" 5 ", Decimal(5))])
def test_empty_and_spaces(value: str | None, expected: Decimal | None) -> None:
    """An empty amount is None; surrounding spaces are ignored."""
    assert to_decimal(value) == expected


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**9), max_value=10**9))
def test_text_roundtrip_exact(value: Decimal) -> None:
    """Any decimal string converts exactly."""
    assert to_decimal(str(value)) == value


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_float_matches_its_repr(value: float) -> None:
    """A float converts to the decimal of its shortest repr."""
    assert to_decimal(value) == Decimal(repr(value))


@pytest.mark.parametrize(("value", "expected"), [("eur", "EUR"), (" INR ", "INR"), ("", None), (None, None)])
def test_currency(value: str | None, expected: str | None) -> None:
    """ISO 4217 codes are upper-cased; empty is None."""
    assert to_currency(value) == expected


@pytest.mark.parametrize("value", ["EURO", "E1R", "€€€"])
def test_bad_currency(value: str) -> None:
    """Anything but three ASCII letters is refused."""
    with pytest.raises(ValueError):
        to_currency(value)
