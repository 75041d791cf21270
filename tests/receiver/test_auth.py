"""Authentication schemes as pure functions: published vectors, and every way a request is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from receiver import auth
from receiver.auth import SignedRequest
from tests.conftest import KAZOO_TOKEN, PAYLOADS, SINCH_KEY, SINCH_SECRET, VOBIZ_MAIN_TOKEN, VOBIZ_SECRET, VOBIZ_TOKEN
from tests.receiver.helpers import (
    callr_headers,
    callr_signature,
    sinch_headers,
    vobiz_headers,
    vobiz_v3,
    vobiz_v3_headers,
)
from workers.errors import AuthError
from workers.settings import Account, Secret

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CALLBACK_URL = "https://cdr.example.com/webhooks/vobiz-callback"
TRUNK_BODY = (PAYLOADS / "vobiz" / "trunk_hangup_answered.json").read_bytes()
ACE = (PAYLOADS / "sinch" / "ace_docs_signing_example.json").read_bytes()


def account(vendor: str, id: str = "acct", **secrets: list[str]) -> Account:
    return Account(vendor=vendor, id=id, secrets={p: tuple(Secret(v) for v in vs) for p, vs in secrets.items()})


def request(
    headers: dict[str, str],
    body: bytes = b"",
    *,
    url: str = CALLBACK_URL,
    query: dict[str, str] | None = None,
    received_at: datetime = NOW,
) -> SignedRequest:
    return SignedRequest(
        method="POST",
        target=url,
        headers={k.lower(): v for k, v in headers.items()},
        query=query or {},
        body=body,
        received_at=received_at,
    )


VOBIZ = account("vobiz", webhook=[VOBIZ_SECRET], callback=[VOBIZ_TOKEN], callback_main=[VOBIZ_MAIN_TOKEN])


class TestVobizTrunk:
    def test_known_vector(self) -> None:
        """The hex HMAC-SHA256 of the sample body, computed once by hand, verifies."""
        signed = {"x-vobiz-signature": "ce25649f8f84fe6cef97e3aa873253c0b341686ad1ba9e7deba00dbf41b8a61b"}
        assert auth.vobiz_hmac(request(signed, TRUNK_BODY), [VOBIZ], "webhook") is VOBIZ
        upper = {"x-vobiz-signature": signed["x-vobiz-signature"].upper()}
        assert auth.vobiz_hmac(request(upper, TRUNK_BODY), [VOBIZ], "webhook") is VOBIZ

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            vobiz_headers(TRUNK_BODY, secret="wrong"),
            vobiz_headers(TRUNK_BODY + b" "),
            {"x-vobiz-signature": callr_signature(TRUNK_BODY, VOBIZ_SECRET)},
            callr_headers(TRUNK_BODY),
            vobiz_v3_headers("12345678901234567890"),
        ],
        ids=["missing", "wrong-secret", "other-body", "base64-not-hex", "callr-signature", "callback-v3-headers"],
    )
    def test_refused(self, headers: dict[str, str]) -> None:
        """No header, another secret, another body or another Vobiz scheme: AuthError."""
        with pytest.raises(AuthError):
            auth.vobiz_hmac(request(headers, TRUNK_BODY), [VOBIZ], "webhook")

    def test_rotation(self) -> None:
        """During a rotation the previous secret verifies too, and only the listed ones do."""
        rotating = account("vobiz", webhook=["new", "old"])
        assert auth.vobiz_hmac(request(vobiz_headers(TRUNK_BODY, "old"), TRUNK_BODY), [rotating], "webhook")
        with pytest.raises(AuthError):
            auth.vobiz_hmac(request(vobiz_headers(TRUNK_BODY, "older"), TRUNK_BODY), [rotating], "webhook")


class TestVobizV3:
    NONCE = "05429567804466091622"

    def test_known_vector(self) -> None:
        """base64(HMAC-SHA256(token, url + "." + nonce)), computed once by hand, verifies (body unsigned)."""
        headers = {
            "x-vobiz-signature-v3": "zI2O+Hs0IEVzxEGM3LEfPRF9b3nD8/TzGEXQSbDkvJs=",
            "x-vobiz-signature-v3-nonce": self.NONCE,
        }
        assert auth.vobiz_v3(request(headers, b"any body"), [VOBIZ], "callback") is VOBIZ

    def test_query_string_is_not_signed(self) -> None:
        """The signed URL is the callback URL with its query stripped."""
        headers = vobiz_v3_headers(self.NONCE)
        assert auth.vobiz_v3(request(headers, url=CALLBACK_URL + "?app=1&x=2"), [VOBIZ], "callback") is VOBIZ

    def test_several_signatures_one_valid(self) -> None:
        """A header with several comma-separated signatures verifies when any one matches."""
        good = vobiz_v3(CALLBACK_URL, self.NONCE)
        headers = {"x-vobiz-signature-v3": f"bm9wZQ==, {good}", "x-vobiz-signature-v3-nonce": self.NONCE}
        assert auth.vobiz_v3(request(headers), [VOBIZ], "callback") is VOBIZ

    def test_main_account_variant(self) -> None:
        """-MA-V3 (known vector) is keyed by the main account's token; the sub-account's own header may be absent."""
        headers = {
            "x-vobiz-signature-ma-v3": "qJ82HG+wXtiNOP1T8sSY53YBsVSC9GTK/f0R+nJcD0k=",
            "x-vobiz-signature-v3-nonce": self.NONCE,
        }
        assert auth.vobiz_v3(request(headers), [VOBIZ], "callback") is VOBIZ

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"x-vobiz-signature-v3": vobiz_v3(CALLBACK_URL, NONCE)},
            {"x-vobiz-signature-v3-nonce": NONCE},
            vobiz_v3_headers(NONCE, token="wrong"),
            vobiz_v3_headers(NONCE, url="http://testserver/webhooks/vobiz-callback"),
            vobiz_v3_headers(NONCE, header="x-vobiz-signature-ma-v3"),
            vobiz_v3_headers(NONCE, token=VOBIZ_MAIN_TOKEN),
            vobiz_v3_headers(NONCE) | {"x-vobiz-signature-v3-nonce": "05429567804466091623"},
            {"x-vobiz-signature-v2": vobiz_v3(CALLBACK_URL, NONCE), "x-vobiz-signature-v2-nonce": NONCE},
            vobiz_headers(b"", secret=VOBIZ_TOKEN),
        ],
        ids=["missing", "no-nonce", "no-signature", "wrong-token", "other-host", "own-token-in-ma-header",
             "main-token-in-own-header", "other-nonce", "v2-headers", "trunk-scheme"],
    )  # fmt: skip
    def test_refused(self, headers: dict[str, str]) -> None:
        """Missing parts, another key, another URL or nonce, or another Vobiz scheme: AuthError."""
        with pytest.raises(AuthError):
            auth.vobiz_v3(request(headers), [VOBIZ], "callback")

    def test_nonce_is_the_replay_key(self) -> None:
        """The replay key of a V3 request is its nonce; a request without one has none."""
        assert auth.vobiz_v3_nonce(request(vobiz_v3_headers(self.NONCE))) == self.NONCE
        assert auth.vobiz_v3_nonce(request({})) is None


SINCH = account("sinch", id=SINCH_KEY, app=[SINCH_SECRET])
DOCS_STAMP = "2014-09-24T10:59:41Z"
DOCS_TIME = datetime(2014, 9, 24, 10, 59, 41, tzinfo=UTC)
DOCS_AUTH = f"Application {SINCH_KEY}:Tg6fMyo8mj9pYfWQ9ssbx3Tc1BNC87IEygAfLbJqZb4="
ACE_URL = "https://callbacks.yourdomain.com/sinch/callback/ace"


class TestSinch:
    def docs(self, **changes: str) -> dict[str, str]:
        return {"content-type": "application/json", "x-timestamp": DOCS_STAMP, "authorization": DOCS_AUTH} | changes

    def test_docs_worked_example(self) -> None:
        """sinch/docs using-rest.md: the ace callback body, key and secret give Tg6fMyo8...Zb4=."""
        assert auth.sinch_application(request(self.docs(), ACE, url=ACE_URL, received_at=DOCS_TIME), [SINCH], "app")

    def test_docs_request_example_same_algorithm(self) -> None:
        """The docs' other worked example (an SMS request, its own key and secret) verifies the same way."""
        key = "5F5C418A0F914BBC8234A9BF5EDDAD97"
        sms = account("sinch", id=key, app=["JViE5vDor0Sw3WllZka15Q=="])
        headers = {"content-type": "application/json", "x-timestamp": "2014-06-04T13:41:58Z",
                   "authorization": f"Application {key}:qDXMwzfaxCRS849c/2R0hg0nphgdHciTo7OdM6MsdnM="}  # fmt: skip
        req = request(headers, b'{"message":"Hello world"}', url="https://x/v1/sms/+46700000000",
                      received_at=datetime(2014, 6, 4, 13, 41, 58, tzinfo=UTC))  # fmt: skip
        assert auth.sinch_application(req, [SINCH, sms], "app") is sms

    @pytest.mark.parametrize("skew_s", [-299, 0, 299])
    def test_within_tolerance(self, skew_s: int) -> None:
        """A signed timestamp up to the tolerance before or after the receipt time is accepted."""
        req = request(self.docs(), ACE, url=ACE_URL, received_at=DOCS_TIME + timedelta(seconds=skew_s))
        assert auth.sinch_application(req, [SINCH], "app")

    @pytest.mark.parametrize("skew_s", [-301, 301, 86400])
    def test_stale_or_future_timestamp(self, skew_s: int) -> None:
        """A valid signature whose x-timestamp is outside the tolerance is refused."""
        req = request(self.docs(), ACE, url=ACE_URL, received_at=DOCS_TIME + timedelta(seconds=skew_s))
        with pytest.raises(AuthError, match="tolerance"):
            auth.sinch_application(req, [SINCH], "app")

    @pytest.mark.parametrize(
        ("headers", "body", "url"),
        [
            ({"authorization": ""}, ACE, ACE_URL),
            ({"x-timestamp": ""}, ACE, ACE_URL),
            ({"authorization": f"Basic {SINCH_KEY}:x"}, ACE, ACE_URL),
            ({"authorization": DOCS_AUTH.replace(SINCH_KEY, "0000")}, ACE, ACE_URL),
            ({}, ACE.replace(b"ace", b"dice"), ACE_URL),
            ({}, ACE, ACE_URL.replace("/ace", "/dice")),
            ({"content-type": "application/json; charset=utf-8"}, ACE, ACE_URL),
            ({"x-timestamp": "2014-09-24T10:59:42Z"}, ACE, ACE_URL),
        ],
        ids=["missing", "no-timestamp", "basic-scheme", "unknown-key", "other-body", "other-path",
             "other-content-type", "other-timestamp"],
    )  # fmt: skip
    def test_refused(self, headers: dict[str, str], body: bytes, url: str) -> None:
        """Missing parts, another key, body, path, Content-Type or timestamp than signed: AuthError."""
        with pytest.raises(AuthError):
            auth.sinch_application(request(self.docs(**headers), body, url=url, received_at=DOCS_TIME), [SINCH], "app")

    def test_node_sdk_vector_is_not_the_scheme(self) -> None:
        """The node SDK's vector (x-timestamp header "x-timestamp:2024-...") only verifies if the
        prefix is doubled: it is refused here (vendors.md §4.3)."""
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-timestamp": "x-timestamp:2024-01-19T09:19:28.9372196Z",
            "authorization": "Application app-key:wC8XcoLQ22cxrOsUqqbWk+LHJ82wtqR/IgeIp9NG8LY=",
        }
        body = b'{"id":"018d2104-aaa-bbbb-1234","price":{"amount":0.0308},"rate":{"amount":0.0}}'
        node = account("sinch", id="app-key", app=["YXBwLXNlY3JldA=="])
        with pytest.raises(AuthError):
            auth.sinch_application(request(headers, body, url="https://x/webhook"), [node], "app")

    def test_empty_body_signs_an_empty_md5(self) -> None:
        """Without a body the Content-MD5 line is empty, as the docs say."""
        headers = sinch_headers(b"", path="/hook", timestamp="2024-05-01T12:00:00Z")
        assert auth.sinch_application(request(headers, b"", url="https://x/hook"), [SINCH], "app")

    def test_rotated_secret(self) -> None:
        """The previous application secret still verifies during a rotation."""
        rotating = account("sinch", id=SINCH_KEY, app=["bmV3LXNlY3JldA==", SINCH_SECRET])
        assert auth.sinch_application(request(self.docs(), ACE, url=ACE_URL, received_at=DOCS_TIME), [rotating], "app")


