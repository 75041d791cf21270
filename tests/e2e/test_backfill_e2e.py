"""End to end, per store: each vendor's webhook through the real receiver, then `cdr-ingest backfill
vobiz|kazoo|sinch --since --until` from the fake APIs (and a Sinch file directory) into the queue,
stored by a real `cdr-ingest worker` process; one row per call with sources backfill,webhook, and
`cdr-ingest reconcile` counting it as seen by both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from tests.conftest import KAZOO_ACCOUNT, KAZOO_TOKEN, PAYLOADS, PUSH_ENV, SINCH_KEY, VOBIZ_TOKEN, FakeServer
from tests.e2e.stack import Stack, running_stack, stack_env, wait_until
from tests.fakes.sinch_files import voice_line
from tests.receiver.helpers import sinch_headers, vobiz_headers
from workers.cli import main
from workers.normalize.times import parse_time
from workers.poller.sources import _files
from workers.store import open_store

pytestmark = pytest.mark.e2e

VOBIZ_ID = "vobiz:MA_XXXXXXXX:aabbccdd-1234-5678-90ab-cdef12345678"
KAZOO_ID = f"kazoo:{KAZOO_ACCOUNT}:NDlkNGI3OTZlMDgzNWQxNGYxNTA3NjQ4NDZjNDFkOTc"
SINCH_ID = f"sinch:{SINCH_KEY}:callId"
DAYS = {"vobiz": "2026-03-25", "kazoo": "2019-05-06", "sinch": "2023-12-29"}


@pytest.fixture
def env(
    fake: FakeServer, database_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Every push route and every new poller source configured; the fakes hold the calls the samples push."""
    fake.vendors.vobiz.auth_id, fake.vendors.vobiz.auth_token = "MA_XXXXXXXX", VOBIZ_TOKEN
    fake.vendors.vobiz.cdrs = [orjson.loads((PAYLOADS / "vobiz" / "cdr_list_sdk_mock.json").read_bytes())["data"][0]]
    fake.vendors.kazoo.cdrs = [orjson.loads((PAYLOADS / "kazoo" / "cdrs_row_channel_destroy.json").read_bytes())]
    sinch_dir = tmp_path / "sinch"
    sinch_dir.mkdir()
    at = parse_time("2023-12-29T15:07:06Z")
    assert at is not None
    (sinch_dir / "2023-12-29.csv").write_text(voice_line("pstn_terminated", "callId", at, reason="MANAGERHANGUP"))
    monkeypatch.setattr(_files, "SETTLE_S", 0)
    values = stack_env(
        redis_url, database_url, SPOOL_DIR=str(tmp_path / "spool"), **PUSH_ENV,
        VOBIZ_API_URL=f"{fake.url}/vobiz/api/v1", KAZOO_API_URL=f"{fake.url}/kazoo/v2",
        KAZOO_AUTH_TOKEN=fake.vendors.kazoo.auth_token,
        SINCH_CDR_SOURCE=str(sinch_dir),
    )  # fmt: skip
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def stack(env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(env, tmp_path) as s:
        s.serve()
        s.worker()
        yield s


def test_webhook_then_backfill_then_reconcile(
    stack: Stack, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Push, then backfill each vendor's day: each call one row, sources backfill,webhook, reconciled as both."""
    trunk = (PAYLOADS / "vobiz" / "trunk_hangup_answered.json").read_bytes()
    dice = (PAYLOADS / "sinch" / "dice_sdk_fixture.json").read_bytes()
    leg = (PAYLOADS / "kazoo" / "channel_destroy.json").read_bytes()
    base = stack.base_url
    answers = [
        httpx.post(f"{base}/webhooks/vobiz", content=trunk, headers=vobiz_headers(trunk)),
        httpx.post(f"{base}/webhooks/sinch", content=dice, headers=sinch_headers(dice)),
        httpx.post(f"{base}/webhooks/kazoo", params={"token": KAZOO_TOKEN}, content=leg,
                   headers={"content-type": "application/json"}),
    ]  # fmt: skip
    assert [r.status_code for r in answers] == [202, 202, 200], [r.text for r in answers]
    for vendor, day in DAYS.items():
        assert main(["backfill", vendor, "--since", day, "--until", day]) == 0
    reader = open_store(database_url)
    try:

        def both(row_id: str) -> bool:
            row = reader.get(row_id)
            return row is not None and ",".join(sorted(row.sources)) == "backfill,webhook"

        wait_until(lambda: all(both(i) for i in (VOBIZ_ID, KAZOO_ID, SINCH_ID)), what="push and backfill merged")
        assert reader.count() == 3 and reader.quarantined() == []
    finally:
        reader.close()
    capsys.readouterr()
    for vendor, row_id in (("vobiz", VOBIZ_ID), ("kazoo", KAZOO_ID), ("sinch", SINCH_ID)):
        assert main(["reconcile", vendor, "--day", DAYS[vendor], "--json"]) == 0
        out = orjson.loads(capsys.readouterr().out)
        assert out["categories"]["both"]["ids"] == [row_id], vendor
        assert out["total"] == 1 and out["categories"]["both"]["via"] == {"backfill": 1, "webhook": 1}
