"""``cdr-ingest reconcile VENDOR --day DATE``: which calls of one UTC day each path delivered.

A call leg (by ``started_at``) is seen by push when its ``sources`` hold ``webhook`` or ``push``,
by backfill when they hold ``backfill``. "push only" on a finished day means the backfill missed
it (or has not reached it: the poller's checkpoints are shown beside); "backfill only" means the
vendor's push never arrived. Classification and rendering are pure; the store read is the caller's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from workers.cdr import Source
from workers.normalize.times import as_utc, format_utc
from workers.store import CallSources, Checkpoint

PUSH_PATHS = frozenset({Source.WEBHOOK, Source.PUSH})
CATEGORIES = {
    "both": "seen by push and backfill",
    "push_only": "push only: the backfill missed it or has not reached it",
    "backfill_only": "backfill only: the vendor's push never arrived",
}


@dataclass(frozen=True)
class Reconciliation:
    vendor: str
    day: date
    account: str | None
    calls: dict[str, list[CallSources]]  # category -> call legs
    checkpoints: Sequence[Checkpoint]

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.calls.values())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = as_utc(datetime.combine(day, time()))
    return start, start + timedelta(days=1)


def category(sources: frozenset[Source]) -> str:
    pushed, backfilled = bool(sources & PUSH_PATHS), Source.BACKFILL in sources
    if pushed and backfilled:
        return "both"
    return "push_only" if pushed else "backfill_only"


def reconcile(
    vendor: str,
    day: date,
    calls: Sequence[CallSources],
    checkpoints: Sequence[Checkpoint] = (),
    account: str | None = None,
) -> Reconciliation:
    grouped: dict[str, list[CallSources]] = {name: [] for name in CATEGORIES}
    for call in calls:
        grouped[category(call.sources)].append(call)
    return Reconciliation(vendor, day, account, grouped, checkpoints)


def _label(call: CallSources) -> str:
    return f"{call.call_id}:{call.leg}" if call.leg else call.call_id


def _via(calls: Sequence[CallSources]) -> dict[str, int]:
    """How the calls of one category came, e.g. ``{"webhook": 10, "push": 2}``."""
    return dict(sorted(Counter(str(s) for c in calls for s in c.sources).items()))


def to_json(rec: Reconciliation) -> dict[str, Any]:
    return {
        "vendor": rec.vendor,
        "day": rec.day.isoformat(),
        "account": rec.account,
        "total": rec.total,
        "categories": {
            name: {"count": len(calls), "via": _via(calls), "ids": [c.id for c in calls]}
            for name, calls in rec.calls.items()
        },
        "by_account": {
            acct: {name: sum(1 for c in calls if c.account_id == acct) for name, calls in rec.calls.items()}
            for acct in sorted({c.account_id or "" for calls in rec.calls.values() for c in calls})
        },
        "checkpoints": [
            {"source": c.source, "account": c.account, "polled_until": format_utc(c.polled_until),
             "last_error": c.last_error}
            for c in rec.checkpoints
        ],
    }  # fmt: skip


def render(rec: Reconciliation, console: Console, *, limit: int = 20) -> None:
    """The counts table, then up to ``limit`` call ids per category that is not "both"."""
    scope = f"{rec.vendor}" + (f" account {rec.account}" if rec.account else "")
    table = Table(title=f"{scope}, calls started {rec.day.isoformat()} (UTC)")
    table.add_column("")
    table.add_column("calls", justify="right")
    table.add_column("share", justify="right")
    table.add_column("via")
    for name, calls in rec.calls.items():
        share = f"{100 * len(calls) / rec.total:.1f}%" if rec.total else "-"
        via = ", ".join(f"{k} {v}" for k, v in _via(calls).items())
        table.add_row(CATEGORIES[name], f"{len(calls):,}", share, via)
    table.add_row("total", f"{rec.total:,}", "", "", style="bold")
    console.print(table)
    for name in ("push_only", "backfill_only"):
        calls = rec.calls[name]
        if calls:
            shown = ", ".join(_label(c) for c in calls[:limit])
            more = f" (+{len(calls) - limit} more; --json lists all)" if len(calls) > limit else ""
            console.print(f"[bold]{name.replace('_', ' ')}[/bold] call ids: {shown}{more}")
    _, day_end = day_bounds(rec.day)
    for c in rec.checkpoints:
        behind = " [yellow](before the end of the day: push-only calls may just not be polled yet)[/yellow]"
        note = behind if c.polled_until < day_end else ""
        error = f" [red]last error: {c.last_error}[/red]" if c.last_error else ""
        console.print(f"backfill {c.source} {c.account}: polled until {format_utc(c.polled_until)}{note}{error}")
    if not rec.checkpoints:
        console.print("no poller checkpoint for this vendor: `cdr-ingest poll` has not run (a backfill keeps none)")
