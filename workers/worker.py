"""``cdr-ingest worker``: an RQ worker on the ingest queue, with the orjson serializer.

A ``SimpleWorker`` (no fork per job): the store connection and settings stay open between jobs,
which a forking worker would reopen for every job. The scheduler runs with it so retries with
back-off intervals are re-enqueued when due.
"""

from __future__ import annotations

from rq import SimpleWorker

from workers import jobs, metrics
from workers.queue import OrjsonSerializer, ingest_queue, redis_connection
from workers.settings import Settings
from workers.store import open_store


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> bool:
    metrics.serve_own(settings)
    store = open_store(settings.database_url)
    jobs.configure(jobs.Runtime(settings=settings, store=store))
    connection = redis_connection(settings.redis_url, timeout_s=None)
    worker = SimpleWorker(
        [ingest_queue(connection, settings.queue_name)],
        connection=connection,
        serializer=OrjsonSerializer,
        name=name,
    )
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
    finally:
        jobs.configure(None)
        store.close()
        metrics.process_exit(settings)
