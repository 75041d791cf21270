"""Nonces a vendor promises never to reuse (Vobiz V3), remembered in Redis for ``NONCE_WINDOW_S``
so a replayed request is refused (401). The window is the ``SET NX EX`` of ``receiver/dedupe.py``
under its own keys; a claim is released when the delivery could not be accepted, so the vendor's
retry is not mistaken for a replay.
"""

from __future__ import annotations

import hashlib


def nonce_key(feed: str, account: str, nonce: str) -> str:
    digest = hashlib.sha256(nonce.encode()).hexdigest()[:32]
    return f"cdr-ingest:nonce:{feed}:{account}:{digest}"
