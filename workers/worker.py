"""``cdr-ingest worker``: an RQ worker on the ingest queue, with the orjson serializer.

A ``SimpleWorker`` (no fork per job): the store connection, settings and caches (E.164 numbers,
times) stay with the worker between jobs, where RQ's forking worker gives each job a new work
horse that opens its own store and starts with every cache cold. Measured (``make bench-forking``:
one worker, 40 jobs of 500 Callr webhooks into PostgreSQL, three runs each, alternating):
9,483-10,522 rows/s at 62-71 µs of CPU a row, against 5,045-5,744 rows/s at 132-152 µs forking,
~45 ms more a job. What forking would buy, a job's memory returned at its end, is not needed: a
worker's memory levels off (README, the 10-minute soaks). The scheduler runs with it so retries with
back-off intervals are re-enqueued when due.

A worker killed mid-job (``kill -9``) leaves its job in the started registry; the maintenance
that every live worker runs each ``WORKER_MAINTENANCE_S`` re-runs it once its execution entry
expires. Two RQ defaults are changed so that this happens within a bounded time:
- the entry expires ``JOB_TIMEOUT_S + 10`` s after the job started (RQ adds 60): a job cannot
  outlive its timeout, the death penalty stops it;
- the maintenance lock lasts ``max(10, 3 × WORKER_MAINTENANCE_S)`` s (RQ: 899): a worker killed
  while holding it would otherwise stop every other worker's maintenance for 15 minutes;
- an idle worker wakes from its blocking dequeue every ``WORKER_MAINTENANCE_S`` (RQ: 405 s), since
  RQ runs maintenance only between dequeues.
So an abandoned job runs again within JOB_TIMEOUT_S + 10 + WORKER_MAINTENANCE_S seconds, plus the
lock time when the dead worker held the lock: 100 s, at worst 190 s, with the defaults. A job
killed in the instant between leaving the queue and starting is RQ's "intermediate queue" case,
re-run about 60 s after maintenance first sees it.

Every maintenance round also makes sure the inbox (``workers.inbox``) is being drained.

Python's cyclic garbage collector is paused while a job runs. A job's objects (the decoded batch,
its deliveries, rows and parameters) live until the job ends and are then freed by reference
counting; collections in between only walk them, and full collections were triggered every few
jobs by their promotion. Measured in the backfill bench (a gc callback timing each collection):
14-18% of a worker's CPU went to collections, 1-2% with the pause. Garbage a job leaves in cycles
is collected as usual once the job is over; a job is at most one batch, so the pause is bounded.

Redis going away makes RQ raise outside its own reconnect loop; the worker then starts over
(like a service manager would), and any job it was running is re-run as above.
"""

from __future__ import annotations

import time

import redis
from rq import Queue, SimpleWorker
from rq.job import Job

from workers import inbox, jobs, metrics
from workers.collector import collector_paused
from workers.logs import get_logger
from workers.queue import JOB_TIMEOUT_S, IngestJob, OrjsonSerializer, redis_connection
from workers.settings import Settings
from workers.store import open_store

ABANDON_GRACE_S = 10
RESTART_PAUSE_S = 2.0
log = get_logger("cdr_ingest.worker")


class IngestQueue(Queue):
    maintenance_lock_s = 10

    def acquire_maintenance_lock(self) -> bool:
        return bool(self.connection.set(self.registry_cleaning_key, 1, nx=True, ex=self.maintenance_lock_s))


class IngestWorker(SimpleWorker):
    job_timeout_s = JOB_TIMEOUT_S  # for drain jobs this worker schedules; set from the settings
    _scanned_for_orphans = False  # the keyspace is walked for unregistered processing lists once

    @property
    def dequeue_timeout(self) -> int:
        # RQ blocks an idle worker in BLPOP for worker_ttl - 15 s (405 s) and runs maintenance only
        # between dequeues: wake up each maintenance interval so an idle worker still recovers
        # the jobs of a dead one.
        return max(1, min(self.worker_ttl - 15, int(self.maintenance_interval)))

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        # A drain job lost between the inbox push and its enqueue must not strand the inbox.
        for queue in self.queues:
            returned = inbox.return_orphans(queue, scan=not self._scanned_for_orphans)
            if returned:
                log.warning("inbox.orphans_returned", envelopes=returned)
            inbox.ensure_draining(queue, self.job_timeout_s)
        self._scanned_for_orphans = True

    def execute_job(self, job: Job, queue: Queue) -> None:
        with collector_paused():
            super().execute_job(job, queue)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        timeout = job.timeout if job.timeout and job.timeout > 0 else JOB_TIMEOUT_S
        return int(timeout) + ABANDON_GRACE_S


def build_worker(settings: Settings, connection: redis.Redis, name: str | None = None) -> IngestWorker:
    queue = IngestQueue(
        settings.queue_name,
        connection=connection,
        serializer=OrjsonSerializer,
        default_timeout=settings.job_timeout_s,
        job_class=IngestJob,
    )
    queue.maintenance_lock_s = max(10, 3 * settings.worker_maintenance_s)
    worker = IngestWorker(
        [queue],
        connection=connection,
        serializer=OrjsonSerializer,
        job_class=IngestJob,
        name=name,
        maintenance_interval=settings.worker_maintenance_s,
    )
    worker.job_timeout_s = settings.job_timeout_s
    return worker


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> bool:
    metrics.serve_own(settings)
    store = open_store(settings.database_url)
    jobs.configure(jobs.Runtime(settings=settings, store=store))
    try:
        while True:
            connection = redis_connection(settings.redis_url, timeout_s=None)
            try:
                worker = build_worker(settings, connection, name)
                return worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
            except (redis.ConnectionError, redis.TimeoutError) as e:
                log.error("worker.redis_lost", error=str(e), action=f"restarting in {RESTART_PAUSE_S} s")
                time.sleep(RESTART_PAUSE_S)
            finally:
                connection.close()
    finally:
        jobs.configure(None)
        store.close()
        metrics.process_exit(settings)