class TestUrlToken:
    KAZOO = account("kazoo", webhook=[KAZOO_TOKEN, "old-token"])

    @pytest.mark.parametrize("token", [KAZOO_TOKEN, "old-token"])
    def test_accepted(self, token: str) -> None:
        """The current or previous token in ?token= is accepted."""
        assert auth.url_token(request({}, query={"token": token}), [self.KAZOO], "webhook") is self.KAZOO

    @pytest.mark.parametrize(
        ("headers", "query"),
        [({}, {}), ({}, {"token": "wrong"}), ({"authorization": f"Bearer {KAZOO_TOKEN}"}, {}),
         ({}, {"Token": KAZOO_TOKEN}), ({"x-token": KAZOO_TOKEN}, {"tok": KAZOO_TOKEN})],
        ids=["missing", "wrong", "in-authorization-header", "other-case", "elsewhere"],
    )  # fmt: skip
    def test_refused(self, headers: dict[str, str], query: dict[str, str]) -> None:
        """A missing or wrong token, or the token anywhere but ?token=, is refused."""
        with pytest.raises(AuthError):
            auth.url_token(request(headers, query=query), [self.KAZOO], "webhook")


@pytest.mark.parametrize(
    ("base", "received", "expected"),
    [
        (None, "http://10.0.0.5:8000/webhooks/x?a=1", "http://10.0.0.5:8000/webhooks/x?a=1"),
        ("https://cdr.example.com", "http://10.0.0.5:8000/webhooks/x?a=1", "https://cdr.example.com/webhooks/x?a=1"),
        ("https://cdr.example.com/ingest/", "http://10.0.0.5/webhooks/x", "https://cdr.example.com/ingest/webhooks/x"),
    ],
)
def test_public_url(base: str | None, received: str, expected: str) -> None:
    """PUBLIC_BASE_URL replaces the scheme and host a proxy hands us, keeping path and query."""
    assert auth.public_url(base, received) == expected
