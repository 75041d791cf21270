"""Pre-signed webhook requests for wrk: one line per distinct delivery, ``signature<TAB>body``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import orjson

SECRET = "bench-secret"
TEMPLATE = orjson.loads(
    (Path(__file__).parent.parent / "tests/payloads/callr/webhook_v2_inbound_answered.json").read_bytes()
)


def body(n: int) -> bytes:
    return orjson.dumps(
        {**TEMPLATE, "id": f"bench{n:010d}", "payload": {**TEMPLATE["payload"], "callid": 500_000_000_000 + n}}
    )


def write_requests(path: Path, start: int, count: int) -> Path:
    with open(path, "wb") as f:
        for n in range(start, start + count):
            b = body(n)
            sig = base64.b64encode(hmac.new(SECRET.encode(), b, hashlib.sha256).digest())
            f.write(sig + b"\t" + b + b"\n")
    return path
