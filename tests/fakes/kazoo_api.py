"""The fake Kazoo crossbar ``GET /v2/accounts/{account_id}/cdrs``: ``X-Auth-Token``, ``created_from``/
``created_to`` in Gregorian seconds (at most 31 days + 1 hour apart, else a ``date_range`` error),
``page_size``, an opaque ``start_key``/``next_start_key`` (absent on the last page), flattened listing
rows (``kzd_cdrs``: ``timestamp`` is the start, every missing value ``""``) selected by creation time
(start + duration), and the crossbar envelope, which echoes the auth token as crossbar does."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.base import FakeApi, between, record
from workers.normalize.times import UNIX_EPOCH_IN_GREGORIAN, from_gregorian

MAX_RANGE_S = 2_682_000


@dataclass
class FakeKazoo(FakeApi):
    account_id: str = "91eb05e5c68d7ca05e7618b6821d2d16"
    auth_token: str = "fake-kazoo-token-abc"
    cdrs: list[dict[str, Any]] = field(default_factory=list)  # listing rows
    repeat_key: bool = False  # a broken server: next_start_key is the start_key it was sent


def _created(row: dict[str, Any]) -> datetime:
    return from_gregorian(row["timestamp"]) + timedelta(seconds=int(row["duration_seconds"] or 0))


def _error(status: int, message: str, data: Any) -> JSONResponse:
    return JSONResponse({"data": data, "error": str(status), "message": message, "status": "error"}, status)


class KazooApi:
    def __init__(self, state: Callable[[], FakeKazoo]) -> None:
        self.state = state

    async def list_cdrs(self, request: Request) -> Response:
        state = self.state()
        if (fault := await record(state, "kazoo.cdrs", request)) is not None:
            return fault
        if request.headers.get("x-auth-token") != state.auth_token:
            return _error(401, "invalid_credentials", {"message": "invalid credentials"})
        if request.path_params["account_id"] != state.account_id:
            return _error(403, "forbidden", {"message": "not your account"})
        q = request.query_params
        low, high = int(q["created_from"]), int(q["created_to"])
        if high < low or high - low > MAX_RANGE_S:
            return _error(400, "validation error", {"created_from": {"date_range": {"message": "range too wide"}}})
        rows = between(state.cdrs, "created", from_gregorian(low), from_gregorian(high), _created)
        size = int(q.get("page_size", 50))
        offset = int(base64.urlsafe_b64decode(q["start_key"]).decode()) if "start_key" in q else 0
        body: dict[str, Any] = {
            "auth_token": state.auth_token, "data": rows[offset : offset + size], "page_size": size,
            "request_id": "fake-request", "revision": "undefined", "status": "success", "version": "4.3.0",
            "start_key": q.get("start_key", ""),
        }  # fmt: skip
        if offset + size < len(rows):
            next_key = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
            body["next_start_key"] = q["start_key"] if state.repeat_key and "start_key" in q else next_key
        return JSONResponse(body)


def kazoo_row(call_id: str, start: datetime, *, answered: bool = True, cost: int = 1500) -> dict[str, Any]:
    """A /cdrs listing row (``kzd_cdrs.hrl`` columns) of an inbound leg, as Kazoo renders it."""
    duration, billing = (66, 60) if answered else (20, 0)
    greg = int(start.timestamp()) + UNIX_EPOCH_IN_GREGORIAN
    t = start.astimezone(UTC)
    return {
        "id": f"{t:%Y%m}-{call_id}", "call_id": call_id, "caller_id_number": "+15556783945",
        "caller_id_name": "Test Man", "callee_id_number": "+15552345678", "callee_id_name": "",
        "duration_seconds": str(duration), "billing_seconds": str(billing), "timestamp": str(greg),
        "hangup_cause": "NORMAL_CLEARING" if answered else "ORIGINATOR_CANCEL", "other_leg_call_id": "",
        "owner_id": "", "to": "+15552345678@matrix.test.com", "from": "+15556783945@matrix.test.com",
        "direction": "inbound", "request": "+15552345678@matrix.test.com", "authorizing_id": "",
        "cost": str(cost if answered else 0), "dialed_number": "+15552345678", "calling_from": "+15556783945",
        "datetime": f"{t:%Y-%m-%d_%H:%M:%S}", "unix_timestamp": str(int(start.timestamp())),
        "unix_timestamp_micro": "", "rfc_1036": f"{t:%a, %d %b %Y %H:%M:%S} GMT",
        "iso_8601": f"{t:%Y-%m-%d}", "iso_8601_combined": f"{t:%Y-%m-%dT%H:%M:%S}Z", "call_type": "",
        "rate": "0.015", "rate_name": "US-1", "bridge_id": "", "recording_url": "", "media_recordings": "",
        "media_server": "fs1.kazoo.local", "call_priority": "", "interaction_id": f"63{call_id[:6]}",
    }  # fmt: skip
