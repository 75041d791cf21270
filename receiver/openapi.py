"""The OpenAPI 3.1 document served at ``/openapi.json``: webhooks (from the route table), probes,
metrics and the read API. Built from the same tables the code uses, so it cannot list a route
or a column that does not exist; ``tests/receiver/test_openapi.py`` runs schemathesis against it.
"""

from __future__ import annotations

from typing import Any

from receiver.feeds import ROUTES, Route
from workers.cdr import Direction, Status
from workers.store.queries import MAX_LIMIT
from workers.store.reads import LIST_COLUMNS

_INTS = {"duration_s", "talk_s", "billed_s", "ring_s", "q850_cause", "sip_code"}
_FLOATS = {"mos", "jitter_ms", "packet_loss_pct"}
_TIMES = {"started_at", "answered_at", "ended_at", "first_seen_at", "updated_at"}
_REQUIRED = ("id", "vendor", "call_id", "direction", "status", "caller_restricted", "extra", "sources",
             "first_seen_at", "updated_at")  # fmt: skip
# Webhook authentication scheme per check function, by name (receiver/auth.py).
_WEBHOOK_SECURITY = {
    "callr_hmac": ("callrSignature", {"type": "apiKey", "in": "header", "name": "X-CALLR-HmacSignature"}),
    "bearer": ("vendorBearer", {"type": "http", "scheme": "bearer"}),
    "vobiz_hmac": ("vobizSignature", {"type": "apiKey", "in": "header", "name": "X-Vobiz-Signature"}),
    "vobiz_v3": ("vobizSignatureV3", {"type": "apiKey", "in": "header", "name": "X-Vobiz-Signature-V3"}),
    "sinch_application": ("sinchApplication", {"type": "apiKey", "in": "header", "name": "Authorization"}),
    "url_token": ("urlToken", {"type": "apiKey", "in": "query", "name": "token"}),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _column(name: str) -> dict[str, Any]:
    if name in _INTS:
        kind: dict[str, Any] = {"type": "integer"}
    elif name in _FLOATS:
        kind = {"type": "number"}
    elif name in _TIMES:
        kind = {"type": "string", "format": "date-time"}
    elif name == "caller_restricted":
        kind = {"type": "boolean"}
    elif name == "extra":
        kind = {"type": "object"}
    elif name == "cost":
        kind = {"type": "string", "pattern": r"^-?\d+\.\d{6}$", "description": "decimal, major units"}
    elif name == "direction":
        kind = {"type": "string", "enum": [str(d) for d in Direction]}
    elif name == "status":
        kind = {"type": "string", "enum": [str(s) for s in Status]}
    else:
        kind = {"type": "string"}
    if name not in _REQUIRED:
        kind["type"] = [kind["type"], "null"]
        if "enum" in kind:
            kind["enum"] = [*kind["enum"], None]
    return kind


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {"description": "error", "content": {"application/json": {"schema": _ref("Error")}}} for s in statuses
    }


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: dict[str, Any], description: str, *, many: bool = False) -> dict[str, Any]:
    if many:
        schema = {"type": "array", "items": schema}
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description,
            "style": "form", "explode": True}  # fmt: skip


def _filters() -> list[dict[str, Any]]:
    # No NUL: PostgreSQL text cannot hold one, so the API refuses it (400).
    text = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\x00]+$"}
    number = text
    return [
        _query("vendor", text, "callr, vobiz, sinch, kazoo; repeat for several", many=True),
        _query("account", text, "vendor account id; repeat for several", many=True),
        _query("direction", {"type": "string", "enum": [str(d) for d in Direction]}, "repeat for several", many=True),
        _query("status", {"type": "string", "enum": [str(s) for s in Status]}, "repeat for several", many=True),
        _query("from_number", number, "exact (E.164, send + as %2B), or a prefix ending in *"),
        _query("to_number", number, "exact (E.164, send + as %2B), or a prefix ending in *"),
        _query("started_from", {"type": "string", "format": "date-time"}, "started_at at or after (ISO 8601)"),
        _query("started_to", {"type": "string", "format": "date-time"}, "started_at before (ISO 8601)"),
        _query("min_duration", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, "duration_s at least"),
    ]


def _webhook(route: Route) -> dict[str, Any]:
    scheme, _ = _WEBHOOK_SECURITY[route.check.__name__]
    bodies = {t: {"schema": {"type": "object"}} for t in sorted(route.content_types)}
    return {"post": {
        "summary": f"{route.feed} deliveries (404 until its secret is configured)",
        "operationId": "webhook_" + route.feed.replace(".", "_"),
        "security": [{scheme: []}],
        "requestBody": {"required": True, "content": bodies},
        "responses": _webhook_responses(route.accepted_status),
    }}  # fmt: skip


