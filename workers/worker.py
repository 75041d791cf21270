"""``cdr-ingest worker``: an RQ worker on the ingest queue, with the orjson serializer.

A ``SimpleWorker`` (no fork per job): the store connection and settings stay open between jobs,
which a forking worker would reopen for every job. The scheduler runs with it so retries with
back-off intervals are re-enqueued when due.

A worker killed mid-job (``kill -9``) leaves its job in the started registry. RQ's maintenance
(run by every live worker each ``WORKER_MAINTENANCE_S``) retries such a job once its execution
entry expires; ours expires ``JOB_TIMEOUT_S + 10`` seconds after the job started (RQ's default
adds 60), so an abandoned job is running again within ``JOB_TIMEOUT_S + 10 +
WORKER_MAINTENANCE_S`` seconds (100 s with the defaults) of the kill, provided a worker is alive.
"""

from __future__ import annotations

from rq import SimpleWorker
from rq.job import Job

from workers import jobs
from workers.queue import OrjsonSerializer, ingest_queue, redis_connection
from workers.settings import Settings
from workers.store import open_store

ABANDON_GRACE_S = 10


class IngestWorker(SimpleWorker):
    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # The job cannot outlive its timeout (the death penalty stops it), so a short grace is safe.
        timeout = job.timeout if job.timeout and job.timeout > 0 else 60
        return int(timeout) + ABANDON_GRACE_S


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> bool:
    store = open_store(settings.database_url)
    jobs.configure(jobs.Runtime(settings=settings, store=store))
    connection = redis_connection(settings.redis_url, timeout_s=None)
    worker = IngestWorker(
        [ingest_queue(connection, settings.queue_name)],
        connection=connection,
        serializer=OrjsonSerializer,
        name=name,
        maintenance_interval=settings.worker_maintenance_s,
    )
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
    finally:
        jobs.configure(None)
        store.close()
