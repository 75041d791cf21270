"""Times to aware UTC datetimes. Pure.

Handles ISO 8601 with or without a zone (a missing zone means UTC, as Sinch advises), 7-digit
fractions (Sinch), space- and underscore-separated forms (Callr v1, Kazoo ``datetime``), unix
seconds and Kazoo's Gregorian seconds. A vendor whose zone-less times are local (Vobiz console
time) passes the zone to read them in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

# Kazoo counts seconds from 0000-01-01 (core/kazoo_stdlib/include/kz_types.hrl).
UNIX_EPOCH_IN_GREGORIAN = 62_167_219_200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Fractions longer than microseconds are cut to six digits before parsing.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: str | None, naive_tz: tzinfo = UTC) -> datetime | None:
    """An ISO-like timestamp string → aware UTC datetime; empty → None; garbage → ValueError.
    A value without a zone is read in ``naive_tz`` (UTC unless the vendor says otherwise)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) >= 11 and text[10] in " _":
        text = text[:10] + "T" + text[11:]
    if len(text) > 26:  # room for a fraction of 7+ digits after YYYY-MM-DDTHH:MM:SS
        text = _LONG_FRACTION.sub(r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a timestamp: {value!r}") from None
    return as_utc(parsed, naive_tz)


def as_utc(value: datetime, naive_tz: tzinfo = UTC) -> datetime:
    """A naive datetime is taken as ``naive_tz`` (UTC by default); an aware one is converted to UTC."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=naive_tz)
    return value.astimezone(UTC)


def before(moment: datetime | None, seconds: int | None) -> datetime | None:
    """``seconds`` before ``moment`` (a start from an end and a duration); None if either is unknown."""
    if moment is None or seconds is None:
        return None
    return moment - timedelta(seconds=seconds)


def after(moment: datetime | None, seconds: int | None) -> datetime | None:
    """``seconds`` after ``moment`` (an end from a start and a duration); None if either is unknown."""
    if moment is None or seconds is None:
        return None
    return moment + timedelta(seconds=seconds)


def from_unix(seconds: int | float | str) -> datetime:
    return _EPOCH + timedelta(seconds=_number(seconds))


def from_gregorian(seconds: int | str) -> datetime:
    """Kazoo Gregorian seconds (11 digits today) → UTC."""
    return from_unix(_number(seconds) - UNIX_EPOCH_IN_GREGORIAN)


def _number(value: int | float | str) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"not a number of seconds: {value!r}")
    if isinstance(value, int | float):
        return value
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


_TWO_DIGITS = tuple([f"{n:02d}" for n in range(100)])


def format_utc_text(value: datetime) -> str:
    """Fixed-width UTC text (``2024-04-24T17:42:28.876000Z``) that sorts like the instant.
    Uncached: for a call's own times, which hardly repeat (a cache miss costs ~0.4 µs more).
    Built from the fields, two digits at a time: compiled, ~0.25 µs against ~0.8 for ``isoformat``
    (which asks the zone for its offset, then the text is cut); a backfilled row has three."""
    utc = value if value.tzinfo is UTC else as_utc(value)
    year = utc.year
    if year < 1000:  # isoformat pads the year to four digits; never a call's
        text = utc.isoformat(timespec="microseconds")
        return text[:-6] + "Z"
    d, us = _TWO_DIGITS, utc.microsecond
    return (
        f"{year}-{d[utc.month]}-{d[utc.day]}T{d[utc.hour]}:{d[utc.minute]}:{d[utc.second]}"
        f".{d[us // 10000]}{d[us // 100 % 100]}{d[us % 100]}Z"
    )


@lru_cache(maxsize=1024)
def format_utc(value: datetime) -> str:
    """``format_utc_text``, cached: a batch formats the same few instants (its receipt, its write
    time) on every row."""
    return format_utc_text(value)
