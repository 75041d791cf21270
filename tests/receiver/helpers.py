"""Signing helpers for receiver tests: each vendor's scheme written out independently of
``receiver/auth.py``, so a test signs the way the vendor does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime

import orjson
import redis

from tests.conftest import (
    CALLR_SECRET,
    CALLR_TOKEN,
    KAZOO_TOKEN,
    PAYLOADS,
    PUBLIC_BASE,
    SINCH_KEY,
    SINCH_SECRET,
    VOBIZ_SECRET,
    VOBIZ_TOKEN,
)
from workers.envelope import Envelope
from workers.inbox import inbox_key
from workers.queue import ingest_queue

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# (attack, status, response) for every attack tests/receiver/test_attacks.py sends; printed by make test.
ATTACK_LOG: list[tuple[str, int, str]] = []
# One real delivery per push route, with its content type.
SAMPLES: dict[str, tuple[bytes, str]] = {
    "/webhooks/callr": ((PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_bytes(), JSON),
    "/webhooks/callr-actions": ((PAYLOADS / "callr" / "actions_push.json").read_bytes(), JSON),
    "/webhooks/vobiz": ((PAYLOADS / "vobiz" / "trunk_hangup_answered.json").read_bytes(), JSON),
    "/webhooks/vobiz-callback": ((PAYLOADS / "vobiz" / "callback_hangup_answered.form").read_bytes(), FORM),
    "/webhooks/sinch": ((PAYLOADS / "sinch" / "dice_sdk_fixture.json").read_bytes(), JSON),
    "/webhooks/kazoo": ((PAYLOADS / "kazoo" / "channel_destroy.json").read_bytes(), JSON),
}


def queued(redis_client: redis.Redis, settings_queue: str = "cdr-ingest") -> list[Envelope]:
    """The envelopes waiting for a worker: in the inbox, or in ingest jobs on the queue."""
    inboxed = [orjson.loads(item) for item in redis_client.lrange(inbox_key(settings_queue), 0, -1)]
    queue = ingest_queue(redis_client, settings_queue)
    in_jobs = [e for job in queue.get_jobs() if job.func_name == "workers.jobs.ingest" for e in job.args[0]]
    return [Envelope.from_dict(e) for e in inboxed + in_jobs]


def callr_signature(body: bytes, secret: str = CALLR_SECRET, algo: str = "sha256") -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, getattr(hashlib, algo)).digest()).decode()


def callr_headers(body: bytes, secret: str = CALLR_SECRET, algo: str = "sha256") -> dict[str, str]:
    return {"content-type": "application/json", "x-callr-hmacsignature": callr_signature(body, secret, algo)}


def vobiz_headers(body: bytes, secret: str = VOBIZ_SECRET) -> dict[str, str]:
    """Trunk webhook: hex HMAC-SHA256 of the raw body."""
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-vobiz-signature": signature}


def vobiz_v3(url: str, nonce: str, token: str = VOBIZ_TOKEN) -> str:
    """base64(HMAC-SHA256(token, url-without-query + "." + nonce))."""
    base = url.split("?", 1)[0]
    return base64.b64encode(hmac.new(token.encode(), f"{base}.{nonce}".encode(), hashlib.sha256).digest()).decode()


def vobiz_v3_headers(
    nonce: str,
    *,
    token: str = VOBIZ_TOKEN,
    url: str = f"{PUBLIC_BASE}/webhooks/vobiz-callback",
    header: str = "x-vobiz-signature-v3",
    content_type: str = FORM,
) -> dict[str, str]:
    return {"content-type": content_type, header: vobiz_v3(url, nonce, token), "x-vobiz-signature-v3-nonce": nonce}


def sinch_signature(
    body: bytes, *, timestamp: str, path: str, content_type: str = "application/json", secret: str = SINCH_SECRET
) -> str:
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode() if body else ""
    to_sign = f"POST\n{md5}\n{content_type}\nx-timestamp:{timestamp}\n{path}"
    return base64.b64encode(hmac.new(base64.b64decode(secret), to_sign.encode(), hashlib.sha256).digest()).decode()


def sinch_headers(
    body: bytes,
    *,
    path: str = "/webhooks/sinch",
    timestamp: str | None = None,
    key: str = SINCH_KEY,
    secret: str = SINCH_SECRET,
) -> dict[str, str]:
    stamp = timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    signature = sinch_signature(body, timestamp=stamp, path=path, secret=secret)
    return {"content-type": "application/json", "x-timestamp": stamp, "authorization": f"Application {key}:{signature}"}


def sign(
    path: str,
    body: bytes,
    *,
    content_type: str = JSON,
    secret: str | None = None,
    nonce: str | None = None,
    timestamp: str | None = None,
) -> tuple[str, list[tuple[str, str]]]:
    """A credential for the route the way its vendor makes one, keyed by ``secret`` (default: the
    tests' configured one): (the URL to call, the headers to add besides Content-Type). Sinch
    signs ``timestamp``, by default now."""
    if path == "/webhooks/callr":
        return path, [("x-callr-hmacsignature", callr_signature(body, secret or CALLR_SECRET))]
    if path == "/webhooks/callr-actions":
        return path, [("authorization", f"Bearer {secret or CALLR_TOKEN}")]
    if path == "/webhooks/vobiz":
        return path, [("x-vobiz-signature", vobiz_headers(body, secret or VOBIZ_SECRET)["x-vobiz-signature"])]
    if path == "/webhooks/vobiz-callback":
        fresh = nonce or f"{uuid.uuid4().int % 10**20:020d}"
        headers = vobiz_v3_headers(fresh, token=secret or VOBIZ_TOKEN)
        return path, [(k, v) for k, v in headers.items() if k != "content-type"]
    if path == "/webhooks/sinch":
        stamp = timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        signature = sinch_signature(body, timestamp=stamp, path=path, content_type=content_type,
                                    secret=secret or SINCH_SECRET)  # fmt: skip
        return path, [("x-timestamp", stamp), ("authorization", f"Application {SINCH_KEY}:{signature}")]
    if path == "/webhooks/kazoo":
        return f"{path}?token={secret or KAZOO_TOKEN}", []
    return path, [("authorization", f"Bearer {secret or 'nothing'}")]
