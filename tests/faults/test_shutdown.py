"""Graceful shutdown: SIGTERM to a worker lets its current job finish before it exits."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis
from rq.registry import StartedJobRegistry

from tests.e2e.stack import running_stack, wait_until
from workers.queue import ingest_queue

pytestmark = pytest.mark.e2e


def test_worker_sigterm_finishes_the_current_job(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """A worker told to stop mid-job completes that job, then exits cleanly."""
    env = {"REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{tmp_path}/cdr.db", "LOG_FORMAT": "json"}
    queue = ingest_queue(redis_client, "cdr-ingest")
    job = queue.enqueue("tests.faults.slow_job.sleep_then_mark", redis_url, "mark", 2.0)
    with running_stack(env, tmp_path) as stack:
        worker = stack.worker()
        wait_until(lambda: job.id in StartedJobRegistry(queue=queue).get_job_ids(), what="the job to start")
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert time.monotonic() - started >= 1.0  # it waited for the job, not killed it
    assert redis_client.get("mark") == b"done"
    job.refresh()
    assert job.get_status() == "finished"
