"""Drain jobs on real Redis with an in-process worker: chunks, follow-ups, retries keep their chunk."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from rq.registry import ScheduledJobRegistry

from tests.conftest import PAYLOADS
from tests.conftest import work as burst
from tests.e2e.stack import wait_until
from tests.faults.servers import RedisServer
from workers import inbox as inbox_module
from workers import jobs
from workers.envelope import Envelope
from workers.errors import TransientError
from workers.inbox import Inbox, inbox_key, processing_key, processing_lists_key
from workers.queue import ingest_queue
from workers.settings import Settings

TEMPLATE = orjson.loads((PAYLOADS / "callr" / "actions_push.json").read_bytes())


def envelope(n: int) -> Envelope:
    body = orjson.dumps({"cdr": {**TEMPLATE["cdr"], "callid": 100 + n}}).decode()
    return Envelope(feed="callr.actions", account="acct1", received_at=datetime.now(UTC), body=body)


def work(redis_client: redis.Redis) -> None:
    queue = ingest_queue(redis_client, "cdr-ingest")
    burst(queue, redis_client)


def test_drain_stores_everything_in_chunks(
    runtime: jobs.Runtime, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More envelopes than one chunk: follow-up drain jobs take the rest, all are stored, lists are gone."""
    monkeypatch.setattr(inbox_module, "CHUNK", 7)
    box = Inbox(redis_client, ingest_queue(redis_client, "cdr-ingest"), window_s=60, job_timeout_s=30)
    box.push([envelope(n) for n in range(30)], [None] * 30)
    work(redis_client)
    assert runtime.store.count() == 30
    assert redis_client.llen(inbox_key("cdr-ingest")) == 0
    assert redis_client.keys("cdr-ingest:processing:*") == []
    assert redis_client.scard(processing_lists_key("cdr-ingest")) == 0


