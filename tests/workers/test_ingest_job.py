"""The ingest queue's job class against real Redis: its data compressed by ISA-L at its level 1, in
zlib's format as RQ stores it, so a plain RQ and it read each other's jobs."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import UTC, datetime

import redis
from rq import Queue
from rq.job import Job

from workers.envelope import Envelope, delivery_count
from workers.queue import COMPRESS_LEVEL, IngestJob, OrjsonSerializer, enqueue_envelopes, ingest_queue
from workers.settings import Settings
from workers.worker import build_worker

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
LEVEL_1 = b"\x78\x5e"  # the zlib header ISA-L writes at its levels 1-3 (RQ's zlib level 6 writes 78 9c)


def envelopes(n: int) -> list[Envelope]:
    return [Envelope(feed="callr.export", account="acct1", received_at=NOW, body=f'{{"n": {i}}}') for i in range(n)]


def stored_data(r: redis.Redis, job: Job) -> bytes:
    value = r.hget(job.key, "data")
    assert isinstance(value, bytes)
    return value


def test_a_job_is_stored_by_isal_at_level_one_and_zlib_decompresses_it_to_its_call(redis_client: redis.Redis) -> None:
    job = enqueue_envelopes(ingest_queue(redis_client, "q"), envelopes(50))
    raw = stored_data(redis_client, job)
    assert COMPRESS_LEVEL == 1 and raw[:2] == LEVEL_1
    call = OrjsonSerializer.loads(zlib.decompress(raw))
    assert call[0] == "workers.jobs.ingest" and delivery_count(call[2][0]) == 50


def test_a_changed_call_is_stored_changed(redis_client: redis.Redis) -> None:
    job = enqueue_envelopes(ingest_queue(redis_client, "q"), envelopes(3))
    job.args = ([e.to_dict() for e in envelopes(5)],)
    job.save()
    fetched = IngestJob.fetch(job.id, connection=redis_client, serializer=OrjsonSerializer)
    assert delivery_count(fetched.args[0]) == 5 and stored_data(redis_client, job)[:2] == LEVEL_1
    assert fetched.func_name == "workers.jobs.ingest"  # the rest of the job as RQ saved it


def test_a_plain_rq_job_and_an_ingest_job_read_each_other(redis_client: redis.Redis) -> None:
    ours = enqueue_envelopes(ingest_queue(redis_client, "q"), envelopes(4))
    assert delivery_count(Job.fetch(ours.id, connection=redis_client, serializer=OrjsonSerializer).args[0]) == 4
    plain = Queue("q", connection=redis_client, serializer=OrjsonSerializer).enqueue("builtins.len", [1, 2])
    assert stored_data(redis_client, plain)[:2] == b"\x78\x9c"
    again = IngestJob.fetch(plain.id, connection=redis_client, serializer=OrjsonSerializer)
    assert again.args == [[1, 2]]  # orjson: the args tuple comes back a list
    again.save()
    assert stored_data(redis_client, again)[:2] == LEVEL_1
    assert Job.fetch(plain.id, connection=redis_client, serializer=OrjsonSerializer).args == [[1, 2]]


def test_a_worker_runs_a_job_of_the_ingest_queue(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    settings = make_settings()
    job = ingest_queue(redis_client, settings.queue_name).enqueue("builtins.len", list(range(1000)), result_ttl=60)
    assert isinstance(job, IngestJob)
    assert build_worker(settings, redis_client).work(burst=True)
    assert job.get_status(refresh=True) == "finished" and job.return_value() == 1000
