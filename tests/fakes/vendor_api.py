"""A small fake of the vendors' export/list APIs (Starlette), served on 127.0.0.1 by the tests.

Callr: the legacy JSON-RPC ``cdr.get`` (Basic auth) and the v2 ``POST /calls/export`` task with
``POST /tasks/{sid}`` and a CSV download (``x-api-key``), in the shapes the poller assumes
(``workers/poller/sources/_callr_task.py``). Vobiz's CDR list (``vobiz_api.py``) and Kazoo's
crossbar ``/cdrs`` (``kazoo_api.py``). Faults (429 with ``Retry-After``, 5xx, 401/403, a slow
answer that times the client out) are queued per route and served before normal answers.
Add a vendor: a ``FakeApi`` state on ``FakeVendors`` and its routes in ``create_app``.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.base import FakeApi, Fault, Seen, between_iso, record
from tests.fakes.kazoo_api import FakeKazoo, KazooApi
from tests.fakes.vobiz_api import FakeVobiz, VobizApi

__all__ = ["FakeCallr", "FakeKazoo", "FakeVendors", "FakeVobiz", "Fault", "Seen", "create_app", "v1_cdr", "v2_call"]


@dataclass
class FakeCallr(FakeApi):
    login: str = "fake-login"
    password: str = "fake-password-123"
    api_key: str = "fake-api-key-456"
    cdrs_in: list[dict[str, Any]] = field(default_factory=list)  # v1 CDR.In objects
    cdrs_out: list[dict[str, Any]] = field(default_factory=list)  # v1 CDR.Out objects
    calls: list[dict[str, Any]] = field(default_factory=list)  # v2 CDR objects
    export_mode: str = "task-link-csv"  # or inline-json, inline-csv, task-json
    pending_polls: int = 1  # task answers "running" this many times first
    presigned_base: str | None = None  # set: links are absolute, on this base, and need no key
    csv_junk: list[str] = field(default_factory=list)  # raw lines appended to every CSV export
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The bench: an export asked again (same from, to, direction) reuses the rows and CSV built the
    # first time, so a warm-up pass leaves the timed one measuring the poller and not this fake.
    cache_exports: bool = False
    _exports: dict[tuple[str, ...], Any] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def built(self, key: tuple[str, ...], build: Callable[[], Any]) -> Any:
        if not self.cache_exports:
            return build()
        if key not in self._exports:
            self._exports[key] = build()
        return self._exports[key]


@dataclass
class FakeVendors:
    callr: FakeCallr = field(default_factory=FakeCallr)
    vobiz: FakeVobiz = field(default_factory=FakeVobiz)
    kazoo: FakeKazoo = field(default_factory=FakeKazoo)


def _csv(rows: list[dict[str, Any]], junk: list[str] | None = None) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r)) or ["callid"]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, restval="", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("true" if v is True else "false" if v is False else "" if v is None else v)
                         for k, v in row.items()})  # fmt: skip
    return out.getvalue() + "".join(f"{line}\r\n" for line in junk or [])


class _CallrApi:
    """The Callr routes; each reads the current ``FakeCallr`` (tests swap it per test)."""

    def __init__(self, vendors: FakeVendors) -> None:
        self.vendors = vendors

    async def jsonrpc(self, request: Request) -> Response:
        state = self.vendors.callr
        if (fault := await record(state, "callr.jsonrpc", request)) is not None:
            return fault
        expected = base64.b64encode(f"{state.login}:{state.password}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"message": "bad credentials"}, 401)
        call = await request.json()
        if call.get("method") != "cdr.get":
            error = {"code": 32601, "message": "method not found"}
            return JSONResponse({"jsonrpc": "2.0", "id": call.get("id"), "result": None, "error": error})
        cdr_type, low, high = call["params"][:3]
        rows = state.cdrs_in if cdr_type == "IN" else state.cdrs_out
        result = between_iso(rows, "start", low, high)
        return JSONResponse({"jsonrpc": "2.0", "id": call.get("id"), "result": result})

    async def _v2_refusal(self, route: str, request: Request, *, key_needed: bool = True) -> Response | None:
        state = self.vendors.callr
        refused = await record(state, route, request)
        if refused is None and key_needed and request.headers.get("x-api-key") != state.api_key:
            refused = JSONResponse({"code": "unauthorized", "message": "bad api key"}, 401)
        return refused

    async def export(self, request: Request) -> Response:
        state = self.vendors.callr
        if (refused := await self._v2_refusal("callr.export", request)) is not None:
            return refused
        q = request.query_params
        key = (q["from"], q["to"], q["direction"])
        rows = state.built(key, lambda: [c for c in between_iso(state.calls, "started", q["from"], q["to"])
                                         if c["direction"] == q["direction"]])  # fmt: skip
        if state.export_mode == "inline-json":
            return JSONResponse(rows)
        if state.export_mode == "inline-csv":
            return Response(_csv(rows, state.csv_junk), media_type="text/csv")
        sid = f"task{next(state._ids)}"
        state.tasks[sid] = {"rows": rows, "polls": 0, "key": key}
        return JSONResponse({"sid": sid, "status": "pending"}, 202)

    async def task(self, request: Request) -> Response:
        state = self.vendors.callr
        if (refused := await self._v2_refusal("callr.task", request)) is not None:
            return refused
        sid = request.path_params["sid"]
        found = state.tasks.get(sid)
        if found is None:
            return JSONResponse({"code": "not-found", "message": "no such task"}, 404)
        found["polls"] += 1
        if found["polls"] <= state.pending_polls:
            return JSONResponse({"sid": sid, "status": "running"})
        if state.export_mode == "task-json":
            return JSONResponse({"sid": sid, "status": "done", "result": {"data": found["rows"]}})
        link = f"{state.presigned_base or ''}/callr/v2.0/files/{sid}.csv"
        return JSONResponse({"sid": sid, "status": "done", "result": {"url": link}})

    async def download(self, request: Request) -> Response:
        state = self.vendors.callr
        refused = await self._v2_refusal("callr.file", request, key_needed=state.presigned_base is None)
        if refused is not None:
            return refused
        found = state.tasks.get(request.path_params["sid"])
        if found is None:
            return JSONResponse({"code": "not-found"}, 404)
        text = state.built((*found["key"], "csv"), lambda: _csv(found["rows"], state.csv_junk))
        return Response(text, media_type="text/csv")


async def redirect(request: Request) -> Response:
    """``/redirect?to=URL``: a 307 to anywhere, to check what a client carries across origins."""
    return RedirectResponse(request.query_params["to"], status_code=307)


def create_app(vendors: FakeVendors) -> Starlette:
    callr = _CallrApi(vendors)
    vobiz = VobizApi(lambda: vendors.vobiz)
    kazoo = KazooApi(lambda: vendors.kazoo)
    return Starlette(
        routes=[
            Route("/vobiz/api/v1/account/{auth_id}/cdr", vobiz.list_cdrs, methods=["GET"]),
            Route("/kazoo/v2/accounts/{account_id}/cdrs", kazoo.list_cdrs, methods=["GET"]),
            Route("/redirect", redirect, methods=["GET", "POST"]),
            Route("/callr/json-rpc/v1.1/", callr.jsonrpc, methods=["POST"]),
            Route("/callr/v2.0/calls/export", callr.export, methods=["POST"]),
            Route("/callr/v2.0/tasks/{sid}", callr.task, methods=["POST"]),
            Route("/callr/v2.0/files/{sid}.csv", callr.download, methods=["GET"]),
        ]
    )


# -- sample rows ------------------------------------------------------------------------------


def v1_cdr(callid: int, start: datetime, *, outbound: bool = False, debit: str = "12.00") -> dict[str, Any]:
    """A v1 CDR.In/CDR.Out as the SDK types it (sdk-dotnet Objects/Cdr), answered, 30 s."""
    t = start.strftime("%Y-%m-%d %H:%M:%S")
    row: dict[str, Any] = {
        "callid": callid, "cli_pres": "ALLOWED", "cli_number": "+33612345678", "cli_name": "",
        "start": t, "answer": t, "hangup": t, "hangupsource": "CALLER", "hangupcause": "16",
        "duration": 30, "duration_answered": 30, "duration_billed": 60,
        "billing_customer_cost_label": "FR-MOBILE", "billing_customer_debit_eur": debit,
        "billing_customer_credit_eur": "0.00", "scenario_name": "main", "scenario_hash": "ab12cd34",
        "package_name": "", "customer_field": "",
    }  # fmt: skip
    if outbound:
        row.update(number="+33987654321", number_country_code="FR", number_type="GEOGRAPHIC", dialstatus="ANSWER")
    else:
        row.update(did_intl_number="+33199001234", did_hash="did1", cli_country_code="FR", cli_number_type="MOBILE")
    return row


def v2_call(callid: int, started: datetime, *, direction: str = "inbound", debit: str = "0.8925") -> dict[str, Any]:
    """A v2 CDR object (docs.callr.com webhook example's fields), answered."""
    t = started.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "direction": direction, "callid": callid, "callerName": "", "callerNumber": "+33612345678",
        "callerRestricted": False, "callee": "+33199001234", "started": t, "answered": t, "ended": t,
        "status": "answered", "hangupSource": "caller", "hangupCause": 16, "hangupTech": "sip:200",
        "durationTotal": 11, "durationAnswered": 11, "durationBilled": 60,
        "billingDestinationLabel": "FR-GEOGRAPHIC-CLASSIC", "billingDebit": debit, "billingCredit": "0",
        "billingPaymentType": "postpaid",
    }  # fmt: skip
