"""Every attack of the security issue, each refused with its status, and nothing stored.

``ATTACKS`` is the list: name, expected status, the request. Each runs against the app with every
source and the read API on (in-process, real Redis); the queue is then drained through a real RQ
worker into the store, which must hold no row the attack caused. ``SERVER_ATTACKS`` need the server
itself (slow headers and bodies, header sizes, the real client address): they run against
``cdr-ingest serve`` under uvicorn. ``make test`` prints every attack with the response it got.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from starlette.testclient import TestClient

from tests.conftest import (
    CALLR_SECRET,
    CALLR_TOKEN,
    KAZOO_TOKEN,
    PUSH_ENV,
    SINCH_SECRET,
    VOBIZ_MAIN_TOKEN,
    VOBIZ_SECRET,
    VOBIZ_TOKEN,
    work,
)
from tests.e2e.stack import Stack, running_stack, stack_env, wait_until
from tests.receiver.helpers import ATTACK_LOG, FORM, JSON, SAMPLES, queued, sign, sinch_headers, vobiz_v3_headers
from tests.receiver.raw_http import connect, request_head, split_response
from tests.receiver.read_helpers import READ_TOKEN, bearer, cdr, dataset, put
from workers import jobs
from workers.queue import ingest_queue
from workers.settings import Settings
from workers.store import open_store

Send = Callable[[TestClient], httpx.Response]
ATTACKER = "203.0.113.66"
CALLR, ACTIONS, TRUNK = "/webhooks/callr", "/webhooks/callr-actions", "/webhooks/vobiz"
CALLBACK, SINCH, KAZOO = "/webhooks/vobiz-callback", "/webhooks/sinch", "/webhooks/kazoo"
FORMULA = '=HYPERLINK("http://evil.example","click")'
SECRETS = (
    CALLR_SECRET,
    CALLR_TOKEN,
    KAZOO_TOKEN,
    SINCH_SECRET,
    VOBIZ_MAIN_TOKEN,
    VOBIZ_SECRET,
    VOBIZ_TOKEN,
    READ_TOKEN,
)


def post(path: str, body: bytes | None = None, *, secret: str | None = None, signed_body: bytes | None = None,
         content_type: str | None = None, headers: Callable[[], dict[str, str]] | dict[str, str] | None = None,
         nonce: str | None = None, unsigned: bool = False) -> Send:  # fmt: skip
    """A request to a push route, signed when sent (signed times stay fresh) for ``signed_body``
    (default: the body sent) with ``secret``; ``headers`` may be a function, called when sent."""
    sample, sample_type = SAMPLES[path]
    sent_body = sample if body is None else body
    kind = content_type or sample_type

    def send(client: TestClient) -> httpx.Response:
        url, credential = (path, []) if unsigned else sign(path, signed_body or sent_body, content_type=kind,
                                                            secret=secret, nonce=nonce)  # fmt: skip
        extra = headers() if callable(headers) else headers or {}
        return client.post(url, content=sent_body, headers={**extra, "content-type": kind, **dict(credential)})

    return send


def sinch_at(offset: timedelta) -> Callable[[], dict[str, str]]:
    """Sinch headers validly signed, with an x-timestamp ``offset`` from the moment they are sent."""
    return lambda: sinch_headers(
        SAMPLES[SINCH][0], timestamp=(datetime.now(UTC) + offset).strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def read(path: str, headers: dict[str, str] | None = None, **params: str) -> Send:
    return lambda client: client.get(path, params=params or None, headers=headers)


def times(n: int, send: Send) -> Callable[[TestClient], None]:
    def run(client: TestClient) -> None:
        for _ in range(n):
            send(client)

    return run


@dataclass(frozen=True)
class Attack:
    name: str
    status: int
    send: Send
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[TestClient], None] | None = None  # legitimate traffic before the attack
    peer: str = ATTACKER
    quarantined: int = 0  # authenticated but malformed: kept for diagnosis, never a row


VOBIZ_SIGNED_CALLR = dict(sign(TRUNK, SAMPLES[CALLR][0])[1])  # a valid Vobiz signature over the Callr body
NONCE = "31415926535897932384"
DEEP = b'{"type": "v2.call.inbound.ended", "payload": ' + b'{"a":' * 40 + b"1" + b"}" * 41
ALLOW = {"CALLR_ALLOWED_IPS": "198.51.100.0/24"}

TOKEN_IN_QUERY = f"{ACTIONS}?token={CALLR_TOKEN}"
OTHER_TRUNK = SAMPLES[TRUNK][0].replace(b"45", b"99")
OTHER_DICE = SAMPLES[SINCH][0].replace(b"0.1758", b"0.0001")
OTHER_CALLBACK = SAMPLES[CALLBACK][0].replace(b"BillDuration=42", b"BillDuration=4200")
FORM_BOMB = "&".join(f"f{i}=1" for i in range(5000)).encode()
TEXT_FILTERS = ("vendor", "account", "from_number", "to_number")
TYPED_FILTERS = ("direction", "status", "started_from", "started_to", "min_duration", "limit", "cursor")

# fmt: off
ATTACKS = [
    Attack("forged signature (Callr HMAC)", 401, post(CALLR, secret="forged")),
    Attack("forged signature (Vobiz trunk HMAC)", 401, post(TRUNK, secret="forged")),
    Attack("forged signature (Vobiz V3)", 401, post(CALLBACK, secret="forged")),
    Attack("forged signature (Sinch Application)", 401, post(SINCH, secret="Zm9yZ2Vk")),
    Attack("forged bearer token (Callr Actions)", 401, post(ACTIONS, secret="forged")),
    Attack("forged URL token (Kazoo)", 401, post(KAZOO, secret="forged")),
    Attack("signature for another body (Callr)", 401, post(CALLR, SAMPLES[CALLR][0] + b" ",
                                                           signed_body=SAMPLES[CALLR][0])),
    Attack("signature for another body (Vobiz trunk)", 401, post(TRUNK, OTHER_TRUNK, signed_body=SAMPLES[TRUNK][0])),
    Attack("signature for another body (Sinch)", 401, post(SINCH, OTHER_DICE, signed_body=SAMPLES[SINCH][0])),
    Attack("captured Vobiz V3 signature on another body (same nonce)", 401,
           post(CALLBACK, OTHER_CALLBACK, nonce=NONCE), setup=post(CALLBACK, nonce=NONCE)),
    Attack("Vobiz trunk signature on the Callr endpoint", 401, post(CALLR, unsigned=True, headers=VOBIZ_SIGNED_CALLR)),
    Attack("Callr signature on the Vobiz trunk endpoint", 401,
           post(TRUNK, unsigned=True, headers=dict(sign(CALLR, SAMPLES[TRUNK][0])[1]))),
    Attack("Sinch signature on the Vobiz callback endpoint", 401,
           post(CALLBACK, unsigned=True, headers=sinch_headers(SAMPLES[CALLBACK][0], path=CALLBACK))),
    Attack("Vobiz V3 headers on the Sinch endpoint", 401, post(SINCH, unsigned=True, headers=vobiz_v3_headers(NONCE))),
    Attack("Callr webhook signature on the Callr Actions endpoint", 401,
           post(ACTIONS, unsigned=True, headers=dict(sign(CALLR, SAMPLES[ACTIONS][0])[1]))),
    Attack("stale Sinch x-timestamp (10 min old)", 401,
           post(SINCH, unsigned=True, headers=sinch_at(timedelta(minutes=-10)))),
    Attack("future Sinch x-timestamp (10 min ahead)", 401,
           post(SINCH, unsigned=True, headers=sinch_at(timedelta(minutes=10)))),
    Attack("replayed Vobiz V3 nonce", 401, post(CALLBACK, nonce=NONCE), setup=post(CALLBACK, nonce=NONCE)),
    Attack("replayed Callr delivery (same event id): 200 duplicate, not queued", 200, post(CALLR), setup=post(CALLR)),
    *[Attack(f"missing credentials ({path})", 401, post(path, unsigned=True)) for path in SAMPLES],
    Attack("Kazoo token in a header instead of ?token=", 401,
           post(KAZOO, unsigned=True, headers={"authorization": f"Bearer {KAZOO_TOKEN}"})),
    Attack("Callr Actions token in ?token= instead of the header", 401,
           lambda c: c.post(TOKEN_IN_QUERY, content=SAMPLES[ACTIONS][0], headers={"content-type": JSON})),
    Attack("read API token in the query instead of the header", 401, read("/cdrs", token=READ_TOKEN)),
    Attack("body over MAX_BODY_BYTES (declared)", 413, post(CALLR, b'{"a":"' + b"x" * 300_000 + b'"}')),
    Attack("deep JSON (40 levels), validly signed", 400, post(CALLR, DEEP), quarantined=1),
    Attack("form bomb (5000 fields), valid token", 400, post(KAZOO, FORM_BOMB, content_type=FORM), quarantined=1),
    Attack("form key nested 40 levels, valid token", 400,
           post(KAZOO, b"a" + b"[b]" * 40 + b"=1", content_type=FORM), quarantined=1),
    Attack("disallowed IP, validly signed", 403, post(CALLR), env=ALLOW),
    Attack("spoofed X-Forwarded-For from an untrusted peer", 403,
           post(CALLR, headers={"x-forwarded-for": "198.51.100.5"}), env=ALLOW),
    Attack("X-Forwarded-For forged left of the trusted proxy's entry", 403,
           post(CALLR, headers={"x-forwarded-for": f"198.51.100.5, {ATTACKER}"}),
           env=ALLOW | {"TRUSTED_PROXIES": "10.0.0.0/8"}, peer="10.0.0.2"),
    Attack("rate limit exceeded (RATE_LIMIT=2)", 429, post(CALLR), env={"RATE_LIMIT": "2"},
           setup=times(2, post(CALLR))),
    Attack("brute force: the right secret after AUTH_FAILURE_LIMIT failed guesses", 429, post(CALLR),
           env={"AUTH_FAILURE_LIMIT": "3"}, setup=times(4, post(CALLR, secret="guess"))),
    Attack("read API without a token", 401, read("/cdrs")),
    Attack("read API with a wrong token", 401, read("/cdrs", bearer("wrong"))),
    Attack("read API from outside READ_API_ALLOWED_IPS", 403, read("/cdrs", bearer()),
           env={"READ_API_ALLOWED_IPS": "10.0.0.0/8"}),
    *[Attack(f"SQL metacharacters in read filter {name}: no rows, no error", 200,
             read("/cdrs", bearer(), **{name: "x' OR '1'='1"})) for name in TEXT_FILTERS],
    *[Attack(f"SQL metacharacters in read filter {name}: refused", 400,
             read("/cdrs", bearer(), **{name: "1' OR '1'='1"})) for name in TYPED_FILTERS],
    Attack("formula in a caller name exported to CSV: neutralized", 200, read("/cdrs/export.csv", bearer())),
]
# fmt: on
assert len({a.name for a in ATTACKS}) == len(ATTACKS)


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    """The SQLite store with six rows and one whose caller name is a spreadsheet formula."""
    store = open_store(sqlite_url)
    store.migrate(now=datetime.now(UTC))
    put(store, *dataset(), cdr("formula", from_name=FORMULA))
    store.close()
    return sqlite_url


def drain(settings: Settings, redis_client: redis.Redis) -> tuple[int, int]:
    """Run a real worker over the queue; (rows in the store, payloads quarantined)."""
    store = open_store(settings.database_url)
    jobs.configure(jobs.Runtime(settings=settings, store=store))
    try:
        queue = ingest_queue(redis_client, settings.queue_name)
        work(queue, redis_client)
        return store.count(), len(store.quarantined())
    finally:
        jobs.configure(None)
        store.close()


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_refused(attack: Attack, client_for: Callable[..., TestClient], make_settings: Callable[..., Settings],
                        redis_client: redis.Redis, store_url: str) -> None:  # fmt: skip
    """The attack gets its status and a JSON error naming no secret; it queues nothing and writes no row."""
    env = {**PUSH_ENV, "READ_API_TOKEN": READ_TOKEN, **attack.env}
    client = client_for(peer=(attack.peer, 40000), **env)
    if attack.setup:
        attack.setup(client)
    before = len(queued(redis_client))
    r = attack.send(client)
    ATTACK_LOG.append((attack.name, r.status_code, r.text[:110]))
    assert r.status_code == attack.status, r.text
    assert len(queued(redis_client)) == before + attack.quarantined
    if r.status_code >= 400:
        assert set(r.json()) == {"error", "detail"}
        assert not any(secret in r.text for secret in SECRETS)
    if r.status_code == 429:
        assert int(r.headers["retry-after"]) >= 1
    if attack.name.startswith("formula"):
        assert f"'{FORMULA}" in r.text.replace('""', '"') and f",{FORMULA}" not in r.text
    assert drain(make_settings(**env), redis_client) == (7 + before, attack.quarantined)


# (variable, route, its new value, the previous value still accepted during the overlap)
ROTATIONS = [
    ("CALLR_WEBHOOK_SECRET", CALLR, "new", CALLR_SECRET),
    ("CALLR_ACTIONS_TOKEN", ACTIONS, "new", CALLR_TOKEN),
    ("VOBIZ_WEBHOOK_SECRET", TRUNK, "new", PUSH_ENV["VOBIZ_WEBHOOK_SECRET"]),
    ("VOBIZ_AUTH_TOKEN", CALLBACK, "new", VOBIZ_TOKEN),
    ("VOBIZ_MAIN_AUTH_TOKEN", CALLBACK, "new", VOBIZ_MAIN_TOKEN),
    ("SINCH_APP_SECRET", SINCH, "bmV3LXNlY3JldA==", SINCH_SECRET),
    ("KAZOO_WEBHOOK_TOKEN", KAZOO, "new", KAZOO_TOKEN),
    ("READ_API_TOKEN", "/cdrs", "new", READ_TOKEN),
]


def rotated(variable: str, path: str, secret: str) -> Send:
    if variable == "READ_API_TOKEN":
        return read(path, bearer(secret))
    if variable == "VOBIZ_MAIN_AUTH_TOKEN":
        headers = vobiz_v3_headers(f"{time.time_ns() % 10**20:020d}", token=secret, header="x-vobiz-signature-ma-v3")
        return post(path, unsigned=True, headers=headers)
    return post(path, secret=secret)


@pytest.mark.parametrize(("variable", "path", "current", "previous"), ROTATIONS, ids=[r[0] for r in ROTATIONS])
def test_rotated_secret(client_for: Callable[..., TestClient], redis_client: redis.Redis, store_url: str,
                        variable: str, path: str, current: str, previous: str) -> None:  # fmt: skip
    """With NAME and NAME_PREVIOUS set, both verify during the overlap; any other value is 401."""
    unknown = "dW5rbm93bg==" if variable == "SINCH_APP_SECRET" else "unknown"
    env = {**PUSH_ENV, "READ_API_TOKEN": READ_TOKEN, variable: current, f"{variable}_PREVIOUS": previous}
    client = client_for(peer=(ATTACKER, 40000), **env)
    answers = [rotated(variable, path, s)(client).status_code for s in (previous, current, unknown)]
    ATTACK_LOG.append((f"rotated {variable}: previous, current, unknown", answers[0], str(answers)))
    assert answers[0] in (200, 202) and answers[1] in (200, 202) and answers[2] == 401, answers


# --- the real server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """``cdr-ingest serve`` with Callr allowed only from 198.51.100.0/24, Kazoo from 127.0.0.1, and
    one-second header and body deadlines. No TRUSTED_PROXIES: the peer 127.0.0.1 is the client."""
    tmp = tmp_path_factory.mktemp("attacks")
    env = stack_env(redis_url, f"sqlite:///{tmp}/cdr.db", SPOOL_DIR=str(tmp / "spool"), KAZOO_WEBHOOK_TOKEN=KAZOO_TOKEN,
                    CALLR_ALLOWED_IPS="198.51.100.0/24", KAZOO_ALLOWED_IPS="127.0.0.1/32", HEADER_TIMEOUT_S="1",
                    BODY_TIMEOUT_S="1", MAX_HEADER_BYTES="8192")  # fmt: skip
    with running_stack(env, tmp) as stack:
        stack.serve()
        yield stack


def exchange(base_url: str, parts: list[tuple[bytes, float]]) -> tuple[int, dict[str, Any]]:
    """Send raw bytes, part by part with a pause after each, stop as soon as the server answers,
    and read that one response: (status, JSON body). Reading while still sending matters: once the
    server closes, our next bytes would reset the connection and lose its answer."""
    with connect(base_url) as s:
        response = b""
        for data, pause in parts:
            try:
                s.sendall(data)
            except OSError:
                break
            s.settimeout(max(pause, 0.01))
            try:
                response = s.recv(65536)
                break
            except TimeoutError:
                continue
        s.settimeout(5)
        while (split := split_response(response)) is None:
            chunk = s.recv(65536)
            assert chunk, f"closed before a whole response: {response!r}"
            response += chunk
    (status, _, body), _ = split
    return int(status.split(b" ", 2)[1]), orjson.loads(body)


KAZOO_URL = f"{KAZOO}?token={KAZOO_TOKEN}"
SERVER_ATTACKS: list[tuple[str, int, list[tuple[bytes, float]]]] = [
    ("headers over MAX_HEADER_BYTES", 431,
     [(request_head(KAZOO_URL, "Content-Type: application/json", "X-Pad: " + "a" * 20_000), 0)]),
    ("headers trickled (slowloris)", 408, [(b"POST /webhooks/kazoo HTTP/1.1\r\n", 0.4)] +
     [(b"X-A: b\r\n", 0.4)] * 4),
    ("idle connection that never sends", 408, [(b"", 0)]),
    ("body trickled slowly", 408, [(request_head(KAZOO_URL, "Content-Type: application/json",
                                                 "Content-Length: 1000"), 0.4)] + [(b"{", 0.4)] * 4),
    ("over-size body sent slowly (declared length)", 413,
     [(request_head(KAZOO_URL, "Content-Type: application/json", "Content-Length: 10000000"), 0.3), (b"{", 0.3)]),
    ("over-size body sent slowly (chunked, no length)", 413,
     [(request_head(KAZOO_URL, "Content-Type: application/json", "Transfer-Encoding: chunked"), 0.1)] +
     [(b"10000\r\n" + b"a" * 0x10000 + b"\r\n", 0.1)] * 5),
]  # fmt: skip


@pytest.mark.e2e
@pytest.mark.parametrize(("name", "status", "parts"), SERVER_ATTACKS, ids=[a[0] for a in SERVER_ATTACKS])
def test_server_attack_refused(server: Stack, redis_client: redis.Redis, name: str, status: int,
                               parts: list[tuple[bytes, float]]) -> None:  # fmt: skip
    """uvicorn plus our protocol cut slow and oversized requests off with a JSON error, and queue nothing."""
    got, body = exchange(server.base_url, parts)
    ATTACK_LOG.append((name + " (uvicorn)", got, orjson.dumps(body).decode()[:110]))
    assert (got, set(body)) == (status, {"error", "detail"}), body
    assert queued(redis_client) == []
    if name == "body trickled slowly":  # the app waiting on that body saw the connection end
        wait_until(lambda: '"event": "ingest.disconnected"' in server.log("receiver"), what="ingest.disconnected")


@pytest.mark.e2e
def test_server_reads_the_real_peer_not_a_spoofed_header(server: Stack, redis_client: redis.Redis) -> None:
    """uvicorn's own X-Forwarded-For trust (127.0.0.1 by default) is off: a spoofed header from the
    untrusted peer 127.0.0.1 does not pass its allowlist (403), while 127.0.0.1's own allowlist does."""
    body, _ = SAMPLES[CALLR]
    url, credential = sign(CALLR, body)
    headers = {"content-type": JSON, "x-forwarded-for": "198.51.100.5", **dict(credential)}
    r = httpx.post(f"{server.base_url}{url}", content=body, headers=headers)
    ATTACK_LOG.append(("spoofed X-Forwarded-For from 127.0.0.1 (uvicorn)", r.status_code, r.text[:110]))
    assert (r.status_code, r.json()["error"]) == (403, "forbidden") and "127.0.0.1" in r.json()["detail"]
    kazoo = httpx.post(f"{server.base_url}{KAZOO_URL}", content=SAMPLES[KAZOO][0], headers={"content-type": JSON})
    assert kazoo.status_code == 200 and len(queued(redis_client)) == 1