def test_failed_drain_keeps_its_chunk_for_the_retry(
    runtime: jobs.Runtime, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store failure fails the drain job; its chunk waits in its processing list and the retry stores it."""
    box = Inbox(redis_client, ingest_queue(redis_client, "cdr-ingest"), window_s=60, job_timeout_s=30)
    box.push([envelope(n) for n in range(3)], [None] * 3)
    real_upsert = runtime.store.upsert

    def broken(*args: object, **kwargs: object) -> None:
        raise TransientError("database is down")

    monkeypatch.setattr(runtime.store, "upsert", broken)
    queue = ingest_queue(redis_client, "cdr-ingest")
    (job,) = queue.get_jobs()
    work(redis_client)
    assert redis_client.llen(processing_key(job.id)) == 3
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == [job.id]

    monkeypatch.setattr(runtime.store, "upsert", real_upsert)
    box.push([envelope(9)], [None])  # arrives meanwhile: taken by a later drain, not mixed into the retry
    ScheduledJobRegistry(queue=queue).remove(job.id)
    queue.enqueue_job(job)  # the retry, now
    work(redis_client)
    assert runtime.store.count() == 4
    assert redis_client.exists(processing_key(job.id)) == 0


def test_maintenance_restarts_a_stranded_inbox(
    runtime: jobs.Runtime, redis_client: redis.Redis, make_settings: object
) -> None:
    """Envelopes left in the inbox with no drain job pending get one at the next maintenance round."""
    from workers.worker import build_worker

    redis_client.rpush(inbox_key("cdr-ingest"), orjson.dumps(envelope(1).to_dict()))
    worker = build_worker(runtime.settings, redis_client)
    worker.run_maintenance_tasks()
    assert [j.func_name for j in ingest_queue(redis_client, "cdr-ingest").get_jobs()] == ["workers.jobs.drain"]
    work(redis_client)
    assert runtime.store.count() == 1


def test_unreadable_inbox_item_is_quarantined(runtime: jobs.Runtime, redis_client: redis.Redis) -> None:
    """A corrupt inbox entry is kept in quarantine, never dropped, and does not stop its chunk."""
    redis_client.rpush(inbox_key("cdr-ingest"), b"{not json", orjson.dumps(envelope(2).to_dict()))
    inbox_module.ensure_draining(ingest_queue(redis_client, "cdr-ingest"), 30)
    work(redis_client)
    assert runtime.store.count() == 1
    (q,) = runtime.store.quarantined()
    assert "{not json" in q.envelope["body"]


def test_orphaned_chunk_goes_back_to_the_inbox(runtime: jobs.Runtime, redis_client: redis.Redis) -> None:
    """A processing list whose job is gone (e.g. expired from the failed registry) returns to the inbox
    head, in order, and is then stored; a list whose job still exists is left alone."""
    from workers.worker import build_worker

    queue = ingest_queue(redis_client, "cdr-ingest")
    e1, e2, e3 = envelope(1), envelope(2), envelope(3)
    redis_client.rpush(inbox_key("cdr-ingest"), *(orjson.dumps(e.to_dict()) for e in (e1, e2)))
    assert len(inbox_module.take(redis_client, "cdr-ingest", "gone")) == 2
    alive = queue.enqueue("workers.jobs.drain")
    redis_client.rpush(inbox_key("cdr-ingest"), orjson.dumps(envelope(4).to_dict()))
    assert len(inbox_module.take(redis_client, "cdr-ingest", alive.id)) == 1
    redis_client.rpush(inbox_key("cdr-ingest"), orjson.dumps(e3.to_dict()))
    assert redis_client.smembers(processing_lists_key("cdr-ingest")) == {
        processing_key("gone").encode(),
        processing_key(alive.id).encode(),
    }
    assert inbox_module.return_orphans(queue) == 2
    first = [orjson.loads(i)["ingest_id"] for i in redis_client.lrange(inbox_key("cdr-ingest"), 0, -1)]
    assert first == [e1.ingest_id, e2.ingest_id, e3.ingest_id]
    assert redis_client.exists(processing_key("gone")) == 0
    assert redis_client.llen(processing_key(alive.id)) == 1
    assert redis_client.smembers(processing_lists_key("cdr-ingest")) == {processing_key(alive.id).encode()}
    build_worker(runtime.settings, redis_client).run_maintenance_tasks()
    work(redis_client)
    assert runtime.store.count() == 4
    assert redis_client.scard(processing_lists_key("cdr-ingest")) == 0  # each drain's list unregistered


def test_unregistered_lists_are_found_by_a_scan_once_per_worker(
    runtime: jobs.Runtime, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Maintenance reads the set of processing lists, not the keyspace (every dedupe key is in it);
    a worker scans once, at its first round, for a list taken before lists were registered."""
    from workers.worker import build_worker

    redis_client.rpush(processing_key("legacy"), orjson.dumps(envelope(1).to_dict()))
    queue = ingest_queue(redis_client, "cdr-ingest")
    assert inbox_module.return_orphans(queue) == 0
    scans: list[dict[str, object]] = []
    real_scan = redis_client.scan_iter

    def counted_scan(**kwargs: Any) -> Iterator[bytes]:
        scans.append(kwargs)
        return real_scan(**kwargs)

    monkeypatch.setattr(redis_client, "scan_iter", counted_scan)
    worker = build_worker(runtime.settings, redis_client)
    worker.run_maintenance_tasks()
    assert redis_client.exists(processing_key("legacy")) == 0
    worker.run_maintenance_tasks()
    assert len(scans) == 1
    work(redis_client)
    assert runtime.store.count() == 1


def test_taking_a_chunk_does_not_write_the_envelopes_again(tmp_path: Path) -> None:
    """The AOF gets each envelope once (when pushed): a take records moves, not the envelopes a
    second time, which had doubled the AOF and the rewrites that copy it."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        r = redis.Redis.from_url(server.url)
        r.rpush(inbox_key("q"), *[b"x" * 1000] * 200)

        def size() -> int:
            return int(r.info("persistence")["aof_current_size"])

        wait_until(lambda: size() > 200 * 1000, what="the push in the AOF")
        before = size()
        taken = inbox_module.take(r, "q", "job-1")
        assert len(taken) == 200 and r.llen(processing_key("job-1")) == 200 and not r.llen(inbox_key("q"))
        time.sleep(1.2)  # appendfsync everysec
        assert size() - before < 200 * 100  # ~55 bytes a move; the envelopes again would be 200,000
    finally:
        server.stop()


def test_drain_lingers_for_a_part_chunk(
    runtime: jobs.Runtime, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drain job finding less than a chunk waits DRAIN_LINGER_MS, still holding the pending mark:
    what arrives meanwhile joins its chunk (one ingest of all), no other job is scheduled."""
    box = Inbox(redis_client, ingest_queue(redis_client, "cdr-ingest"), window_s=60, job_timeout_s=30)
    waits: list[float] = []
    chunks: list[int] = []
    real_ingest = jobs.ingest

    def arriving_meanwhile(seconds: float) -> None:
        waits.append(seconds)
        box.push([envelope(n) for n in range(3, 7)], [None] * 4)
        assert ingest_queue(redis_client, "cdr-ingest").count == 0  # the pending mark held: no new job

    def counted_ingest(batch: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        chunks.append(len(batch))
        return real_ingest(batch)

    monkeypatch.setattr(inbox_module, "sleep", arriving_meanwhile)
    monkeypatch.setattr(jobs, "ingest", counted_ingest)
    box.push([envelope(n) for n in range(3)], [None] * 3)
    work(redis_client)
    assert waits == [runtime.settings.drain_linger_ms / 1000] == [0.05]
    assert chunks == [7]
    assert runtime.store.count() == 7


def test_drain_takes_a_full_chunk_at_once(
    make_settings: Callable[..., Settings], runtime: jobs.Runtime, redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A chunk or more waiting, or DRAIN_LINGER_MS=0: no wait."""
    monkeypatch.setattr(inbox_module, "CHUNK", 5)
    monkeypatch.setattr(inbox_module, "sleep", lambda seconds: pytest.fail(f"waited {seconds} s"))
    box = Inbox(redis_client, ingest_queue(redis_client, "cdr-ingest"), window_s=60, job_timeout_s=30)
    box.push([envelope(n) for n in range(5)], [None] * 5)
    work(redis_client)
    assert runtime.store.count() == 5
    jobs.configure(jobs.Runtime(settings=make_settings(DRAIN_LINGER_MS="0"), store=runtime.store))
    box.push([envelope(n) for n in range(5, 7)], [None] * 2)
    work(redis_client)
    assert runtime.store.count() == 7
