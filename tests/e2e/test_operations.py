"""Operations end to end: two uvicorn workers and an RQ worker share one metrics directory; the read
API and ``cdr-ingest stats`` see what the pipeline stored."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PAYLOADS
from tests.e2e.stack import Stack, cli, running_stack, stack_env, wait_until
from tests.receiver.helpers import callr_headers
from tests.receiver.read_helpers import READ_TOKEN, bearer

pytestmark = pytest.mark.e2e

V2 = (PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_bytes()
ROW = "callr:acct1:240711945874"


@pytest.fixture
def stack(sqlite_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Stack]:
    env = stack_env(redis_url, sqlite_url, READ_API_TOKEN=READ_TOKEN, RECEIVER_WORKERS="2",
                    PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))  # fmt: skip
    with running_stack(env, tmp_path) as s:
        s.serve()
        s.worker()
        yield s


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip


def test_metrics_from_every_process_reach_one_scrape(stack: Stack) -> None:
    """A delivery through 2 receiver processes and a worker shows in the receiver's /metrics, with stats."""
    assert httpx.post(f"{stack.base_url}/webhooks/callr", content=V2, headers=callr_headers(V2)).status_code == 202

    def stored() -> bool:
        return httpx.get(f"{stack.base_url}/cdrs/{ROW}", headers=bearer()).status_code == 200

    wait_until(stored, what="the row through the read API")

    def counted() -> bool:
        return ("cdr_ingest_jobs_total", (("outcome", "processed"),)) in samples(
            httpx.get(f"{stack.base_url}/metrics").text
        )

    wait_until(counted, what="the worker's job counter in the receiver's scrape")
    page = samples(httpx.get(f"{stack.base_url}/metrics").text)
    assert page["cdr_ingest_deliveries_total", (("feed", "callr.webhook"), ("outcome", "accepted"))] == 1
    assert page["cdr_ingest_cdrs_total", (("feed", "callr.webhook"), ("outcome", "stored"))] == 1
    assert page["cdr_ingest_store_write_seconds_count", ()] >= 1
    assert page["cdr_ingest_queue_jobs", (("queue", "cdr-ingest"), ("state", "failed"))] == 0
    pids = {p.name.rsplit("_", 1)[-1] for p in Path(stack.env["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db")}
    assert len(pids) >= 2  # the worker and at least the receiver process that answered

    out = subprocess.run(cli("stats", "--json"), env=stack.env, check=True, capture_output=True).stdout
    stats = orjson.loads(out)
    assert (stats["cdrs"], stats["by_vendor"], stats["by_source"]) == (1, {"callr": 1}, {"webhook": 1})
    assert stats["queue"]["failed"] == 0 and stats["checkpoints"] == []
