"""The canonical CDR (mirrors ``shared/schema.md``): what every feed adapter produces.

``CDR`` is what one delivery says about one call leg; ``StoredCDR`` is the merged row with its
ingestion bookkeeping. Pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import attrs


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"
    UNKNOWN = "unknown"


class Status(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"


class HangupSource(StrEnum):
    CALLER = "caller"
    CALLEE = "callee"
    SYSTEM = "system"
    CARRIER = "carrier"
    UNKNOWN = "unknown"


class Source(StrEnum):
    """The path a delivery took; the store's ``sources`` column is the union of these."""

    BACKFILL = "backfill"
    PUSH = "push"
    WEBHOOK = "webhook"


@attrs.frozen(slots=False)
class CDR:
    """One call leg as one delivery describes it. ``None`` means the delivery did not say."""

    # Fixed by the id, never merged; and the fields whose backfill value wins (workers.merge).
    IDENTITY: ClassVar[tuple[str, ...]] = ("vendor", "account_id", "call_id", "leg")
    BILLING: ClassVar[frozenset[str]] = frozenset({"cost", "currency", "billed_s"})

    vendor: str
    account_id: str | None
    call_id: str
    leg: str | None = None
    other_leg_call_id: str | None = None
    interaction_id: str | None = None
    direction: Direction = Direction.UNKNOWN
    from_number: str | None = None
    to_number: str | None = None
    from_name: str | None = None
    caller_restricted: bool | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: int | None = None
    talk_s: int | None = None
    billed_s: int | None = None
    ring_s: int | None = None
    status: Status = Status.UNKNOWN
    q850_cause: int | None = None
    hangup_cause: str | None = None
    sip_code: int | None = None
    hangup_source: HangupSource | None = None
    cost: Decimal | None = None
    currency: str | None = None
    mos: float | None = None
    jitter_ms: float | None = None
    packet_loss_pct: float | None = None
    codec: str | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    @cached_property
    def id(self) -> str:
        return cdr_id(self.vendor, self.account_id, self.call_id, self.leg)


def cdr_id(vendor: str, account_id: str | None, call_id: str, leg: str | None = None) -> str:
    """Stable row id ``vendor:account:call_id[:leg]``, so every re-delivery maps to the same row."""
    base = f"{vendor}:{account_id or ''}:{call_id}"
    return f"{base}:{leg}" if leg else base


class Identified(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=Identified)


@attrs.frozen(slots=False)
class Stored(Generic[R]):
    """A merged row: the record (a ``CDR``; a ``Verification`` in the verifications table) as all
    deliveries so far describe it, plus bookkeeping. The record keeps the name ``cdr``.

    ``versions`` records, per field, which delivery set it (see ``workers.merge``); it is what
    makes merging independent of the order deliveries are processed in.
    """

    cdr: R
    sources: frozenset[Source]
    first_seen_at: datetime
    updated_at: datetime
    raw: Mapping[str, Any]
    versions: Mapping[str, str]

    @property
    def id(self) -> str:
        return self.cdr.id


class GroupedVersions(Mapping[str, str]):
    """``Stored.versions`` of a row first seen in this batch: its keys grouped under the version
    that set them (one or two), the way the store writes them. Built without a per-key map and
    written without regrouping; read per key (the next merge), the map is built once."""

    __slots__ = ("grouped", "_by_key")

    def __init__(self, grouped: dict[str, list[str]]) -> None:
        self.grouped = grouped
        self._by_key: dict[str, str] | None = None

    def _map(self) -> dict[str, str]:
        if self._by_key is None:
            self._by_key = {key: version for version, keys in self.grouped.items() for key in keys}
        return self._by_key

    def __getitem__(self, key: str) -> str:
        return self._map()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map())

    def __len__(self) -> int:
        return len(self._map())

    def __repr__(self) -> str:
        return f"GroupedVersions({self.grouped!r})"


StoredCDR = Stored[CDR]
