"""The RQ side of the queue contract: orjson serializer, the ingest queue, enqueueing envelopes.

One job carries a batch of envelopes (``workers.jobs.ingest``), enqueued by name so the
receiver never imports worker code. Never pickle: the serializer is orjson, passed explicitly to
every ``Queue`` and ``Worker``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import redis
from isal import isal_zlib
from rq import Queue, Retry
from rq.job import Job

from workers.envelope import Envelope, pack
from workers.errors import TransientError

INGEST_JOB = "workers.jobs.ingest"
JOB_TIMEOUT_S = 60
FAILURE_TTL_S = 14 * 24 * 3600  # failed jobs stay listable for two weeks
RETRY = Retry(max=8, interval=[1, 5, 15, 60, 300, 900, 1800, 3600])


class OrjsonSerializer:
    """rq's two-method serializer protocol, with orjson (tuples come back as lists: rq unpacks them)."""

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    @staticmethod
    def loads(data: bytes) -> Any:
        return orjson.loads(data)


def redis_connection(url: str, *, timeout_s: float | None = 5.0) -> redis.Redis:
    """A sync client for RQ (bytes responses, as RQ requires). A worker passes ``timeout_s=None``:
    its blocking dequeue waits longer than any socket timeout would allow."""
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=5.0)


# A job's data is compressed by ISA-L (``isal``), in zlib's format, at its level 1 (of 0-3). A backfill
# job carries 2,000 envelopes (~1.7 MB of JSON): compressing it took 6.5 ms of the poller's CPU at
# RQ's zlib level 6, 3.0 at zlib's level 1 (``make bench``'s backfill, the poller 13-14 -> 11-12 µs a
# row), 0.3 with ISA-L (the bench's rows: 2-3% of their size at any of these).
COMPRESS_LEVEL = 1


class IngestJob(Job):
    """RQ's ``Job`` with its data compressed by ISA-L at ``COMPRESS_LEVEL`` (RQ's ``to_dict`` uses zlib's
    level 6 and offers no choice). Stored as RQ stores it, zlib's format: a plain RQ reads these jobs
    and these read its. Relies on RQ's ``_data`` (the data as built or read), pinned with RQ
    (pyproject.toml)."""

    def to_dict(self, include_meta: bool = True, include_result: bool = True) -> dict[str, Any]:
        data = self.data
        self._data = b""  # what RQ's own to_dict compresses in its stead: nothing
        try:
            obj = super().to_dict(include_meta=include_meta, include_result=include_result)
        finally:
            self._data = data
        obj["data"] = isal_zlib.compress(data, COMPRESS_LEVEL)
        return obj


def ingest_queue(connection: redis.Redis, name: str) -> Queue:
    return Queue(
        name, connection=connection, serializer=OrjsonSerializer, default_timeout=JOB_TIMEOUT_S, job_class=IngestJob
    )


def enqueue_envelopes(queue: Queue, envelopes: Sequence[Envelope], *, job_timeout_s: int = JOB_TIMEOUT_S) -> Job:
    """One job for the batch (its envelopes ``pack``ed); returns once Redis has it, or raises
    ``TransientError``.

    The description is named here: RQ's default is the call's repr, built from every envelope
    (~400 KB for a 500-row backfill job, ~11% of the poller's CPU) only to be cut to 75 characters."""
    try:
        return queue.enqueue(
            INGEST_JOB,
            pack(envelopes),
            description=f"{INGEST_JOB}({len(envelopes)} envelopes)",
            retry=RETRY,
            result_ttl=0,
            failure_ttl=FAILURE_TTL_S,
            job_timeout=job_timeout_s,
        )
    except (redis.RedisError, OSError) as e:
        raise TransientError(f"Redis refused the job: {e}") from e
