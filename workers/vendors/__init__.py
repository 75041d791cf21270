"""Feed registry: one module per feed, every one with the same surface (see ``Feed``).

The feed name mirrors the module path (``callr.webhook`` is ``workers/vendors/callr/webhook.py``);
its first part is the store's ``vendor``; its ``SOURCE`` goes into ``sources``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from datetime import datetime
from types import ModuleType
from typing import Any, Protocol, cast

import attrs

from workers.cdr import CDR, Source
from workers.settings import Account
from workers.verification import Verification


@attrs.frozen(slots=False)
class Record:
    """One call record found in a payload, before conversion."""

    call_id: str
    data: Mapping[str, Any]
    # The vendor's own id for this delivery (Callr event id), used to answer "duplicate".
    delivery_id: str | None = None
    # What the envelope around the record said (event type, direction), for ``to_cdr``.
    context: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=False)
class Ignored:
    """An authentic payload that carries no CDR (a ``*.started`` event): answered 200, not stored."""

    reason: str


class Feed(Protocol):
    FEED: str
    SOURCE: Source

    def parse(self, payload: Mapping[str, Any]) -> Record | Ignored: ...

    def to_cdr(self, record: Record, *, account: Account, received_at: datetime) -> CDR | Verification:
        """The record as a call leg (a ``Verification`` for ``sinch.verifications``, whose rows are
        not calls: they go to the verifications table)."""


FEED_MODULES = (
    "callr.webhook",
    "callr.actions",
    "callr.export",
    "callr.jsonrpc",
    "vobiz.trunk",
    "vobiz.callback",
    "vobiz.api",
    "sinch.dice",
    "sinch.files",
    "sinch.verifications",
    "kazoo.webhook",
    "kazoo.cdrs",
)


@functools.cache
def get_feed(name: str) -> Feed:
    if name not in FEED_MODULES:
        raise KeyError(f"unknown feed {name!r}")
    module: ModuleType = importlib.import_module(f"workers.vendors.{name}")
    return cast(Feed, module)


def vendor_of(feed: str) -> str:
    return feed.split(".", 1)[0]
