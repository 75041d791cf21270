"""Who is calling: the client address of a request, and whether a CIDR list admits it. Pure.

The TCP peer is the client unless it is one of ``TRUSTED_PROXIES``. Only then is
``X-Forwarded-For`` read, right to left, skipping hops that are themselves trusted proxies: the
first untrusted hop is the client. Entries left of it were written by the client and are never
believed, so a spoofed header from an untrusted peer changes nothing. uvicorn's own proxy-header
handling is turned off (``cdr-ingest serve``) so this is the only rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

from workers.settings import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(value: str) -> Address | None:
    """``203.0.113.5``, ``203.0.113.5:4711``, ``2001:db8::1`` or ``[2001:db8::1]:4711``; else None."""
    text = value.strip()
    return _parse(text) if len(text) <= 64 else None  # no address with a port is longer


# Vendors call from a handful of addresses: parsing one costs microseconds, a cache hit nanoseconds.
@lru_cache(maxsize=4096)
def _parse(text: str) -> Address | None:
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:203.0.113.5 from a dual-stack socket is that IPv4 client
    return address


def admits(networks: Sequence[Network], address: Address | None) -> bool:
    """True when the list is empty (no restriction) or holds the address."""
    if not networks:
        return True
    return address is not None and any(address in n for n in networks)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> Address | None:
    """The calling client: the peer, or (from a trusted proxy) the nearest untrusted X-Forwarded-For hop."""
    address = parse_address(peer) if peer else None
    if address is None or not trusted or not admits(trusted, address):
        return address
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        forwarded = parse_address(hop)
        if forwarded is None:
            break  # a hop we cannot read: the trusted proxy that passed it on is the best we know
        address = forwarded
        if not admits(trusted, forwarded):
            break
    return address


@lru_cache(maxsize=4096)
def limit_key(address: Address | None) -> str:
    """The key rate limits count under: an IPv6 client is its /64 (one subscriber's whole prefix)."""
    if address is None:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
