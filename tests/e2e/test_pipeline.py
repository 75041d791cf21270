"""End to end: the real receiver under uvicorn and a real RQ worker, on real Redis and a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from tests.conftest import CALLR_SECRET, CALLR_TOKEN, PAYLOADS
from tests.e2e.stack import Stack, running_stack, wait_until
from tests.receiver.helpers import callr_headers
from workers.cdr import Source, Status
from workers.queue import ingest_queue
from workers.store import SqlStore, open_store

pytestmark = pytest.mark.e2e

V2 = (PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_bytes()
CALL_ID = "callr:acct1:240711945874"


@pytest.fixture
def stack(database_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Stack]:
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "CALLR_WEBHOOK_SECRET": CALLR_SECRET,
        "CALLR_ACTIONS_TOKEN": CALLR_TOKEN,
        "CALLR_ACCOUNT_SID": "acct1",
        "LOG_FORMAT": "json",
        "SPOOL_DIR": str(tmp_path / "spool"),
    }
    with running_stack(env, tmp_path) as s:
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
