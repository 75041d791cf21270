"""Checkpoints: how far each (vendor, account, source) has been polled, and where a poll starts.

The store keeps one row per key (``workers/store/polling.py``); a checkpoint moves only forward,
and only once every page of a window is in the queue, so a poller killed mid-window starts that
window again on restart: nothing missed, and nothing doubled (the upsert merges re-deliveries).
Only ``cdr-ingest poll`` moves checkpoints; ``cdr-ingest backfill`` never does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from workers.store import Checkpoint


def poll_start(checkpoint: Checkpoint | None, now: datetime, overlap: timedelta) -> datetime:
    """Re-read ``overlap`` before the checkpoint (late CDRs); a new source starts ``overlap`` ago."""
    if checkpoint is None:
        return now - overlap
    return min(checkpoint.polled_until, now) - overlap


def windows(since: datetime, until: datetime, span: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """``[since, until)`` cut into consecutive windows of at most ``span``."""
    start = since
    while start < until:
        end = min(start + span, until)
        yield start, end
        start = end


def whole_second(value: datetime) -> datetime:
    """Window bounds on whole seconds, the resolution of Callr v1 times."""
    return value.replace(microsecond=0)
