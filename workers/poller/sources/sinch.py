"""Sinch poller source: the daily CDR files, Voice and Verification (vendors.md §4.1).

``SINCH_CDR_SOURCE`` is a directory (the dashboard's downloads) or ``s3://bucket/prefix`` (the bucket
Sinch uploads to on request); ``_files`` lists and reads both. Each line is typed and split by
``workers.vendors.sinch._layout`` (header or field count) and posted as ``{"type", "file", "line",
"row"}``: voice rows to ``sinch.files``, verification rows to ``sinch.verifications``, in pages of
consecutive rows of one feed (one job each). A line that fits no layout is posted too, whole, and
quarantined by the worker with its text.

Which files a window ``[since, until)`` reads, file naming being UNKNOWN: every file modified in
the window (so the poll loop, from its checkpoint minus ``POLL_OVERLAP_S``, reads new files and a
late file for an old day alike), and every file whose name holds a date (``2024-05-01``,
``20240501``, ``2024_05_01``) that the window touches (so ``cdr-ingest backfill sinch --since
--until`` reads those days' files wherever and whenever they landed). A file already read, by
key and fingerprint (size and mtime, or the S3 ETag), is skipped: the checkpoint's ``state`` keeps
the files the loop read (``Memory``), forgetting those no later window can select, and a backfill
reads each file once per run. A changed file (same key, new fingerprint) is read again whole: the
store's merge makes its old rows harmless.

Rows of another application: a file may hold several applications' calls (``ApplicationKey``);
an account with an application key (``SINCH_APP_KEY``) takes only its own, and counts the others
in its ``poll.file`` log line (another account with the same source takes them). An account
without one (id ``default``) takes every row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from workers.logs import get_logger
from workers.normalize.times import format_utc
from workers.poller.http import HttpClient
from workers.poller.sources import PAGE_ROWS, Memory, Page, Source
from workers.poller.sources._files import RemoteFile, lines, location
from workers.settings import Account
from workers.vendors.sinch._layout import Line, split_file

WINDOW = timedelta(days=1)
_DATE = re.compile(r"(?<!\d)(20\d\d)[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")
log = get_logger("cdr_ingest.poller")


def configured(account: Account) -> bool:
    return bool(account.option("cdr_source"))


def file_day(key: str) -> date | None:
    """The date a file's name holds (the last one in its base name, else in its path), if any."""
    for part in (key.rsplit("/", 1)[-1], key):
        found = _DATE.findall(part)
        if found:
            try:
                return date(*(int(x) for x in found[-1]))
            except ValueError:
                return None
    return None


def selected(key: str, modified: datetime, since: datetime, until: datetime) -> bool:
    """Modified in ``[since, until)``, or named for a day the window touches."""
    if since <= modified < until:
        return True
    day = file_day(key)
    return day is not None and since.date() <= day <= (until - timedelta(microseconds=1)).date()


def fetch(
    account: Account, since: datetime, until: datetime, client: HttpClient, memory: Memory | None = None
) -> Iterator[Page]:
    memory = memory if memory is not None else Memory()
    for key, modified in memory.remembered().items():
        if modified is None or (modified < since and not selected(key, modified, since, until)):
            memory.forget(key)
    place = location(account)
    files = sorted((f for f in place.list() if selected(f.key, f.modified, since, until)), key=lambda f: f.modified)
    for file in files:
        if memory.seen(file.key, file.fingerprint):
            continue
        yield from file_pages(account, file, split_file(lines(place.chunks(file))))
        memory.remember(file.key, file.fingerprint, file.modified)


def file_pages(account: Account, file: RemoteFile, rows: Iterable[Line]) -> Iterator[Page]:
    """The lines of one file as pages of one feed each; other applications' rows counted, not sent."""
    app = None if account.id == "default" else account.id.strip().lower()
    counts: Counter[str] = Counter()
    page: list[dict[str, Any]] = []
    feed = FILES.feed
    for line in rows:
        owner = str(line.row.get("ApplicationKey") or "").strip().lower()
        if app and owner and owner != app and not line.malformed:
            counts["other_applications"] += 1
            continue
        line_feed = "sinch.verifications" if line.kind == "verification" else FILES.feed
        if page and (line_feed != feed or len(page) >= PAGE_ROWS):
            yield Page(rows=page, feed=feed)
            page = []
        feed = line_feed
        page.append({"type": line.kind, "file": file.key, "line": line.number, "row": line.row})
        counts["malformed" if line.malformed else line.kind] += 1
    if page:
        yield Page(rows=page, feed=feed)
    log.info("poll.file", source=FILES.name, account=account.id, file=file.key, modified=format_utc(file.modified),
             **dict(sorted(counts.items())))  # fmt: skip


FILES = Source("sinch.files", "sinch.files", WINDOW, fetch, configured)
SOURCES = (FILES,)
