"""The Vobiz, Sinch and Kazoo routes in-process on real Redis: queued, ignored, refused, replayed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.routing import Route as HttpRoute
from starlette.testclient import TestClient

from receiver.feeds import ROUTES
from receiver.gate import Gate
from receiver.ingest import IngestContext, IngestEndpoint
from receiver.nonces import Nonces
from receiver.spool import Spool
from tests.conftest import KAZOO_TOKEN, PAYLOADS, PUSH_ENV, VOBIZ_MAIN_TOKEN
from tests.receiver.helpers import FORM, callr_headers, queued, sinch_headers, vobiz_headers, vobiz_v3_headers
from workers.envelope import Envelope
from workers.errors import TransientError
from workers.settings import Settings

TRUNK = (PAYLOADS / "vobiz" / "trunk_hangup_answered.json").read_bytes()
INITIATED = (PAYLOADS / "vobiz" / "trunk_call_initiated_rejected.json").read_bytes()
CALLBACK = (PAYLOADS / "vobiz" / "callback_hangup_answered.form").read_bytes()
CALLBACK_JSON = (PAYLOADS / "vobiz" / "callback_inbound_cancelled.json").read_bytes()
RING = (PAYLOADS / "vobiz" / "callback_ring.form").read_bytes()
DICE = (PAYLOADS / "sinch" / "dice_sdk_fixture.json").read_bytes()
ACE = (PAYLOADS / "sinch" / "ace_docs_signing_example.json").read_bytes()
DESTROY = (PAYLOADS / "kazoo" / "channel_destroy.json").read_bytes()
DESTROY_FORM = (PAYLOADS / "kazoo" / "channel_destroy_as_form.form").read_bytes()
CREATE = (PAYLOADS / "kazoo" / "channel_create.json").read_bytes()
CDR_DOC = (PAYLOADS / "kazoo" / "cdr_doc_fixture.json").read_bytes()
JSON = {"content-type": "application/json"}


@pytest.fixture
def push(client_for: Callable[..., TestClient]) -> TestClient:
    return client_for(**PUSH_ENV)


def kazoo(client: TestClient, body: bytes, token: str = KAZOO_TOKEN, content_type: str = "application/json") -> Any:
    return client.post("/webhooks/kazoo", params={"token": token}, content=body, headers={"content-type": content_type})


# --- Vobiz trunk webhook ----------------------------------------------------------------------


def test_vobiz_hangup_queued_with_its_request_id(push: TestClient, redis_client: redis.Redis) -> None:
    """A signed Hangup is 202; its raw body and X-Vobiz-Request-ID travel in the envelope; a retry is duplicate."""
    headers = vobiz_headers(TRUNK) | {"x-vobiz-request-id": "req-01HQ7ZK3M2X9", "x-vobiz-event": "Hangup"}
    r = push.post("/webhooks/vobiz", content=TRUNK, headers=headers)
    assert (r.status_code, r.json()["status"]) == (202, "queued")
    (e,) = queued(redis_client)
    assert (e.feed, e.account, e.body.encode()) == ("vobiz.trunk", "MA_XXXXXXXX", TRUNK)
    assert e.headers["x-vobiz-request-id"] == "req-01HQ7ZK3M2X9" and "x-vobiz-signature" not in e.headers
    again = push.post("/webhooks/vobiz", content=TRUNK, headers=headers)
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})


def test_vobiz_call_initiated_ignored(push: TestClient, redis_client: redis.Redis) -> None:
    """An authentic CallInitiated is 200 ignored and not queued."""
    r = push.post("/webhooks/vobiz", content=INITIATED, headers=vobiz_headers(INITIATED))
    assert (r.status_code, r.json()) == (200, {"status": "ignored", "reason": "event CallInitiated carries no CDR"})
    assert queued(redis_client) == []


@pytest.mark.parametrize(
    "headers",
    [JSON, vobiz_headers(TRUNK, secret="wrong"), vobiz_headers(INITIATED), callr_headers(TRUNK)],
    ids=["missing", "wrong-secret", "signature-of-another-body", "callr-signature"],
)
def test_vobiz_bad_signature_401(push: TestClient, redis_client: redis.Redis, headers: dict[str, str]) -> None:
    """Every trunk signature failure is 401 and queues nothing."""
    r = push.post("/webhooks/vobiz", content=TRUNK, headers=headers)
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
    assert queued(redis_client) == []


def test_vobiz_hangup_without_call_uuid_422(push: TestClient, redis_client: redis.Redis) -> None:
    """An authentic Hangup without CallUUID is 422 naming it, and still queued for quarantine."""
    body = orjson.dumps({"Event": "Hangup", "RequestID": "r1"})
    r = push.post("/webhooks/vobiz", content=body, headers=vobiz_headers(body))
    assert r.status_code == 422 and "CallUUID" in r.json()["detail"]
    assert len(queued(redis_client)) == 1


# --- Vobiz application callback ---------------------------------------------------------------


def test_vobiz_callback_form_and_json_queued(push: TestClient, redis_client: redis.Redis) -> None:
    """Form and JSON hangup callbacks signed over the public URL (PUBLIC_BASE_URL) are 202."""
    r = push.post("/webhooks/vobiz-callback", content=CALLBACK, headers=vobiz_v3_headers("10000000000000000001"))
    assert r.status_code == 202, r.text
    headers = vobiz_v3_headers("10000000000000000002", content_type="application/json")
    assert push.post("/webhooks/vobiz-callback", content=CALLBACK_JSON, headers=headers).status_code == 202
    assert [e.feed for e in queued(redis_client)] == ["vobiz.callback", "vobiz.callback"]


def test_vobiz_callback_replayed_nonce_401(push: TestClient, redis_client: redis.Redis) -> None:
    """A nonce seen before is refused, even with another body: V3 signs neither body nor time."""
    headers = vobiz_v3_headers("20000000000000000001")
    assert push.post("/webhooks/vobiz-callback", content=CALLBACK, headers=headers).status_code == 202
    # The same nonce again, on the same body, another one, a body that is no CDR, an ignored event.
    for body in (CALLBACK, CALLBACK.replace(b"BillDuration=42", b"BillDuration=4200"), b"Event=Hangup", RING):
        r = push.post("/webhooks/vobiz-callback", content=body, headers=headers)
        assert r.status_code == 401 and "replay" in r.json()["detail"]
    assert len(queued(redis_client)) == 1
    ring = vobiz_v3_headers("20000000000000000002")
    assert push.post("/webhooks/vobiz-callback", content=RING, headers=ring).json()["status"] == "ignored"
    assert push.post("/webhooks/vobiz-callback", content=CALLBACK, headers=ring).status_code == 401


def test_vobiz_callback_query_and_main_account(push: TestClient) -> None:
    """The query string is not signed, and the -MA-V3 header verifies with the main account token."""
    headers = vobiz_v3_headers("30000000000000000001")
    r = push.post("/webhooks/vobiz-callback?app=7", content=CALLBACK, headers=headers)
    assert r.status_code == 202
    headers = vobiz_v3_headers("30000000000000000002", token=VOBIZ_MAIN_TOKEN, header="x-vobiz-signature-ma-v3")
    assert push.post("/webhooks/vobiz-callback", content=RING, headers=headers).json()["status"] == "ignored"


def test_vobiz_callback_needs_the_public_url(client_for: Callable[..., TestClient]) -> None:
    """Behind a proxy the signed URL is the public one: without PUBLIC_BASE_URL it does not verify."""
    client = client_for(**{**PUSH_ENV, "PUBLIC_BASE_URL": None})
    r = client.post("/webhooks/vobiz-callback", content=CALLBACK, headers=vobiz_v3_headers("40000000000000000001"))
    assert r.status_code == 401
    local = vobiz_v3_headers("40000000000000000002", url="http://testserver/webhooks/vobiz-callback")
    assert client.post("/webhooks/vobiz-callback", content=CALLBACK, headers=local).status_code == 202


def test_vobiz_callback_redis_down_is_503(client_for: Callable[..., TestClient], tmp_path: Path) -> None:
    """Without Redis the nonce cannot be checked: 503 (retry), never accepted unchecked, so not
    spooled either; a delivery without a nonce is spooled meanwhile."""
    client = client_for(**PUSH_ENV, REDIS_URL="redis://127.0.0.1:1/0", SPOOL_DIR=str(tmp_path / "spool"))
    for body in (CALLBACK, b"Event=Hangup", RING):
        r = client.post("/webhooks/vobiz-callback", content=body, headers=vobiz_v3_headers("50000000000000000001"))
        assert r.status_code == 503, body
    assert Spool(tmp_path / "spool", 10**6).state().segments == 0
    assert client.post("/webhooks/vobiz", content=TRUNK, headers=vobiz_headers(TRUNK)).status_code == 202
    assert Spool(tmp_path / "spool", 10**6).state().segments == 1


class _Refusing:
    """An acceptor whose Redis is gone: every accept fails as the real one does."""

    async def accept(self, envelope: Envelope, dedupe_key: str | None = None, nonce_key: str | None = None) -> str:
        raise TransientError("neither Redis nor the spool can take it")


def test_nonce_released_when_the_delivery_is_not_accepted(
    make_settings: Callable[..., Settings], redis_url: str, redis_client: redis.Redis
) -> None:
    """After a 503 the vendor's retry with the same nonce is not mistaken for a replay."""
    settings = make_settings(**PUSH_ENV)
    route = next(r for r in ROUTES if r.feed == "vobiz.callback")
    client_redis = aioredis.Redis.from_url(redis_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client_redis.aclose()

    ctx = IngestContext(settings, _Refusing(), Gate.from_settings(settings, client_redis), Nonces(client_redis, 60))  # type: ignore[arg-type]
    endpoint = IngestEndpoint(route, ctx)
    app = Starlette(routes=[HttpRoute(route.path, endpoint, methods=["POST"])], lifespan=lifespan)
    headers = vobiz_v3_headers("60000000000000000001")
    with TestClient(app) as client:
        for _ in range(2):
            r = client.post("/webhooks/vobiz-callback", content=CALLBACK, headers=headers)
            assert r.status_code == 503, r.text
    assert redis_client.keys("cdr-ingest:nonce:*") == []


# --- Sinch ------------------------------------------------------------------------------------


def test_sinch_dice_queued_and_ace_ignored(push: TestClient, redis_client: redis.Redis) -> None:
    """A signed DiCE is 202 for the application key's account; a signed ace event is 200 ignored."""
    r = push.post("/webhooks/sinch", content=DICE, headers=sinch_headers(DICE))
    assert r.status_code == 202, r.text
    r = push.post("/webhooks/sinch", content=ACE, headers=sinch_headers(ACE))
    assert r.json() == {"status": "ignored", "reason": "event ace carries no CDR"}
    ((e),) = queued(redis_client)
    assert (e.feed, e.account) == ("sinch.dice", PUSH_ENV["SINCH_APP_KEY"])


@pytest.mark.parametrize(
    "headers",
    [
        JSON,
        sinch_headers(DICE, timestamp="2024-01-01T00:00:00Z"),
        sinch_headers(DICE, key="5F5C418A0F914BBC8234A9BF5EDDAD97"),
        sinch_headers(DICE, secret="JViE5vDor0Sw3WllZka15Q=="),
        sinch_headers(ACE),
        sinch_headers(DICE, path="/sinch/callback/dice"),
        vobiz_headers(DICE),
    ],
    ids=["missing", "stale", "unknown-key", "wrong-secret", "other-body", "other-path", "vobiz-signature"],
)
def test_sinch_refused_401(push: TestClient, redis_client: redis.Redis, headers: dict[str, str]) -> None:
    """Every Sinch signature failure, a stale x-timestamp included, is 401 and queues nothing."""
    r = push.post("/webhooks/sinch", content=DICE, headers=headers)
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
    assert queued(redis_client) == []


def test_sinch_signed_path_behind_a_prefix(client_for: Callable[..., TestClient]) -> None:
    """Sinch signs the path it called: with PUBLIC_BASE_URL=.../ingest that is /ingest/webhooks/sinch."""
    client = client_for(**{**PUSH_ENV, "PUBLIC_BASE_URL": "https://cdr.example.com/ingest"})
    headers = sinch_headers(DICE, path="/ingest/webhooks/sinch")
    assert client.post("/webhooks/sinch", content=DICE, headers=headers).status_code == 202


# --- Kazoo ------------------------------------------------------------------------------------


def test_kazoo_json_and_form_answered_200(push: TestClient, redis_client: redis.Redis) -> None:
    """Kazoo counts only 200 as delivered: a queued leg is 200 "queued"; the same leg again is duplicate."""
    r = kazoo(push, DESTROY)
    assert (r.status_code, r.json()["status"]) == (200, "queued")
    r = kazoo(push, DESTROY_FORM, content_type=FORM)
    assert (r.status_code, r.json()) == (200, {"status": "duplicate"})
    assert kazoo(push, CREATE).json()["status"] == "ignored"
    ((e),) = queued(redis_client)
    assert (e.feed, e.account) == ("kazoo.webhook", PUSH_ENV["KAZOO_ACCOUNT_ID"])


def test_kazoo_token_only_in_the_url(push: TestClient, redis_client: redis.Redis) -> None:
    """A wrong token, or the right one in a header instead of ?token=, is 401."""
    assert kazoo(push, DESTROY, token="nope").status_code == 401
    headers = {"content-type": "application/json", "authorization": f"Bearer {KAZOO_TOKEN}"}
    assert push.post("/webhooks/kazoo", content=DESTROY, headers=headers).status_code == 401
    assert queued(redis_client) == []


def test_kazoo_previous_token_during_rotation(client_for: Callable[..., TestClient]) -> None:
    """KAZOO_WEBHOOK_TOKEN_PREVIOUS keeps working while the hook URLs are updated."""
    client = client_for(**{**PUSH_ENV, "KAZOO_WEBHOOK_TOKEN": "new-token", "KAZOO_WEBHOOK_TOKEN_PREVIOUS": KAZOO_TOKEN})
    assert kazoo(client, DESTROY).status_code == 200


def test_kazoo_stored_cdr_document_is_422(push: TestClient) -> None:
    """A stored CDR document is not a channel_destroy hook: 422 naming hook_event."""
    r = kazoo(push, CDR_DOC)
    assert r.status_code == 422 and "hook_event" in r.json()["detail"]


# --- every new route --------------------------------------------------------------------------

PATHS = ["/webhooks/vobiz", "/webhooks/vobiz-callback", "/webhooks/sinch", "/webhooks/kazoo"]


@pytest.mark.parametrize("path", PATHS)
def test_disabled_source_is_404(client_for: Callable[..., TestClient], path: str) -> None:
    """With its secret unset a route is disabled: 404 even for a well-formed request."""
    client = client_for()
    r = client.post(path, params={"token": KAZOO_TOKEN}, content=DICE, headers=sinch_headers(DICE))
    assert (r.status_code, r.json()["error"]) == (404, "not_found")


@pytest.mark.parametrize(("path", "content_type"), [(p, "text/plain") for p in PATHS] + [
    ("/webhooks/vobiz", FORM), ("/webhooks/sinch", FORM)])  # fmt: skip
def test_unsupported_content_type_is_415(push: TestClient, path: str, content_type: str) -> None:
    """Each route takes only its vendor's content types (JSON; form too for Vobiz callbacks and Kazoo)."""
    r = push.post(path, content=b"a=1", headers={"content-type": content_type})
    assert (r.status_code, r.json()["error"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize("path", PATHS)
def test_routes_answer_json_errors_without_secrets(push: TestClient, path: str) -> None:
    """An unsigned request is 401 on every route, with a JSON error that names no secret."""
    r = push.post(path, content=DICE, headers=JSON)
    assert r.status_code == 401
    assert all(v not in r.text for v in (KAZOO_TOKEN, VOBIZ_MAIN_TOKEN, PUSH_ENV["VOBIZ_WEBHOOK_SECRET"]))
