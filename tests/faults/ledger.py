"""Drive a stream of signed Callr deliveries at the receiver and keep the ledger:
sent = accepted + duplicate + rejected + quarantined, and after the run, lost = accepted not stored."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import orjson

from tests.conftest import PAYLOADS
from tests.receiver.helpers import callr_headers

TEMPLATE = orjson.loads((PAYLOADS / "callr" / "webhook_v2_inbound_answered.json").read_bytes())


def delivery(n: int) -> bytes:
    """The n-th distinct call, as a signed-ready v2 ended webhook body."""
    body = dict(TEMPLATE)
    body["id"] = f"evt{n:08d}"
    body["payload"] = dict(TEMPLATE["payload"], callid=900_000_000_000 + n)
    return orjson.dumps(body)


def call_id(n: int) -> str:
    return f"callr:acct1:{900_000_000_000 + n}"


@dataclass
class Ledger:
    name: str
    outcomes: Counter[str] = field(default_factory=Counter)
    accepted: set[int] = field(default_factory=set)
    lost: int | None = None
    stored: int | None = None
    notes: dict[str, object] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, n: int, outcome: str) -> None:
        with self._lock:
            self.outcomes[outcome] += 1
            if outcome == "accepted":
                self.accepted.add(n)

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())

    def balances(self) -> bool:
        parts = ("accepted", "duplicate", "rejected", "quarantined")
        return self.sent == sum(self.outcomes[p] for p in parts)

    def summary(self) -> dict[str, object]:
        return {
            "scenario": self.name,
            "sent": self.sent,
            **{k: self.outcomes[k] for k in ("accepted", "duplicate", "rejected", "quarantined")},
            "stored": self.stored,
            "lost": self.lost,
            **self.notes,
        }


def classify(response: httpx.Response | None) -> str:
    if response is None:
        return "rejected"  # connection refused or reset: the vendor keeps it and retries
    if response.status_code == 202:
        return "accepted"
    if response.status_code == 200 and response.json().get("status") == "duplicate":
        return "duplicate"
    if response.status_code == 422:
        return "quarantined"
    return "rejected"


def send_stream(
    base_url: str,
    ledger: Ledger,
    numbers: list[int],
    *,
    concurrency: int = 8,
    interval_s: float = 0.0,
    on_sent: Callable[[int], None] | None = None,
) -> None:
    """POST every delivery in ``numbers`` (repeats allowed), ``concurrency`` at a time."""
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency))

    def post(n: int) -> None:
        body = delivery(n)
        try:
            response: httpx.Response | None = client.post(
                f"{base_url}/webhooks/callr", content=body, headers=callr_headers(body)
            )
        except httpx.HTTPError:
            response = None
        ledger.record(n, classify(response))

    with client, ThreadPoolExecutor(concurrency) as pool:
        futures = []
        for i, n in enumerate(numbers):
            futures.append(pool.submit(post, n))
            if on_sent is not None:
                on_sent(i)
            if interval_s:
                time.sleep(interval_s)
        for f in futures:
            f.result()


# Filled by the scenarios, printed by tests/conftest.py at the end of the run.
REPORTS: list[dict[str, object]] = []
