"""Operator commands: quarantine list/replay and failed list/requeue, through the real CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest
import redis
from rq.registry import FailedJobRegistry

from tests.conftest import PAYLOADS, work
from workers import cli, jobs
from workers.envelope import Envelope, Unreadable, pack
from workers.errors import PayloadError
from workers.queue import enqueue_envelopes, ingest_queue
from workers.settings import Settings
from workers.store import open_store

GOOD = (PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_text()


def run_cli(monkeypatch: pytest.MonkeyPatch, settings: Settings, *argv: str) -> int:
    monkeypatch.setattr(cli, "load_settings", lambda: settings)
    return cli.main(argv)


def test_quarantine_list_and_replay(
    make_settings: Callable[..., Settings], redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A quarantined envelope is listed with its reason; after the fix (the account configured) replay stores it."""
    settings = make_settings(CALLR_ACCOUNT_SID="acct1")
    store = open_store(settings.database_url)
    store.migrate(now=datetime.now(UTC))
    e = Envelope(feed="callr.webhook", account="acct2", received_at=datetime.now(UTC), body=GOOD, ingest_id="q-1")
    jobs.configure(jobs.Runtime(settings=settings, store=store))
    try:
        jobs.ingest([e.to_dict()])
        capsys.readouterr()  # the worker's own log line
        assert run_cli(monkeypatch, settings, "quarantine", "list", "--json") == 0
        (row,) = orjson.loads(capsys.readouterr().out)
        assert row["ingest_id"] == "q-1" and "acct2" in row["reason"]

        fixed = make_settings(CALLR_ACCOUNT_SID="acct2")
        assert run_cli(monkeypatch, fixed, "quarantine", "replay") == 0
        assert "replayed 1" in capsys.readouterr().out
        jobs.configure(jobs.Runtime(settings=fixed, store=store))
        queue = ingest_queue(redis_client, fixed.queue_name)
        work(queue, redis_client)
        assert store.get("callr:acct2:240711945874") is not None
        assert store.quarantined() == []
        assert run_cli(monkeypatch, fixed, "quarantine", "replay", "nope") == 1
    finally:
        jobs.configure(None)
        store.close()


def test_a_group_an_older_worker_quarantined_is_stored_when_replayed(
    make_settings: Callable[..., Settings], redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A worker older than envelope version 2 keeps a poller's group whole, wrapped as an unreadable
    item; replayed to a worker of this version, the group is read again and its rows stored."""
    settings = make_settings(CALLR_ACCOUNT_SID="acct1")
    store = open_store(settings.database_url)
    now = datetime.now(UTC)
    store.migrate(now=now)
    rows = [
        {"direction": "inbound", "row": {"callid": f"old-{n}", "started": "2024-05-01T00:00:00Z"}} for n in range(3)
    ]
    (group,) = pack([Envelope(feed="callr.export", account="acct1", received_at=now, body=r) for r in rows])
    # What an older worker stored: the item whole, as text (the same form as this one's).
    as_kept = Unreadable(group, PayloadError("unsupported envelope version 2")).kept(now)
    store.quarantine(as_kept, "unsupported envelope version 2", now=datetime.now(UTC))
    jobs.configure(jobs.Runtime(settings=settings, store=store))
    try:
        assert run_cli(monkeypatch, settings, "quarantine", "replay") == 0
        assert "replayed 1" in capsys.readouterr().out
        work(ingest_queue(redis_client, settings.queue_name), redis_client)
        assert [store.get(f"callr:acct1:old-{n}") is not None for n in range(3)] == [True] * 3
        assert store.quarantined() == []
    finally:
        jobs.configure(None)
        store.close()


def test_a_stand_in_still_unreadable_is_quarantined_again_with_its_own_reason(runtime: jobs.Runtime) -> None:
    """Replaying what no worker can read keeps it, with why, not a complaint about the wrapper."""
    weird = {"v": 7, "feed": "callr.webhook", "ingest_id": "weird"}
    as_kept = Unreadable(weird, PayloadError("unsupported envelope version 7")).kept(datetime.now(UTC))
    assert jobs.ingest([as_kept.to_dict()]) == {"stored": 0, "quarantined": 1, "ignored": 0}
    (q,) = runtime.store.quarantined()
    assert q.ingest_id == "weird" and "version 7" in q.reason


def test_failed_list_and_requeue(
    make_settings: Callable[..., Settings], redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A job that raised past its retries is listed with its error and requeued onto the queue."""
    settings = make_settings()
    queue = ingest_queue(redis_client, settings.queue_name)
    job = queue.enqueue("workers.jobs.ingest", [{"v": 1}], failure_ttl=600)  # no retries
    monkeypatch.setattr(jobs, "current_runtime", lambda: (_ for _ in ()).throw(RuntimeError("store exploded")))
    work(queue, redis_client)
    assert FailedJobRegistry(queue=queue).get_job_ids() == [job.id]
    capsys.readouterr()
    assert run_cli(monkeypatch, settings, "failed", "list", "--json") == 0
    (row,) = orjson.loads(capsys.readouterr().out)
    assert row["job_id"] == job.id and "store exploded" in row["error"]

    assert run_cli(monkeypatch, settings, "failed", "requeue") == 0
    assert queue.get_job_ids() == [job.id]
    assert FailedJobRegistry(queue=queue).count == 0


def test_table_output(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json the rows print as an aligned table with a header."""
    cli.print_rows([{"a": "1", "bb": "long value"}, {"a": "22", "bb": "x"}], as_json=False, empty="none")
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["a", "bb"] and out[1].split() == ["1", "long", "value"]
    cli.print_rows([], as_json=False, empty="none")
    assert capsys.readouterr().out.strip() == "none"


def test_enqueue_helper_is_used(redis_client: redis.Redis) -> None:
    """Replay goes through the same enqueue as the receiver (one job per batch)."""
    queue = ingest_queue(redis_client, "cdr-ingest")
    enqueue_envelopes(queue, [Envelope(feed="f", account="a", received_at=datetime.now(UTC), body="{}")])
    assert queue.count == 1
