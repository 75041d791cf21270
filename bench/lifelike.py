"""Benchmark data that costs what real data costs.

The fakes' calls all share two phone numbers, and a Callr call starts, is answered and ends at one
instant: every cached normalization (E.164 through phonenumbers, time text) would always hit. In a
real export or webhook stream nearly every call has another outside party (the caller of an inbound
call, the callee of an outbound one; the account's own numbers repeat) and times of its own. Here
every call gets its own party: the worst case for the workers' number cache.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

RING_S, TALK_S = 5, 11
_V2_TIME, _V1_TIME = "%Y-%m-%dT%H:%M:%S.000Z", "%Y-%m-%d %H:%M:%S"


def other_party(n: int, prefix: str = "+336") -> str:
    """A distinct, possible number per call: ``prefix`` and 8 digits."""
    return f"{prefix}{10_000_000 + n:08d}"


def lifelike_v2(call: dict[str, Any], n: int) -> dict[str, Any]:
    """A fake v2 CDR object with its own outside party, answered after RING_S, TALK_S long."""
    at = _offsets(datetime.strptime(call["started"], _V2_TIME), _V2_TIME)
    party = "callerNumber" if call["direction"] == "inbound" else "callee"
    return call | {party: other_party(n), "answered": at(RING_S), "ended": at(RING_S + TALK_S),
                   "durationTotal": RING_S + TALK_S, "durationAnswered": TALK_S}  # fmt: skip


def lifelike_v1(cdr: dict[str, Any], n: int) -> dict[str, Any]:
    """The same for a fake v1 ``CDR.In``/``CDR.Out``."""
    at = _offsets(datetime.strptime(cdr["start"], _V1_TIME), _V1_TIME)
    party = "number" if "number" in cdr else "cli_number"
    return cdr | {party: other_party(n), "answer": at(RING_S), "hangup": at(RING_S + TALK_S),
                  "duration": RING_S + TALK_S, "duration_answered": TALK_S}  # fmt: skip


def lifelike_vobiz(cdr: dict[str, Any], n: int) -> dict[str, Any]:
    """A fake Vobiz CDR with its own outside party; its times are its own already."""
    party = "destination_number" if cdr["call_direction"] == "outbound" else "caller_id_number"
    return cdr | {party: other_party(n, "+9198")}


def lifelike_kazoo(row: dict[str, Any], n: int) -> dict[str, Any]:
    """A fake Kazoo ``/cdrs`` row (an inbound leg) with its own caller; its times are its own already."""
    caller = other_party(n, "+155")
    return row | {"caller_id_number": caller, "calling_from": caller, "from": f"{caller}@matrix.test.com"}


def lifelike_sinch(line: str, n: int) -> str:
    """A fake Sinch ``pstn_terminated`` line with its own callee; its times are its own already."""
    return line.replace(";+46700000002;", f";{other_party(n, '+467')};", 1)


def _offsets(start: datetime, fmt: str) -> Any:
    return lambda seconds: (start + timedelta(seconds=seconds)).strftime(fmt)
