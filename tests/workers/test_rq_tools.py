"""RQ's own tools read our queue, as the README says: ``rq info`` and rq-dashboard's ``--json`` mode."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import redis
from rq.job import Job
from rq.serializers import JSONSerializer

from workers.envelope import Envelope, pack
from workers.queue import enqueue_envelopes, ingest_queue

RQ = str(Path(sys.executable).parent / "rq")


def test_rq_info_counts_our_queue(redis_url: str, redis_client: redis.Redis) -> None:
    """The README's `rq info --url ... -S workers.queue.OrjsonSerializer cdr-ingest` shows the queued job."""
    queue = ingest_queue(redis_client, "cdr-ingest")
    enqueue_envelopes(queue, [Envelope(feed="callr.webhook", account="a", received_at=datetime.now(UTC), body="{}")])
    command = [RQ, "info", "--url", redis_url, "-S", "workers.queue.OrjsonSerializer", "--raw", "cdr-ingest"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "queue cdr-ingest 1" in out


def test_jobs_are_plain_json_for_rq_dashboard(redis_client: redis.Redis) -> None:
    """rq's JSONSerializer (rq-dashboard --json) reads our orjson jobs: the envelope batch comes back whole."""
    envelope = Envelope(feed="callr.webhook", account="a", received_at=datetime.now(UTC), body='{"x": 1}')
    job = enqueue_envelopes(ingest_queue(redis_client, "cdr-ingest"), [envelope])
    seen = Job.fetch(job.id, connection=redis_client, serializer=JSONSerializer)
    assert seen.func_name == "workers.jobs.ingest"
    assert list(seen.args) == [pack([envelope])]
