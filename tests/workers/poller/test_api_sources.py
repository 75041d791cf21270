"""The Vobiz CDR API and Kazoo /cdrs sources against the fake APIs: request shapes, pagination
followed to the end, faults retried or stopping the source, no credential in any message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from tests.fakes.kazoo_api import kazoo_row
from tests.fakes.vendor_api import FakeKazoo, FakeVobiz, Fault
from tests.fakes.vobiz_api import vobiz_cdr
from tests.workers.poller.conftest import Waits
from workers.poller.http import HttpClient, SourceStopped, SourceUnavailable
from workers.poller.sources import Page, get_source
from workers.poller.sources.kazoo import CDRS, gregorian
from workers.poller.sources.kazoo import read_page as kazoo_page
from workers.poller.sources.vobiz import API, day_params
from workers.poller.sources.vobiz import read_page as vobiz_page
from workers.settings import Account, Settings

DAY = datetime(2026, 3, 25, tzinfo=UTC)


@pytest.fixture
def accounts(make_settings: Callable[..., Settings], poller_env: dict[str, str]) -> dict[str, Account]:
    settings = make_settings(**poller_env)
    return {a.vendor: a for a in settings.accounts if a.vendor in ("vobiz", "kazoo")}


def uuids(pages: list[Page], key: str) -> list[str]:
    return [str(r[key]) for p in pages for r in p.rows]


def test_vobiz_request_and_every_page(vobiz: FakeVobiz, accounts: dict[str, Account], client: HttpClient) -> None:
    """Day-granular query, per_page=100, page 1..n while has_next; auth headers; 250 rows in 3 jobs."""
    vobiz.cdrs = [vobiz_cdr(f"u{i:03}", DAY + timedelta(minutes=5 * i)) for i in range(250)]
    vobiz.cdrs.append(vobiz_cdr("next-day", DAY + timedelta(days=1, hours=1)))
    pages = list(API.fetch(accounts["vobiz"], DAY, DAY + timedelta(days=1), client))
    assert [len(p.rows) for p in pages] == [100, 100, 50] and "next-day" not in uuids(pages, "uuid")
    seen = vobiz.requests("vobiz.cdr")
    assert [s.params["page"] for s in seen] == ["1", "2", "3"]
    assert seen[0].params | {"page": "1"} == {"start_date": "2026-03-25", "end_date": "2026-03-25", "per_page": "100",
                                              "page": "1"}  # fmt: skip
    assert seen[0].path == f"/vobiz/api/v1/account/{vobiz.auth_id}/cdr"
    assert (seen[0].headers["x-auth-id"], seen[0].headers["x-auth-token"]) == (vobiz.auth_id, vobiz.auth_token)


def test_vobiz_days_asked_for_a_window() -> None:
    """A window asks for every UTC day it touches, end_date inclusive; a midnight end is not a day."""
    assert day_params(DAY, DAY + timedelta(days=1)) == {"start_date": "2026-03-25", "end_date": "2026-03-25"}
    late = DAY + timedelta(hours=23)
    assert day_params(late, late + timedelta(hours=2)) == {"start_date": "2026-03-25", "end_date": "2026-03-26"}


def test_kazoo_request_and_every_page(kazoo: FakeKazoo, accounts: dict[str, Account], client: HttpClient) -> None:
    """Gregorian created_from/created_to, page_size, then start_key = next_start_key until none."""
    kazoo.cdrs = [kazoo_row(f"leg{i:03}", DAY + timedelta(minutes=3 * i)) for i in range(230)]
    pages = list(CDRS.fetch(accounts["kazoo"], DAY, DAY + timedelta(days=1), client))
    assert [len(p.rows) for p in pages] == [100, 100, 30] and len(set(uuids(pages, "call_id"))) == 230
    first, second, third = kazoo.requests("kazoo.cdrs")
    assert first.params == {"created_from": str(gregorian(DAY)), "created_to": str(gregorian(DAY + timedelta(days=1))),
                            "page_size": "100"}  # fmt: skip
    assert gregorian(DAY) == 63_941_616_000  # 11 digits: Gregorian, not unix
    assert "start_key" not in first.params and second.params["start_key"] and third.params["start_key"]
    assert first.headers["x-auth-token"] == kazoo.auth_token
    assert first.path == f"/kazoo/v2/accounts/{kazoo.account_id}/cdrs"


@pytest.mark.parametrize(("vendor", "route"), [("vobiz", "vobiz.cdr"), ("kazoo", "kazoo.cdrs")])
def test_429_and_5xx_are_retried_and_paging_goes_on(
    vendor: str, route: str, fake: object, accounts: dict[str, Account], client: HttpClient, waits: Waits
) -> None:
    """A 429 (Retry-After 3) on page 1 and a 502 on page 2: both retried, every row still fetched."""
    vobiz, kazoo = fake.vendors.vobiz, fake.vendors.kazoo  # type: ignore[attr-defined]
    vobiz.cdrs = [vobiz_cdr(f"u{i}", DAY + timedelta(minutes=i)) for i in range(150)]
    kazoo.cdrs = [kazoo_row(f"leg{i}", DAY + timedelta(minutes=i)) for i in range(150)]
    state = vobiz if vendor == "vobiz" else kazoo
    state.fault(route, Fault(429, retry_after="3"))
    source = get_source("vobiz.api" if vendor == "vobiz" else "kazoo.cdrs")
    pages = source.fetch(accounts[vendor], DAY, DAY + timedelta(days=1), client)
    first = next(pages)
    state.fault(route, Fault(502))
    rest = list(pages)
    assert sum(len(p.rows) for p in [first, *rest]) == 150
    assert waits.slept[0] == 3.0 and len(waits.slept) == 2


@pytest.mark.parametrize("vendor", ["vobiz", "kazoo"])
def test_bad_credentials_stop_the_source_without_saying_them(
    vendor: str, make_settings: Callable[..., Settings], poller_env: dict[str, str], client: HttpClient
) -> None:
    """A 401 stops the source with the vendor's words; the token sent is in no message or log line."""
    env = poller_env | {"VOBIZ_AUTH_TOKEN": "wrong-vobiz-secret", "KAZOO_AUTH_TOKEN": "wrong-kazoo-secret"}
    (account,) = make_settings(**env).accounts_for(vendor)
    source = get_source("vobiz.api" if vendor == "vobiz" else "kazoo.cdrs")
    with capture_logs() as logs, pytest.raises(SourceStopped, match="answered 401") as stopped:
        list(source.fetch(account, DAY, DAY + timedelta(days=1), client))
    assert stopped.value.status == 401 and "wrong-" not in str(stopped.value) and "wrong-" not in str(logs)


