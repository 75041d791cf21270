"""The queue envelope: round-trips through orjson, refuses unknown versions."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from workers.envelope import Envelope, kept_headers
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
