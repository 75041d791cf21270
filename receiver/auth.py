"""Pure request-authentication checks, one function per vendor scheme. Constant-time compares.

Each check gets the accounts that have a secret for the endpoint and returns the account whose
secret verifies the request (several accounts per vendor, and a previous secret during rotation,
are tried in turn), or raises ``AuthError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workers.errors import AuthError
from workers.settings import Account


@dataclass(frozen=True)
class SignedRequest:
    """What a check may look at: never parsed bodies, always the raw bytes."""

    method: str
    url: str  # the public URL the vendor called (scheme://host/path?query)
    path: str
    headers: Mapping[str, str]  # lower-cased names
    query: Mapping[str, str]
    body: bytes


def _equal(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def callr_hmac(request: SignedRequest, accounts: Sequence[Account], purpose: str) -> Account:
    """``X-CALLR-HmacSignature``: base64 HMAC of the raw body, algorithm per account (sha256 default)."""
    signature = request.headers.get("x-callr-hmacsignature", "").strip()
    if not signature:
        raise AuthError("missing X-CALLR-HmacSignature header")
    try:
        given = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise AuthError("X-CALLR-HmacSignature is not base64") from None
    for account in accounts:
        algo = (account.option("hmac_algo") or "sha256").lower()
        for secret in account.secrets_for(purpose):
            expected = hmac.new(secret.reveal().encode(), request.body, getattr(hashlib, algo)).digest()
            if _equal(expected, given):
                return account
    raise AuthError("X-CALLR-HmacSignature does not match the body")


def bearer(request: SignedRequest, accounts: Sequence[Account], purpose: str) -> Account:
    """``Authorization: Bearer <token>``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing Authorization: Bearer token")
    for account in accounts:
        for secret in account.secrets_for(purpose):
            if _equal(secret.reveal(), token.strip()):
                return account
    raise AuthError("bearer token is not valid")
