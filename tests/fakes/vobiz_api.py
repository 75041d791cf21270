"""The fake Vobiz CDR list API: ``GET /account/{auth_id}/cdr`` as docs.vobiz.ai/cdr/list-cdrs
describes it (``X-Auth-ID``/``X-Auth-Token``, ``start_date``/``end_date`` inclusive, ``per_page`` at
most 100, ``page``; ``pagination.has_next``), rows by ``start_time``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.base import FakeApi, between_iso, record


@dataclass
class FakeVobiz(FakeApi):
    auth_id: str = "MA_FAKE0001"
    auth_token: str = "fake-vobiz-token-789"
    cdrs: list[dict[str, Any]] = field(default_factory=list)  # CDR API records


class VobizApi:
    def __init__(self, state: Callable[[], FakeVobiz]) -> None:
        self.state = state

    async def list_cdrs(self, request: Request) -> Response:
        state = self.state()
        if (fault := await record(state, "vobiz.cdr", request)) is not None:
            return fault
        h, q = request.headers, request.query_params
        if (h.get("x-auth-id"), h.get("x-auth-token"), request.path_params["auth_id"]) != (
            state.auth_id, state.auth_token, state.auth_id
        ):  # fmt: skip
            return JSONResponse({"success": False, "error": "unauthorized", "message": "Invalid auth credentials"}, 401)
        try:
            first, last = date.fromisoformat(q["start_date"]), date.fromisoformat(q["end_date"])
        except (KeyError, ValueError):
            return JSONResponse({"success": False, "message": "start_date and end_date are required together"}, 400)
        per_page, page = min(int(q.get("per_page", 20)), 100), int(q.get("page", 1))
        low = datetime.combine(first, time()).isoformat() + "Z"
        high = (datetime.combine(last, time()) + timedelta(days=1, microseconds=-1)).isoformat() + "Z"
        rows = between_iso(state.cdrs, "start_time", low, high)
        pages = max(1, math.ceil(len(rows) / per_page))
        data = rows[(page - 1) * per_page : page * per_page]
        pagination = {"page": page, "per_page": per_page, "total": len(rows), "pages": pages,
                      "has_next": page < pages, "has_prev": page > 1}  # fmt: skip
        return JSONResponse({"account_id": state.auth_id, "count": len(data), "data": data, "pagination": pagination,
                             "success": True, "summary": {"totalCalls": len(rows)}})  # fmt: skip


def vobiz_cdr(uuid: str, start: datetime, *, answered: bool = True, cost: float = 0.45) -> dict[str, Any]:
    """A CDR API record in the shape of the SDK mock (shared/samples/vobiz/cdr_list_sdk_mock.json)."""
    end = start + timedelta(seconds=47 if answered else 12)
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    return {
        "account_id": "MA_FAKE0001", "uuid": uuid, "bridge_uuid": uuid, "sip_call_id": f"sip-{uuid}",
        "call_direction": "outbound" if answered else "inbound", "caller_id_name": "",
        "caller_id_number": "+919876543210", "destination_number": "+918012345678", "context": "voice-api",
        "progress_time": iso(start), "start_time": iso(start),
        "answer_time": iso(start + timedelta(seconds=5)) if answered else None, "end_time": iso(end),
        "created_at": iso(end), "updated_at": iso(end), "duration": 47 if answered else 12,
        "billsec": 42 if answered else 0, "ring_time": 5 if answered else 12,
        "cost": cost if answered else 0, "total_cost": cost if answered else 0, "streaming_cost": 0,
        "currency": "INR", "hangup_cause": "NORMAL_CLEARING" if answered else "NO_ANSWER",
        "hangup_cause_code": 4000 if answered else 4100, "hangup_source": "Caller" if answered else "Callee",
        "mos": 4.5 if answered else 0, "jitter": 0.2 if answered else 0, "packet_loss": 0.1 if answered else 0,
        "codec": "PCMU", "region": "ap-south-1",
    }  # fmt: skip
