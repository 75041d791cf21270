"""``backfill`` end to end on both stores: the fake Callr API → RQ (real Redis) → an in-process
SimpleWorker → rows; merged with webhook deliveries, idempotent, malformed rows quarantined."""

from __future__ import annotations

import gc
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis
from rich.console import Console
from rich.text import Text
from structlog.testing import capture_logs

from tests.conftest import PAYLOADS
from tests.fakes.vendor_api import FakeCallr, v1_cdr, v2_call
from tests.workers.poller.conftest import Backfill, work
from workers import jobs
from workers.collector import YOUNG_THRESHOLD
from workers.envelope import Envelope
from workers.errors import ConfigError
from workers.merge import as_comparable
from workers.poller.backfill import run_backfill
from workers.poller.http import HttpClient
from workers.poller.progress import BarReporter, LogReporter, reporter_for
from workers.poller.pump import pump
from workers.poller.sources import all_sources
from workers.queue import enqueue_envelopes, ingest_queue
from workers.settings import Settings

DAY = datetime(2024, 5, 1, tzinfo=UTC)


def test_backfill_stores_every_call_once(callr: FakeCallr, runtime: jobs.Runtime, backfill: Backfill) -> None:
    """Both Callr sources over one day: each call is one row, sourced backfill, money from cents."""
    at = DAY + timedelta(minutes=90)
    callr.cdrs_in = [v1_cdr(1, at), v1_cdr(2, at + timedelta(hours=4), debit="100.00")]
    callr.cdrs_out = [v1_cdr(3, at + timedelta(hours=4), outbound=True)]
    callr.calls = [v2_call(1, at), v2_call(4, at + timedelta(hours=8), direction="outbound")]
    tally = backfill()
    assert tally.rows == 5 and tally.pages == 5  # 3 JSON-RPC (type, window) pairs with rows, 2 export directions
    assert runtime.store.count() == 4
    row = runtime.store.get("callr:acct1:2")
    assert row is not None and sorted(row.sources) == ["backfill"] and str(row.cdr.cost) == "1.000000"
    assert runtime.store.get("callr:acct1:4") is not None and runtime.store.quarantined() == []


def test_rerunning_a_window_changes_nothing(callr: FakeCallr, runtime: jobs.Runtime, backfill: Backfill) -> None:
    """The same window twice: same rows, same values, same sources, same first_seen_at."""
    callr.cdrs_in = [v1_cdr(i, DAY + timedelta(minutes=7 * i)) for i in range(1, 40)]
    callr.calls = [v2_call(i, DAY + timedelta(minutes=7 * i)) for i in range(20, 60)]
    backfill()
    before = {i: as_comparable(runtime.store.get(i)) for i in (f"callr:acct1:{n}" for n in range(1, 60))}  # type: ignore[arg-type]
    backfill()
    after = {i: as_comparable(runtime.store.get(i)) for i in before}  # type: ignore[arg-type]
    assert runtime.store.count() == 59
    for key in before:
        assert {k: before[key][k] for k in ("cdr", "sources", "first_seen_at")} == {
            k: after[key][k] for k in ("cdr", "sources", "first_seen_at")
        }


