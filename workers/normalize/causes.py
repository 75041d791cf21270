"""Hangup causes: FreeSWITCH names ↔ codes, Q.850 range, ``sip:NNN`` values, cause → status. Pure.

Source: ``signalwire/freeswitch`` ``src/include/switch_types.h`` enum ``switch_call_cause_t``
(shared/vendors.md §5). Codes 1-127 are Q.850; ``SUCCESS`` (142) and 487 upward are FreeSWITCH's
own and never become ``q850_cause``.
"""

from __future__ import annotations

from workers.cdr import Status

FREESWITCH_CAUSES: dict[str, int] = {
    "NONE": 0, "UNALLOCATED_NUMBER": 1, "NO_ROUTE_TRANSIT_NET": 2, "NO_ROUTE_DESTINATION": 3,
    "CHANNEL_UNACCEPTABLE": 6, "CALL_AWARDED_DELIVERED": 7, "NORMAL_CLEARING": 16, "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18, "NO_ANSWER": 19, "SUBSCRIBER_ABSENT": 20, "CALL_REJECTED": 21,
    "NUMBER_CHANGED": 22, "REDIRECTION_TO_NEW_DESTINATION": 23, "EXCHANGE_ROUTING_ERROR": 25,
    "DESTINATION_OUT_OF_ORDER": 27, "INVALID_NUMBER_FORMAT": 28, "FACILITY_REJECTED": 29,
    "RESPONSE_TO_STATUS_ENQUIRY": 30, "NORMAL_UNSPECIFIED": 31, "NORMAL_CIRCUIT_CONGESTION": 34,
    "NETWORK_OUT_OF_ORDER": 38, "NORMAL_TEMPORARY_FAILURE": 41, "SWITCH_CONGESTION": 42,
    "ACCESS_INFO_DISCARDED": 43, "REQUESTED_CHAN_UNAVAIL": 44, "PRE_EMPTED": 45,
    "FACILITY_NOT_SUBSCRIBED": 50, "OUTGOING_CALL_BARRED": 52, "INCOMING_CALL_BARRED": 54,
    "BEARERCAPABILITY_NOTAUTH": 57, "BEARERCAPABILITY_NOTAVAIL": 58, "SERVICE_UNAVAILABLE": 63,
    "BEARERCAPABILITY_NOTIMPL": 65, "CHAN_NOT_IMPLEMENTED": 66, "FACILITY_NOT_IMPLEMENTED": 69,
    "SERVICE_NOT_IMPLEMENTED": 79, "INVALID_CALL_REFERENCE": 81, "INCOMPATIBLE_DESTINATION": 88,
    "INVALID_MSG_UNSPECIFIED": 95, "MANDATORY_IE_MISSING": 96, "MESSAGE_TYPE_NONEXIST": 97,
    "WRONG_MESSAGE": 98, "IE_NONEXIST": 99, "INVALID_IE_CONTENTS": 100, "WRONG_CALL_STATE": 101,
    "RECOVERY_ON_TIMER_EXPIRE": 102, "MANDATORY_IE_LENGTH_ERROR": 103, "PROTOCOL_ERROR": 111,
    "INTERWORKING": 127, "SUCCESS": 142, "ORIGINATOR_CANCEL": 487, "CRASH": 500,
    "SYSTEM_SHUTDOWN": 501, "LOSE_RACE": 502, "MANAGER_REQUEST": 503, "BLIND_TRANSFER": 600,
    "ATTENDED_TRANSFER": 601, "ALLOTTED_TIMEOUT": 602, "USER_CHALLENGE": 603, "MEDIA_TIMEOUT": 604,
    "PICKED_OFF": 605, "USER_NOT_REGISTERED": 606, "PROGRESS_TIMEOUT": 607, "INVALID_GATEWAY": 608,
    "GATEWAY_DOWN": 609, "INVALID_URL": 610, "INVALID_PROFILE": 611, "NO_PICKUP": 612,
    "SRTP_READ_ERROR": 613, "BOWOUT": 614, "BUSY_EVERYWHERE": 615, "DECLINE": 616,
    "DOES_NOT_EXIST_ANYWHERE": 617, "NOT_ACCEPTABLE": 618, "UNWANTED": 619, "NO_IDENTITY": 620,
    "BAD_IDENTITY_INFO": 621, "UNSUPPORTED_CERTIFICATE": 622, "INVALID_IDENTITY": 623,
    "STALE_DATE": 624,
}  # fmt: skip

_BUSY = {17}
_NO_ANSWER = {18, 19, 20}
_REJECTED = {21}
# Causes that end an unanswered call without any party refusing it: the call failed.
_FAILED = {1, 2, 3, 6, 22, 25, 27, 28, 29, 34, 38, 41, 42, 43, 44, 47, 50, 52, 54, 57, 58, 63, 65, 66, 69}
_FAILED |= {79, 81, 88, 95, 96, 97, 98, 99, 100, 101, 102, 103, 111, 127}
# FreeSWITCH internal causes with a clear meaning for an unanswered call.
_INTERNAL_STATUS = {
    487: Status.CANCELLED,  # ORIGINATOR_CANCEL
    602: Status.NO_ANSWER,  # ALLOTTED_TIMEOUT
    607: Status.NO_ANSWER,  # PROGRESS_TIMEOUT
    612: Status.NO_ANSWER,  # NO_PICKUP
    615: Status.BUSY,  # BUSY_EVERYWHERE
    616: Status.REJECTED,  # DECLINE
    606: Status.FAILED,  # USER_NOT_REGISTERED
    608: Status.FAILED,  # INVALID_GATEWAY
    609: Status.FAILED,  # GATEWAY_DOWN
    617: Status.FAILED,  # DOES_NOT_EXIST_ANYWHERE
}


def cause_code(value: str | int | None) -> int | None:
    """A cause name (``NORMAL_CLEARING``) or number (``16``, ``"16"``) → its numeric code."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.isdigit():
        return int(text)
    return FREESWITCH_CAUSES.get(text.upper())


def q850(value: str | int | None) -> int | None:
    """The Q.850 cause (1-127) of a cause name or number; None for internal or unknown causes."""
    code = cause_code(value)
    return code if code is not None and 1 <= code <= 127 else None


def sip_code(value: str | int | None) -> int | None:
    """``sip:200`` (or ``200``) → 200; anything that is not a SIP status → None."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip().lower().removeprefix("sip:")
    if text.isdigit() and 100 <= int(text) <= 699:
        return int(text)
    return None


def status_from_cause(code: int | None, *, answered: bool) -> Status:
    """The call status a hangup cause implies. An answered call is answered whatever ended it."""
    if answered:
        return Status.ANSWERED
    if code is None:
        return Status.UNKNOWN
    if code in _BUSY:
        return Status.BUSY
    if code in _NO_ANSWER:
        return Status.NO_ANSWER
    if code in _REJECTED:
        return Status.REJECTED
    if code in _FAILED:
        return Status.FAILED
    return _INTERNAL_STATUS.get(code, Status.UNKNOWN)
