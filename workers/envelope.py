"""The queue payload contract: one versioned envelope per delivery, serialized with orjson.

The receiver and the poller build envelopes; ``workers.jobs`` reads them. A request's raw body
travels as text so the worker re-parses exactly what the vendor sent. A row the poller read from
an API page or a file has no bytes of its own to keep (the poller decoded the page): it travels as
the JSON object it is (version 2), and the worker reads it without a second decode.

A job's envelopes are ``pack``ed: a run of envelopes that share their feed, account, receipt time,
content type and headers (a backfill page: 2,000 rows) becomes one group naming those once, with
``[ingest_id, body]`` per delivery; ``unpack`` reads a group or a single envelope back. Against an
envelope dict per row with its row as JSON text, a 2,000-row backfill job costs the worker ~2.5 µs
a row less to read and the poller ~1 less to build (in process, the bench's Callr export rows).

Versions: 1, a single envelope with a text body (what the receiver writes); 2, a single envelope
whose body may be a JSON object, or a group. This code reads both. Bump ``VERSION`` on any change,
and keep reading the old version until no queued envelope can carry it; a worker older than
version 2 quarantines what it cannot read (kept whole, never lost), so upgrade workers before pollers;
replayed from quarantine, such a group is read again by the worker of the day (``unpack``).
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import attrs
import orjson

from workers.errors import PayloadError
from workers.normalize.times import as_utc, format_utc, parse_time

VERSION = 2
READABLE = (1, 2)
TEXT_BODY_VERSION = 1  # an envelope with a text body is written as version 1: any worker reads it
# Headers worth keeping with the body: they describe it, never authenticate it.
KEPT_HEADERS = ("content-type", "user-agent", "x-callr-eventid", "x-vobiz-event", "x-vobiz-request-id")


@attrs.frozen(slots=False)
class Envelope:
    feed: str
    account: str
    received_at: datetime
    body: str | dict[str, Any]  # the request's raw text; or, from the poller, the row as decoded
    content_type: str = "application/json"
    headers: Mapping[str, str] = attrs.field(factory=dict)
    ingest_id: str = attrs.field(factory=lambda: new_ingest_id())

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": TEXT_BODY_VERSION if isinstance(self.body, str) else VERSION,
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
        version = _version(data)
        try:
            return cls(ingest_id=str(data["ingest_id"]), body=_body(data["body"], version), **_shared(data))
        except (KeyError, TypeError, ValueError) as e:
            raise PayloadError(f"invalid envelope: {e}") from None


def pack(envelopes: Sequence[Envelope]) -> list[dict[str, Any]]:
    """``envelopes`` as a job carries them: each run sharing feed, account, receipt time, content
    type and headers as one group (module text). ``unpack`` reads them back, in order."""
    groups: list[dict[str, Any]] = []
    shared: tuple[Any, ...] | None = None
    deliveries: list[list[Any]] = []
    for e in envelopes:
        key = (e.feed, e.account, e.received_at, e.content_type, e.headers)
        if key != shared:
            shared, deliveries = key, []
            groups.append({
                "v": VERSION, "feed": e.feed, "account": e.account, "received_at": format_utc(e.received_at),
                "content_type": e.content_type, "headers": dict(e.headers), "deliveries": deliveries,
            })  # fmt: skip
        deliveries.append([e.ingest_id, e.body])
    return groups


# The content type of an ``Unreadable`` kept as an envelope: its body is the item, as JSON text.
KEPT_WHOLE = "application/x-cdr-ingest-invalid-envelope"


@attrs.frozen
class Unreadable:
    """An item of a job (or one delivery of a group) that is no envelope: kept whole, and why."""

    item: Mapping[str, Any]
    error: PayloadError

    def kept(self, now: datetime) -> Envelope:
        """The item as an envelope, for quarantine; ``unpack`` reads the item again from it."""
        item = self.item
        return Envelope(
            feed=str(item.get("feed", "unknown")),
            account=str(item.get("account", "unknown")),
            received_at=now,
            body=orjson.dumps(item, default=str).decode(),
            ingest_id=str(item.get("ingest_id") or new_ingest_id()),
            content_type=KEPT_WHOLE,
        )


def unpack(item: Mapping[str, Any]) -> Iterator[Envelope | Unreadable]:
    """One item of a job, a group (``pack``) or a single envelope (``Envelope.to_dict``), → its
    envelopes in order, one at a time. What cannot be read comes as ``Unreadable``: a group whose
    shared fields are wrong, whole; a delivery that is no ``[ingest_id, body]`` pair, alone. An
    unreadable item kept whole (``Unreadable.kept``, replayed from quarantine) is read again, once,
    from the item it wraps: a group a worker older than version 2 kept is read as the group it is,
    and what is still unreadable comes back with its own reason."""
    for envelope in _unpack(item):
        wrapped = _kept_item(envelope) if isinstance(envelope, Envelope) else None
        yield from (envelope,) if wrapped is None else _unpack(wrapped)


def _kept_item(envelope: Envelope) -> dict[str, Any] | None:
    """The item an envelope of ``Unreadable.kept`` wraps; None for any other envelope."""
    if envelope.content_type != KEPT_WHOLE or not isinstance(envelope.body, str):
        return None
    try:
        wrapped = orjson.loads(envelope.body)
    except orjson.JSONDecodeError:
        return None
    return wrapped if isinstance(wrapped, dict) else None


def _unpack(item: Mapping[str, Any]) -> Iterator[Envelope | Unreadable]:
    if "deliveries" not in item:
        try:
            yield Envelope.from_dict(item)
        except PayloadError as e:
            yield Unreadable(item, e)
        return
    try:
        version = _version(item)
        shared = _shared(item)
        deliveries = _deliveries(item["deliveries"])
    except PayloadError as e:
        yield Unreadable(item, e)
        return
    except (KeyError, TypeError, ValueError) as e:
        yield Unreadable(item, PayloadError(f"invalid envelope group: {e}"))
        return
    for delivery in deliveries:
        if isinstance(delivery, list) and len(delivery) == 2:
            yield Envelope(ingest_id=str(delivery[0]), body=_body(delivery[1], version), **shared)
        else:
            why = PayloadError(f"invalid envelope group: a delivery is not [ingest_id, body]: {delivery!r:.200}")
            yield Unreadable({**item, "deliveries": [delivery]}, why)


def delivery_count(items: Sequence[Mapping[str, Any]]) -> int:
    """How many deliveries a job's items carry (a group counts its own)."""
    return sum(len(i["deliveries"]) if isinstance(i.get("deliveries"), list) else 1 for i in items)


def _deliveries(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"deliveries must be a list, got {type(value).__name__}")
    return value


def _version(data: Mapping[str, Any]) -> int:
    version = data.get("v")
    if version not in READABLE:
        raise PayloadError(f"unsupported envelope version {version!r}")
    return int(version)


def _shared(data: Mapping[str, Any]) -> dict[str, Any]:
    """What an envelope shares with the others of its group: all but its ingest id and body."""
    headers = data.get("headers") or {}
    return {
        "feed": str(data["feed"]),
        "account": str(data["account"]),
        "received_at": _received_at(data["received_at"]),
        "content_type": str(data.get("content_type") or "application/json"),
        "headers": {str(k): str(v) for k, v in _mapping(headers, "headers").items()} if headers else {},
    }


def _body(value: Any, version: int) -> str | dict[str, Any]:
    """Text as it came; a JSON object from version 2 on (a row the poller decoded)."""
    if version >= 2 and isinstance(value, dict):
        return value
    return str(value)


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
