"""Hypothesis fuzz of every endpoint: random bytes, wrong types, huge numbers, deep nesting, invalid
UTF-8, thousands of form fields, missing and duplicated headers, with and without valid signatures.
Never a 5xx, every error a JSON body with a reason, and nothing from a refused request is stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from receiver.app import create_app
from receiver.feeds import ROUTES
from tests.conftest import PAYLOADS, PUSH_ENV, work
from tests.faults.ledger import REPORTS
from tests.receiver.helpers import sign
from workers import jobs
from workers.bodies import decode
from workers.queue import ingest_queue
from workers.settings import Settings
from workers.store import open_store

CASES = 1200

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)
callr_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["v2.call.inbound.ended", "v2.call.outbound.started", "call.inbound_hangup", "x"])},
    optional={"id": json_values, "payload": json_values, "data": json_values, "cdr": json_values},
)


TEMPLATE = orjson.loads((PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_bytes())
# Near-valid CDRs: the real sample with a few fields replaced by anything, in both Callr shapes.
mutated = st.builds(
    lambda changes, wrap: json.dumps(
        {"cdr": {**TEMPLATE["payload"], **changes}}
        if wrap
        else {**TEMPLATE, "payload": {**TEMPLATE["payload"], **changes}}
    ).encode(),
    st.dictionaries(st.sampled_from(sorted(TEMPLATE["payload"])), json_values, min_size=1, max_size=4),
    st.booleans(),
)


def deep(n: int) -> bytes:
    return b'{"a":' * n + b"1" + b"}" * n


bodies = st.one_of(
    st.binary(max_size=300),
    # stdlib json: it writes integers past 64 bits and NaN/Infinity, which orjson then must refuse.
    json_values.map(lambda v: json.dumps(v).encode()),
    callr_like.map(lambda v: json.dumps(v).encode()),
    mutated,
    mutated,
    st.integers(1, 5000).map(lambda n: "&".join(f"k{i}[x][]={i}" for i in range(n)).encode()),
    st.integers(30, 3000).map(deep),
    st.just(b"\xff\xfe{\x00}"),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain",
        "",
        "x/y;;;",
    ]
)
auth_modes = st.sampled_from(["valid", "valid", "random", "missing", "duplicated"])


def signed(path: str, body: bytes, content_type: str, mode: str, garbage: str, nonce: str) -> tuple[str, list[Any]]:
    """Path and headers for ``mode``: valid credentials, random ones, none, or each header twice."""
    url, valid = sign(path, body, content_type=content_type, nonce=nonce)
    if mode == "valid":
        return url, valid
    if mode == "duplicated":
        return url, valid + [(k, garbage) for k, _ in valid]
    if mode == "random":
        return path, [(k, garbage) for k, _ in valid]
    return path, []


def test_no_5xx_and_nothing_refused_is_stored(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    """Across every route and input shape: status < 500, JSON errors with a reason, only 202 bodies stored."""
    # Every request comes from one address: without the failure lockout each one reaches its check.
    app_settings = make_settings(**PUSH_ENV, AUTH_FAILURE_LIMIT=0)
    accepted: list[Any] = []
    statuses: dict[int, int] = {}
    paths = [r.path for r in ROUTES] * 4 + ["/healthz", "/readyz", "/nope"]

    with TestClient(create_app(app_settings), raise_server_exceptions=False) as client:

        @settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(st.sampled_from(paths), bodies, content_types, auth_modes, st.text(max_size=40),
               st.integers(0, 10**20))  # fmt: skip
        def run(path: str, body: bytes, content_type: str, mode: str, garbage: str, nonce: int) -> None:
            url, credential = signed(path, body, content_type, mode, garbage, str(nonce))
            headers: list[tuple[str, str | bytes]] = [("content-type", content_type)] if content_type else []
            # Raw UTF-8 bytes on the wire: non-ASCII header values are part of the attack surface.
            headers += [(k, v.encode()) for k, v in credential]
            r = client.post(url, content=body, headers=headers)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code < 500, (r.status_code, r.text)
            payload = r.json()
            if r.status_code >= 400:
                assert payload["error"] and payload["detail"], payload
            if payload.get("status") == "queued":  # 202, or 200 on the Kazoo route
                accepted.append(decode(body, content_type))

        run()

    store = open_store(app_settings.database_url)
    store.migrate(now=datetime.now(UTC))
    jobs.configure(jobs.Runtime(settings=app_settings, store=store))
    try:
        queue = ingest_queue(redis_client, app_settings.queue_name)
        work(queue, redis_client)
        with store._transaction() as cur:
            cur.execute("SELECT id FROM cdrs")
            ids = [r[0] for r in cur.fetchall()]
        for cdr_id in ids:
            row = store.get(cdr_id)
            assert row is not None
            assert all(raw in accepted for raw in row.raw.values()), "a stored payload was never answered 202"
    finally:
        jobs.configure(None)
        store.close()
    REPORTS.append({"scenario": "fuzz", "cases": sum(statuses.values()), "statuses": dict(sorted(statuses.items())),
                    "accepted": len(accepted), "stored_rows": len(ids)})  # fmt: skip
