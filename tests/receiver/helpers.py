"""Signing helpers for receiver tests."""

from __future__ import annotations

import base64
import hashlib
import hmac

from tests.conftest import CALLR_SECRET


def callr_signature(body: bytes, secret: str = CALLR_SECRET, algo: str = "sha256") -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, getattr(hashlib, algo)).digest()).decode()


def callr_headers(body: bytes, secret: str = CALLR_SECRET, algo: str = "sha256") -> dict[str, str]:
    return {"content-type": "application/json", "x-callr-hmacsignature": callr_signature(body, secret, algo)}
