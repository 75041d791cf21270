"""Logging setup, called once per command: structlog to stdout, JSON off a terminal, console on one.

One canonical line per outcome (``cdr.stored``, ``cdr.quarantined``, ``ingest.rejected``, ...).
Secrets never reach a log line: they are ``Secret`` objects and print as asterisks.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure_logging(*, fmt: str = "auto", level: str = "INFO") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stdout.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
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
