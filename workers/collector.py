"""The cyclic garbage collector, set for each process by what it does.

- **Workers** pause it during a job (``collector_paused``): a job's objects die with it.
- **The receiver** (``cdr-ingest serve``) is settled once its app is built (``settle``).
- **The poller** collects young objects every ``YOUNG_THRESHOLD`` allocations while it pages a
  window into the queue (``young_collections_every``): a page's rows and envelopes live until
  their job is written, and walking them every 700 allocations was a quarter of its CPU (the
  poller paging 100,000 Callr export rows into Redis in process, CPU a row of its thread, twice
  each: 28.7-30.4 µs with the defaults, 21.5-25.3 with no collection at all, 19.6-21.1 at 5,000).

The receiver: under load (``make bench-receiver``, one uvicorn worker; the time between the collector's start
and stop callbacks against the process's CPU, three 3-second samples a run) the collector took
8.1-10.0% of the receiver's CPU with Python's defaults: its full collections (one or two a second)
walked every object of the process (~65,000: modules, classes, the app), its young ones (every 700
allocations) and middle ones the requests in flight and what they had promoted. Frozen after
start-up (``gc.freeze``: what exists then is never walked again; it lives as long as the process
anyway), 4.8-5.9%; with young collections every 5,000 allocations as well, 2.9-3.8%, the longest
pause 7.0-9.3 ms (5.2-8.4 ms frozen alone). Cycles are still collected, only less often: a few
thousand garbage objects more at most.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 5000


def settle() -> None:
    """Collect, freeze what survives, and collect the young generation every ``YOUNG_THRESHOLD``
    allocations from now on."""
    gc.collect()
    gc.freeze()
    _young_every(YOUNG_THRESHOLD)


@contextmanager
def young_collections_every(allocations: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """The young generation collected every ``allocations`` inside the block (restored after).
    Also a decorator: ``@young_collections_every()``."""
    before = _young_every(allocations)
    try:
        yield
    finally:
        _young_every(before)


def _young_every(allocations: int) -> int:
    """Collect the young generation every ``allocations`` (the older ones' thresholds as they
    were); returns the threshold it replaced."""
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(allocations, middle, oldest)
    return young


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (restored after, even on error)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
