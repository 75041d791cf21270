"""Sinch daily CDR file lines (vendors.md §4.1 column orders), for tests and the benchmark. No public
sample of a real file exists (vendors.md §6): these follow the documented columns and vocabularies."""

from __future__ import annotations

from datetime import datetime, timedelta

from workers.vendors.sinch._layout import LAYOUTS

APP_KEY = "669E367E-6BBA-48AB-AF15-266871C28135"  # tests.conftest.SINCH_KEY
SPACE = "us-space-1"


def header(kind: str) -> str:
    return ";".join(LAYOUTS[kind])


def _t(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def voice_line(kind: str, call_id: str, at: datetime, *, result: str = "ANSWERED", reason: str = "CALLERHANGUP",
               amount: str = "0.0250", app: str = APP_KEY, custom: str = "") -> str:  # fmt: skip
    """One row of a voice call type, in its documented column order."""
    common = [call_id, SPACE, _t(at), result, reason, "42"]
    answered = _t(at + timedelta(seconds=4)) if result == "ANSWERED" else ""
    tail = {
        "pstn_terminated": [answered, "+46700000001", "+46700000002", amount, "EUR", custom, app, "alice", "SE"],
        "phone_originated": ["+46700000003", "+46812345678", amount, "EUR", custom, app],
        "app_app": ["alice", "bob", custom, app],
        "sip_terminated": ["+46700000001", "sip:bob@pbx.example.com", custom, app],
    }[kind]
    return ";".join(common + tail)


def verification_line(verification_id: str, at: datetime, *, method: str = "flashCall", result: str = "SUCCESSFUL",
                      app: str = APP_KEY) -> str:  # fmt: skip
    cli = "" if method == "sms" else "+46700000009"
    return ";".join([verification_id, SPACE, method, _t(at), _t(at + timedelta(seconds=9)), result, "",
                     cli, "number", "+46701234567", "SE", "ref-1", "", app, "0.0060", "EUR"])  # fmt: skip
