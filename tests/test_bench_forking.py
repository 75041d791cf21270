"""``make bench-forking``'s two workers store the same jobs: the forking one's work horse opens a
store of its own and stores every row, as the non-forking one does."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from bench import forking
from bench.common import migrated
from workers.worker import run_worker


@pytest.mark.parametrize("kind", ["simple", "forking"])
def test_either_worker_stores_every_row(
    kind: str, monkeypatch: pytest.MonkeyPatch, redis_url: str, sqlite_url: str, tmp_path: Path
) -> None:
    monkeypatch.setattr(forking, "JOBS", 2)
    env = {"REDIS_URL": redis_url, "DATABASE_URL": migrated(sqlite_url), "CALLR_ACCOUNT_SID": "bench",
           "CALLR_WEBHOOK_SECRET": "bench", "SPOOL_DIR": str(tmp_path / "spool")}  # fmt: skip
    drain = partial(run_worker, burst=True) if kind == "simple" else forking.forking
    result = forking.run(kind, drain, env, first=0)
    assert result["rows"] == 2 * forking.ROWS and result["rows_per_s"] > 0