def _webhook_responses(accepted_status: int) -> dict[str, Any]:
    errors = _errors(400, 401, 404, 413, 415, 422, 429, 503)
    if accepted_status == 200:  # Kazoo counts only 200 as delivered (receiver/feeds.py)
        ok = {"oneOf": [_ref("Queued"), _ref("Ack")]}
        return {"200": _json(ok, "durably queued, duplicate, or an event that carries no CDR"), **errors}
    return {
        "202": _json(_ref("Queued"), "durably queued"),
        "200": _json(_ref("Ack"), "duplicate, or an event that carries no CDR"),
        **errors,
    }


def _read(operation_id: str, summary: str, params: list[dict[str, Any]], ok: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"operationId": operation_id, "summary": summary, "security": [{"readToken": []}],
                    "parameters": params, "responses": {"200": ok, **_errors(400, 401, 404, 503)}}}  # fmt: skip


def _schemas() -> dict[str, Any]:
    cdr = {"type": "object", "required": list(_REQUIRED), "properties": {c: _column(c) for c in LIST_COLUMNS}}
    duration = {"type": "object", "required": ["total", "avg"],
                "properties": {"total": {"type": "integer"}, "avg": {"type": ["string", "null"]}}}  # fmt: skip
    return {
        "Error": {"type": "object", "required": ["error", "detail"],
                  "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}},
        "Queued": {"type": "object", "required": ["status", "ingest_id"],
                   "properties": {"status": {"const": "queued"}, "ingest_id": {"type": "string"}}},
        "Ack": {"type": "object", "required": ["status"],
                "properties": {"status": {"enum": ["duplicate", "ignored"]}, "reason": {"type": "string"}}},
        "Cdr": cdr,
        "CdrWithRaw": {"allOf": [_ref("Cdr"), {"type": "object", "required": ["raw"],
                                               "properties": {"raw": {"type": "object"}}}]},
        "CdrPage": {"type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": _ref("Cdr")}, "next_cursor": {"type": ["string", "null"]}}},
        "Summary": {"type": "object", "required": ["total", "answered", "answer_rate", "duration_s", "talk_s",
                                                   "billed_s", "cost"], "properties": {
            "total": {"type": "integer"}, "answered": {"type": "integer"},
            "answer_rate": {"type": ["string", "null"]},
            "duration_s": duration, "talk_s": duration, "billed_s": duration,
            "cost": {"type": "object", "additionalProperties": {"type": "object", "required": ["total", "calls"],
                     "properties": {"total": {"type": "string"}, "calls": {"type": "integer"}}}}}},
    }  # fmt: skip


def document() -> dict[str, Any]:
    page = [
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "rows per page (default 100)"),
        _query("cursor", {"type": "string"}, "next_cursor of the previous page"),
    ]
    cdr_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[a-z]+:"},
              "description": "vendor:account:call_id[:leg]"}  # fmt: skip
    csv = {"description": "CSV; text cells that could run as a formula start with '", "content": {"text/csv": {}}}
    paths: dict[str, Any] = {r.path: _webhook(r) for r in ROUTES}
    paths |= {
        "/healthz": {"get": {"operationId": "healthz", "responses": {"200": _json({"type": "object"})}}},
        "/readyz": {"get": {"operationId": "readyz", "responses": {"200": _json({"type": "object"}),
                                                                    "503": _json({"type": "object"})}}},
        "/metrics": {"get": {"operationId": "metrics", "responses": {"200": {
            "description": "Prometheus text format", "content": {"text/plain": {}}}}}},
        "/cdrs": _read("list_cdrs", "CDRs in (started_at, id) order, a page at a time", _filters() + page,
                       _json(_ref("CdrPage"))),
        "/cdrs/summary": _read("summary", "totals over the selected CDRs", _filters(), _json(_ref("Summary"))),
        "/cdrs/export.csv": _read("export_csv", "every selected CDR as CSV, streamed", _filters(), csv),
        "/cdrs/{id}": _read("get_cdr", "one CDR with its raw payloads", [cdr_id], _json(_ref("CdrWithRaw"))),
    }  # fmt: skip
    schemes = {"readToken": {"type": "http", "scheme": "bearer"}} | dict(_WEBHOOK_SECURITY.values())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cdr-ingest",
            "version": "1",
            "description": "Receives CDRs from voice vendors; serves them.",
        },
        "paths": paths,
        "components": {"schemas": _schemas(), "securitySchemes": schemes},
    }