@pytest.mark.e2e
def test_server_passes_large_bodies_on_kept_alive_connections(server: Stack, redis_client: redis.Redis) -> None:
    """The header limit counts headers only: a 200 KB body arriving with its headers, twice on one
    connection, is accepted (then a duplicate)."""
    padded = orjson.dumps({**orjson.loads(SAMPLES[KAZOO][0]), "pad": "a" * 200_000})
    with httpx.Client(base_url=server.base_url) as client:
        answers = [client.post(KAZOO_URL, content=padded, headers={"content-type": JSON}) for _ in range(2)]
    assert [(r.status_code, r.json().get("status")) for r in answers] == [(200, "queued"), (200, "duplicate")], [
        r.text for r in answers
    ]


def test_attack_list_covers_the_issue() -> None:
    """Every attack the issue names has an entry here (ATTACKS, ROTATIONS or SERVER_ATTACKS)."""
    names = " ".join([a.name for a in ATTACKS] + [s[0] for s in SERVER_ATTACKS] + ["rotated"]).lower()
    for phrase in (
        "forged signature",
        "another body",
        "on the callr endpoint",
        "stale",
        "replayed",
        "missing",
        "rotated",
        "instead of",
        "over-size body sent slowly",
        "deep json",
        "form bomb",
        "disallowed ip",
        "spoofed x-forwarded-for",
        "rate limit",
        "read api without",
        "wrong token",
        "sql",
        "formula",
    ):
        assert phrase in names, phrase


