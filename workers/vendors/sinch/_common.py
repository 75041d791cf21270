"""Sinch call outcome vocabulary, shared by the DiCE callback and the daily CDR files. Pure.

Sources: shared/vendors.md §4 (the DiCE reference on sinch.redocly.app and the CDR file tables of
sinch/docs ``docs/voice/voice-rest-api/voice-rest-api-cdr.md``). ``result`` says how the call
ended, ``reason`` why; ``reason`` is Sinch's own cause, never a Q.850 code.
"""

from __future__ import annotations

from workers.cdr import HangupSource, Status

VENDOR = "sinch"

_RESULTS = {
    "ANSWERED": Status.ANSWERED,
    "BUSY": Status.BUSY,
    "NOANSWER": Status.NO_ANSWER,
    "FAILED": Status.FAILED,
}
# Used when the result says nothing (N/A, absent). BLOCKED is Sinch refusing the call, not the callee.
_REASONS = {
    "CANCEL": Status.CANCELLED,
    "TIMEOUT": Status.NO_ANSWER,
    "BLOCKED": Status.FAILED,
    "CONGESTION": Status.FAILED,
    "GENERALERROR": Status.FAILED,
    "NOCREDITPARTNER": Status.FAILED,
    "USERNOTFOUND": Status.FAILED,
    "CLIENTNETWORK": Status.FAILED,
    "CALLBACKERROR": Status.FAILED,
}
_SOURCES = {
    "CALLERHANGUP": HangupSource.CALLER,
    "CALLEEHANGUP": HangupSource.CALLEE,
    "MANAGERHANGUP": HangupSource.SYSTEM,  # the application hung up (SVAML hangup or the REST API)
}


def status(result: str | None, reason: str | None) -> Status:
    """ANSWERED wins; an unanswered call the caller gave up on (reason CANCEL) is cancelled, even
    when the result says NOANSWER (schema.md: Sinch reason CANCEL → cancelled); else the result,
    else the reason."""
    by_result = _RESULTS.get((result or "").strip().upper())
    cause = (reason or "").strip().upper()
    if by_result is Status.ANSWERED:
        return by_result
    if cause == "CANCEL":
        return Status.CANCELLED
    return by_result or _REASONS.get(cause, Status.UNKNOWN)


def hangup_source(reason: str | None) -> HangupSource | None:
    return _SOURCES.get((reason or "").strip().upper())
