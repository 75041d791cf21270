"""The receiver in-process (Starlette TestClient) on real Redis: every documented response."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
import redis
from starlette.testclient import TestClient

from tests.conftest import CALLR_TOKEN, PAYLOADS
from tests.receiver.helpers import callr_headers, queued
from workers.envelope import Envelope

V2 = (PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_bytes()
ACTIONS = (PAYLOADS / "callr" / "actions_push.json").read_bytes()


def test_webhook_accepted_and_queued(client: TestClient, redis_client: redis.Redis) -> None:
    """A signed v2 ended event is 202 with an ingest id, and its raw body is on the queue."""
    r = client.post("/webhooks/callr", content=V2, headers=callr_headers(V2))
    assert r.status_code == 202
    assert r.json()["status"] == "queued"
    (e,) = queued(redis_client)
    assert (e.feed, e.account, e.ingest_id) == ("callr.webhook", "acct1", r.json()["ingest_id"])
    assert e.body.encode() == V2
    assert "x-callr-hmacsignature" not in e.headers


def test_same_delivery_again_is_duplicate(client: TestClient, redis_client: redis.Redis) -> None:
    """A retry with the same event id is 200 duplicate and queues nothing more."""
    client.post("/webhooks/callr", content=V2, headers=callr_headers(V2))
    r = client.post("/webhooks/callr", content=V2, headers=callr_headers(V2))
    assert (r.status_code, r.json()) == (200, {"status": "duplicate"})
    assert len(queued(redis_client)) == 1


def test_actions_push_for_the_same_call_is_not_a_duplicate(client: TestClient, redis_client: redis.Redis) -> None:
    """The dedupe window is per feed: the push copy of a webhooked call is still queued."""
    client.post("/webhooks/callr", content=V2, headers=callr_headers(V2))
    r = client.post(
        "/webhooks/callr-actions", content=ACTIONS, headers={"content-type": "application/json",
                                                                "authorization": f"Bearer {CALLR_TOKEN}"}
    )  # fmt: skip
    assert r.status_code == 202
    assert len(queued(redis_client)) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},
        {"content-type": "application/json", "x-callr-hmacsignature": "not base64!"},
        callr_headers(V2, secret="wrong"),
        callr_headers(V2 + b" "),
        callr_headers(V2, algo="sha512"),
    ],
    ids=["missing", "not-base64", "wrong-secret", "other-body", "other-algo"],
)
def test_bad_signature_is_401_and_nothing_queued(
    client: TestClient, redis_client: redis.Redis, headers: dict[str, str]
) -> None:
    """Every signature failure is 401 with a JSON error, and nothing reaches the queue."""
    r = client.post("/webhooks/callr", content=V2, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized" and r.json()["detail"]
    assert queued(redis_client) == []


@pytest.mark.parametrize("algo", ["md5", "sha1", "sha512"])
def test_configured_algorithm(client_for: Callable[..., TestClient], algo: str) -> None:
    """CALLR_HMAC_ALGO selects the HMAC algorithm."""
    client = client_for(CALLR_HMAC_ALGO=algo)
    assert client.post("/webhooks/callr", content=V2, headers=callr_headers(V2, algo=algo)).status_code == 202


def test_previous_secret_accepted_during_rotation(client_for: Callable[..., TestClient]) -> None:
    """Both the current and the previous secret verify; any other does not."""
    client = client_for(CALLR_WEBHOOK_SECRET="new", CALLR_WEBHOOK_SECRET_PREVIOUS="old")
    assert client.post("/webhooks/callr", content=V2, headers=callr_headers(V2, secret="old")).status_code == 202
    other = V2.replace(b"a03317440280451052hUD7yPiwWrzgGB", b"zz")
    assert client.post("/webhooks/callr", content=other, headers=callr_headers(other, secret="new")).status_code == 202
    assert client.post("/webhooks/callr", content=V2, headers=callr_headers(V2, secret="older")).status_code == 401


def test_source_without_secret_is_404(client_for: Callable[..., TestClient]) -> None:
    """An endpoint whose secret is not configured is disabled, even for a well-signed request."""
    client = client_for(CALLR_WEBHOOK_SECRET=None, CALLR_ACTIONS_TOKEN=None)
    r = client.post("/webhooks/callr", content=V2, headers=callr_headers(V2))
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert (
        client.post("/webhooks/callr-actions", content=ACTIONS, headers={"authorization": "Bearer x"}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"authorization": "Bearer nope"}, {}),
        ({}, {"token": CALLR_TOKEN}),
        ({"authorization": f"Basic {CALLR_TOKEN}"}, {}),
    ],
    ids=["wrong-token", "token-in-query", "wrong-scheme"],
)
def test_actions_token(client: TestClient, headers: dict[str, str], params: dict[str, str]) -> None:
    """Actions pushes need the bearer token in the Authorization header, nowhere else."""
    r = client.post("/webhooks/callr-actions", content=ACTIONS, params=params,
                    headers={"content-type": "application/json", **headers})  # fmt: skip
    assert r.status_code == 401


def test_started_event_is_ignored(client: TestClient, redis_client: redis.Redis) -> None:
    """An authentic *.started event is 200 ignored with a reason, and not queued."""
    body = (PAYLOADS / "callr" / "webhook_v2_inbound_started.json").read_bytes()
    r = client.post("/webhooks/callr", content=body, headers=callr_headers(body))
    assert r.status_code == 200
    assert r.json() == {"status": "ignored", "reason": "event type v2.call.inbound.started carries no CDR"}
    assert queued(redis_client) == []


def test_malformed_json_is_400(client: TestClient) -> None:
    """A signed body that is not JSON is 400 malformed."""
    body = b'{"type": '
    r = client.post("/webhooks/callr", content=body, headers=callr_headers(body))
    assert (r.status_code, r.json()["error"]) == (400, "malformed")


def test_not_a_cdr_is_422_and_kept_for_quarantine(client: TestClient, redis_client: redis.Redis) -> None:
    """An authentic ended event without a callid is 422 naming the field, and still queued for quarantine."""
    body = orjson.dumps({"id": "e1", "type": "v2.call.inbound.ended", "payload": {"direction": "inbound"}})
    r = client.post("/webhooks/callr", content=body, headers=callr_headers(body))
    assert r.status_code == 422
    assert r.json()["error"] == "not_a_cdr" and "payload.callid" in r.json()["detail"]
    (e,) = queued(redis_client)
    assert e.body.encode() == body


def test_unsupported_content_type_is_415(client: TestClient) -> None:
    """Callr sends JSON; a form body is 415."""
    r = client.post("/webhooks/callr", content=b"a=1", headers={"content-type": "application/x-www-form-urlencoded"})
    assert (r.status_code, r.json()["error"]) == (415, "unsupported_media_type")


def test_body_over_limit_is_413(client_for: Callable[..., TestClient], redis_client: redis.Redis) -> None:
    """A declared or streamed body over MAX_BODY_BYTES is 413, before authentication."""
    client = client_for(MAX_BODY_BYTES=1000)
    big = b'{"x": "' + b"a" * 2000 + b'"}'
    r = client.post("/webhooks/callr", content=big, headers=callr_headers(big))
    assert (r.status_code, r.json()["error"]) == (413, "too_large")

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"a" * 100

    r = client.post("/webhooks/callr", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert queued(redis_client) == []


def test_redis_down_spools_and_answers_202(client_for: Callable[..., TestClient], tmp_path: Path) -> None:
    """With Redis down the delivery is fsync'd to the spool, answered 202, and readyz reports it."""
    client = client_for(REDIS_URL="redis://127.0.0.1:1/0", SPOOL_DIR=str(tmp_path / "s"))
    r = client.post("/webhooks/callr", content=V2, headers=callr_headers(V2))
    assert r.status_code == 202
    (segment,) = (tmp_path / "s").glob("*.spool")
    assert Envelope.from_dict(orjson.loads(segment.read_bytes().splitlines()[0])).ingest_id == r.json()["ingest_id"]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["redis"] == "down" and ready.json()["spool"]["bytes"] == segment.stat().st_size


def test_redis_down_and_spool_full_is_503(client_for: Callable[..., TestClient]) -> None:
    """When neither Redis nor the spool can take the delivery the vendor is told to retry: 503, never 2xx."""
    client = client_for(REDIS_URL="redis://127.0.0.1:1/0", SPOOL_MAX_BYTES=10)
    r = client.post("/webhooks/callr", content=V2, headers=callr_headers(V2))
    assert r.status_code == 503
    assert r.json()["error"] == "unavailable" and r.headers["retry-after"]


def test_probes(client: TestClient) -> None:
    """healthz answers while the process runs; readyz when Redis answers."""
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_unknown_path_and_method_are_json(client: TestClient) -> None:
    """Errors outside the feeds are JSON too."""
    r = client.post("/webhooks/nope", content=b"{}")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = client.get("/webhooks/callr")
    assert (r.status_code, r.json()["error"]) == (405, "method_not_allowed")
