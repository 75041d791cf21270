"""Log lines: the canonical events and their fields, number masking, and no secret in any line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest
import redis
import structlog
from rq import SimpleWorker
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from receiver.app import create_app
from tests.conftest import CALLR_SECRET, CALLR_TOKEN, PAYLOADS
from tests.receiver.helpers import callr_headers, callr_signature
from tests.receiver.read_helpers import READ_TOKEN, bearer
from workers import jobs
from workers.envelope import Envelope
from workers.logs import configure_logging, get_logger, mask_number
from workers.queue import OrjsonSerializer, ingest_queue
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


def test_no_secret_reaches_any_log_line(
    runtime: jobs.Runtime, make_settings: Callable[..., Settings], redis_client: redis.Redis,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Signed, forged, bearer and read-API requests plus a worker run: no secret, token or signature is logged."""
    configure_logging(fmt="json", level="DEBUG")
    caplog.set_level(logging.DEBUG)
    actions = {"content-type": "application/json", "authorization": f"Bearer {CALLR_TOKEN}"}
    settings = make_settings(DATABASE_URL=runtime.settings.database_url, READ_API_TOKEN=READ_TOKEN)
    with TestClient(create_app(settings)) as client:
        client.post("/webhooks/callr", content=V2, headers=callr_headers(V2))
        client.post("/webhooks/callr", content=V2 + b" ", headers=callr_headers(V2))
        client.post("/webhooks/callr-actions", content=ACTIONS, headers=actions)
        client.post("/webhooks/callr-actions", content=ACTIONS, headers=actions | {"authorization": "Bearer guess"})
        queue = ingest_queue(redis_client, runtime.settings.queue_name)
        SimpleWorker([queue], connection=redis_client, serializer=OrjsonSerializer).work(burst=True)
        client.get("/cdrs", headers=bearer())
        client.get("/cdrs", headers=bearer("wrong-" + READ_TOKEN))
    structlog.get_logger("t").info("settings", settings=repr(settings))
    text = capsys.readouterr().out + caplog.text
    assert '"event": "cdr.stored"' in text and '"event": "ingest.rejected"' in text
    for secret in (CALLR_SECRET, CALLR_TOKEN, READ_TOKEN, callr_signature(V2)):
        assert secret not in text
