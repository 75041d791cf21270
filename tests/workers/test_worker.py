"""The ingest worker: the RQ settings that bound how long an abandoned job waits, and the
garbage collector paused while a job runs."""

from __future__ import annotations

import gc
from collections.abc import Callable

import redis

from workers.queue import ingest_queue
from workers.settings import Settings
from workers.worker import ABANDON_GRACE_S, build_worker


def test_recovery_settings(make_settings: Callable[..., Settings], redis_client: redis.Redis) -> None:
    """An idle worker wakes each maintenance interval, the maintenance lock is short, the job entry
    expires shortly after the job's timeout."""
    worker = build_worker(make_settings(WORKER_MAINTENANCE_S=7, JOB_TIMEOUT_S=20), redis_client)
    assert worker.dequeue_timeout == 7
    assert worker.queues[0].maintenance_lock_s == 21  # type: ignore[attr-defined]
    assert worker.maintenance_interval == 7

    class Job:
        timeout = 20

    assert worker.get_heartbeat_ttl(Job()) == 20 + ABANDON_GRACE_S  # type: ignore[arg-type]
    assert worker.queues[0].acquire_maintenance_lock()
    assert 0 < redis_client.ttl(worker.queues[0].registry_cleaning_key) <= 21


def collector_state(fail: bool) -> bool:
    """A job (enqueued by name): whether the cyclic collector runs while it does."""
    if fail:
        raise RuntimeError("this job fails")
    return gc.isenabled()


def test_collector_paused_during_jobs_only(make_settings: Callable[..., Settings], redis_client: redis.Redis) -> None:
    settings = make_settings()
    queue = ingest_queue(redis_client, settings.queue_name)
    failing = queue.enqueue(f"{__name__}.collector_state", True)
    job = queue.enqueue(f"{__name__}.collector_state", False)
    assert gc.isenabled()
    assert build_worker(settings, redis_client).work(burst=True)
    assert failing.get_status() == "failed"
    assert job.return_value() is False
    assert gc.isenabled()  # back on after a job, the failed one included
