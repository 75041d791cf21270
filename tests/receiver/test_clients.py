"""The client address: the TCP peer, or X-Forwarded-For read right to left from trusted proxies only."""

from __future__ import annotations

import ipaddress

import pytest

from receiver.clients import admits, client_address, limit_key, parse_address
from workers.env_values import networks

PROXIES = networks(["10.0.0.0/8", "2001:db8:ff::/48"], "TRUSTED_PROXIES")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.7", [], "203.0.113.7"),
        ("203.0.113.7", ["198.51.100.5"], "203.0.113.7"),
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["198.51.100.5"], "198.51.100.5"),
        ("10.0.0.2", ["1.1.1.1, 198.51.100.5"], "198.51.100.5"),
        ("10.0.0.2", ["198.51.100.5, 10.0.0.9"], "198.51.100.5"),
        ("10.0.0.2", ["1.1.1.1", "198.51.100.5, 10.0.0.9"], "198.51.100.5"),
        ("10.0.0.2", ["10.0.0.8, 10.0.0.9"], "10.0.0.8"),
        ("10.0.0.2", ["1.1.1.1, garbage"], "10.0.0.2"),
        ("10.0.0.2", ["198.51.100.5:4711"], "198.51.100.5"),
        ("10.0.0.2", ["[2001:db8::7]:4711"], "2001:db8::7"),
        ("2001:db8:ff::1", ["2001:db8::7"], "2001:db8::7"),
        ("::ffff:10.0.0.2", ["198.51.100.5"], "198.51.100.5"),
        ("testclient", ["198.51.100.5"], None),
        (None, ["198.51.100.5"], None),
    ],
    ids=["peer", "untrusted-peer-spoofs", "proxy-without-header", "proxy", "client-prefix-ignored",
         "second-proxy-skipped", "two-headers", "only-proxies", "unreadable-hop", "port", "ipv6-port", "ipv6-proxy",
         "ipv4-mapped-peer", "not-an-address", "no-peer"],
)  # fmt: skip
def test_client_address(peer: str | None, forwarded: list[str], expected: str | None) -> None:
    """Only a trusted peer's X-Forwarded-For counts, read from the right; the client's own entries never do."""
    found = client_address(peer, forwarded, PROXIES)
    assert (str(found) if found else None) == expected


def test_no_trusted_proxies_means_the_peer() -> None:
    """With TRUSTED_PROXIES empty, X-Forwarded-For is never read, even from 127.0.0.1."""
    assert str(client_address("127.0.0.1", ["198.51.100.5"], ())) == "127.0.0.1"


def test_admits() -> None:
    """An empty list admits anyone; otherwise the address must be in one block, and an unknown one never is."""
    allowed = networks(["198.51.100.0/24", "2001:db8::/32"], "X")
    assert admits((), None) and admits(allowed, ipaddress.ip_address("198.51.100.200"))
    assert admits(allowed, ipaddress.ip_address("2001:db8::1"))
    assert not admits(allowed, ipaddress.ip_address("198.51.101.1")) and not admits(allowed, None)


def test_limit_key_groups_an_ipv6_subscriber() -> None:
    """IPv4 counts per address, IPv6 per /64 (one subscriber's prefix), an unknown client under one key."""
    assert limit_key(parse_address("203.0.113.7")) == "203.0.113.7"
    assert limit_key(parse_address("2001:db8:1:2:aaaa::1")) == limit_key(parse_address("2001:db8:1:2:bbbb::9"))
    assert limit_key(parse_address("2001:db8:1:2::1")) == "2001:db8:1:2::/64"
    assert limit_key(None) == "unknown"
