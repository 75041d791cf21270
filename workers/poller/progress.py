"""Backfill progress: a live bar (windows done, rows, pages, rows/s) on a terminal, one log line
per window otherwise (CI, cron, a pipe), and a closing line either way."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from workers.logs import get_logger
from workers.normalize.times import format_utc
from workers.poller.pump import Tally

log = get_logger("cdr_ingest.backfill")


class Reporter(Protocol):
    def start(self, label: str, windows: int) -> None: ...
    def page(self, rows: int) -> None: ...
    def window(self, source: str, account: str, since: datetime, until: datetime, done: Tally) -> None: ...
    def finish(self, outcome: str) -> None: ...


class _Counts:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.started = clock()
        self.total = Tally()
        self.windows = self.windows_done = 0

    def rate(self) -> float:
        return self.total.rows / max(self.clock() - self.started, 1e-9)


class LogReporter(_Counts):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)

    def start(self, label: str, windows: int) -> None:
        self.started, self.windows = self.clock(), windows
        log.info("backfill.started", target=label, windows=windows)

    def page(self, rows: int) -> None:
        pass

    def window(self, source: str, account: str, since: datetime, until: datetime, done: Tally) -> None:
        self.total.add(done)
        self.windows_done += 1
        log.info(
            "backfill.window",
            source=source,
            account=account,
            since=format_utc(since),
            until=format_utc(until),
            rows=done.rows,
            pages=done.pages,
            windows=f"{self.windows_done}/{self.windows}",
            total_rows=self.total.rows,
            total_pages=self.total.pages,
            rows_per_s=round(self.rate(), 1),
        )

    def finish(self, outcome: str) -> None:
        (log.info if outcome == "done" else log.error)(
            f"backfill.{outcome}",
            rows=self.total.rows,
            pages=self.total.pages,
            windows=f"{self.windows_done}/{self.windows}",
            seconds=round(self.clock() - self.started, 2),
            rows_per_s=round(self.rate(), 1),
        )


class BarReporter(_Counts):
    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.console = console
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("windows"),
            TextColumn("{task.fields[rows]:>9,} rows {task.fields[pages]:>6,} pages {task.fields[rate]:>8,.0f} rows/s"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task: Any = None

    def start(self, label: str, windows: int) -> None:
        self.started, self.windows = self.clock(), windows
        self.bar.start()
        self.task = self.bar.add_task(label, total=windows, rows=0, pages=0, rate=0.0)

    def page(self, rows: int) -> None:
        self.total.rows += rows
        self.total.pages += 1
        self.bar.update(self.task, rows=self.total.rows, pages=self.total.pages, rate=self.rate())

    def window(self, source: str, account: str, since: datetime, until: datetime, done: Tally) -> None:
        self.windows_done += 1
        self.bar.update(self.task, advance=1, rate=self.rate())

    def finish(self, outcome: str) -> None:
        self.bar.stop()
        seconds = self.clock() - self.started
        self.console.print(
            f"backfill {outcome}: {self.total.rows:,} rows in {self.total.pages:,} pages, "
            f"{self.windows_done}/{self.windows} windows, {seconds:.1f} s, {self.rate():,.0f} rows/s"
            " (queued: the workers store them)",
            highlight=False,
        )


def reporter_for(stream: IO[str]) -> Reporter:
    if stream.isatty():
        return BarReporter(Console(file=stream))
    return LogReporter()