def test_5xx_every_time_makes_kazoo_unavailable(
    kazoo: FakeKazoo, accounts: dict[str, Account], client: HttpClient
) -> None:
    """Every try answered 503: unavailable this round (the loop tries again next poll)."""
    kazoo.fault("kazoo.cdrs", *[Fault(503)] * 4)
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        list(CDRS.fetch(accounts["kazoo"], DAY, DAY + timedelta(days=1), client))


def test_crossbar_echoes_the_token_but_no_error_quotes_it() -> None:
    """Crossbar envelopes carry auth_token: a malformed one is refused without quoting the body."""
    with pytest.raises(SourceStopped) as stopped:
        kazoo_page({"auth_token": "secret-token-xyz", "data": "oops"}, "kazoo.cdrs page 1")
    assert "secret-token-xyz" not in str(stopped.value)


@pytest.mark.parametrize(
    ("reader", "body"),
    [(vobiz_page, {"data": [1]}), (vobiz_page, ["rows"]), (vobiz_page, None), (kazoo_page, {"data": [None]}),
     (kazoo_page, None)],
)  # fmt: skip
def test_unreadable_pages_stop_the_source(reader: Callable[..., object], body: object) -> None:
    """A page that is not the documented envelope stops the source rather than skipping it."""
    with pytest.raises(SourceStopped):
        reader(body, "test")


def test_a_repeating_start_key_stops_kazoo(kazoo: FakeKazoo, accounts: dict[str, Account], client: HttpClient) -> None:
    """A next_start_key equal to the key just sent would loop forever: the source stops instead."""
    kazoo.cdrs = [kazoo_row(f"leg{i}", DAY + timedelta(minutes=i)) for i in range(300)]
    kazoo.repeat_key = True
    with pytest.raises(SourceStopped, match="repeats"):
        list(CDRS.fetch(accounts["kazoo"], DAY, DAY + timedelta(days=1), client))
    assert len(kazoo.requests("kazoo.cdrs")) == 2


def test_sources_need_their_credentials(make_settings: Callable[..., Settings], poller_env: dict[str, str]) -> None:
    """Without an account id or token, Vobiz and Kazoo are not polled."""
    settings = make_settings(**(poller_env | {"VOBIZ_AUTH_ID": None, "KAZOO_AUTH_TOKEN": None}))
    assert not API.configured(settings.accounts_for("vobiz")[0])
    assert not CDRS.configured(settings.accounts_for("kazoo")[0])
