"""``cdr-ingest backfill VENDOR --since --until``: one window, every configured source of the
vendor (or the one named), then exit. Re-running a window changes nothing: the rows come again and
the store's upsert merges them into the same rows. Checkpoints are left alone (only the loop moves
them), so a backfill of an old window never makes the poller skip anything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from workers.errors import ConfigError
from workers.poller.checkpoints import whole_second, windows
from workers.poller.http import HttpClient
from workers.poller.progress import Reporter
from workers.poller.pump import Enqueue, Tally, pump, targets
from workers.poller.sources import Memory, sources_for
from workers.settings import Settings


def run_backfill(
    settings: Settings,
    vendor: str,
    since: datetime,
    until: datetime,
    *,
    client: HttpClient,
    enqueue: Enqueue,
    reporter: Reporter,
    clock: Callable[[], datetime],
    source: str | None = None,
    account: str | None = None,
) -> Tally:
    """Fetch and enqueue ``[since, until)``; raises ``SourceStopped``/``TransientError`` to the caller."""
    if since >= until:
        raise ConfigError(f"--since ({since.isoformat()}) must be before --until ({until.isoformat()})")
    pairs = targets(settings, vendor=vendor, source=source, account=account)
    if not pairs:
        known = ", ".join(s.name for s in sources_for(vendor)) or "none"
        raise ConfigError(
            f"no configured {vendor} account has credentials for a poller source ({known}); see deploy/env.example"
        )
    plan = [(a, s, list(windows(whole_second(since), whole_second(until), s.window))) for a, s in pairs]
    label = f"{vendor} {since:%Y-%m-%d %H:%M} → {until:%Y-%m-%d %H:%M}"
    reporter.start(label, sum(len(w) for _, _, w in plan))
    total = Tally()
    outcome = "failed"
    try:
        for acct, src, spans in plan:
            memory = Memory()  # a file is read once per run; nothing is kept
            for start, end in spans:
                done = pump(src, acct, start, end, client=client, enqueue=enqueue, clock=clock, on_page=reporter.page,
                            memory=memory)  # fmt: skip
                reporter.window(src.name, acct.id, start, end, done)
                total.add(done)
        outcome = "done"
    finally:
        reporter.finish(outcome)
    return total
