"""Log lines: the canonical events and their fields, number masking, and no secret in any line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest
import redis
import structlog
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from receiver.app import create_app
from tests.conftest import CALLR_SECRET, CALLR_TOKEN, PAYLOADS, PUSH_ENV, work
from tests.receiver.helpers import SAMPLES, callr_headers, sign
from tests.receiver.read_helpers import READ_TOKEN, bearer
from workers import jobs
from workers.envelope import Envelope
from workers.logs import configure_logging, get_logger, mask_number
from workers.queue import ingest_queue
from workers.settings import Settings

V2 = (PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_bytes()
ACTIONS = (PAYLOADS / "callr" / "actions_push.json").read_bytes()


def envelope(body: bytes = V2) -> Envelope:
    return Envelope(feed="callr.webhook", account="acct1", received_at=datetime.now(UTC), body=body.decode())


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+33612345678", "+33*******78"),
        ("+14155550100", "+14*******00"),
        ("0612345678", "********78"),
        ("sip:0612345678@pbx.example.com", "sip:********78@pbx.example.com"),
        ("anonymous", "anonymous"),
    ],
)
def test_mask_number(raw: str, masked: str) -> None:
    """Country prefix and last two digits stay; every other digit becomes *."""
    assert mask_number(raw) == masked


def test_stored_line_has_the_canonical_fields(runtime: jobs.Runtime) -> None:
    """cdr.stored carries feed, account, call id, ingest id, status, numbers and timings."""
    e = envelope()
    with capture_logs() as logs:
        jobs.ingest([e.to_dict()])
    (line,) = [x for x in logs if x["event"] == "cdr.stored"]
    assert line["log_level"] == "info"
    assert (line["feed"], line["account"], line["call_id"], line["ingest_id"]) == (
        "callr.webhook", "acct1", "240711945874", e.ingest_id)  # fmt: skip
    assert line["status"] == "answered" and line["sources"] == "webhook"
    assert line["from_number"].startswith("+") and line["age_ms"] >= 0 and line["batch_ms"] >= 0


def test_failures_have_one_line_each(runtime: jobs.Runtime, make_settings: Callable[..., Settings]) -> None:
    """A payload that is not a CDR logs cdr.quarantined with its reason; a forged request ingest.rejected."""
    with capture_logs() as logs:
        jobs.ingest([envelope(b'{"type": "v2.call.inbound.ended", "payload": {}}').to_dict()])
        with TestClient(create_app(make_settings())) as client:
            client.post("/webhooks/callr", content=V2, headers=callr_headers(V2, secret="forged"))
    events = {x["event"]: x for x in logs}
    assert events["cdr.quarantined"]["log_level"] == "warning" and events["cdr.quarantined"]["reason"]
    rejected = events["ingest.rejected"]
    assert (rejected["feed"], rejected["status"], rejected["error"]) == ("callr.webhook", 401, "unauthorized")


def test_masking_applies_to_rendered_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """With LOG_MASK_NUMBERS the JSON line masks number fields and E.164 inside text, not call ids."""
    configure_logging(fmt="json", mask_phone_numbers=True)
    get_logger("t").info("cdr.stored", call_id="240711945874", from_number="+33612345678",
                         to_number="sip:0187654321@pbx", detail="bad number +33612345678 here")  # fmt: skip
    line = orjson.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["call_id"] == "240711945874"
    assert (line["from_number"], line["to_number"]) == ("+33*******78", "sip:********21@pbx")
    assert line["detail"] == "bad number +33*******78 here"
    configure_logging(fmt="json")
    get_logger("t").info("cdr.stored", from_number="+33612345678")
    assert "+33612345678" in capsys.readouterr().out


def test_no_secret_reaches_any_log_line_or_error_body(
    runtime: jobs.Runtime, make_settings: Callable[..., Settings], redis_client: redis.Redis,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Signed, forged, replayed, refused (403, 408, 413, 429) and read-API requests on every route, with
    current and previous secrets, plus a worker run: no secret, token or signature in a log line or body."""
    configure_logging(fmt="json", level="DEBUG")
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="httpx2")  # the test client's own request log shows its URLs
    rotated = {f"{name}_PREVIOUS": f"previous-{name.lower()}" for name in ("CALLR_WEBHOOK_SECRET",
               "CALLR_ACTIONS_TOKEN", "VOBIZ_WEBHOOK_SECRET", "VOBIZ_AUTH_TOKEN", "KAZOO_WEBHOOK_TOKEN")}  # fmt: skip
    env = {**PUSH_ENV, **rotated, "READ_API_TOKEN": READ_TOKEN, "READ_API_TOKEN_PREVIOUS": "previous-read-token",
           "DATABASE_URL": runtime.settings.database_url, "AUTH_FAILURE_LIMIT": "8", "RATE_LIMIT": "100",
           "KAZOO_ALLOWED_IPS": "10.0.0.0/8"}  # fmt: skip
    settings = make_settings(**env)
    sent: list[str] = []
    bodies: list[str] = []
    with TestClient(create_app(settings), client=("203.0.113.9", 4000)) as client:
        for path, (body, content_type) in SAMPLES.items():
            for secret in (None, rotated.get(f"{ENV_OF[path]}_PREVIOUS"), "Zm9yZ2Vk"):
                url, credential = sign(path, body, content_type=content_type, secret=secret, nonce="1" * 20)
                sent += [v for _, v in credential] + [url]
                r = client.post(url, content=body, headers={"content-type": content_type, **dict(credential)})
                bodies.append(r.text)
        bodies.append(client.post("/webhooks/callr", content=b"x" * 300_000, headers=callr_headers(V2)).text)
        queue = ingest_queue(redis_client, runtime.settings.queue_name)
        work(queue, redis_client)
        for token in (READ_TOKEN, "previous-read-token", "wrong-" + READ_TOKEN):
            bodies.append(client.get("/cdrs", headers=bearer(token)).text)
        for _ in range(8):  # past AUTH_FAILURE_LIMIT: 429
            bodies.append(client.post("/webhooks/callr", content=V2, headers=callr_headers(V2, "guess")).text)
    structlog.get_logger("t").info("settings", settings=repr(settings))
    text = capsys.readouterr().out + caplog.text
    for event in ("cdr.stored", "ingest.rejected"):
        assert f'"event": "{event}"' in text
    assert all(f'"status": {status}' in text for status in (401, 403, 413, 429)), "every refusal was logged"
    secrets = [v for k, v in env.items() if k.endswith(("SECRET", "TOKEN", "PREVIOUS"))]
    signatures = [v for v in sent if len(v) > 20 and not v.startswith("/") and not v.isdigit()]
    assert len(signatures) >= 10
    for secret in [*secrets, *signatures, CALLR_SECRET, CALLR_TOKEN]:
        assert secret not in text, secret
        assert not any(secret in body for body in bodies), secret


ENV_OF = {"/webhooks/callr": "CALLR_WEBHOOK_SECRET", "/webhooks/callr-actions": "CALLR_ACTIONS_TOKEN",
          "/webhooks/vobiz": "VOBIZ_WEBHOOK_SECRET", "/webhooks/vobiz-callback": "VOBIZ_AUTH_TOKEN",
          "/webhooks/sinch": "SINCH_APP_SECRET", "/webhooks/kazoo": "KAZOO_WEBHOOK_TOKEN"}  # fmt: skip
