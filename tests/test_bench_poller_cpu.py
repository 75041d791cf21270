"""``make bench-poller-cpu`` times the real poller into a Redis of its own: every row it pages is queued."""

from __future__ import annotations

from bench.poller_cpu import run


def test_the_poller_queues_every_row_it_pages_and_its_cpu_is_counted() -> None:
    (result,) = run(rows=3_000, runs=1)
    # The daily windows bring a few calls twice (100,004 rows for 100,000 in make bench).
    assert 3_000 <= result["rows"] <= 3_005 and result["queued"] == result["rows"]
    assert 0 < result["poller_cpu_us_per_row"] <= result["process_cpu_us_per_row"]
