"""One window of one source into the queue: fetch its pages, one RQ job per ``PAGE_ROWS`` rows or so.

Shared by the forever loop and the one-off backfill. A row's envelope is what a webhook's would be
(same ``Envelope``, same ``workers.jobs.ingest``), with the row, as read, for its body: a JSON
object (``workers.envelope``: version 2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from workers.collector import young_collections_every
from workers.envelope import Envelope
from workers.poller.http import HttpClient
from workers.poller.sources import PAGE_ROWS, Memory, Source, all_sources
from workers.settings import Account, Settings

Enqueue = Callable[[Sequence[Envelope]], object]


@dataclass
class Tally:
    rows: int = 0
    pages: int = 0

    def add(self, other: Tally) -> None:
        self.rows += other.rows
        self.pages += other.pages


def targets(
    settings: Settings, *, vendor: str | None = None, source: str | None = None, account: str | None = None
) -> list[tuple[Account, Source]]:
    """Every (account, source) pair whose account has that API's credentials, optionally filtered."""
    pairs = []
    for s in all_sources():
        if (vendor and s.vendor != vendor) or (source and s.name != source):
            continue
        for a in settings.accounts_for(s.vendor):
            if (account is None or a.id == account) and s.configured(a):
                pairs.append((a, s))
    return pairs


# A page's rows and envelopes live until their job is written: young objects collected less often.
@young_collections_every()
def pump(
    source: Source,
    account: Account,
    since: datetime,
    until: datetime,
    *,
    client: HttpClient,
    enqueue: Enqueue,
    clock: Callable[[], datetime],
    on_page: Callable[[int], None] | None = None,
    memory: Memory | None = None,
) -> Tally:
    tally = Tally()
    pending: list[Envelope] = []
    for page in source.fetch(account, since, until, client, memory):
        if not page.rows:
            continue
        received_at = clock()
        feed = page.feed or source.feed
        pending += [Envelope(feed=feed, account=account.id, received_at=received_at, body=row) for row in page.rows]
        if len(pending) >= PAGE_ROWS:  # small API pages (Vobiz, Kazoo: 100 rows) share a job
            enqueue(pending)
            pending = []
        tally.rows += len(page.rows)
        tally.pages += 1
        if on_page is not None:
            on_page(len(page.rows))
    if pending:  # the whole window is queued before the caller moves its checkpoint
        enqueue(pending)
    return tally
