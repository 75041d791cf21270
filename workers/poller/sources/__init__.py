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
from typing import Any, Protocol

import httpx

from workers.normalize.times import format_utc, parse_time
from workers.poller.http import HttpClient
from workers.settings import Account

SOURCE_MODULES = ("callr", "vobiz", "kazoo", "sinch")
# Rows per RQ job: a page of a big answer is one job, small API pages share one (``pump``). RQ
# costs about a dozen Redis round trips and ~3 ms of a worker per job, so jobs carry thousands of
# rows. ``make bench``'s backfill, 500 -> 2,000: SQLite ~23,400 -> ~25,500 rows/s, PostgreSQL
# ~15,000-19,500 -> ~20,000-20,900 (1,000 and 4,000 did no better than 2,000).
PAGE_ROWS = 2000


@dataclass(frozen=True)
class Page:
    """Rows fetched together; they become one job. ``feed`` overrides the source's feed. Each row is
    a JSON object as read, the body of its envelope (``workers.envelope``, version 2)."""

    rows: Sequence[dict[str, Any]]
    feed: str | None = None


class Memory:
    """What a source remembers between polls, kept in its checkpoint's ``state``: the files it has
    read (key → fingerprint and modification time), so an unchanged file is not read again.

    The loop hands in the checkpoint's memory and saves it with the checkpoint once a window is
    queued; a backfill hands in a fresh one (each file read once per run, nothing kept). A source
    remembers a file only after its last page was taken, so a crash mid-file reads it again.
    """

    def __init__(self, state: Any = None) -> None:
        files = state.get("files") if isinstance(state, Mapping) else None
        self.files: dict[str, dict[str, str]] = dict(files) if isinstance(files, Mapping) else {}
        self.changed = False

    def seen(self, key: str, fingerprint: str) -> bool:
        return self.files.get(key, {}).get("fingerprint") == fingerprint

    def remember(self, key: str, fingerprint: str, modified: datetime) -> None:
        self.files[key] = {"fingerprint": fingerprint, "modified": format_utc(modified)}
        self.changed = True

    def remembered(self) -> dict[str, datetime | None]:
        """Every file remembered, with its modification time."""
        return {key: parse_time(info.get("modified")) for key, info in self.files.items()}

    def forget(self, key: str) -> None:
        """Drop a file no later window can select again, so the state stays small."""
        if self.files.pop(key, None) is not None:
            self.changed = True

    @property
    def state(self) -> dict[str, Any]:
        return {"files": dict(sorted(self.files.items()))}


class Fetch(Protocol):
    def __call__(
        self, account: Account, since: datetime, until: datetime, client: HttpClient, memory: Memory | None = None, /
    ) -> Iterator[Page]:
        """Pages of rows in ``[since, until)``; ``memory`` is for sources that read files."""


@dataclass(frozen=True)
class Source:
    name: str  # "<vendor>.<api>": the checkpoint's key and the log's source=
    feed: str  # the feed module parsing each row
    window: timedelta  # the longest span one fetch asks for
    fetch: Fetch  # (account, since, until, client[, memory]) -> pages of rows in [since, until)
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


def pages_of(rows: Iterable[dict[str, Any]], size: int = PAGE_ROWS) -> Iterator[Page]:
    """Rows cut into pages of at most ``size`` (an API that answers a window in one response)."""
    page: list[dict[str, Any]] = []
    for row in rows:
        page.append(row)
        if len(page) >= size:
            yield Page(rows=page)
            page = []
    if page:
        yield Page(rows=page)


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it is not JSON (the caller stops the source, saying so)."""
    try:
        return response.json()
    except ValueError:
        return None
