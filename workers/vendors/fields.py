"""Typed reads from a vendor record, raising ``PayloadError`` that names the field. Pure.

Every feed adapter reads through ``Fields`` so "what went wrong" always says which field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from workers.errors import PayloadError
from workers.normalize.money import to_currency, to_decimal
from workers.normalize.times import from_gregorian, parse_time
from workers.vendors import Ignored


class Fields:
    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise PayloadError(f"{where} must be an object")
        self.data: Mapping[str, Any] = data
        self.where = where

    def _fail(self, key: str, problem: str) -> PayloadError:
        return PayloadError(f"{self.where}.{key}: {problem}")

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def text(self, key: str) -> str | None:
        """A string or number as text; empty or absent → None."""
        value = self.data.get(key)
        if type(value) is str:  # the common case first: this runs a dozen times per CDR
            return value.strip() or None
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, int | float | str):
            text = str(value).strip()
            return text or None
        raise self._fail(key, f"expected text, got {type(value).__name__}")

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self._fail(key, "required")
        return value

    def unless_event(self, key: str, wanted: str) -> Ignored | None:
        """None when ``key`` names the event that carries the CDR (any case); ``Ignored`` for any
        other event; ``PayloadError`` naming ``key`` when the payload names no event."""
        event = self.text(key)
        if event is None:
            raise self._fail(key, "required (the event's name)")
        return None if event.lower() == wanted.lower() else Ignored(f"event {event} carries no CDR")

    def first_key(self, *keys: str) -> str:
        """The first of several spellings of one field present in the record (else the first)."""
        return next((k for k in keys if self.data.get(k) is not None), keys[0])

    def identifier(self, key: str) -> str:
        """A required id that may be a (big) integer or a string; kept as exact text."""
        value = self.data.get(key)
        if isinstance(value, float) or isinstance(value, bool):
            raise self._fail(key, "must be an integer or a string, not a float")
        return self.required_text(key)

    def integer(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise self._fail(key, "expected an integer, got a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
            try:
                number = Decimal(value.strip())
            except ArithmeticError:
                number = None
            if number is not None and number.is_finite() and number == number.to_integral_value():
                return int(number)
        raise self._fail(key, f"expected an integer, got {value!r}")

    def number(self, key: str) -> float | None:
        """A measurement (MOS, jitter): float is right for these, never for money."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise self._fail(key, f"expected a number, got {value!r}") from None

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise self._fail(key, f"expected a boolean, got {value!r}")

    def time(self, key: str, naive_tz: tzinfo = UTC) -> datetime | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, f"expected a timestamp string, got {value!r}")
        try:
            return parse_time(value, naive_tz)
        except ValueError as e:
            raise self._fail(key, str(e)) from None

    def gregorian(self, key: str) -> datetime | None:
        """Kazoo Gregorian seconds, as an integer or a string of digits."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
            raise self._fail(key, f"expected Gregorian seconds, got {value!r}")
        return from_gregorian(value)

    def currency(self, key: str) -> str | None:
        try:
            return to_currency(self.text(key))
        except ValueError as e:
            raise self._fail(key, str(e)) from None

    def decimal(self, key: str) -> Decimal | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str | int | float):
            raise self._fail(key, f"expected an amount, got {value!r}")
        try:
            return to_decimal(value)
        except ValueError as e:
            raise self._fail(key, str(e)) from None

    def rest(self, consumed: frozenset[str]) -> dict[str, Any]:
        """The fields no column took, kept as they came (the row's ``extra``)."""
        return {k: v for k, v in self.data.items() if k not in consumed and v is not None}
