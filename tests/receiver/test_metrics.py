"""Prometheus metrics in one process: values move with deliveries and jobs; /metrics shows them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from receiver.app import create_app
from tests.conftest import PAYLOADS, work
from tests.receiver.helpers import callr_headers
from workers import jobs, metrics
from workers.queue import ingest_queue
from workers.services import free_port
from workers.settings import Settings

V2 = (PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_bytes()
FEED = "callr.webhook"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}  # fmt: skip


@pytest.fixture
def client(make_settings: Callable[..., Settings], redis_client: redis.Redis) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings()), raise_server_exceptions=False) as c:
        yield c


def test_deliveries_counted_by_outcome_with_time_to_202(client: TestClient) -> None:
    """Accepted, duplicate and unauthorized deliveries each count once; only the 202 is timed."""
    before = {o: value("cdr_ingest_deliveries_total", feed=FEED, outcome=o) for o in ("accepted", "duplicate",
                                                                                    "unauthorized")}  # fmt: skip
    timed = value("cdr_ingest_accept_seconds_count", feed=FEED)
    assert client.post("/webhooks/callr", content=V2, headers=callr_headers(V2)).status_code == 202
    assert client.post("/webhooks/callr", content=V2, headers=callr_headers(V2)).status_code == 200
    assert client.post("/webhooks/callr", content=V2, headers=callr_headers(V2, secret="x")).status_code == 401
    for outcome in before:
        assert value("cdr_ingest_deliveries_total", feed=FEED, outcome=outcome) == before[outcome] + 1, outcome
    assert value("cdr_ingest_accept_seconds_count", feed=FEED) == timed + 1


def test_metrics_page_shows_queue_depth_then_worker_counts(
    client: TestClient, runtime: jobs.Runtime, redis_client: redis.Redis
) -> None:
    """/metrics reports the queued job; after a worker runs it, jobs, CDRs and write latency moved."""
    client.post("/webhooks/callr", content=V2, headers=callr_headers(V2))
    page = scrape(client)
    assert page["cdr_ingest_redis_up", ()] == 1
    assert (page["cdr_ingest_spool_bytes", ()], page["cdr_ingest_spool_segments", ()]) == (0, 0)
    assert page["cdr_ingest_queue_jobs", (("queue", "cdr-ingest"), ("state", "queued"))] == 1
    processed = value("cdr_ingest_jobs_total", outcome="processed")
    stored = value("cdr_ingest_cdrs_total", feed=FEED, outcome="stored")
    writes = value("cdr_ingest_store_write_seconds_count")
    queue = ingest_queue(redis_client, runtime.settings.queue_name)
    work(queue, redis_client)
    page = scrape(client)
    assert page["cdr_ingest_queue_jobs", (("queue", "cdr-ingest"), ("state", "queued"))] == 0
    assert page["cdr_ingest_jobs_total", (("outcome", "processed"),)] == processed + 1
    assert page["cdr_ingest_cdrs_total", (("feed", FEED), ("outcome", "stored"))] == stored + 1
    assert page["cdr_ingest_store_write_seconds_count", ()] == writes + 1


def test_queue_collector_survives_redis_down() -> None:
    """When Redis does not answer, a scrape still succeeds and says so with cdr_ingest_redis_up 0."""

    def down() -> dict[str, int]:
        raise redis.ConnectionError("refused")

    families = list(metrics.QueueCollector("cdr-ingest", down).collect())
    assert [(f.name, [s.value for s in f.samples]) for f in families] == [("cdr_ingest_redis_up", [0])]


def test_poller_api_sets_its_metrics() -> None:
    """observe_poll sets rows, lag and checkpoint per feed and account."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    rows = value("cdr_ingest_poller_rows_total", feed="vobiz.api", account="a1")
    metrics.observe_poll("vobiz.api", "a1", rows=7, checkpoint=now - timedelta(seconds=90), now=now)
    assert value("cdr_ingest_poller_rows_total", feed="vobiz.api", account="a1") == rows + 7
    assert value("cdr_ingest_poller_lag_seconds", feed="vobiz.api", account="a1") == 90
    assert value("cdr_ingest_poller_checkpoint_timestamp_seconds", feed="vobiz.api", account="a1") == (
        now.timestamp() - 90)  # fmt: skip


def test_worker_serves_its_own_metrics_on_metrics_port(make_settings: Callable[..., Settings]) -> None:
    """With METRICS_PORT a worker or poller answers /metrics itself (containers share no directory)."""
    port = free_port()
    assert metrics.serve_own(make_settings()) is None
    server = metrics.serve_own(make_settings(METRICS_PORT=port))
    assert server is not None
    try:
        metrics.observe_job("processed")
        body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'cdr_ingest_jobs_total{outcome="processed"}' in body
    finally:
        server.shutdown()
        server.server_close()


def test_spool_is_measured_at_scrape_time(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    """Envelopes spooled by any process sharing the directory show in the next scrape, and go with the drain."""
    from receiver.spool import Spool
    from workers.envelope import Envelope

    writer, reader = Spool(tmp_path / "spool", 10**6), Spool(tmp_path / "spool", 10**6)
    collector = metrics.SpoolCollector(reader.state)
    writer.append([Envelope(feed=FEED, account="acct1", received_at=datetime.now(UTC), body="{}")] * 3)
    spooled = {f.name: f.samples[0].value for f in collector.collect()}
    assert spooled["cdr_ingest_spool_bytes"] > 0 and spooled["cdr_ingest_spool_segments"] == 1
    writer.close()
    assert reader.drain(lambda envelopes: None) == 3
    assert {f.name: f.samples[0].value for f in collector.collect()} == {
        "cdr_ingest_spool_bytes": 0, "cdr_ingest_spool_segments": 0}  # fmt: skip
