"""The parts of uvicorn (0.54.0, pinned) that ``receiver/server.py`` and ``receiver/whole_response.py``
copy or stand in for, as they were reviewed. A new uvicorn that changes any of them fails here:
read the change, carry it over (or not), then record the new fingerprint."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

REVIEWED: list[tuple[Callable[..., Any], str, str]] = [
    (HttpToolsProtocol.on_response_complete, "64e254f28e389e76", "copied, minus its keep-alive timer (server.py)"),
    (HttpToolsProtocol.on_headers_complete, "1ea8589acfad92d8", "creates the cycle whose scope gets the writer"),
    (HttpToolsProtocol.data_received, "010a7ae59a5d3b1a", "cancels the timer server.py no longer arms"),
    (RequestResponseCycle.send, "abdd8601b326a8da", "what send_whole does for a whole answer"),
]


@pytest.mark.parametrize(("function", "fingerprint", "why"), REVIEWED, ids=[f.__qualname__ for f, _, _ in REVIEWED])
def test_uvicorn_is_as_reviewed(function: Callable[..., Any], fingerprint: str, why: str) -> None:
    assert hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16] == fingerprint, why
