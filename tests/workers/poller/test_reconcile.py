"""``cdr-ingest reconcile`` on both stores: calls of a UTC day by the paths that delivered them,
as a table for people and as JSON for machines, with the poller's checkpoints beside."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from rich.console import Console

from tests.workers.store.test_store import deliver, full_cdr
from workers.cdr import Source
from workers.cli import main
from workers.poller.reconcile import category, day_bounds, reconcile, render, to_json
from workers.store import CallSources, SqlStore

DAY = datetime(2024, 5, 1, tzinfo=UTC)
PATHS = {
    "1": [Source.WEBHOOK, Source.BACKFILL],
    "2": [Source.PUSH, Source.BACKFILL],
    "3": [Source.WEBHOOK],
    "4": [Source.PUSH],
    "5": [Source.BACKFILL],
    "6": [Source.WEBHOOK, Source.PUSH],
}


def fill(store: SqlStore) -> None:
    """Six calls of DAY delivered by various paths, one of the day after, one of another vendor."""
    for call_id, paths in PATHS.items():
        cdr = full_cdr(call_id, started_at=DAY + timedelta(hours=int(call_id)))
        store.upsert([deliver(cdr, p, i, f"{call_id}-{i}") for i, p in enumerate(paths)], now=DAY)
    store.upsert([deliver(full_cdr("7", started_at=DAY + timedelta(days=1)), Source.WEBHOOK)], now=DAY)
    store.upsert([deliver(full_cdr("8", started_at=DAY, vendor="vobiz"), Source.WEBHOOK)], now=DAY)
    store.save_checkpoint("callr", "acct1", "callr.export", DAY + timedelta(hours=20), now=DAY, error="HTTP 503")


@pytest.mark.parametrize(
    ("paths", "expected"),
    [({"webhook", "backfill"}, "both"), ({"push"}, "push_only"), ({"webhook", "push"}, "push_only"),
     ({"backfill"}, "backfill_only")],
)  # fmt: skip
def test_categories(paths: set[str], expected: str) -> None:
    """Webhook and push both count as push; backfill alone is backfill only."""
    assert category(frozenset(Source(p) for p in paths)) == expected


@pytest.fixture
def filled(store: SqlStore, database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> SqlStore:
    """The store ``fill``ed, and the environment ``main`` reads pointing at it."""
    fill(store)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    return store


def test_reconcile_json_on_both_stores(filled: SqlStore, capsys: pytest.CaptureFixture[str]) -> None:
    """--json: counts, how each category came, every row id, per account, and the checkpoints."""
    assert main(["reconcile", "callr", "--day", "2024-05-01", "--json"]) == 0
    out = orjson.loads(capsys.readouterr().out)
    cats = out["categories"]
    assert out["total"] == 6 and out["day"] == "2024-05-01"
    assert cats["both"]["ids"] == ["callr:acct1:1", "callr:acct1:2"]
    assert cats["push_only"]["ids"] == ["callr:acct1:3", "callr:acct1:4", "callr:acct1:6"]
    assert cats["push_only"]["via"] == {"push": 2, "webhook": 2}
    assert cats["backfill_only"] == {"count": 1, "via": {"backfill": 1}, "ids": ["callr:acct1:5"]}
    assert out["by_account"] == {"acct1": {"both": 2, "push_only": 3, "backfill_only": 1}}
    (checkpoint,) = out["checkpoints"]
    assert checkpoint == {
        "source": "callr.export", "account": "acct1", "polled_until": "2024-05-01T20:00:00.000000Z",
        "last_error": "HTTP 503",
    }  # fmt: skip


def test_reconcile_table_on_both_stores(filled: SqlStore, capsys: pytest.CaptureFixture[str]) -> None:
    """The table: one line per category with count and share, the call ids missed by each path,
    and a warning that the backfill has not reached the end of the day."""
    assert main(["reconcile", "callr", "--day", "2024-05-01", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "seen by push and backfill" in out and "33.3%" in out and "50.0%" in out
    assert "push only call ids: 3, 4 (+1 more; --json lists all)" in out
    assert "backfill only call ids: 5" in out
    assert "polled until 2024-05-01T20:00:00.000000Z" in out and "not be polled yet" in out and "HTTP 503" in out


def test_an_empty_day_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """No call that day: zero counts and a note that the poller never ran, never a crash."""
    rec = reconcile("callr", date(2024, 5, 1), [])
    render(rec, Console(file=None, width=120))
    out = capsys.readouterr().out
    assert "total" in out and "0" in out and "has not run" in out
    assert to_json(rec)["total"] == 0


def test_account_filter_and_legs() -> None:
    """Legs show as call_id:leg; --account narrows the scope line."""
    calls = [CallSources("kazoo:a:x:1", "a", "x", "1", frozenset({Source.WEBHOOK}))]
    rec = reconcile("kazoo", date(2024, 5, 1), calls, account="a")
    console = Console(record=True, width=120)
    render(rec, console)
    text = console.export_text()
    assert "kazoo account a" in text and "push only call ids: x:1" in text


def test_reconcile_uses_the_given_day_only(store: SqlStore) -> None:
    """Calls of the next day and of other vendors are not counted."""
    fill(store)
    calls = store.calls_by_sources("callr", *day_bounds(date(2024, 5, 2)))
    assert [c.call_id for c in calls] == ["7"]
