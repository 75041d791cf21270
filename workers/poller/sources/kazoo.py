"""Kazoo poller source: crossbar ``GET {KAZOO_API_URL}/accounts/{KAZOO_ACCOUNT_ID}/cdrs`` (vendors.md §3.1).

Header ``X-Auth-Token: <KAZOO_AUTH_TOKEN>``. Query ``created_from``/``created_to`` in Gregorian
seconds (``crossbar_view``: at most 31 days + 1 hour apart; windows here are one day) and
``page_size``; the next page is asked with ``start_key`` = the answer's ``next_start_key`` until an
answer has none. Each page (the JSON listing's ``data``: flattened rows, not documents) is one
job of rows for ``kazoo.cdrs``. The JSON listing is read rather than CSV: CSV is unquoted and a
comma inside a name shifts its columns.

Both bounds are sent as the window's own (``created_to`` inclusive or not, Kazoo does not say): a
leg on the boundary second may come twice, which the store's merge makes harmless; a gap could
not be repaired. ``start_key`` is opaque (base64 of an Erlang term) and passed back untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from workers.normalize.times import UNIX_EPOCH_IN_GREGORIAN
from workers.poller.http import HttpClient, SourceStopped
from workers.poller.sources import Memory, Page, Source, json_body
from workers.settings import Account

PAGE_SIZE = 100
WINDOW = timedelta(days=1)
MAX_PAGES = 100_000  # a listing whose next_start_key never ends stops here


def configured(account: Account) -> bool:
    return bool(account.secrets_for("api") and account.option("api_url") and account.id != "default")


def gregorian(moment: datetime) -> int:
    return int(moment.timestamp()) + UNIX_EPOCH_IN_GREGORIAN


def fetch(
    account: Account, since: datetime, until: datetime, client: HttpClient, memory: Memory | None = None
) -> Iterator[Page]:
    url = f"{str(account.option('api_url')).rstrip('/')}/accounts/{account.id}/cdrs"
    headers = {"x-auth-token": account.secrets_for("api")[0].reveal(), "accept": "application/json"}
    params: dict[str, Any] = {"created_from": gregorian(since), "created_to": gregorian(until), "page_size": PAGE_SIZE}
    start_key: str | None = None
    for page in range(1, MAX_PAGES + 1):
        asked = params if start_key is None else {**params, "start_key": start_key}
        response = client.request("GET", url, source=CDRS.name, headers=headers, params=asked)
        rows, next_key = read_page(json_body(response), f"kazoo.cdrs page {page}")
        if rows:
            yield Page(rows=rows)
        if next_key is None:
            return
        if next_key == start_key:
            raise SourceStopped(f"kazoo.cdrs page {page}: next_start_key repeats the page's own start_key")
        start_key = next_key
    raise SourceStopped(f"kazoo.cdrs: more than {MAX_PAGES} pages from {since.isoformat()}")


def read_page(body: Any, where: str) -> tuple[list[dict[str, Any]], str | None]:
    """``(data, next_start_key)`` of one crossbar answer; anything else stops the source. Pure."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise SourceStopped(f"{where}: expected a crossbar envelope with a data list, got {type(body).__name__}")
    rows = body["data"]
    if not all(isinstance(r, dict) for r in rows):
        raise SourceStopped(f"{where}: a data element is not an object")
    next_key = body.get("next_start_key")
    return rows, (str(next_key) if next_key not in (None, "") else None)


CDRS = Source("kazoo.cdrs", "kazoo.cdrs", WINDOW, fetch, configured)
SOURCES = (CDRS,)
