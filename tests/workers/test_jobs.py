"""The RQ job on real Redis with an in-process SimpleWorker: store, quarantine, retry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import orjson
import pytest
import redis
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from tests.conftest import PAYLOADS
from tests.conftest import work as burst
from workers import jobs
from workers.envelope import Envelope, pack
from workers.errors import TransientError
from workers.queue import enqueue_envelopes, ingest_queue


def envelope(name: str, feed: str = "callr.webhook", **over: Any) -> Envelope:
    values: dict[str, Any] = dict(
        feed=feed, account="acct1", received_at=datetime.now(UTC), body=(PAYLOADS / "callr" / name).read_text()
    )
    values.update(over)
    return Envelope(**values)


def work(rt: jobs.Runtime, redis_client: redis.Redis) -> None:
    queue = ingest_queue(redis_client, rt.settings.queue_name)
    burst(queue, redis_client)


def test_batch_stores_quarantines_and_ignores(runtime: jobs.Runtime, redis_client: redis.Redis) -> None:
    """One job: a good CDR is stored, a bad one quarantined, a started event ignored; none fails the others."""
    queue = ingest_queue(redis_client, runtime.settings.queue_name)
    good = envelope("webhook_v2_inbound_answered.json")
    bad = envelope("webhook_v2_inbound_answered.json", body='{"type": "v2.call.inbound.ended", "payload": {}}')
    ignored = envelope("webhook_v2_inbound_started.json")
    enqueue_envelopes(queue, [good, bad, ignored])
    work(runtime, redis_client)
    assert runtime.store.count() == 1
    row = runtime.store.get("callr:acct1:240711945874")
    assert row is not None and row.cdr.status == "answered"
    (q,) = runtime.store.quarantined()
    assert q.ingest_id == bad.ingest_id and "callid" in q.reason
    assert FailedJobRegistry(queue=queue).count == 0


def test_a_job_bigger_than_a_store_chunk_is_stored_whole(runtime: jobs.Runtime) -> None:
    """A job of more than ``STORE_CHUNK`` envelopes is upserted a chunk at a time: every call is
    stored, and a bad payload or an ignored event in a later chunk is counted like one in the first."""
    answered = orjson.loads((PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_text())
    calls = []
    for n in range(2 * jobs.STORE_CHUNK + 3):
        answered["payload"]["callid"] = f"big-{n}"
        calls.append(envelope("webhook_v2_inbound_answered.json", body=orjson.dumps(answered).decode()))
    bad = envelope("webhook_v2_inbound_answered.json", body='{"type": "v2.call.inbound.ended", "payload": {}}')
    ignored = envelope("webhook_v2_inbound_started.json")
    batch = [e.to_dict() for e in [*calls[: jobs.STORE_CHUNK + 1], bad, *calls[jobs.STORE_CHUNK + 1 :], ignored]]
    assert jobs.ingest(batch) == {"stored": len(calls), "quarantined": 1, "ignored": 1}
    assert runtime.store.count() == len(calls)
    assert runtime.store.get(f"callr:acct1:big-{len(calls) - 1}") is not None
    (q,) = runtime.store.quarantined()
    assert q.ingest_id == bad.ingest_id


def export_rows(prefix: str) -> list[dict[str, Any]]:
    """More than a store chunk of Callr export rows as the poller wraps them, the fourth without a callid."""
    rows: list[dict[str, Any]] = [
        {"direction": "inbound", "row": {"callid": f"{prefix}-{n}", "started": "2024-05-01T00:00:00Z",
                                         "ended": "2024-05-01T00:01:00Z", "callerNumber": "+33612345678"}}
        for n in range(jobs.STORE_CHUNK + 5)
    ]  # fmt: skip
    rows.insert(3, {"direction": "inbound", "row": {"started": "2024-05-01T00:00:00Z"}})
    return rows


def test_a_packed_job_stores_what_its_envelopes_one_by_one_store(runtime: jobs.Runtime) -> None:
    """The poller's job form (a group of rows as objects, ``pack``) with a row that cannot be
    normalized and a delivery that is no pair: every good row stored, those two quarantined alone,
    and the rows equal to those of the same rows sent one envelope each, as text."""
    now = datetime.now(UTC)
    envelopes = [Envelope(feed="callr.export", account="acct1", received_at=now, body=r) for r in export_rows("row")]
    (group,) = pack(envelopes)
    group["deliveries"].insert(7, ["only-an-id"])
    result = jobs.ingest(orjson.loads(orjson.dumps([group])))
    assert result == {"stored": len(envelopes) - 1, "quarantined": 2, "ignored": 0}
    no_callid, not_a_pair = sorted(runtime.store.quarantined(), key=lambda q: "[ingest_id, body]" in q.reason)
    assert "callid" in no_callid.reason and no_callid.ingest_id == envelopes[3].ingest_id
    assert "[ingest_id, body]" in not_a_pair.reason
    texts = [
        attrs.evolve(e, body=orjson.dumps(r).decode()).to_dict()
        for r, e in zip(export_rows("text"), envelopes, strict=True)
    ]
    assert jobs.ingest(texts)["stored"] == len(envelopes) - 1
    for n in (0, jobs.STORE_CHUNK + 4):
        packed, one_by_one = runtime.store.get(f"callr:acct1:row-{n}"), runtime.store.get(f"callr:acct1:text-{n}")
        assert packed is not None and one_by_one is not None
        assert packed.versions == one_by_one.versions
        assert packed.raw["backfill"]["row"] == {**one_by_one.raw["backfill"]["row"], "callid": f"row-{n}"}
        assert attrs.evolve(packed.cdr, call_id=f"text-{n}") == one_by_one.cdr


def test_unconfigured_account_is_quarantined(runtime: jobs.Runtime, redis_client: redis.Redis) -> None:
    """An envelope for an account this worker does not know is kept, with the reason, for replay."""
    queue = ingest_queue(redis_client, runtime.settings.queue_name)
    enqueue_envelopes(queue, [envelope("actions_push.json", feed="callr.actions", account="other")])
    work(runtime, redis_client)
    (q,) = runtime.store.quarantined()
    assert "not configured" in q.reason


def test_unreadable_envelope_is_quarantined(runtime: jobs.Runtime) -> None:
    """A queue item that is not a v1 envelope is quarantined whole, not lost."""
    result = jobs.ingest([{"v": 7, "feed": "callr.webhook", "ingest_id": "weird"}])
    assert result == {"stored": 0, "quarantined": 1, "ignored": 0}
    (q,) = runtime.store.quarantined()
    assert q.ingest_id == "weird" and "version" in q.reason


def test_envelope_with_a_receipt_time_that_is_not_text_is_quarantined(runtime: jobs.Runtime) -> None:
    """A number where the receipt time's text belongs is a bad envelope, kept for replay; it must not
    fail the job (and with it every envelope of the batch)."""
    item = {"v": 1, "feed": "callr.webhook", "account": "acct1", "received_at": 1717243200, "body": "{}",
            "ingest_id": "numeric-time"}  # fmt: skip
    result = jobs.ingest([item])
    assert result == {"stored": 0, "quarantined": 1, "ignored": 0}
    (q,) = runtime.store.quarantined()
    assert q.ingest_id == "numeric-time" and "received_at" in q.reason


def test_envelope_with_headers_that_are_not_an_object_is_quarantined(runtime: jobs.Runtime) -> None:
    item = {"v": 1, "feed": "callr.webhook", "account": "acct1", "received_at": "2024-05-01T00:00:00Z",
            "body": "{}", "headers": ["content-type"], "ingest_id": "list-headers"}  # fmt: skip
    assert jobs.ingest([item]) == {"stored": 0, "quarantined": 1, "ignored": 0}
    (q,) = runtime.store.quarantined()
    assert q.ingest_id == "list-headers" and "headers" in q.reason


def test_store_failure_is_retried(
    runtime: jobs.Runtime, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store error fails the job into RQ's retry schedule, never into quarantine."""

    def broken(*args: object, **kwargs: object) -> None:
        raise TransientError("database is down")

    monkeypatch.setattr(runtime.store, "upsert", broken)
    queue = ingest_queue(redis_client, runtime.settings.queue_name)
    job = enqueue_envelopes(queue, [envelope("webhook_v2_inbound_answered.json")])
    work(runtime, redis_client)
    job.refresh()
    assert job.retries_left is not None and job.retries_left < 8
    assert ScheduledJobRegistry(queue=queue).count == 1
    assert runtime.store.quarantined() == []


def test_job_description_names_the_batch_without_its_payload(runtime: jobs.Runtime, redis_client: redis.Redis) -> None:
    """``rq info`` shows what a job carries; RQ's default (a repr of every envelope) is not built."""
    queue = ingest_queue(redis_client, runtime.settings.queue_name)
    batch = [envelope("webhook_v2_inbound_answered.json") for _ in range(3)]
    job = enqueue_envelopes(queue, batch)
    stored = redis_client.hget(job.key, "description")
    assert stored == b"workers.jobs.ingest(3 envelopes)"
    work(runtime, redis_client)
    assert runtime.store.count() == 1
