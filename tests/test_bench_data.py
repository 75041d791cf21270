"""The benchmark's data costs what real data costs: each call its own outside party and its own times
(``bench/lifelike.py``), read through the real feeds. Were they shared again, every cached
normalization would hit and the bench would flatter the workers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import redis
from starlette.testclient import TestClient

from bench.lifelike import RING_S, TALK_S, lifelike_kazoo, lifelike_sinch, lifelike_v1, lifelike_v2, lifelike_vobiz
from bench.payloads import ENV, FEEDS, body, delivery, stamp, write_requests
from bench.receiver_cpu import requests_file
from receiver.app import create_app
from tests.fakes.kazoo_api import kazoo_row
from tests.fakes.sinch_files import voice_line
from tests.fakes.vendor_api import v1_cdr, v2_call
from tests.fakes.vobiz_api import vobiz_cdr
from tests.golden import convert_payload
from tests.receiver.helpers import queued
from workers.bodies import decode
from workers.settings import Account, Settings
from workers.vendors.sinch._layout import LAYOUTS

ACCOUNT = Account(vendor="callr", id="bench", currency="EUR", region="FR")
START = datetime(2024, 5, 1, tzinfo=UTC)


def _calls(feed: str, payloads: list[object], account: Account = ACCOUNT) -> list[dict[str, object]]:
    return [convert_payload(feed, p, account) for p in payloads]


def _check_parties(calls: list[dict[str, object]]) -> None:
    parties = {(c["from_number"], c["to_number"]) for c in calls}
    assert len(parties) == len(calls), "every call has its own outside party"
    assert all(str(c["from_number"]).startswith("+") and str(c["to_number"]).startswith("+") for c in calls)


def _check(calls: list[dict[str, object]]) -> None:
    _check_parties(calls)
    times = [c[k] for c in calls for k in ("started_at", "answered_at", "ended_at")]
    assert len(set(times)) == len(times), "every call its own three instants"


def test_export_rows_have_their_own_party_and_times() -> None:
    rows = [lifelike_v2(v2_call(n, START + timedelta(seconds=9 * n), direction=d), n)
            for n, d in enumerate(["inbound", "outbound"] * 20)]  # fmt: skip
    calls = _calls("callr.export", [{"direction": r["direction"], "row": r} for r in rows])
    _check(calls)
    first = calls[0]
    answered, started, ended = (
        datetime.fromisoformat(str(first[k])) for k in ("answered_at", "started_at", "ended_at")
    )
    assert (answered - started, ended - answered) == (timedelta(seconds=RING_S), timedelta(seconds=TALK_S))


def test_jsonrpc_rows_have_their_own_party_and_times() -> None:
    rows = [lifelike_v1(v1_cdr(n, START + timedelta(seconds=9 * n), outbound=n % 2 == 1), n) for n in range(40)]
    _check(_calls("callr.jsonrpc", [{"type": "OUT" if "number" in r else "IN", "row": r} for r in rows]))


def test_webhook_bodies_have_their_own_caller_and_times() -> None:
    _check(_calls("callr.webhook", [orjson.loads(body(n)) for n in range(0, 40_000, 1000)]))


def test_vobiz_kazoo_and_sinch_rows_have_their_own_party() -> None:
    """``make bench-poller``'s other sources; their fakes give each call its own times already."""
    vobiz = [lifelike_vobiz(vobiz_cdr(f"c-{n}", START + timedelta(seconds=9 * n), answered=n % 4 > 0), n)
             for n in range(40)]  # fmt: skip
    _check_parties(_calls("vobiz.api", vobiz, Account(vendor="vobiz", id="bench", currency="INR", region="IN")))
    kazoo = [lifelike_kazoo(kazoo_row(f"leg-{n}", START + timedelta(seconds=9 * n)), n) for n in range(40)]
    _check_parties(_calls("kazoo.cdrs", kazoo, Account(vendor="kazoo", id="bench", currency="USD", region="US")))
    lines = [lifelike_sinch(voice_line("pstn_terminated", f"s-{n}", START + timedelta(seconds=9 * n)), n)
             for n in range(40)]  # fmt: skip
    rows = [dict(zip(LAYOUTS["pstn_terminated"], line.split(";"), strict=True)) for line in lines]
    payloads = [{"type": "pstn_terminated", "row": row, "file": "voice.csv", "line": n} for n, row in enumerate(rows)]
    _check_parties(_calls("sinch.files", payloads, Account(vendor="sinch", id="bench", currency="EUR", region="SE")))


def _now() -> str:
    return stamp(datetime.now(UTC))


def test_webhooks_of_every_feed_are_signed_and_queued(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    """What wrk sends (``bench/payloads.py``): every push feed in turn, each delivery authentic,
    valid and new, through the real receiver configured as ``make bench`` configures it."""
    deliveries = [delivery(n, _now()) for n in range(2 * len(FEEDS))]
    with TestClient(create_app(make_settings(**ENV))) as client:
        answers = [client.post(target, content=raw, headers={"content-type": content_type, **dict(headers)})
                   for target, content_type, headers, raw in deliveries]  # fmt: skip
    assert [a.json()["status"] for a in answers] == ["queued"] * 2 * len(FEEDS)
    assert sorted(e.feed for e in queued(redis_client)) == sorted([feed for feed, *_ in FEEDS] * 2)


def test_webhooks_of_every_feed_have_their_own_party_and_end() -> None:
    accounts = {"callr": ACCOUNT, "vobiz": Account(vendor="vobiz", id="bench", currency="INR", region="IN"),
                "sinch": Account(vendor="sinch", id="bench", currency="EUR", region="SE"),
                "kazoo": Account(vendor="kazoo", id="bench", currency="USD", region="US")}  # fmt: skip
    for i, (feed, *_) in enumerate(FEEDS):
        deliveries = [delivery(n, _now()) for n in range(i, 40 * len(FEEDS), len(FEEDS))]
        calls = [convert_payload(feed, decode(raw, ct), accounts[feed.split(".")[0]]) for _, ct, _, raw in deliveries]
        _check_parties(calls)
        assert len({c["call_id"] for c in calls}) == len({c["ended_at"] for c in calls}) == len(calls), feed


def test_request_lines_carry_each_delivery(tmp_path: Path) -> None:
    """One line a delivery for signed.lua: target, content type, header pairs, body; tab-separated."""
    at = datetime.now(UTC)
    lines = write_requests(tmp_path / "requests.txt", 5, len(FEEDS), signed_at=at).read_bytes().splitlines()
    for n, line in enumerate(lines, start=5):
        target, content_type, headers, raw = delivery(n, stamp(at))
        *fields, sent = line.split(b"\t")
        assert [f.decode() for f in fields] == [target, content_type, *(x for pair in headers for x in pair)]
        assert sent == raw


def test_the_receiver_bench_can_send_one_feed(tmp_path: Path) -> None:
    """``BENCH_FEED=vobiz.callback make bench-receiver``: that route's deliveries only, each its own."""
    lines = requests_file(tmp_path / "r.txt", "vobiz.callback", count=5).read_bytes().splitlines()
    assert [line.split(b"\t", 1)[0] for line in lines] == [b"/webhooks/vobiz-callback"] * 5
    assert len(set(lines)) == 5
