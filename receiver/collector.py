"""The cyclic garbage collector of a receiver process (``cdr-ingest serve``), set once it is built.

Under load (``make bench-receiver``, one uvicorn worker; the time between the collector's start
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

YOUNG_THRESHOLD = 5000


def settle() -> None:
    """Collect, freeze what survives, and collect the young generation every ``YOUNG_THRESHOLD``
    allocations (the older generations' thresholds as they were)."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
