"""Money as ``Decimal`` in major units with an ISO 4217 currency. Pure; never through float math.

A float that arrives on the wire (Vobiz ``cost``, Sinch ``debit.amount``) is converted through its
shortest text form, so ``0.1`` becomes ``Decimal("0.1")``, not the binary value behind it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

CENTS = Decimal(100)
KAZOO_UNITS = Decimal(10_000)  # Kazoo: 1 dollar = 10,000 units


def to_decimal(value: str | int | float | Decimal | None) -> Decimal | None:
    """A money amount as Decimal; empty → None; not a finite number → ValueError."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError(f"not an amount: {value!r}")
        return None
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    else:
        text = value.strip()
        if not text:
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def from_minor(value: str | int | float | Decimal | None, per_major: Decimal) -> Decimal | None:
    """An amount in minor units (cents: ``CENTS``; Kazoo units: ``KAZOO_UNITS``) → major units."""
    amount = to_decimal(value)
    return None if amount is None else amount / per_major


def to_currency(value: str | None) -> str | None:
    """An ISO 4217 code, upper-cased; empty → None; anything else → ValueError."""
    if value is None:
        return None
    code = value.strip().upper()
    if not code:
        return None
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise ValueError(f"not an ISO 4217 currency: {value!r}")
    return code
