"""Summary math (exact Decimal), CSV export (streamed, formula-safe), and a loop that never blocks."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from receiver.app import create_app
from tests.receiver.read_helpers import READ_TOKEN, bearer, cdr, dataset, minutes, put
from workers import csv_export
from workers.cdr import Status
from workers.settings import Settings
from workers.store import SqlStore
from workers.store.queries import CdrFilter
from workers.store.reads import CdrReader


@pytest.fixture
def api(
    make_settings: Callable[..., Settings], database_url: str, store: SqlStore, redis_client: Any
) -> Iterator[TestClient]:
    put(store, *dataset())
    with TestClient(create_app(make_settings(DATABASE_URL=database_url, READ_API_TOKEN=READ_TOKEN))) as client:
        yield client


def test_summary_is_exact_decimal_per_currency(api: TestClient) -> None:
    """Totals, answer rate, durations and cost per currency; 0.1 + 0.2 is 0.3 exactly, not a float."""
    body = api.get("/cdrs/summary", headers=bearer()).json()
    assert body == {
        "total": 6,
        "answered": 3,
        "answer_rate": "0.5000",
        "duration_s": {"total": 425, "avg": "85.00"},
        "talk_s": {"total": 440, "avg": "110.00"},
        "billed_s": {"total": 360, "avg": "60.00"},
        "cost": {
            "EUR": {"total": "0.250000", "calls": 3},
            "USD": {"total": "1.250000", "calls": 1},
            "XXX": {"total": "0.000001", "calls": 1},
        },
    }


def test_summary_follows_the_filters_and_handles_no_rows(api: TestClient) -> None:
    """The same filters as /cdrs apply; an empty selection has no rate and no averages."""
    body = api.get("/cdrs/summary", params={"status": "busy"}, headers=bearer()).json()
    assert (body["total"], body["answered"], body["answer_rate"]) == (1, 0, "0.0000")
    assert body["cost"] == {"EUR": {"total": "0.200000", "calls": 1}}
    empty = api.get("/cdrs/summary", params={"vendor": "sinch"}, headers=bearer()).json()
    assert (empty["total"], empty["answer_rate"], empty["duration_s"], empty["cost"]) == (
        0, None, {"total": 0, "avg": None}, {})  # fmt: skip


def test_summary_sums_many_small_amounts_exactly(store: SqlStore) -> None:
    """A thousand costs of 0.000001 and large negative ones sum to the exact decimal on both stores."""
    put(store, *[cdr(f"s{i}", cost=Decimal("0.000001")) for i in range(1000)])
    put(store, cdr("big", cost=Decimal("123456789.123456")), cdr("refund", cost=Decimal("-123456789.000000")))
    total = CdrReader(store).summary(CdrFilter())["cost"]["EUR"]["total"]
    assert Decimal(total) == Decimal("0.001") + Decimal("0.123456")


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_every_row_and_the_filters(api: TestClient) -> None:
    """export.csv has the header and one line per selected row, numbers plain, filters applied."""
    r = api.get("/cdrs/export.csv", params={"status": ["answered", "busy"]}, headers=bearer())
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = parse_csv(r.text)
    assert list(rows[0]) == list(csv_export.COLUMNS)
    assert [x["call_id"] for x in rows] == ["1", "2", "3", "5"]
    assert rows[2]["cost"] == "-0.050000" and rows[2]["duration_s"] == "300" and rows[1]["talk_s"] == ""


HOSTILE_NAMES = ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1)", "-2+3+cmd|' /C calc'!A0", "+1+1", "\tTAB", "\rCR",
                 "'already quoted", "plain name"]  # fmt: skip


def test_csv_cells_cannot_run_as_formulas(api: TestClient, store: SqlStore) -> None:
    """Text cells starting = + - @ tab CR (or ') get one leading ', so removing it gives the value back."""
    put(store, *[cdr(f"h{i}", from_name=name, started_at=minutes(10 + i)) for i, name in enumerate(HOSTILE_NAMES)])
    rows = parse_csv(api.get("/cdrs/export.csv", params={"started_from": minutes(10).isoformat()},
                             headers=bearer()).text)  # fmt: skip
    names = [x["from_name"] for x in rows]
    for written, original in zip(names, HOSTILE_NAMES, strict=True):
        assert not written.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert (written[1:] if written.startswith("'") else written) == original
    assert names[-1] == "plain name"
    assert rows[0]["from_number"] == "'+33612345678" and rows[0]["to_number"] == "'+33187654321"


def test_neutralize_leaves_safe_text_alone() -> None:
    """Only the trigger characters at the start matter; other text and numbers are untouched."""
    assert csv_export.neutralize("sip:alice@example.com") == "sip:alice@example.com"
    assert csv_export.neutralize("a=b") == "a=b"
    assert csv_export.cell("cost", Decimal("-1.5")) == "-1.5"
    assert csv_export.cell("extra", {"k": "=x"}) == '{"k":"=x"}'


def test_csv_streams_past_one_page(api: TestClient, store: SqlStore) -> None:
    """An export larger than a store page (1000 rows) arrives whole, read page by page."""
    put(store, *[cdr(f"bulk{i:04d}", started_at=minutes(100 + i), status=Status.BUSY) for i in range(1200)])
    with api.stream("GET", "/cdrs/export.csv", params={"status": "busy"}, headers=bearer()) as r:
        chunks = list(r.iter_text())
    rows = parse_csv("".join(chunks))
    assert len(rows) == 1201 and len({x["id"] for x in rows}) == 1201
    pages = list(CdrReader(store).iter_pages(CdrFilter(statuses=("busy",)), page_size=500))
    assert [len(p) for p in pages] == [500, 500, 201]


def test_the_event_loop_keeps_answering_while_the_store_is_slow(
    make_settings: Callable[..., Settings], database_url: str, store: SqlStore, redis_client: Any
) -> None:
    """A read blocked in the store does not hold up /healthz: store calls run in the thread pool."""
    release, entered = threading.Event(), threading.Event()
    released_in_time: list[bool] = []
    real_page = CdrReader.page

    def slow_page(self: CdrReader, *args: Any, **kwargs: Any) -> Any:
        entered.set()
        # On a blocked loop /healthz cannot run, so nothing sets release and this times out.
        released_in_time.append(release.wait(5))
        return real_page(self, *args, **kwargs)

    app = create_app(make_settings(DATABASE_URL=database_url, READ_API_TOKEN=READ_TOKEN))

    async def scenario() -> int:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as client,
        ):
            listing = asyncio.create_task(client.get("/cdrs", headers=bearer()))
            while not entered.is_set():
                await asyncio.sleep(0.01)
            health = await asyncio.wait_for(client.get("/healthz"), 5)
            release.set()
            assert (await listing).status_code == 200
            return health.status_code

    CdrReader.page = slow_page  # type: ignore[method-assign]
    try:
        assert asyncio.run(scenario()) == 200
        assert released_in_time == [True]
    finally:
        CdrReader.page = real_page  # type: ignore[method-assign]
        release.set()
