"""Reading one configuration value from a mapping: integers, booleans, choices, URLs, CIDR lists and
secrets (``NAME``, ``NAME_FILE``, ``NAME_PREVIOUS``). Each bad value raises ``ConfigError`` naming
the variable. Pure: the mapping is handed in (``workers/settings.py`` owns the environment).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from workers.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Secret:
    """A credential that prints as asterisks; ``reveal()`` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {value}")
    return value


def env_bool(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0 (true/false), got {value!r}")


def env_choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, default).lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def env_base_url(env: Mapping[str, str], name: str) -> str | None:
    """``https://host[:port][/prefix]``, without a trailing slash; empty → None."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be http(s)://host[:port][/prefix] with no query, got {raw!r}")
    return raw.rstrip("/")


def networks(values: Iterable[str], name: str) -> tuple[Network, ...]:
    """CIDR blocks (``203.0.113.0/24``, ``2001:db8::/32``) or single addresses, host bits allowed."""
    found = []
    for value in values:
        try:
            found.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {value.strip()!r} is not an IP address or CIDR block") from None
    return tuple(found)


def env_networks(env: Mapping[str, str], name: str) -> tuple[Network, ...]:
    """A comma- or space-separated CIDR list; empty → ()."""
    return networks((env.get(name) or "").replace(",", " ").split(), name)


def read_file(name: str, path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as e:
        raise ConfigError(f"{name}: cannot read {path}: {e.strerror}") from None


def env_secret(env: Mapping[str, str], name: str) -> Secret | None:
    """``NAME`` or the file named by ``NAME_FILE``; empty means unset."""
    value = env.get(name)
    file_path = env.get(f"{name}_FILE")
    if value and file_path:
        raise ConfigError(f"set {name} or {name}_FILE, not both")
    if file_path:
        value = read_file(f"{name}_FILE", file_path)
    return Secret(value) if value else None


def env_rotating(env: Mapping[str, str], name: str) -> tuple[Secret, ...]:
    """The current secret and, during a rotation, ``NAME_PREVIOUS`` (either may be a ``_FILE``)."""
    return tuple(s for s in (env_secret(env, name), env_secret(env, f"{name}_PREVIOUS")) if s is not None)
