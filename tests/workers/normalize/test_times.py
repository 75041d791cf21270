"""Times: every vendor encoding becomes an aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.normalize.times import (
    UNIX_EPOCH_IN_GREGORIAN,
    as_utc,
    before,
    format_utc,
    format_utc_text,
    from_gregorian,
    from_unix,
    parse_time,
)

# Zones without daylight saving, so every wall time exists exactly once.
ZONES = ["UTC", "Asia/Kolkata", "Asia/Tokyo", "America/Phoenix"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-24T17:42:28.876Z", datetime(2024, 4, 24, 17, 42, 28, 876000, tzinfo=UTC)),
        ("2024-04-24T17:42:28Z", datetime(2024, 4, 24, 17, 42, 28, tzinfo=UTC)),
        ("2024-01-19T09:19:28.9372196Z", datetime(2024, 1, 19, 9, 19, 28, 937219, tzinfo=UTC)),
        ("2024-01-19T09:19:28.937", datetime(2024, 1, 19, 9, 19, 28, 937000, tzinfo=UTC)),
        ("2019-06-12 10:19:50", datetime(2019, 6, 12, 10, 19, 50, tzinfo=UTC)),
        ("2019-06-12_10:19:50", datetime(2019, 6, 12, 10, 19, 50, tzinfo=UTC)),
        ("2024-04-24T19:42:28+02:00", datetime(2024, 4, 24, 17, 42, 28, tzinfo=UTC)),
    ],
)
def test_parse_time_forms(text: str, expected: datetime) -> None:
    """ISO with or without zone, 7-digit fractions, space and underscore separators all parse to UTC."""
    assert parse_time(text) == expected
    assert parse_time(text).tzinfo is UTC  # type: ignore[union-attr]


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_is_none(text: str | None) -> None:
    """No value is None, never a made-up time."""
    assert parse_time(text) is None


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01T00:00:00Z", "12345"])
def test_garbage_raises(text: str) -> None:
    """An unreadable timestamp raises ValueError rather than guessing."""
    with pytest.raises(ValueError):
        parse_time(text)


def test_gregorian_seconds() -> None:
    """Kazoo Gregorian seconds (the sample's 63724349409) are unix + 62167219200, as int or string."""
    assert from_gregorian("63724349409") == from_unix(63724349409 - UNIX_EPOCH_IN_GREGORIAN)
    assert from_gregorian(UNIX_EPOCH_IN_GREGORIAN) == datetime(1970, 1, 1, tzinfo=UTC)
    assert from_gregorian(63724349409) == datetime(2019, 5, 6, 8, 10, 9, tzinfo=UTC)  # date -u -d @1557130209


aware = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2090, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7))]),
)


@given(aware)
def test_roundtrip_and_always_utc(value: datetime) -> None:
    """format_utc → parse_time returns the same instant, always in UTC (never naive)."""
    parsed = parse_time(format_utc(value))
    assert parsed == value
    assert parsed is not None and parsed.tzinfo is UTC


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)))
def test_naive_is_taken_as_utc(value: datetime) -> None:
    """A value without a zone is read as UTC (Sinch's advice), never as local time."""
    parsed = parse_time(value.isoformat())
    assert parsed == value.replace(tzinfo=UTC)


@given(aware, aware)
def test_format_sorts_like_instants(a: datetime, b: datetime) -> None:
    """The fixed-width text SQLite stores sorts exactly like the instants."""
    assert (format_utc(a) < format_utc(b)) == (a < b)


def test_format_is_fixed_width() -> None:
    """Six fraction digits even when the fraction is zero, and Z for UTC, whatever the zone given."""
    assert format_utc(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00.000000Z"
    assert format_utc(datetime(2024, 1, 1, 5, 30, 0, 7, tzinfo=timezone(timedelta(hours=5, minutes=30)))) == (
        "2024-01-01T00:00:00.000007Z"
    )


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone.min])))
def test_format_is_isoformat_in_utc_with_six_digits_and_z(value: datetime) -> None:
    """The text built from the fields is ``isoformat``'s, in UTC, with microseconds and Z: years 1-9999."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # a year-1 time east of UTC, or a year-9999 one west of it: no UTC instant
        return
    assert format_utc_text(value) == utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def test_naive_time_in_a_given_zone() -> None:
    """A zone-less time is read in the zone passed (Vobiz console time); an explicit zone still wins."""
    kolkata = ZoneInfo("Asia/Kolkata")
    assert parse_time("2026-03-25 15:30:00", kolkata) == datetime(2026, 3, 25, 10, 0, tzinfo=UTC)
    assert parse_time("2026-03-25T15:30:00Z", kolkata) == datetime(2026, 3, 25, 15, 30, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)), st.sampled_from(ZONES))
def test_naive_in_zone_is_utc_and_round_trips(value: datetime, zone: str) -> None:
    """Reading a local wall time in its zone gives an aware UTC instant showing that wall time there."""
    parsed = parse_time(value.isoformat(), ZoneInfo(zone))
    assert parsed is not None and parsed.tzinfo is UTC
    assert parsed.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == value


@given(aware, st.one_of(st.none(), st.integers(min_value=0, max_value=10**7)))
def test_before(moment: datetime, seconds: int | None) -> None:
    """before() is the moment minus the seconds, stays UTC-aware, and is None when the seconds are unknown."""
    result = before(as_utc(moment), seconds)
    if seconds is None:
        assert result is None
    else:
        assert result is not None and result.tzinfo is UTC
        assert result + timedelta(seconds=seconds) == moment
    assert before(None, seconds) is None
