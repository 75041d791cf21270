"""Poller sources: one module per vendor API, each listing its ``Source`` objects in ``SOURCES``.

A source knows how to ask one vendor API for the CDRs of a time window and hands back pages of
rows, each row already shaped as the body its feed parses (``workers/vendors/<vendor>/<feed>.py``).
It does no normalization and no storing: the poller turns each page into one RQ job of envelopes.
Adding a source: write ``sources/<vendor>.py`` with ``SOURCES = (Source(...), ...)``, add the
module name to ``SOURCE_MODULES``, and register its feed in ``workers/vendors/__init__.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workers.poller.http import HttpClient
from workers.settings import Account

SOURCE_MODULES = ("callr",)
PAGE_ROWS = 500  # rows per RQ job when an API hands back more at once


@dataclass(frozen=True)
class Page:
    """Rows fetched together; they become one job. ``feed`` overrides the source's feed."""

    rows: Sequence[Mapping[str, Any]]
    feed: str | None = None


Fetch = Callable[[Account, datetime, datetime, HttpClient], Iterator[Page]]


@dataclass(frozen=True)
class Source:
    name: str  # "<vendor>.<api>": the checkpoint's key and the log's source=
    feed: str  # the feed module parsing each row
    window: timedelta  # the longest span one fetch asks for
    fetch: Fetch  # (account, since, until, client) -> pages of rows in [since, until)
    configured: Callable[[Account], bool]  # has this account the credentials this API needs?

    @property
    def vendor(self) -> str:
        return self.name.split(".", 1)[0]


def all_sources() -> tuple[Source, ...]:
    found: list[Source] = []
    for module_name in SOURCE_MODULES:
        module = importlib.import_module(f"workers.poller.sources.{module_name}")
        found.extend(module.SOURCES)
    return tuple(found)


def sources_for(vendor: str) -> tuple[Source, ...]:
    return tuple(s for s in all_sources() if s.vendor == vendor)


def get_source(name: str) -> Source:
    for s in all_sources():
        if s.name == name:
            return s
    raise KeyError(f"unknown source {name!r}")


def pages_of(rows: Iterable[Mapping[str, Any]], size: int = PAGE_ROWS) -> Iterator[Page]:
    """Rows cut into pages of at most ``size`` (an API that answers a window in one response)."""
    page: list[Mapping[str, Any]] = []
    for row in rows:
        page.append(row)
        if len(page) >= size:
            yield Page(rows=page)
            page = []
    if page:
        yield Page(rows=page)
