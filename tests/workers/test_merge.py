"""Merging re-deliveries (schema.md): idempotent, order-independent, null never overwrites,
backfill billing wins, sources union, first_seen_at the earliest receipt."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.cdr import CDR, Direction, HangupSource, Source, Status
from workers.merge import Delivery, as_comparable, merge
from workers.store.rows import pack_versions, unpack_versions

NOW = datetime(2025, 1, 1, tzinfo=UTC)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def cdr(**fields: object) -> CDR:
    return CDR(vendor="callr", account_id="a", call_id="1", **fields)  # type: ignore[arg-type]


def delivery(source: Source, minutes: int, ingest_id: str, **fields: object) -> Delivery:
    return Delivery(
        cdr=cdr(**fields),
        source=source,
        received_at=T0 + timedelta(minutes=minutes),
        ingest_id=ingest_id,
        raw={"n": ingest_id},
    )


def fold(deliveries: list[Delivery]) -> object:
    row = None
    for d in deliveries:
        row = merge(row, d, now=NOW)
    assert row is not None
    return row


maybe_int = st.none() | st.integers(0, 5)
maybe_money = st.none() | st.decimals(min_value=0, max_value=10, places=2)
deliveries = st.builds(
    lambda src, minute, i, talk, cost, status, name, extra, hangup: delivery(
        src, minute, f"id{i}", talk_s=talk, cost=cost, status=status, from_name=name, extra=extra, hangup_source=hangup
    ),
    st.sampled_from(list(Source)),
    st.integers(0, 3),
    st.integers(0, 10**6),
    maybe_int,
    maybe_money,
    st.sampled_from(list(Status)),
    st.none() | st.sampled_from(["A", "B", "unknown"]),
    st.dictionaries(st.sampled_from(["x", "y"]), st.integers(0, 2), max_size=2),
    st.none() | st.sampled_from(list(HangupSource)),
)


# An ingest id names one delivery (a fresh UUID per receipt), so two different deliveries never share one.
distinct_deliveries = st.lists(deliveries, min_size=1, max_size=5, unique_by=lambda d: d.ingest_id)


@given(distinct_deliveries, st.randoms())
@settings(max_examples=300)
def test_order_independent(items: list[Delivery], rnd: object) -> None:
    """Any order of the same deliveries gives the same row."""
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert as_comparable(fold(items)) == as_comparable(fold(shuffled))  # type: ignore[arg-type]


@given(distinct_deliveries)
def test_idempotent(items: list[Delivery]) -> None:
    """Applying every delivery twice gives the same row as applying it once."""
    assert as_comparable(fold(items + items)) == as_comparable(fold(items))  # type: ignore[arg-type]


@given(deliveries, deliveries)
def test_null_never_overwrites(first: Delivery, second: Delivery) -> None:
    """A value present in any delivery survives a later delivery that lacks it."""
    row = fold([first, second])
    for name in ("talk_s", "cost", "from_name"):
        if getattr(first.cdr, name) is not None or getattr(second.cdr, name) is not None:
            assert getattr(row.cdr, name) is not None  # type: ignore[attr-defined]


def test_newest_wins_for_call_fields() -> None:
    """Outside billing, the newest delivery's value wins whatever the processing order."""
    old = delivery(Source.WEBHOOK, 0, "a", from_name="Old", talk_s=5)
    new = delivery(Source.PUSH, 5, "b", from_name="New", talk_s=None)
    for order in itertools.permutations([old, new]):
        row = fold(list(order))
        assert row.cdr.from_name == "New"  # type: ignore[attr-defined]
        assert row.cdr.talk_s == 5  # type: ignore[attr-defined]


def test_backfill_billing_wins_even_when_older() -> None:
    """cost, currency and billed_s from a backfill beat a newer push; other fields do not."""
    backfill = delivery(Source.BACKFILL, 0, "a", cost=Decimal("0.10"), currency="EUR", billed_s=60, from_name="Export")
    push = delivery(Source.WEBHOOK, 9, "b", cost=Decimal("0.09"), currency="USD", billed_s=30, from_name="Hook")
    for order in itertools.permutations([backfill, push]):
        row = fold(list(order))
        assert (row.cdr.cost, row.cdr.currency, row.cdr.billed_s) == (Decimal("0.10"), "EUR", 60)  # type: ignore[attr-defined]
        assert row.cdr.from_name == "Hook"  # type: ignore[attr-defined]


