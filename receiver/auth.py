"""Pure request-authentication checks, one function per vendor scheme. Constant-time compares.

Each check gets the accounts that have a secret for the endpoint and returns the account whose
secret verifies the request (several accounts per vendor, and a previous secret during rotation,
are tried in turn), or raises ``AuthError``. Nothing here reads a clock or Redis: the receipt time
comes in the request, and remembering Vobiz nonces is the ingest endpoint's job (``replay_key``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from urllib.parse import urlsplit, urlunsplit

from workers.errors import AuthError
from workers.normalize.times import parse_time
from workers.settings import Account


@dataclass(frozen=True)
class SignedRequest:
    """What a check may look at: never parsed bodies, always the raw bytes."""

    method: str
    # The public URL the vendor called (scheme://host/path?query, see ``public_url``), or how to
    # build it: only some schemes sign the URL, so the receiver builds it when a check reads it.
    target: str | Callable[[], str]
    headers: Mapping[str, str]  # lower-cased names
    query: Mapping[str, str]
    body: bytes
    received_at: datetime  # when the request arrived: signed timestamps are checked against it
    tolerance_s: int = 300  # how far a signed timestamp may be from received_at (SIGNATURE_TOLERANCE_S)

    @cached_property
    def url(self) -> str:
        return self.target if isinstance(self.target, str) else self.target()

    @cached_property
    def path(self) -> str:
        """The path of the public URL."""
        return urlsplit(self.url).path


def public_url(base: str | None, received: str) -> str:
    """The URL the vendor called: ``PUBLIC_BASE_URL`` + the received path and query when a proxy
    sits in front (the scheme and host we see are then the proxy's), else the URL as received."""
    if not base:
        return received
    parts = urlsplit(received)
    return base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def _equal(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


Matches = Callable[[Account, str], bool]


def _first_account(accounts: Sequence[Account], purpose: str, matches: Matches, failure: str) -> Account:
    """The first account one of whose secrets for ``purpose`` ``matches`` the request."""
    for account in accounts:
        for secret in account.secrets_for(purpose):
            if matches(account, secret.reveal()):
                return account
    raise AuthError(failure)


def _hmac(key: bytes, message: bytes, algo: str = "sha256") -> bytes:
    return hmac.digest(key, message, algo)  # one-shot, in OpenSSL


def callr_hmac(request: SignedRequest, accounts: Sequence[Account], purpose: str) -> Account:
    """``X-CALLR-HmacSignature``: base64 HMAC of the raw body, algorithm per account (sha256 default)."""
    signature = request.headers.get("x-callr-hmacsignature", "").strip()
    if not signature:
        raise AuthError("missing X-CALLR-HmacSignature header")
    try:
        given = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise AuthError("X-CALLR-HmacSignature is not base64") from None

    def matches(account: Account, secret: str) -> bool:
        algo = (account.option("hmac_algo") or "sha256").lower()
        return _equal(_hmac(secret.encode(), request.body, algo), given)

    return _first_account(accounts, purpose, matches, "X-CALLR-HmacSignature does not match the body")


def bearer(request: SignedRequest, accounts: Sequence[Account], purpose: str) -> Account:
    """``Authorization: Bearer <token>``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing Authorization: Bearer token")
    return _first_account(
        accounts, purpose, lambda _, secret: _equal(secret, token.strip()), "bearer token is not valid"
    )


def url_token(request: SignedRequest, accounts: Sequence[Account], purpose: str) -> Account:
    """``?token=<secret>`` in the URL, for senders that cannot sign (Kazoo webhooks)."""
    token = request.query.get("token", "").strip()
    if not token:
        raise AuthError("missing ?token= in the URL")
    return _first_account(accounts, purpose, lambda _, secret: _equal(secret, token), "URL token is not valid")


def vobiz_hmac(request: SignedRequest, accounts: Sequence[Account], purpose: str) -> Account:
    """Vobiz trunk webhooks: ``X-Vobiz-Signature``, hex HMAC-SHA256 of the raw body keyed by the
    trunk signing secret (docs.vobiz.ai/trunks/webhook, whose page says to confirm the header name
    in the Console)."""
    signature = request.headers.get("x-vobiz-signature", "").strip().lower()
    if not signature:
        raise AuthError("missing X-Vobiz-Signature header")

    def matches(_: Account, secret: str) -> bool:
        return _equal(_hmac(secret.encode(), request.body).hex(), signature)

    return _first_account(accounts, purpose, matches, "X-Vobiz-Signature does not match the body")


def vobiz_v3(request: SignedRequest, accounts: Sequence[Account], purpose: str) -> Account:
    """Vobiz application callbacks: ``X-Vobiz-Signature-V3`` = base64(HMAC-SHA256(auth token,
    url + "." + nonce)), url = the public callback URL with its query stripped, nonce from
    ``X-Vobiz-Signature-V3-Nonce`` (docs.vobiz.ai/concepts/validating-callbacks; Plivo's
    ``signature_v3.py`` minus the POST params). ``X-Vobiz-Signature-MA-V3`` is the same keyed by
    the main account's token (purpose ``<purpose>_main``). Each header may hold several
    comma-separated signatures: one match is enough.

    Vobiz V3 signs neither the body nor a timestamp: a captured signature stays valid for any body
    on that URL, so the endpoint also refuses a nonce it has seen (``vobiz_v3_nonce``).
    """
    nonce = vobiz_v3_nonce(request)
    own = _signatures(request.headers.get("x-vobiz-signature-v3", ""))
    main = _signatures(request.headers.get("x-vobiz-signature-ma-v3", ""))
    if not nonce or not (own or main):
        raise AuthError("missing X-Vobiz-Signature-V3 (or -MA-V3) and X-Vobiz-Signature-V3-Nonce headers")
    scheme, netloc, path, _, _ = urlsplit(request.url)
    message = f"{urlunsplit((scheme, netloc, path, '', ''))}.{nonce}".encode()

    def signed_by(given: list[str]) -> Matches:
        def matches(_: Account, secret: str) -> bool:
            expected = base64.b64encode(_hmac(secret.encode(), message)).decode()
            return any(_equal(expected, g) for g in given)

        return matches

    failure = "X-Vobiz-Signature-V3 does not match the callback URL and nonce"
    try:
        return _first_account(accounts, purpose, signed_by(own), failure)
    except AuthError:
        return _first_account(accounts, f"{purpose}_main", signed_by(main), failure)


def vobiz_v3_nonce(request: SignedRequest) -> str | None:
    return request.headers.get("x-vobiz-signature-v3-nonce", "").strip() or None


def _signatures(header: str) -> list[str]:
    return [s.strip() for s in header.split(",") if s.strip()]


def sinch_application(request: SignedRequest, accounts: Sequence[Account], purpose: str) -> Account:
    """Sinch callbacks: ``Authorization: Application <key>:<signature>``, signature =
    base64(HMAC-SHA256(base64-decoded secret, METHOD\\nContent-MD5\\nContent-Type\\nx-timestamp:<v>\\npath)),
    Content-MD5 = base64(md5(raw body)) or empty without a body, Content-Type verbatim (sinch/docs
    ``docs/voice/using-rest.md``, Callback Request Signing). The key chooses the account;
    ``x-timestamp`` must be within the tolerance of the receipt time."""
    scheme, _, credentials = request.headers.get("authorization", "").strip().partition(" ")
    key, colon, signature = credentials.strip().partition(":")
    if scheme.lower() != "application" or not colon or not key or not signature:
        raise AuthError("missing Authorization: Application <key>:<signature>")
    timestamp = request.headers.get("x-timestamp", "").strip()
    _check_fresh(timestamp, request)
    content_md5 = base64.b64encode(hashlib.md5(request.body).digest()).decode() if request.body else ""
    content_type = request.headers.get("content-type", "")
    to_sign = f"{request.method.upper()}\n{content_md5}\n{content_type}\nx-timestamp:{timestamp}\n{request.path}"

    def matches(account: Account, secret: str) -> bool:
        expected = base64.b64encode(_hmac(base64.b64decode(secret), to_sign.encode())).decode()
        return _equal(account.id, key) and _equal(expected, signature)

    return _first_account(accounts, purpose, matches, f"the signature does not verify for application key {key[:64]!r}")


def _check_fresh(timestamp: str, request: SignedRequest) -> None:
    try:
        signed_at = parse_time(timestamp)
    except ValueError:
        raise AuthError(f"x-timestamp is not a timestamp: {timestamp[:40]!r}") from None
    if signed_at is None:
        raise AuthError("missing x-timestamp header")
    skew = abs((request.received_at - signed_at).total_seconds())
    if skew > request.tolerance_s:
        raise AuthError(f"x-timestamp is {skew:.0f} s from the receipt time (tolerance {request.tolerance_s} s)")
