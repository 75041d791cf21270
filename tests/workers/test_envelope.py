"""The queue envelope: round-trips through orjson, refuses unknown versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from workers.envelope import Envelope, Unreadable, delivery_count, kept_headers, pack, unpack
from workers.errors import PayloadError


def test_roundtrip() -> None:
    """to_dict → JSON bytes → from_dict gives the same envelope."""
    e = Envelope(
        feed="callr.webhook",
        account="acct1",
        received_at=datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
        body='{"a": "é"}',
        content_type="application/json; charset=utf-8",
        headers={"user-agent": "CALLR/API 0.9942"},
    )
    assert Envelope.from_dict(orjson.loads(orjson.dumps(e.to_dict()))) == e


def test_unknown_version_refused() -> None:
    """An envelope of another version is a PayloadError, never misread."""
    data = Envelope(feed="f", account="a", received_at=datetime.now(UTC), body="{}").to_dict()
    data["v"] = 99
    with pytest.raises(PayloadError, match="version"):
        Envelope.from_dict(data)


def test_missing_field_refused() -> None:
    """A v1 envelope without its body is invalid."""
    data = Envelope(feed="f", account="a", received_at=datetime.now(UTC), body="{}").to_dict()
    del data["body"]
    with pytest.raises(PayloadError, match="body"):
        Envelope.from_dict(data)


def test_only_descriptive_headers_are_kept() -> None:
    """Signatures and tokens never travel in the envelope."""
    headers = {"content-type": "application/json", "authorization": "Bearer x", "x-callr-hmacsignature": "sig"}
    assert kept_headers(headers) == {"content-type": "application/json"}


NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def row_envelope(n: int, **over: Any) -> Envelope:
    values: dict[str, Any] = dict(feed="callr.export", account="acct1", received_at=NOW, body={"row": {"callid": n}})
    values.update(over)
    return Envelope(**values)


def test_a_text_body_is_written_as_version_one_and_an_object_body_as_version_two() -> None:
    """A webhook's envelope stays readable by any worker; a poller's row travels as the object it is."""
    text = Envelope(feed="f", account="a", received_at=NOW, body='{"a": 1}')
    row = row_envelope(1)
    assert text.to_dict()["v"] == 1 and row.to_dict()["v"] == 2
    for e in (text, row):
        assert Envelope.from_dict(orjson.loads(orjson.dumps(e.to_dict()))) == e
    assert row.to_dict()["body"] == {"row": {"callid": 1}}


def test_a_version_one_envelope_reads_its_body_as_text() -> None:
    """Version 1 never carried an object: whatever its body is, it is read as text, as before."""
    data = Envelope(feed="f", account="a", received_at=NOW, body="{}").to_dict() | {"body": {"a": 1}}
    assert Envelope.from_dict(data).body == "{'a': 1}"


def test_pack_groups_runs_of_shared_fields_and_unpack_gives_back_every_envelope_in_order() -> None:
    """Consecutive envelopes sharing feed, account, receipt time, content type and headers share a
    group; any of those changing starts the next one."""
    later = NOW + timedelta(seconds=1)
    envelopes = [
        row_envelope(1), row_envelope(2), row_envelope(3, received_at=later), row_envelope(4, feed="callr.jsonrpc"),
        row_envelope(5, account="acct2"), row_envelope(6, account="acct2", headers={"user-agent": "x"}),
        Envelope(feed="callr.webhook", account="acct2", received_at=later, body='{"text": true}'), row_envelope(7),
    ]  # fmt: skip
    groups = pack(envelopes)
    assert [len(g["deliveries"]) for g in groups] == [2, 1, 1, 1, 1, 1, 1]
    first, second = envelopes[:2]
    assert groups[0]["deliveries"] == [[first.ingest_id, {"row": {"callid": 1}}], [second.ingest_id, second.body]]
    assert delivery_count(groups) == len(envelopes)
    through_json = orjson.loads(orjson.dumps(groups))
    assert [e for g in through_json for e in unpack(g)] == envelopes


def test_unpack_reads_a_single_envelope_too() -> None:
    """A job's items may be single envelopes (the receiver's drain, jobs queued before groups)."""
    e = Envelope(feed="callr.webhook", account="a", received_at=NOW, body="{}")
    assert list(unpack(e.to_dict())) == [e]
    assert delivery_count([e.to_dict(), *pack([row_envelope(1), row_envelope(2)])]) == 3


def test_a_group_with_a_wrong_shared_field_is_unreadable_whole() -> None:
    """Its deliveries cannot be read without it: the group is kept whole, with why."""
    (group,) = pack([row_envelope(1), row_envelope(2)])
    for broken in ({**group, "received_at": 5}, {**group, "v": 9}, {**group, "deliveries": "x"},
                   {k: v for k, v in group.items() if k != "feed"}):  # fmt: skip
        (out,) = list(unpack(broken))
        assert isinstance(out, Unreadable) and out.item == broken and isinstance(out.error, PayloadError)


def test_a_delivery_that_is_not_a_pair_is_unreadable_alone() -> None:
    """Its neighbours in the group are read as they are."""
    (group,) = pack([row_envelope(1), row_envelope(2)])
    group["deliveries"].insert(1, ["only-an-id"])
    first, bad, second = unpack(group)
    assert isinstance(first, Envelope) and isinstance(second, Envelope)
    assert isinstance(bad, Unreadable) and bad.item["deliveries"] == [["only-an-id"]]
    assert "[ingest_id, body]" in str(bad.error)
