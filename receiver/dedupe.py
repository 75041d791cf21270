"""The dedupe window: a delivery (vendor delivery id, else call id) seen within
``DEDUPE_WINDOW_S`` is answered ``200 duplicate`` without queueing. The store upsert stays the
real guarantee; this only saves work.

Claims are ``SET NX EX`` made inside the inbox push (``workers.inbox``), the same round trip that
appends the batch, so a claim exists exactly when its delivery is in Redis.
"""

from __future__ import annotations

import hashlib


def dedupe_key(feed: str, account: str, delivery: str) -> str:
    digest = hashlib.sha256(delivery.encode()).hexdigest()[:32]
    return f"cdr-ingest:dedupe:{feed}:{account}:{digest}"
