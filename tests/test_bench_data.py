"""The benchmark's data costs what real data costs: each call its own outside party and its own times
(``bench/lifelike.py``), read through the real feeds. Were they shared again, every cached
normalization would hit and the bench would flatter the workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from bench.lifelike import RING_S, TALK_S, lifelike_kazoo, lifelike_sinch, lifelike_v1, lifelike_v2, lifelike_vobiz
from bench.payloads import body
from tests.fakes.kazoo_api import kazoo_row
from tests.fakes.sinch_files import voice_line
from tests.fakes.vendor_api import v1_cdr, v2_call
from tests.fakes.vobiz_api import vobiz_cdr
from tests.golden import convert_payload
from workers.settings import Account
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
