"""``cdr-ingest stats`` on both stores: counts, quarantine, queue depths, checkpoints; table and JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
import redis

from tests.receiver.read_helpers import cdr, put
from workers import stats
from workers.cdr import Source, Status
from workers.cli import main
from workers.envelope import Envelope
from workers.queue import enqueue_envelopes, ingest_queue, redis_connection
from workers.store import SqlStore

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def fill(store: SqlStore, redis_client: redis.Redis) -> None:
    put(store, cdr("1"), cdr("2", status=Status.BUSY), cdr("3", vendor="kazoo"))
    put(store, cdr("1"), source=Source.PUSH)
    e = Envelope(feed="callr.webhook", account="acct1", received_at=NOW, body="{}")
    store.quarantine(e, "no CDR", now=NOW)
    store.quarantine(Envelope(feed="callr.webhook", account="acct1", received_at=NOW, body="[]"), "x", now=NOW)
    store.mark_replayed([e.ingest_id], now=NOW)
    enqueue_envelopes(ingest_queue(redis_client, "cdr-ingest"), [e])


def test_collect_counts_everything(store: SqlStore, redis_client: redis.Redis) -> None:
    """Per vendor, source (a row counts once for each of its sources) and status, plus quarantine and queue."""
    fill(store, redis_client)
    s = stats.collect(store, ingest_queue(redis_client, "cdr-ingest"))
    assert s.cdrs == 3
    assert (s.by_vendor, s.by_source) == ({"callr": 2, "kazoo": 1}, {"webhook": 3, "push": 1})
    assert s.by_status == {"answered": 2, "busy": 1}
    assert s.quarantine == {"open": 1, "replayed": 1}
    assert s.queue == {"inbox_envelopes": 0, "queued": 1, "started": 0, "scheduled": 0, "deferred": 0, "failed": 0}
    assert s.checkpoints == []


def test_checkpoints_are_shown_once_the_table_exists(store: SqlStore, redis_client: redis.Redis) -> None:
    """Whatever columns the poller's checkpoints table has, each row is listed with them."""
    p, table = store.param, "checkpoints_stats_test"
    with store.reading() as cur:
        cur.execute(f"CREATE TABLE {table} (vendor text, account text, source text, cursor text)")
        cur.execute(f"INSERT INTO {table} VALUES ({p}, {p}, {p}, {p})", ["vobiz", "a1", "vobiz.api", "2024-05-01"])
    try:
        s = stats.collect(store, ingest_queue(redis_client, "cdr-ingest"), checkpoints_table=table)
    finally:
        with store.reading() as cur:
            cur.execute(f"DROP TABLE {table}")
    assert s.checkpoints == [{"vendor": "vobiz", "account": "a1", "source": "vobiz.api", "cursor": "2024-05-01"}]
    rendered = stats.render_table(s)
    assert "poller checkpoints" in rendered and "vobiz.api" in rendered and "2024-05-01" in rendered


def test_redis_down_is_reported_not_fatal(store: SqlStore) -> None:
    """With Redis unreachable the store counts still print and the queue line says why."""
    connection = redis_connection("redis://127.0.0.1:1/0", timeout_s=0.5)
    s = stats.collect(store, ingest_queue(connection, "cdr-ingest"))
    assert s.queue is None and s.queue_error and "Redis" in s.queue_error
    assert "unavailable" in stats.render_table(s)


def test_cli_prints_a_table_or_json(
    store: SqlStore, database_url: str, redis_url: str, redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """`cdr-ingest stats` prints an aligned table; --json the same numbers as JSON."""
    fill(store, redis_client)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert main(["stats"]) == 0
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].split() == ["section", "name", "count"]
    assert ["cdrs", "total", "3"] in [line.split() for line in lines]
    assert ["vendor", "kazoo", "1"] in [line.split() for line in lines]
    assert ["queue", "queued", "1"] in [line.split() for line in lines]
    assert ["quarantine", "open", "1"] in [line.split() for line in lines]
    assert lines[-1] == "poller checkpoints: none"
    assert main(["stats", "--json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert doc["cdrs"] == 3 and doc["by_source"] == {"webhook": 3, "push": 1} and doc["queue"]["queued"] == 1
