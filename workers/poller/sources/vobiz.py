"""Vobiz poller source: the CDR API, ``GET {VOBIZ_API_URL}/account/{auth_id}/cdr`` (vendors.md §2.1).

Headers ``X-Auth-ID: <VOBIZ_AUTH_ID>`` and ``X-Auth-Token: <VOBIZ_AUTH_TOKEN>`` (scrubbed from any
logged text, dropped on a redirect to another host). Query ``start_date``/``end_date``
(``YYYY-MM-DD``), ``per_page=100`` (the documented maximum) and ``page`` from 1 while
``pagination.has_next``; each API page is one job of rows, posted as they came to ``vobiz.api``.

The API filters by whole days only. ASSUMED: ``end_date`` is inclusive (the partner docs say
"up to this date", with ``2026-03-01``..``2026-03-31`` as a month). A window asks for every day it
touches and keeps every row the API returns: which time the API filters on is UNKNOWN, so
dropping rows outside the window could lose a call that crosses midnight; the store's merge
makes the repeats harmless. A poll thus re-reads the current day each round: the price of a
day-granular API. Also UNKNOWN: the case of the path (``/Account/`` on one page; the lower-case
form of the list example is used) and the ``context`` filter an older page requires (not sent:
it would narrow the listing).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from workers.logs import get_logger
from workers.poller.http import HttpClient, SourceStopped
from workers.poller.sources import Memory, Page, Source, json_body
from workers.settings import Account

PER_PAGE = 100
WINDOW = timedelta(days=1)
MAX_PAGES = 100_000  # a listing that claims has_next forever stops here
log = get_logger("cdr_ingest.poller")


def configured(account: Account) -> bool:
    return bool(account.secrets_for("api") and account.option("api_url") and account.id != "default")


def day_params(since: datetime, until: datetime) -> dict[str, str]:
    """Every UTC day ``[since, until)`` touches, as the inclusive ``start_date``/``end_date``."""
    last = until - timedelta(microseconds=1)
    return {"start_date": since.date().isoformat(), "end_date": max(last, since).date().isoformat()}


def fetch(
    account: Account, since: datetime, until: datetime, client: HttpClient, memory: Memory | None = None
) -> Iterator[Page]:
    url = f"{str(account.option('api_url')).rstrip('/')}/account/{account.id}/cdr"
    headers = {"x-auth-id": account.id, "x-auth-token": account.secrets_for("api")[0].reveal(),
               "accept": "application/json"}  # fmt: skip
    params: dict[str, Any] = {**day_params(since, until), "per_page": PER_PAGE}
    for page in range(1, MAX_PAGES + 1):
        response = client.request("GET", url, source=API.name, headers=headers, params={**params, "page": page})
        rows, has_next = read_page(json_body(response), f"vobiz.api page {page}")
        if rows:
            yield Page(rows=rows)
        if not has_next:
            return
        if not rows:
            log.warning("poll.pagination_stuck", source=API.name, page=page, reason="has_next with no rows")
            return
    raise SourceStopped(f"vobiz.api: more than {MAX_PAGES} pages for {params['start_date']}..{params['end_date']}")


def read_page(body: Any, where: str) -> tuple[list[dict[str, Any]], bool]:
    """``(data, pagination.has_next)`` of one answer; anything else stops the source. Pure."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise SourceStopped(f"{where}: expected an object with a data list, got {type(body).__name__}")
    rows = [r for r in body["data"] if isinstance(r, dict)]
    if len(rows) != len(body["data"]):
        raise SourceStopped(f"{where}: a data element is not an object")
    pagination = body.get("pagination")
    has_next = bool(pagination.get("has_next")) if isinstance(pagination, Mapping) else False
    return rows, has_next


API = Source("vobiz.api", "vobiz.api", WINDOW, fetch, configured)
SOURCES = (API,)
