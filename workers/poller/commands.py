"""The poller's ``cdr-ingest`` commands: ``poll``, ``backfill``, ``reconcile``. Dispatch only.

``workers/cli.py`` adds these parsers and commands; each loads nothing itself (the settings come in).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from workers.errors import ConfigError, TransientError
from workers.normalize.times import parse_time
from workers.poller.runtime import opened
from workers.settings import Settings

# The rest is imported inside each command: `cdr-ingest worker` should not load rich or the poller.


def cmd_poll(settings: Settings, args: argparse.Namespace) -> int:
    from workers.poller.loop import Poller

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with opened(settings, with_store=True, stop=stop) as rt:
        assert rt.store is not None
        Poller(settings, store=rt.store, enqueue=rt.enqueue, client=rt.client).run(stop)
    return 0


def cmd_backfill(settings: Settings, args: argparse.Namespace) -> int:
    from workers.poller.backfill import run_backfill
    from workers.poller.http import SourceStopped
    from workers.poller.progress import reporter_for

    since, until = parse_bound(args.since), parse_bound(args.until, end=True)
    with opened(settings, with_store=False) as rt:
        try:
            run_backfill(
                settings, args.vendor, since, until, client=rt.client, enqueue=rt.enqueue,
                reporter=reporter_for(sys.stdout), clock=lambda: datetime.now(UTC),
                source=args.source, account=args.account,
            )  # fmt: skip
        except (SourceStopped, TransientError) as e:
            print(f"cdr-ingest backfill: {e} (re-running the same window is safe)", file=sys.stderr)
            return 1
    return 0


def cmd_reconcile(settings: Settings, args: argparse.Namespace) -> int:
    import orjson
    from rich.console import Console

    from workers.poller.reconcile import day_bounds, reconcile, render, to_json
    from workers.store import open_store

    day = parse_bound(args.day).date()
    store = open_store(settings.database_url)
    try:
        calls = store.calls_by_sources(args.vendor, *day_bounds(day), account=args.account)
        checkpoints = [c for c in store.checkpoints(args.vendor) if args.account in (None, c.account)]
    finally:
        store.close()
    result = reconcile(args.vendor, day, calls, checkpoints, account=args.account)
    if args.json:
        sys.stdout.write(orjson.dumps(to_json(result), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        render(result, Console(file=sys.stdout, soft_wrap=True), limit=args.limit)
    return 0


def parse_bound(text: str, *, end: bool = False) -> datetime:
    """A CLI date: ``YYYY-MM-DD`` is that day's UTC midnight (``end``: the next one, so the day is
    included); anything else is an ISO 8601 time, UTC when it has no zone."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = parse_time(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ConfigError(f"not a date or time: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")
    return parsed


COMMANDS: dict[str, Any] = {"poll": cmd_poll, "backfill": cmd_backfill, "reconcile": cmd_reconcile}


def add_parsers(sub: Any) -> None:
    sub.add_parser("poll", help="the backfill poller, forever, for every configured vendor account")
    backfill = sub.add_parser("backfill", help="fetch one window from a vendor's API into the queue, then exit")
    backfill.add_argument("vendor", help="a vendor with a poller source: callr, vobiz, kazoo, sinch")
    backfill.add_argument("--since", required=True, help="YYYY-MM-DD (UTC midnight) or an ISO 8601 time")
    backfill.add_argument("--until", required=True, help="YYYY-MM-DD (that whole day included) or an ISO 8601 time")
    backfill.add_argument("--source", help="only this source, e.g. callr.export (default: every configured one)")
    backfill.add_argument("--account", help="only this account id")
    rec = sub.add_parser("reconcile", help="per vendor-day: calls seen by push and backfill, or by one only")
    rec.add_argument("vendor")
    rec.add_argument("--day", required=True, help="YYYY-MM-DD, a UTC day (calls by their start time)")
    rec.add_argument("--account", help="only this account id")
    rec.add_argument("--json", action="store_true", help="machine-readable, with every call id")
    rec.add_argument("--limit", type=int, default=20, help="call ids shown per category (default 20)")