def test_unknown_enums_do_not_overwrite() -> None:
    """An 'unknown' status or direction is absence of knowledge (those fields' default), not a value;
    an unknown hangup source (that field's default is null) and "unknown" text are values."""
    known = delivery(Source.BACKFILL, 0, "a", status=Status.ANSWERED, direction=Direction.INBOUND,
                     hangup_source=HangupSource.CALLER, from_name="Ann")  # fmt: skip
    unknown = delivery(Source.WEBHOOK, 5, "b", hangup_source=HangupSource.UNKNOWN, from_name="unknown")
    for order in ([known, unknown], [unknown, known]):
        row = fold(order)
        assert row.cdr.status is Status.ANSWERED  # type: ignore[attr-defined]
        assert row.cdr.direction is Direction.INBOUND  # type: ignore[attr-defined]
        assert row.cdr.hangup_source is HangupSource.UNKNOWN  # type: ignore[attr-defined]  # the newer one
        assert row.cdr.from_name == "unknown"  # type: ignore[attr-defined]


def test_bookkeeping() -> None:
    """sources is the union, first_seen_at the earliest receipt, raw the newest per path."""
    a = delivery(Source.WEBHOOK, 3, "a")
    b = delivery(Source.WEBHOOK, 1, "b")
    c = delivery(Source.BACKFILL, 2, "c")
    row = fold([a, b, c])
    assert row.sources == {Source.WEBHOOK, Source.BACKFILL}  # type: ignore[attr-defined]
    assert row.first_seen_at == T0 + timedelta(minutes=1)  # type: ignore[attr-defined]
    assert row.raw == {"webhook": {"n": "a"}, "backfill": {"n": "c"}}  # type: ignore[attr-defined]


def test_extra_merges_per_key() -> None:
    """Extra keys from different paths are all kept; a key present in both takes the newest."""
    a = delivery(Source.WEBHOOK, 0, "a", extra={"scenario": "S", "k": 1})
    b = delivery(Source.BACKFILL, 1, "b", extra={"trunk": "T", "k": 2})
    assert fold([b, a]).cdr.extra == {"scenario": "S", "trunk": "T", "k": 2}  # type: ignore[attr-defined]


def test_refuses_another_call() -> None:
    """Merging a delivery into another call's row is a bug, not a merge."""
    row = fold([delivery(Source.WEBHOOK, 0, "a")])
    other = Delivery(cdr=CDR(vendor="callr", account_id="a", call_id="2"), source=Source.PUSH,
                     received_at=T0, ingest_id="z", raw={})  # fmt: skip
    with pytest.raises(ValueError):
        merge(row, other, now=NOW)  # type: ignore[arg-type]


@given(distinct_deliveries)
def test_versions_pack_and_unpack(items: list[Delivery]) -> None:
    """The stored form of the versions reads back as the same map, one entry per distinct version."""
    versions = fold(items).versions  # type: ignore[attr-defined]
    packed = pack_versions(versions)
    assert unpack_versions(packed) == versions
    assert len(packed) == len(set(versions.values()))


def test_versions_in_the_first_layout_read_as_they_are() -> None:
    """Rows written before packing (one version per key) still read, and merge, unchanged."""
    row = fold([delivery(Source.WEBHOOK, 0, "a", talk_s=5)])
    assert unpack_versions(dict(row.versions)) == row.versions  # type: ignore[attr-defined]


def test_records_and_rows_are_immutable() -> None:
    """A merge builds new rows and never edits a delivery's record: both stay frozen (attrs)."""
    d = delivery(Source.WEBHOOK, 0, "a", status=Status.ANSWERED)
    row = merge(None, d, now=NOW)
    for obj, name in ((d.cdr, "status"), (d, "raw"), (row, "versions"), (row.cdr, "call_id")):
        with pytest.raises(AttributeError):
            setattr(obj, name, None)


@pytest.mark.parametrize(("source", "groups"), [(Source.BACKFILL, 2), (Source.WEBHOOK, 1)])
def test_a_new_rows_versions_are_written_as_grouped(source: Source, groups: int) -> None:
    """A first delivery's versions are grouped as built (ordinary, and billing from a backfill):
    the store writes them without regrouping, and they read back key by key."""
    row = merge(None, delivery(source, 0, "a", talk_s=5, cost=Decimal("1.5"), currency="EUR"), now=NOW)
    packed = pack_versions(row.versions)
    assert len(packed) == groups
    assert unpack_versions(packed) == dict(row.versions)
    assert row.versions["talk_s"] == row.versions["raw." + source.value]
    assert (row.versions["cost"] == row.versions["talk_s"]) is (source is not Source.BACKFILL)
