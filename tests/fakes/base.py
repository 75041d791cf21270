"""What every fake vendor API shares: injected faults, recorded requests, rows indexed by time."""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from workers.normalize.times import parse_time


@dataclass
class Fault:
    status: int = 500  # 0: no error status, only the delay (then the normal answer)
    retry_after: str | None = None
    delay_s: float = 0.0


@dataclass
class Seen:
    route: str
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]
    body: bytes


@dataclass
class FakeApi:
    """One vendor's fake state: faults queued per route (served before normal answers), requests seen."""

    faults: dict[str, list[Fault]] = field(default_factory=dict)  # route -> served first
    seen: list[Seen] = field(default_factory=list)

    def fault(self, route: str, *faults: Fault) -> None:
        self.faults.setdefault(route, []).extend(faults)

    def requests(self, route: str) -> list[Seen]:
        return [s for s in self.seen if s.route == route]


async def record(state: FakeApi, route: str, request: Request) -> Response | None:
    body = await request.body()
    state.seen.append(Seen(route, request.method, request.url.path, dict(request.headers),
                           dict(request.query_params), body))  # fmt: skip
    queued = state.faults.get(route)
    if queued:
        fault = queued.pop(0)
        await asyncio.sleep(fault.delay_s)
        if fault.status:
            headers = {"retry-after": fault.retry_after} if fault.retry_after else {}
            return JSONResponse({"code": "fault", "message": f"injected {fault.status}"}, fault.status, headers)
    return None


# (rows list, its length, key) -> sorted times and rows; the list itself is held so its id stays its own.
_INDEX: dict[tuple[int, str], tuple[list[dict[str, Any]], int, list[datetime], list[dict[str, Any]]]] = {}


def between(
    rows: list[dict[str, Any]], key: str, low: datetime, high: datetime, when: Callable[[dict[str, Any]], datetime]
) -> list[dict[str, Any]]:
    """Rows whose time (``when``, named ``key``) is in ``[low, high]``, through a sorted index
    (benchmarks hold 100k rows)."""
    cached = _INDEX.get((id(rows), key))
    if cached is None or cached[0] is not rows or cached[1] != len(rows):
        ordered = sorted(rows, key=when)
        cached = _INDEX[(id(rows), key)] = (rows, len(rows), [when(r) for r in ordered], ordered)
    times, ordered = cached[2], cached[3]
    return ordered[bisect.bisect_left(times, low) : bisect.bisect_right(times, high)]


def between_iso(rows: list[dict[str, Any]], key: str, low: str, high: str) -> list[dict[str, Any]]:
    """Rows whose ``key`` ISO time is in ``[low, high]``."""
    return between(rows, key, parse_iso(low), parse_iso(high), lambda r: parse_iso(r[key]))


def parse_iso(value: str) -> datetime:
    parsed = parse_time(value)
    assert parsed is not None
    return parsed
