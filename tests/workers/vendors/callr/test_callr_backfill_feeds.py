"""Callr backfill feeds (v2 export rows, JSON-RPC cdr.get rows) against golden payloads."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import PAYLOADS
from tests.golden import RECEIVED_AT, check_golden, convert
from workers.errors import PayloadError
from workers.settings import Account
from workers.tables import rows_from_bytes
from workers.vendors import get_feed

ACCOUNT = Account(vendor="callr", id="acct1", currency="EUR", region="FR")
CASES = [
    ("callr.export", "export_row_csv.json"),
    ("callr.export", "export_row_json.json"),
    ("callr.jsonrpc", "jsonrpc_in.json"),
    ("callr.jsonrpc", "jsonrpc_out.json"),
]


@pytest.mark.parametrize(("feed", "name"), CASES)
def test_golden(feed: str, name: str) -> None:
    """Each backfill row converts to exactly its expected CDR."""
    check_golden(feed, PAYLOADS / "callr" / name, ACCOUNT)


def test_export_row_is_the_webhook_call() -> None:
    """An export row of the call in the webhook example gives the same row id and billing."""
    export = convert("callr.export", PAYLOADS / "callr" / "export_row_csv.json", ACCOUNT)
    webhook = convert("callr.webhook", PAYLOADS / "callr" / "webhook_v2_inbound_answered.json", ACCOUNT)
    assert export["id"] == webhook["id"] == "callr:acct1:240711945874"
    assert export["cost"] == "0.008925" and export["currency"] == "EUR"
    assert export["status"] == webhook["status"] == "answered"


def test_requested_direction_fills_in_only_when_the_row_has_none() -> None:
    """The row's own direction wins over the one the poller asked for."""
    feed = get_feed("callr.export")
    record = feed.parse({"direction": "outbound", "row": {"callid": "1", "direction": "inbound"}})
    assert feed.to_cdr(record, account=ACCOUNT, received_at=RECEIVED_AT).direction == "inbound"
    record = feed.parse({"direction": "outbound", "row": {"callid": "1"}})
    assert feed.to_cdr(record, account=ACCOUNT, received_at=RECEIVED_AT).direction == "outbound"


def test_csv_export_rows_parse_like_json_rows() -> None:
    """The same call as a CSV line (text values) and as JSON (typed values) gives the same CDR."""
    row = orjson.loads((PAYLOADS / "callr" / "export_row_json.json").read_bytes())["row"]
    header = list(row)
    line = ["" if row[k] is None else str(row[k]).lower() if isinstance(row[k], bool) else str(row[k]) for k in header]
    (csv_row,) = rows_from_bytes((",".join(header) + "\r\n" + ",".join(line) + "\r\n").encode(), "text/csv")
    feed = get_feed("callr.export")
    as_csv = feed.to_cdr(
        feed.parse({"direction": "outbound", "row": csv_row}), account=ACCOUNT, received_at=RECEIVED_AT
    )
    as_json = feed.to_cdr(feed.parse({"direction": "outbound", "row": row}), account=ACCOUNT, received_at=RECEIVED_AT)
    assert as_csv.extra["billingDestinationID"] == "33" and as_json.extra["billingDestinationID"] == 33
    assert {**as_csv.__dict__, "extra": None} == {**as_json.__dict__, "extra": None}


@pytest.mark.parametrize(
    ("feed", "payload", "field"),
    [
        ("callr.export", {"direction": "inbound"}, "row"),
        ("callr.export", {"row": {"direction": "inbound"}}, "callid"),
        ("callr.export", {"row": {"_cdr_ingest_malformed": "expected 3 fields, got 4", "_cdr_ingest_raw": "a,b,c,d"}},
         "expected 3 fields"),
        ("callr.jsonrpc", {"row": {"callid": 1}}, "type"),
        ("callr.jsonrpc", {"type": "SIDEWAYS", "row": {"callid": 1}}, "type"),
        ("callr.jsonrpc", {"type": "IN", "row": []}, "row"),
        ("callr.jsonrpc", {"type": "OUT", "row": {"callid": 1.5}}, "callid"),
    ],
)  # fmt: skip
def test_rows_that_are_not_cdrs_are_refused(feed: str, payload: dict[str, object], field: str) -> None:
    """A row missing what the feed needs raises PayloadError naming it (the worker quarantines it)."""
    with pytest.raises(PayloadError, match=field):
        get_feed(feed).parse(payload)
