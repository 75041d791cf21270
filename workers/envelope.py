"""The queue payload contract: one versioned envelope per delivery, serialized with orjson.

The receiver and the poller build envelopes; ``workers.jobs`` reads them. The raw body travels as
text so the worker re-parses exactly what the vendor sent. Bump ``VERSION`` on any change, and
keep reading the old version until no queued envelope can carry it.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

import attrs

from workers.errors import PayloadError
from workers.normalize.times import as_utc, format_utc, parse_time

VERSION = 1
# Headers worth keeping with the body: they describe it, never authenticate it.
KEPT_HEADERS = ("content-type", "user-agent", "x-callr-eventid", "x-vobiz-event", "x-vobiz-request-id")


@attrs.frozen(slots=False)
class Envelope:
    feed: str
    account: str
    received_at: datetime
    body: str
    content_type: str = "application/json"
    headers: Mapping[str, str] = attrs.field(factory=dict)
    ingest_id: str = attrs.field(factory=lambda: new_ingest_id())

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "feed": self.feed,
            "account": self.account,
            "received_at": format_utc(self.received_at),
            "body": self.body,
            "content_type": self.content_type,
            "headers": dict(self.headers),
            "ingest_id": self.ingest_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Envelope:
        version = data.get("v")
        if version != VERSION:
            raise PayloadError(f"unsupported envelope version {version!r}")
        try:
            return cls(
                feed=str(data["feed"]),
                account=str(data["account"]),
                received_at=_received_at(data["received_at"]),
                body=str(data["body"]),
                content_type=str(data.get("content_type") or "application/json"),
                headers={str(k): str(v) for k, v in _mapping(data.get("headers") or {}, "headers").items()},
                ingest_id=str(data["ingest_id"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise PayloadError(f"invalid envelope: {e}") from None


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be an object, got {value!r}")
    return value


@lru_cache(maxsize=64)
def _received_at(text: str) -> datetime:
    """The envelope's receipt time, parsed once per distinct text: a batch's envelopes share a few
    (a backfill page's 500 rows, one), and sharing the object shares its hash in the caches of
    ``format_utc`` too. Anything but text is refused here (``parse_time`` reads text only)."""
    if not isinstance(text, str):
        raise ValueError(f"received_at must be a timestamp string, got {text!r}")
    received_at = parse_time(text)
    if received_at is None:
        raise ValueError("empty received_at")
    return as_utc(received_at)


_PROCESS_PREFIX = secrets.token_hex(8)
_counter = itertools.count()


def new_ingest_id() -> str:
    """Unique without a syscall per call: 64 random bits per process, then a counter."""
    return f"{_PROCESS_PREFIX}{next(_counter):016x}"


def _reseed_after_fork() -> None:
    global _PROCESS_PREFIX, _counter
    _PROCESS_PREFIX, _counter = secrets.token_hex(8), itertools.count()


os.register_at_fork(after_in_child=_reseed_after_fork)


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in KEPT_HEADERS if name in headers}