def test_backfill_of_a_webhooked_call_merges_and_its_billing_wins(
    callr: FakeCallr, runtime: jobs.Runtime, backfill: Backfill, redis_client: redis.Redis
) -> None:
    """A call received by webhook then exported: one row, sources backfill+webhook, the export's
    billing kept even though the webhook copy is processed later."""
    webhook = orjson.loads((PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_bytes())
    exported = {**webhook["payload"], "billingDebit": "1.2000", "durationBilled": 120}
    callr.export_mode = "task-json"
    callr.calls = [{**exported, "started": "2024-05-01T08:00:00.000Z"}]
    backfill(source="callr.export")
    queue = ingest_queue(redis_client, runtime.settings.queue_name)
    body = orjson.dumps({**webhook, "payload": {**webhook["payload"], "started": "2024-05-01T08:00:00.000Z"}})
    later = datetime.now(UTC) + timedelta(minutes=1)
    enqueue_envelopes(queue, [Envelope(feed="callr.webhook", account="acct1", received_at=later, body=body.decode())])
    work(queue, redis_client)
    row = runtime.store.get(f"callr:acct1:{webhook['payload']['callid']}")
    assert row is not None and sorted(row.sources) == ["backfill", "webhook"] and runtime.store.count() == 1
    assert str(row.cdr.cost) == "0.012000" and row.cdr.billed_s == 120


def test_a_malformed_export_line_is_quarantined_not_shifted(
    callr: FakeCallr, runtime: jobs.Runtime, backfill: Backfill
) -> None:
    """A CSV line with the wrong field count goes to quarantine with its text; its neighbours are stored."""
    callr.calls = [v2_call(1, DAY + timedelta(hours=1))]
    callr.csv_junk = ["99,too,many,fields" + ",x" * 40]
    backfill(source="callr.export")
    assert runtime.store.count() == 1
    quarantined = runtime.store.quarantined()
    assert quarantined and all("fields, got" in q.reason and "99,too,many" in q.reason for q in quarantined)


def test_log_lines_off_a_terminal(callr: FakeCallr, backfill: Backfill) -> None:
    """Not on a terminal: one backfill.window line per window with rows, pages, rate; then backfill.done."""
    callr.cdrs_in = [v1_cdr(1, DAY + timedelta(minutes=90))]
    with capture_logs() as logs:
        backfill(source="callr.jsonrpc", until=DAY + timedelta(hours=3))
    windows = [e for e in logs if e["event"] == "backfill.window"]
    assert [w["windows"] for w in windows] == ["1/3", "2/3", "3/3"]
    assert windows[1]["rows"] == 1 and windows[2]["total_rows"] == 1 and "rows_per_s" in windows[2]
    assert [e["rows"] for e in logs if e["event"] == "backfill.done"] == [1]


def test_progress_bar_on_a_terminal(callr: FakeCallr, backfill: Backfill) -> None:
    """On a terminal a bar shows windows done, rows, pages and rows/s, and a summary line closes it."""
    callr.cdrs_in = [v1_cdr(i, DAY + timedelta(minutes=i)) for i in range(1, 11)]
    out = io.StringIO()
    bar = BarReporter(Console(file=out, force_terminal=True, width=150))
    backfill(source="callr.jsonrpc", until=DAY + timedelta(hours=2), reporter=bar)
    text = Text.from_ansi(out.getvalue()).plain
    assert "2/2" in text and "rows/s" in text and "pages" in text
    assert "backfill done: 10 rows in 1 pages, 2/2 windows" in text


def test_reporter_follows_the_terminal() -> None:
    """A terminal gets the bar, anything else log lines."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(reporter_for(Tty()), BarReporter) and isinstance(reporter_for(io.StringIO()), LogReporter)


def test_nothing_configured_is_a_config_error(make_settings: Callable[..., Settings], client: HttpClient) -> None:
    """A vendor without poller credentials is refused with a sentence saying what to set."""
    with pytest.raises(ConfigError, match="no configured callr account"):
        run_backfill(make_settings(), "callr", DAY, DAY + timedelta(days=1), client=client, enqueue=print,
                     reporter=LogReporter(), clock=lambda: DAY)  # fmt: skip


def test_the_poller_pages_a_window_with_young_collections_less_often(
    callr: FakeCallr, make_settings: Callable[..., Settings], callr_env: dict[str, str], poller_env: dict[str, str],
    client: HttpClient,
) -> None:  # fmt: skip
    """While ``pump`` pages a window (enqueueing included), young objects are collected every
    ``YOUNG_THRESHOLD`` allocations; after it, as before."""
    callr.cdrs_in = [v1_cdr(n, DAY + timedelta(minutes=n)) for n in range(1, 4)]
    settings = make_settings(**callr_env, **poller_env)
    source = next(s for s in all_sources() if s.name == "callr.jsonrpc")
    seen: list[int] = []
    before = gc.get_threshold()
    tally = pump(source, settings.accounts_for("callr")[0], DAY, DAY + timedelta(days=1), client=client,
                 enqueue=lambda envelopes: seen.append(gc.get_threshold()[0]), clock=lambda: DAY)  # fmt: skip
    assert tally.rows == 3 and seen == [YOUNG_THRESHOLD] and gc.get_threshold() == before