def test_controls_the_limits_let_through(client_for: Callable[..., TestClient], redis_client: redis.Redis) -> None:
    """The same guards pass what they should: the real client behind a trusted proxy, an allowlisted peer."""
    env = {**ALLOW, "TRUSTED_PROXIES": "10.0.0.0/8"}
    proxied = client_for(peer=("10.0.0.2", 40000), **env)
    assert post(CALLR, headers={"x-forwarded-for": f"{ATTACKER}, 198.51.100.5"})(proxied).status_code == 202
    direct = client_for(peer=("198.51.100.9", 40000), **ALLOW)
    assert post(CALLR)(direct).json() == {"status": "duplicate"}


def test_limits_hold_across_processes(client_for: Callable[..., TestClient], redis_client: redis.Redis) -> None:
    """Two receiver processes share the counts in Redis: the rate limit and the failure lockout add up."""
    a, b = (client_for(peer=(ATTACKER, 40000), RATE_LIMIT="3") for _ in range(2))
    assert [post(CALLR)(c).status_code for c in (a, b, a, b)] == [202, 200, 200, 429]
    c, d = (client_for(peer=(ATTACKER, 40000), AUTH_FAILURE_LIMIT="2") for _ in range(2))
    assert [post(CALLR, secret="guess")(x).status_code for x in (c, d, c)] == [401, 401, 429]


def test_allowlist_is_per_account(
    client_for: Callable[..., TestClient], redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Two Kazoo clusters (TOML accounts): from one cluster's addresses, only its own token authenticates."""
    config = tmp_path / "accounts.toml"
    config.write_text('[[accounts]]\nvendor = "kazoo"\nid = "k1"\nsecrets = { webhook = "token-1" }\n'
                      'allowed_ips = ["198.51.100.0/24"]\n\n[[accounts]]\nvendor = "kazoo"\nid = "k2"\n'
                      'secrets = { webhook = "token-2" }\nallowed_ips = ["192.0.2.0/24"]\n')  # fmt: skip
    first = client_for(peer=("198.51.100.5", 40000), CDR_INGEST_CONFIG=str(config))
    assert post(KAZOO, secret="token-2")(first).status_code == 401
    assert post(KAZOO, secret="token-1")(first).status_code == 200
    outsider = client_for(peer=(ATTACKER, 40000), CDR_INGEST_CONFIG=str(config))
    assert post(KAZOO, secret="token-1")(outsider).status_code == 403
    assert [e.account for e in queued(redis_client)] == ["k1"]
