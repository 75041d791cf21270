"""The poller's HTTP client: httpx with retries, and the two ways a source can fail.

Timeouts, connection errors, 408, 429 and 5xx are retried with exponential backoff and jitter
(a 429's ``Retry-After`` is honoured); when the tries run out the source is ``SourceUnavailable``
(transient: the next poll tries again). Any other 4xx means retrying cannot help (bad credentials,
a refused request): the source is ``SourceStopped`` with a line saying why. Credentials travel
only in request headers and never reach a log line or an exception message: URLs are logged
without user info or secret-looking query parameters, and header values are scrubbed from any
vendor text that is quoted.
"""

from __future__ import annotations

import base64
import binascii
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from workers.errors import CdrIngestError, TransientError
from workers.logs import get_logger

log = get_logger("cdr_ingest.poller")

RETRYABLE = frozenset({408, 429})
MAX_REDIRECTS = 5
# Query parameters and headers whose values are credentials (masked, scrubbed, never re-sent elsewhere).
_SECRET_NAME = re.compile(r"key|token|secret|pass|auth|sig|cookie", re.IGNORECASE)


class SourceStopped(CdrIngestError):
    """The vendor refused in a way retrying cannot fix; the source stops until someone acts."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SourceUnavailable(TransientError):
    """The vendor kept failing (timeouts, 429, 5xx) through every retry; try again next poll."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries in all, the first included
    base_s: float = 1.0  # first backoff; doubles each try
    cap_s: float = 60.0  # longest backoff
    max_retry_after_s: float = 900.0  # a longer Retry-After is cut to this


class HttpClient:
    """One httpx client per poller; ``sleep`` and ``jitter`` are injectable so tests never wait."""

    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # httpx logs every request's full URL at INFO; our own lines (safe URLs) are the record.
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self._jitter = jitter
        self._client = httpx.Client(
            timeout=timeout_s,
            transport=transport,
            follow_redirects=False,  # followed in ``_send``, which keeps credentials on their host
            headers={"user-agent": "cdr-ingest-poller"},
        )

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, url: str, *, source: str, **kwargs: Any) -> httpx.Response:
        """The response (status < 400), or ``SourceStopped`` / ``SourceUnavailable``."""
        secrets = _header_values(kwargs.get("headers"))
        where = f"{method} {safe_url(url, kwargs.get('params'))}"
        for attempt in range(1, self.policy.attempts + 1):
            retry_after: float | None = None
            try:
                response = self._send(self._client.build_request(method, url, **kwargs))
            except httpx.TransportError as e:  # timeouts, refused or dropped connections
                reason = type(e).__name__
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status not in RETRYABLE and status < 500:
                    detail = scrub(vendor_message(response), secrets)
                    raise SourceStopped(f"{source}: {where} answered {status}: {detail}", status=status)
                reason = f"HTTP {status}"
                retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            if attempt == self.policy.attempts:
                raise SourceUnavailable(f"{source}: {where} failed {attempt} times, last: {reason}")
            delay = self.backoff(attempt, retry_after)
            log.warning("poll.http_retry", source=source, request=where, reason=reason, attempt=attempt,
                        delay_s=round(delay, 2))  # fmt: skip
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Send, following redirects; a hop to another origin drops every credential header
        (httpx only drops ``Authorization``, not ``x-api-key`` or ``X-Auth-Token``)."""
        response = self._client.send(request)
        for _ in range(MAX_REDIRECTS):
            following = response.next_request
            if not response.is_redirect or following is None:
                break
            if (following.url.scheme, following.url.host, following.url.port) != (
                request.url.scheme, request.url.host, request.url.port
            ):  # fmt: skip
                for name in [n for n in following.headers if _SECRET_NAME.search(n)]:
                    del following.headers[name]
            response.close()
            request, response = following, self._client.send(following)
        return response

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Equal-jitter exponential backoff; at least ``Retry-After`` when the vendor sent one."""
        p = self.policy
        if retry_after is not None:
            return min(retry_after, p.max_retry_after_s) + self._jitter() * min(p.base_s, 1.0)
        ceiling = min(p.cap_s, p.base_s * 2 ** (attempt - 1))
        return float(ceiling / 2 + self._jitter() * ceiling / 2)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def safe_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """The URL without user info, with secret-looking query values masked."""
    parsed = httpx.URL(url)
    if params:
        parsed = parsed.copy_merge_params(params)
    query = [(k, "***" if _SECRET_NAME.search(k) else v) for k, v in parsed.params.multi_items()]
    return str(parsed.copy_with(userinfo=b"", params=query or None))


def vendor_message(response: httpx.Response) -> str:
    """What the vendor said about an error, short: its JSON ``message``/``error`` or the text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "code"):
            if body.get(key):
                return str(body[key])[:200]
    return response.reason_phrase or response.text[:200]


def basic_auth(login: str, password: str) -> str:
    """An ``Authorization: Basic`` value (built here so ``request`` knows to scrub it)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "**********")
    return text


def _header_values(headers: Any) -> list[str]:
    """The credential header values sent, and the decoded parts of a Basic credential, for scrubbing."""
    values = [str(v) for k, v in dict(headers or {}).items() if _SECRET_NAME.search(str(k))]
    for value in list(values):
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "basic" and token:
            try:
                values.extend(base64.b64decode(token).decode().split(":", 1))
            except (binascii.Error, UnicodeDecodeError):
                pass
    return values
