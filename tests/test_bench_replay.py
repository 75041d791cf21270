"""``make bench-replay`` replays the real poller's jobs: every call it captured is stored once."""

from __future__ import annotations

from bench.common import migrated
from bench.replay import captured_jobs, replay
from workers.envelope import delivery_count
from workers.poller.sources import callr as callr_sources
from workers.settings import load_settings


def test_the_poller_jobs_replayed_store_every_row(sqlite_url: str) -> None:
    delays = callr_sources.TASK_DELAYS_S
    env, batches = captured_jobs(rows=3_000)
    assert callr_sources.TASK_DELAYS_S == delays  # put back: the poller's own tests wait as it does
    # The daily windows bring a few calls twice (100,004 rows for 100,000 in make bench); one row each.
    assert 3_000 <= sum(delivery_count(b) for b in batches) <= 3_005
    assert max(delivery_count(b) for b in batches) <= 2_000
    result = replay(load_settings({**env, "DATABASE_URL": migrated(sqlite_url)}), batches)
    assert result["rows"] == 3_000 and result["cpu_us_per_row"] > 0
