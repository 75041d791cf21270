"""Logging setup, called once per command: structlog to stdout, JSON off a terminal, console on one.

One canonical line per outcome (``cdr.stored``, ``cdr.quarantined``, ``ingest.rejected``, ...).
Secrets never reach a log line: they are ``Secret`` objects and print as asterisks.
With ``mask_numbers`` (``LOG_MASK_NUMBERS=1``) phone numbers are masked in every line: the values
of number fields, and any ``+``-prefixed E.164 number inside other text.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Fields whose whole value is a phone number (or a SIP URI / user id standing for one).
NUMBER_FIELDS = frozenset({"from_number", "to_number", "number", "cli", "caller", "callee", "identity_endpoint"})
_E164 = re.compile(r"\+\d{6,15}")
_DIGIT = re.compile(r"\d")


def mask_number(value: str) -> str:
    """``+33612345678`` → ``+33*******78``: the country prefix and the last two digits stay."""
    if _E164.fullmatch(value):
        return value[:3] + "*" * (len(value) - 5) + value[-2:]
    digits = len(_DIGIT.findall(value))
    seen = 0

    def star(match: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return match.group() if seen > digits - 2 else "*"

    return _DIGIT.sub(star, value)


def mask_numbers(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask number fields whole, and E.164 numbers inside any other text."""
    for key, value in event.items():
        if not isinstance(value, str):
            continue
        if key in NUMBER_FIELDS:
            event[key] = mask_number(value)
        elif "+" in value:
            event[key] = _E164.sub(lambda m: mask_number(m.group()), value)
    return event


def configure_logging(*, fmt: str = "auto", level: str = "INFO", mask_phone_numbers: bool = False) -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stdout.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    masking: list[Any] = [mask_numbers] if mask_phone_numbers else []
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            *masking,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    # Libraries (rq, uvicorn) log through stdlib logging; keep them on stdout at the same level.
    logging.basicConfig(stream=sys.stdout, level=numeric_level, format="%(levelname)s %(name)s %(message)s")


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
