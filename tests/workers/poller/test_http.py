"""The poller's HTTP client against the fake vendor API: what is retried, what stops a source,
and that credentials never reach a log line or an error message."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from tests.fakes.vendor_api import FakeCallr, Fault
from tests.workers.poller.conftest import FakeServer, Waits
from workers.poller.http import HttpClient, RetryPolicy, SourceStopped, SourceUnavailable, parse_retry_after, safe_url
from workers.poller.sources.callr import JSONRPC
from workers.settings import Settings

SINCE = datetime(2024, 5, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(hours=1)


def fetch_jsonrpc(settings: Settings, client: HttpClient) -> list[object]:
    (account,) = settings.accounts
    return list(JSONRPC.fetch(account, SINCE, UNTIL, client))


def test_429_waits_as_long_as_retry_after_says(
    callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient, waits: Waits
) -> None:
    """A 429 with Retry-After: 7 is retried after 7 s (plus jitter, zero here), then succeeds."""
    callr.fault("callr.jsonrpc", Fault(429, retry_after="7"))
    fetch_jsonrpc(callr_settings(), client)
    assert waits.slept == [7.0]
    assert len(callr.requests("callr.jsonrpc")) == 3  # the refused IN, IN again, OUT


def test_5xx_backs_off_exponentially_then_succeeds(
    callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient, waits: Waits
) -> None:
    """500, 502, 503 in a row: waits double each time (base 1 s, equal jitter at its floor)."""
    callr.fault("callr.jsonrpc", Fault(500), Fault(502), Fault(503))
    fetch_jsonrpc(callr_settings(), client)
    assert waits.slept == [0.5, 1.0, 2.0]


def test_5xx_every_time_makes_the_source_unavailable(
    callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient
) -> None:
    """When every try fails the source is unavailable (transient: the next poll tries again)."""
    callr.fault("callr.jsonrpc", *[Fault(503)] * 4)
    with pytest.raises(SourceUnavailable, match="failed 4 times, last: HTTP 503"):
        fetch_jsonrpc(callr_settings(), client)


def test_a_timeout_is_retried(
    callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient, waits: Waits
) -> None:
    """An answer slower than the client's timeout is abandoned and the request tried again."""
    callr.fault("callr.jsonrpc", Fault(status=0, delay_s=0.7))
    with capture_logs() as logs:
        fetch_jsonrpc(callr_settings(), client)
    assert waits.slept == [0.5]
    assert [e["reason"] for e in logs if e["event"] == "poll.http_retry"] == ["ReadTimeout"]


def test_401_stops_at_once_and_says_why(
    callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient, waits: Waits
) -> None:
    """Wrong credentials: no retry, SourceStopped naming the status and the vendor's message."""
    with pytest.raises(SourceStopped, match="answered 401: bad credentials") as stopped:
        fetch_jsonrpc(callr_settings(CALLR_PASSWORD="wrong-password"), client)
    assert stopped.value.status == 401
    assert waits.slept == [] and len(callr.requests("callr.jsonrpc")) == 1


@pytest.mark.parametrize("status", [400, 403, 404])
def test_other_4xx_stop_the_source(
    status: int, callr: FakeCallr, callr_settings: Callable[..., Settings], client: HttpClient
) -> None:
    """Any 4xx but 408/429 stops the source: retrying a refused request cannot help."""
    callr.fault("callr.jsonrpc", Fault(status))
    with pytest.raises(SourceStopped) as stopped:
        fetch_jsonrpc(callr_settings(), client)
    assert stopped.value.status == status


def test_credentials_never_reach_logs_or_errors(
    fake: FakeServer,
    callr: FakeCallr,
    callr_settings: Callable[..., Settings],
    client: HttpClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Retries, a stop and the vendor echoing the key: no log line or message holds a credential."""
    caplog.set_level(logging.DEBUG)
    callr.fault("callr.jsonrpc", Fault(500), Fault(429, retry_after="1"))
    secrets = [callr.password, callr.api_key, base64.b64encode(f"{callr.login}:{callr.password}".encode()).decode()]
    with capture_logs() as logs:
        fetch_jsonrpc(callr_settings(), client)
        with pytest.raises(SourceStopped) as stopped:
            client.request("GET", f"{fake.url}/callr/v2.0/files/none.csv?api_key={callr.api_key}",
                           source="callr.export", headers={"x-api-key": "not-the-key-" + callr.api_key})  # fmt: skip
    text = repr(logs) + caplog.text + str(stopped.value)
    assert "poll.http_retry" in text and "401" in str(stopped.value)
    for secret in secrets:
        assert secret not in text


def test_retry_after_forms() -> None:
    """Retry-After as seconds or an HTTP date; anything unreadable is ignored."""
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None


def test_backoff_is_capped_and_jittered() -> None:
    """Equal jitter: between half and all of min(cap, base * 2^(n-1)); Retry-After is a floor."""
    policy = RetryPolicy(base_s=1.0, cap_s=8.0, max_retry_after_s=60.0)
    low, high = HttpClient(policy=policy, jitter=lambda: 0.0), HttpClient(policy=policy, jitter=lambda: 1.0)
    assert [low.backoff(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [high.backoff(n, None) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert low.backoff(1, 30.0) == 30.0 and high.backoff(1, 3600.0) == 61.0
    low.close()
    high.close()


def test_logged_urls_hide_user_info_and_secret_parameters() -> None:
    """A URL is logged without its user:password and with key/token/secret parameters masked."""
    url = safe_url("https://user:pw@api.example.com/x?from=1&api_key=abc", {"token": "t", "to": "2"})
    assert "pw" not in url and "abc" not in url and "=t" not in url
    assert "from=1" in url and "to=2" in url


@pytest.mark.parametrize(("host", "kept"), [("127.0.0.1", True), ("localhost", False)])
def test_a_redirect_keeps_credentials_on_their_origin(
    host: str, kept: bool, fake: FakeServer, callr: FakeCallr, client: HttpClient
) -> None:
    """Followed redirects keep the key on the same origin and drop it when the origin changes."""
    callr.presigned_base = "anywhere"  # the file route then answers without a key
    target = fake.url.replace("127.0.0.1", host) + "/callr/v2.0/files/none.csv"
    with pytest.raises(SourceStopped, match="404"):
        client.request("GET", f"{fake.url}/redirect", params={"to": target}, source="callr.export",
                       headers={"x-api-key": callr.api_key, "accept": "text/csv"})  # fmt: skip
    (seen,) = callr.requests("callr.file")
    assert ("x-api-key" in seen.headers) is kept and seen.headers["accept"] == "text/csv"
