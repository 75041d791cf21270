"""Pre-signed webhook requests for wrk: one line per distinct delivery, ``signature<TAB>body``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from bench.lifelike import other_party

SECRET = "bench-secret"
TEMPLATE = orjson.loads(
    (Path(__file__).parent.parent / "tests/payloads/callr/webhook_v2_inbound_answered.json").read_bytes()
)


_TIMES = {k: datetime.fromisoformat(TEMPLATE["payload"][k]) for k in ("started", "answered", "ended")}


def body(n: int) -> bytes:
    """Delivery ``n``: its own call id, caller (``bench.lifelike``) and times (``n`` ms later than
    the template's: calls end thousands a second, each at its own instant)."""
    later = timedelta(milliseconds=n)
    times = {k: f"{(t + later).isoformat(timespec='milliseconds')[:-6]}Z" for k, t in _TIMES.items()}
    payload = {**TEMPLATE["payload"], "callid": 500_000_000_000 + n, "callerNumber": other_party(n), **times}
    return orjson.dumps({**TEMPLATE, "id": f"bench{n:010d}", "payload": payload})


def write_requests(path: Path, start: int, count: int) -> Path:
    with open(path, "wb") as f:
        for n in range(start, start + count):
            b = body(n)
            sig = base64.b64encode(hmac.new(SECRET.encode(), b, hashlib.sha256).digest())
            f.write(sig + b"\t" + b + b"\n")
    return path
