"""The read API on both stores: auth, every filter, keyset pagination, single rows, hostile input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from tests.receiver.read_helpers import READ_TOKEN, bearer, cdr, dataset, minutes, put
from workers.store import SqlStore

ROUTES = ["/cdrs", "/cdrs/summary", "/cdrs/export.csv", "/cdrs/callr:acct1:1"]


@pytest.fixture
def api(client_for: Callable[..., TestClient], database_url: str, store: SqlStore) -> TestClient:
    put(store, *dataset())
    return client_for(DATABASE_URL=database_url, READ_API_TOKEN=READ_TOKEN)


def ids(client: TestClient, query: str = "", **params: Any) -> list[str]:
    r = client.get("/cdrs" + query, params=params or None, headers=bearer())
    assert r.status_code == 200, r.text
    return [row["call_id"] for row in r.json()["items"]]


def test_missing_or_wrong_token_is_401(api: TestClient) -> None:
    """No token, a wrong token or another scheme: 401 JSON with a Bearer challenge, on every route."""
    for path in ROUTES:
        for headers in ({}, bearer("wrong"), {"authorization": f"Basic {READ_TOKEN}"}, bearer(READ_TOKEN + "x")):
            r = api.get(path, headers=headers)
            assert r.status_code == 401, (path, headers)
            assert r.json()["error"] == "unauthorized"
            assert r.headers["www-authenticate"].startswith("Bearer")
        assert api.get(path, headers=bearer()).status_code == 200, path


def test_unset_token_disables_the_api(client_for: Callable[..., TestClient], database_url: str) -> None:
    """Without READ_API_TOKEN every read route is 404, whatever the request sends."""
    client = client_for(DATABASE_URL=database_url)
    for path in ROUTES:
        for headers in ({}, bearer()):
            r = client.get(path, headers=headers)
            assert (r.status_code, r.json()["error"]) == (404, "not_found"), path


FILTER_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["1", "2", "3", "4", "5", "6"]),
    ({"vendor": "kazoo"}, ["4"]),
    ({"vendor": ["kazoo", "callr"]}, ["1", "2", "3", "4", "5", "6"]),
    ({"account": "acct2"}, ["4", "5"]),
    ({"direction": "outbound"}, ["3"]),
    ({"status": ["busy", "no_answer"]}, ["2", "4"]),
    ({"from_number": "+14155550100"}, ["3"]),
    ({"from_number": "+1415"}, []),
    ({"from_number": "+1415*"}, ["3"]),
    ({"to_number": "+3361*"}, ["3"]),
    ({"to_number": "+33187654321"}, ["1", "2", "5", "6"]),
    ({"to_number": "sip:alice@example.com"}, ["4"]),
    ({"started_from": minutes(1).isoformat()}, ["2", "3", "4", "5"]),
    ({"started_to": minutes(1).isoformat()}, ["1"]),
    ({"started_from": "2024-05-01T14:01:00+02:00", "started_to": "2024-05-01T12:03:00Z"}, ["2", "3"]),
    ({"started_from": "2024-05-01T12:04:00"}, ["5"]),
    ({"min_duration": "60"}, ["1", "3", "4"]),
    ({"min_duration": "0", "vendor": "callr", "status": "answered"}, ["1", "3"]),
]


def test_filters(api: TestClient) -> None:
    """Each filter selects exactly its rows; a number is exact unless it ends in * (prefix)."""
    for params, expected in FILTER_CASES:
        assert ids(api, **params) == expected, params


def test_unencoded_plus_in_a_number_still_matches(api: TestClient) -> None:
    """A + sent raw in the query arrives as a space; the filter reads it back as +."""
    assert ids(api, "?from_number=+14155550100") == ["3"]
    assert ids(api, "?to_number=%2B3361*") == ["3"]


BAD_QUERIES = [
        "?status=ended", "?direction=sideways", "?limit=0", "?limit=1001", "?limit=ten", "?min_duration=-1",
        "?started_from=yesterday", "?cursor=not-a-cursor", "?cursor=WzEsMl0", "?colour=blue", "?limit=1&limit=2",
        "?from_number=*", "?vendor=",
]  # fmt: skip


def test_bad_parameters_are_400(api: TestClient) -> None:
    """A wrong parameter is a 400 JSON error naming it, never a 500 or a silently ignored filter."""
    for query in BAD_QUERIES:
        r = api.get("/cdrs" + query, headers=bearer())
        assert r.status_code == 400, (query, r.text)
        assert r.json()["error"] == "invalid_query" and r.json()["detail"]


HOSTILE = ["' OR '1'='1", "x'; DROP TABLE cdrs; --", '"', "\\", "%", "_", "%%*", "_*", "\\*", "1) OR (1=1", "é\x00"]


def test_sql_metacharacters_are_only_data(api: TestClient, store: SqlStore) -> None:
    """Quotes, LIKE wildcards and statement separators in every filter match nothing and harm nothing."""
    for value in HOSTILE:
        for name in ("vendor", "account", "from_number", "to_number"):
            r = api.get("/cdrs", params={name: value}, headers=bearer())
            assert r.status_code in (200, 400), (name, value, r.text)
            if r.status_code == 200:
                assert r.json()["items"] == [], (name, value)
        for name in ("status", "direction", "started_from", "started_to", "min_duration", "cursor", "limit"):
            assert api.get("/cdrs", params={name: value}, headers=bearer()).status_code == 400, (name, value)
        summary = api.get("/cdrs/summary", params={"vendor": value}, headers=bearer())
        assert summary.status_code == 400 or summary.json()["total"] == 0, value
        assert api.get("/cdrs/" + quote(value, safe=""), headers=bearer()).status_code == 404, value
    assert store.count() == 6


def test_pages_walk_every_row_once_in_key_order(api: TestClient) -> None:
    """limit=2 pages through all rows in (started_at, id) order, the row without a start time last."""
    seen, cursor = [], None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        body = api.get("/cdrs", params=params, headers=bearer()).json()
        assert len(body["items"]) <= 2
        seen += [r["call_id"] for r in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["1", "2", "3", "4", "5", "6"]


def test_pagination_is_stable_under_inserts(api: TestClient, store: SqlStore) -> None:
    """Rows inserted between pages never repeat or hide a row; those after the cursor appear later."""
    first = api.get("/cdrs", params={"limit": "3"}, headers=bearer()).json()
    assert [r["call_id"] for r in first["items"]] == ["1", "2", "3"]
    put(store, cdr("0-before", started_at=minutes(-5)), cdr("2b-before", started_at=minutes(1)),
        cdr("3b-after", started_at=minutes(2)), cdr("9-after", started_at=minutes(9)),
        cdr("zz-nostart", started_at=None))  # fmt: skip
    rest, cursor = [], first["next_cursor"]
    while cursor:
        body = api.get("/cdrs", params={"limit": "3", "cursor": cursor}, headers=bearer()).json()
        rest += [r["call_id"] for r in body["items"]]
        cursor = body["next_cursor"]
    assert rest == ["3b-after", "4", "5", "9-after", "6", "zz-nostart"]


def test_one_row_with_raw_and_404(api: TestClient, store: SqlStore) -> None:
    """GET /cdrs/{id} returns the row with raw payloads (ids may hold / and :); an unknown id is 404."""
    put(store, cdr("a/b:c"))
    r = api.get("/cdrs/callr:acct1:a/b:c", headers=bearer())
    assert r.status_code == 200
    row = r.json()
    assert row["id"] == "callr:acct1:a/b:c" and row["raw"] == {"webhook": {"call": "a/b:c"}}
    assert row["cost"] == "0.100000" and row["started_at"] == "2024-05-01T12:00:00.000000Z"
    assert row["caller_restricted"] is False and row["extra"] == {}
    missing = api.get("/cdrs/callr:acct1:nope", headers=bearer())
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_list_items_leave_raw_out(api: TestClient) -> None:
    """List rows carry every column except the raw payloads and merge bookkeeping."""
    (row,) = api.get("/cdrs", params={"vendor": "kazoo"}, headers=bearer()).json()["items"]
    assert "raw" not in row and "merge_versions" not in row
    assert (row["id"], row["status"], row["currency"], row["cost"]) == ("kazoo:acct2:4", "no_answer", "USD", "1.250000")
