"""End to end: the real receiver under uvicorn and a real RQ worker, on real Redis and a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from tests.conftest import CALLR_TOKEN, KAZOO_ACCOUNT, KAZOO_TOKEN, PAYLOADS, PUSH_ENV, SINCH_KEY
from tests.e2e.stack import Stack, running_stack, stack_env, wait_until
from tests.receiver.helpers import FORM, callr_headers, sinch_headers, vobiz_headers, vobiz_v3_headers
from workers.cdr import Source, Status
from workers.queue import ingest_queue
from workers.store import SqlStore, open_store

pytestmark = pytest.mark.e2e

V2 = (PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_bytes()
CALL_ID = "callr:acct1:240711945874"


@pytest.fixture
def stack(database_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(
        stack_env(redis_url, database_url, SPOOL_DIR=str(tmp_path / "spool"), **PUSH_ENV), tmp_path
    ) as s:
        s.serve()
        s.worker()
        yield s


@pytest.fixture
def reader(database_url: str) -> Iterator[SqlStore]:
    s = open_store(database_url)
    yield s
    s.close()


def test_webhook_push_and_redelivery_converge(stack: Stack, reader: SqlStore, redis_client: redis.Redis) -> None:
    """POST → 202 → one row; the same delivery → 200 duplicate; the Actions push → same row, sources push,webhook."""
    r = httpx.post(f"{stack.base_url}/webhooks/callr", content=V2, headers=callr_headers(V2))
    assert r.status_code == 202, r.text
    wait_until(lambda: reader.get(CALL_ID) is not None, what="the webhook row")
    row = reader.get(CALL_ID)
    assert row is not None
    assert row.cdr.status is Status.ANSWERED and row.sources == {Source.WEBHOOK}
    assert str(row.cdr.cost) == "0.055000" and row.cdr.currency == "EUR"

    again = httpx.post(f"{stack.base_url}/webhooks/callr", content=V2, headers=callr_headers(V2))
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})

    push = orjson.dumps({"cdr": orjson.loads(V2)["payload"]})
    r = httpx.post(f"{stack.base_url}/webhooks/callr-actions", content=push,
                   headers={"content-type": "application/json", "authorization": f"Bearer {CALLR_TOKEN}"})  # fmt: skip
    assert r.status_code == 202
    wait_until(lambda: (x := reader.get(CALL_ID)) is not None and len(x.sources) == 2, what="the push merge")
    assert reader.count() == 1
    row = reader.get(CALL_ID)
    assert row is not None and ",".join(sorted(row.sources)) == "push,webhook"
    assert '"event": "cdr.stored"' in stack.log("worker") and '"call_id": "240711945874"' in stack.log("worker")


def test_wrong_signature_queues_nothing(stack: Stack, reader: SqlStore, redis_client: redis.Redis) -> None:
    """A forged delivery is 401 and never reaches the queue or the store."""
    r = httpx.post(f"{stack.base_url}/webhooks/callr", content=V2, headers=callr_headers(V2, secret="forged"))
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert ingest_queue(redis_client, "cdr-ingest").count == 0
    assert reader.count() == 0


def test_every_push_vendor_reaches_the_store(stack: Stack, reader: SqlStore, redis_client: redis.Redis) -> None:
    """One signed delivery per Vobiz, Sinch and Kazoo route → its row; Kazoo's form and JSON of one leg → one row."""
    vobiz = PAYLOADS / "vobiz"
    trunk = (vobiz / "trunk_hangup_answered.json").read_bytes()
    callback = (vobiz / "callback_hangup_answered.form").read_bytes()
    dice = (PAYLOADS / "sinch" / "dice_sdk_fixture.json").read_bytes()
    leg_form = (PAYLOADS / "kazoo" / "channel_destroy_as_form.form").read_bytes()
    leg_json = (PAYLOADS / "kazoo" / "channel_destroy.json").read_bytes()
    base = stack.base_url
    answers = [
        httpx.post(f"{base}/webhooks/vobiz", content=trunk, headers=vobiz_headers(trunk)),
        httpx.post(f"{base}/webhooks/vobiz-callback", content=callback, headers=vobiz_v3_headers("7" * 20)),
        httpx.post(f"{base}/webhooks/sinch", content=dice, headers=sinch_headers(dice)),
        httpx.post(f"{base}/webhooks/kazoo", params={"token": KAZOO_TOKEN}, content=leg_form,
                   headers={"content-type": FORM}),
    ]  # fmt: skip
    assert [r.status_code for r in answers] == [202, 202, 202, 200], [r.text for r in answers]
    leg_id = f"kazoo:{KAZOO_ACCOUNT}:NDlkNGI3OTZlMDgzNWQxNGYxNTA3NjQ4NDZjNDFkOTc"
    ids = {
        "vobiz:MA_XXXXXXXX:aabbccdd-1234-5678-90ab-cdef12345678": Status.ANSWERED,
        "vobiz:MA_XXXXXXXX:0e9a7b52-6c1d-4f3e-8a2b-9c8d7e6f5a41": Status.ANSWERED,
        f"sinch:{SINCH_KEY}:callId": Status.ANSWERED,
        leg_id: Status.ANSWERED,
    }
    wait_until(lambda: all(reader.get(i) is not None for i in ids), what="one row per push vendor")
    for row_id, status in ids.items():
        row = reader.get(row_id)
        assert row is not None and row.cdr.status is status and row.sources == {Source.WEBHOOK}
    trunk_row, dice_row = reader.get(next(iter(ids))), reader.get(f"sinch:{SINCH_KEY}:callId")
    assert trunk_row is not None and (str(trunk_row.cdr.cost), trunk_row.cdr.currency) == ("0.450000", "INR")
    assert dice_row is not None and (str(dice_row.cdr.cost), dice_row.cdr.currency) == ("0.175800", "EUR")

    # Kazoo's JSON copy of the same leg: a duplicate within the window; once the window is over
    # (its keys dropped here) it is stored, and it lands on the same row.
    def post_json() -> httpx.Response:
        return httpx.post(f"{base}/webhooks/kazoo", params={"token": KAZOO_TOKEN}, content=leg_json,
                          headers={"content-type": "application/json"})  # fmt: skip

    assert post_json().json() == {"status": "duplicate"}
    for key in redis_client.scan_iter("cdr-ingest:dedupe:*"):
        redis_client.delete(key)
    assert (r := post_json()).status_code == 200 and r.json()["status"] == "queued"

    def json_copy_merged() -> bool:
        row = reader.get(leg_id)
        return row is not None and row.cdr.extra.get("call_forwarded") is False  # a JSON boolean, not form "false"

    wait_until(json_copy_merged, what="the JSON copy of the Kazoo leg")
    assert reader.count() == 4
