"""Operator commands on what did not make it: quarantined payloads and failed RQ jobs.

``quarantine replay`` re-enqueues the stored envelopes (same ingest ids, so a replay that also
reached the store earlier changes nothing); ``failed requeue`` puts jobs that exhausted their
retries back on the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rq.job import Job
from rq.registry import FailedJobRegistry

from workers.envelope import Envelope, delivery_count
from workers.queue import enqueue_envelopes, ingest_queue, redis_connection
from workers.settings import Settings
from workers.store import QuarantinedEnvelope, SqlStore


def replay_quarantined(store: SqlStore, settings: Settings, ids: Sequence[str], *, now: datetime) -> list[str]:
    """Re-enqueue the given (or all open) quarantined envelopes; return the ingest ids sent."""
    items = store.quarantined(ids, include_replayed=bool(ids))
    missing = set(ids) - {q.ingest_id for q in items}
    if missing:
        raise KeyError(f"not in quarantine: {', '.join(sorted(missing))}")
    if not items:
        return []
    connection = redis_connection(settings.redis_url)
    try:
        queue = ingest_queue(connection, settings.queue_name)
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            enqueue_envelopes(
                queue, [Envelope.from_dict(q.envelope) for q in chunk], job_timeout_s=settings.job_timeout_s
            )
            store.mark_replayed([q.ingest_id for q in chunk], now=now)
    finally:
        connection.close()
    return [q.ingest_id for q in items]


@dataclass(frozen=True)
class FailedJob:
    id: str
    failed_at: datetime | None
    envelopes: int
    error: str


def failed_jobs(settings: Settings) -> list[FailedJob]:
    connection = redis_connection(settings.redis_url)
    try:
        registry = FailedJobRegistry(queue=ingest_queue(connection, settings.queue_name))
        jobs = [j for j in Job.fetch_many(registry.get_job_ids(), connection=connection,
                                           serializer=registry.serializer) if j is not None]  # fmt: skip
        return [
            FailedJob(
                id=j.id,
                failed_at=j.ended_at,
                envelopes=delivery_count(j.args[0]) if j.args else 0,
                error=_last_line(_exc_string(j)),
            )
            for j in jobs
        ]
    finally:
        connection.close()


def requeue_failed(settings: Settings, ids: Sequence[str]) -> list[str]:
    connection = redis_connection(settings.redis_url)
    try:
        registry = FailedJobRegistry(queue=ingest_queue(connection, settings.queue_name))
        targets = list(ids) or registry.get_job_ids()
        for job_id in targets:
            registry.requeue(job_id)
        return targets
    finally:
        connection.close()


def _exc_string(job: Job) -> str | None:
    result = job.latest_result()
    return result.exc_string if result is not None else None


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def quarantine_rows(items: Sequence[QuarantinedEnvelope]) -> list[dict[str, str]]:
    return [
        {
            "ingest_id": q.ingest_id,
            "feed": q.feed,
            "account": q.account,
            "quarantined_at": q.quarantined_at.isoformat(),
            "replayed_at": q.replayed_at.isoformat() if q.replayed_at else "",
            "reason": q.reason,
        }
        for q in items
    ]
