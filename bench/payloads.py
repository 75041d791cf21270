"""Pre-signed webhook deliveries for wrk, every push feed in turn: delivery ``n`` goes to feed
``FEEDS[n % 6]``, each a call of its own (its own id, outside party and times, ``bench.lifelike``),
signed the way its vendor signs (``tests.receiver.helpers.sign``, keyed by the tests' secrets, which
``ENV`` configures). One line per delivery: target, content type, header name and value pairs, body,
tab-separated (JSON and form bodies hold no raw tab or newline).

Sinch signs a timestamp, checked against the receipt time: the bench's ``ENV`` widens
``SIGNATURE_TOLERANCE_S`` to a day, since its requests are signed before the runs, minutes ahead.
Vobiz callbacks carry a nonce each, claimed in Redis as production claims it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from bench.lifelike import other_party
from tests.conftest import CALLR_SECRET, CALLR_TOKEN, PAYLOADS, PUSH_ENV
from tests.receiver.helpers import FORM, JSON, SAMPLES, sign

ENV = {"CALLR_WEBHOOK_SECRET": CALLR_SECRET, "CALLR_ACTIONS_TOKEN": CALLR_TOKEN, "CALLR_ACCOUNT_SID": "bench",
       **PUSH_ENV, "SIGNATURE_TOLERANCE_S": str(24 * 3600)}  # fmt: skip
TEMPLATE = orjson.loads((PAYLOADS / "callr/webhook_v2_inbound_answered.json").read_bytes())
_ACTIONS = orjson.loads(SAMPLES["/webhooks/callr-actions"][0])
_TRUNK = orjson.loads(SAMPLES["/webhooks/vobiz"][0])
_CALLBACK = dict(parse_qsl(SAMPLES["/webhooks/vobiz-callback"][0].decode()))
_DICE = orjson.loads(SAMPLES["/webhooks/sinch"][0])
_KAZOO = orjson.loads(SAMPLES["/webhooks/kazoo"][0])


def _shifted(values: dict[str, Any], keys: tuple[str, ...], fmt: str, by: timedelta) -> dict[str, str]:
    """``values[k]`` (a time in ``fmt``) ``by`` later, for each key."""
    return {k: (datetime.strptime(values[k], fmt) + by).strftime(fmt) for k in keys}


def _callr_times(times: dict[str, Any], n: int) -> dict[str, str]:
    """Callr's v2 times ``n`` ms later (calls end thousands a second, each at its own instant)."""
    later = timedelta(milliseconds=n)
    return {k: f"{(datetime.fromisoformat(times[k]) + later).isoformat(timespec='milliseconds')[:-6]}Z"
            for k in ("started", "answered", "ended")}  # fmt: skip


def body(n: int) -> bytes:
    """Callr webhook ``n``: its own event id, call id, caller and times."""
    payload = {**TEMPLATE["payload"], "callid": 500_000_000_000 + n, "callerNumber": other_party(n),
               **_callr_times(TEMPLATE["payload"], n)}  # fmt: skip
    return orjson.dumps({**TEMPLATE, "id": f"bench{n:010d}", "payload": payload})


def actions_body(n: int) -> bytes:
    """A Callr Actions ``fetch@v2`` push of inbound call ``n``."""
    cdr = {**_ACTIONS["cdr"], "callid": 600_000_000_000 + n, "callerNumber": other_party(n),
           **_callr_times(_ACTIONS["cdr"], n)}  # fmt: skip
    return orjson.dumps({**_ACTIONS, "cdr": cdr})


def _uuid(n: int, tag: int) -> str:
    return f"{tag:08x}-0000-4000-8000-{n:012x}"


def trunk_body(n: int) -> bytes:
    """A Vobiz trunk hangup of outbound call ``n`` (the callee is the outside party), ``n`` s later."""
    times = _shifted(_TRUNK, ("Timestamp", "StartTime", "EndTime"), "%Y-%m-%dT%H:%M:%SZ", timedelta(seconds=n))
    return orjson.dumps({**_TRUNK, "CallUUID": _uuid(n, 1), "RequestID": f"req-bench-{n}",
                         "To": other_party(n, "+9180"), **times})  # fmt: skip


def callback_body(n: int) -> bytes:
    """A Vobiz application hangup callback (form) of outbound call ``n``, ``n`` s later; its numbers
    without "+", as the sample's."""
    times = _shifted(_CALLBACK, ("StartTime", "AnswerTime", "EndTime"), "%Y-%m-%d %H:%M:%S", timedelta(seconds=n))
    fields = {**_CALLBACK, "CallUUID": _uuid(n, 2), "ALegUUID": _uuid(n, 2), "ALegRequestUUID": _uuid(n, 3),
              "To": other_party(n, "+9180")[1:], **times}  # fmt: skip
    return urlencode(fields).encode()


def dice_body(n: int) -> bytes:
    """A Sinch DiCE of PSTN call ``n`` to its own number, ``n`` s later."""
    at = datetime.strptime(_DICE["timestamp"], "%Y-%m-%dT%H:%M:%SZ") + timedelta(seconds=n)
    return orjson.dumps({**_DICE, "callid": f"bench-dice-{n}", "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "to": {"type": "number", "endpoint": other_party(n, "+467")}})  # fmt: skip


def kazoo_body(n: int) -> bytes:
    """A Kazoo ``channel_destroy`` of inbound leg ``n`` from its own caller, ``n`` s later."""
    caller, ended = other_party(n, "+155"), str(int(_KAZOO["timestamp"]) + n)
    return orjson.dumps({**_KAZOO, "call_id": f"bench-kazoo-{n}", "caller_id_number": caller,
                         "from": f"{caller}@matrix.test.com", "timestamp": ended})  # fmt: skip


# (feed, path, content type, body of delivery n): every push route of receiver/feeds.py.
FEEDS: tuple[tuple[str, str, str, Callable[[int], bytes]], ...] = (
    ("callr.webhook", "/webhooks/callr", JSON, body),
    ("callr.actions", "/webhooks/callr-actions", JSON, actions_body),
    ("vobiz.trunk", "/webhooks/vobiz", JSON, trunk_body),
    ("vobiz.callback", "/webhooks/vobiz-callback", FORM, callback_body),
    ("sinch.dice", "/webhooks/sinch", JSON, dice_body),
    ("kazoo.webhook", "/webhooks/kazoo", JSON, kazoo_body),
)


def delivery(n: int, signed_at: str) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """(target, content type, headers besides Content-Type, body) of delivery ``n``; a Sinch
    signature signs ``signed_at`` (its ``x-timestamp``)."""
    _, path, content_type, make = FEEDS[n % len(FEEDS)]
    raw = make(n)
    target, headers = sign(path, raw, content_type=content_type, nonce=f"{n:020d}", timestamp=signed_at)
    return target, content_type, headers, raw


def request_line(target: str, content_type: str, headers: list[tuple[str, str]], raw: bytes) -> bytes:
    """One delivery as ``signed.lua`` reads it."""
    fields = [target, content_type, *(x for pair in headers for x in pair)]
    return "\t".join(fields).encode() + b"\t" + raw + b"\n"


def stamp(at: datetime) -> str:
    """A Sinch ``x-timestamp``."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_requests(path: Path, start: int, count: int, signed_at: datetime | None = None, step: int = 1) -> Path:
    """``count`` deliveries from ``start``, every ``step``-th (``len(FEEDS)``: one feed's only)."""
    signed = stamp(signed_at or datetime.now(UTC))
    with open(path, "wb") as f:
        for n in range(start, start + count * step, step):
            f.write(request_line(*delivery(n, signed)))
    return path
