"""Sinch daily CDR files: the column lists and how a line becomes a row of one of them. Pure.

Source: shared/vendors.md §4.1 (sinch/docs ``docs/voice/voice-rest-api/voice-rest-api-cdr.md`` and
``docs/verification/verification-rest-api/verification-rest-call-detail-records.md``): one
semicolon-separated file per UTC day; the documented field order of each call type (taken as the
column order) and of the verification file.

UNKNOWN, and decided here:
- whether a file has a header row: a line starting ``CallId;UserSpaceId`` or
  ``VerificationId;UserSpaceId`` (any case) is a header, and the rows after it are read by its
  column names (a known column list names the call type; other headers are read as they are,
  call type ``unknown``);
- how call types are separated (a file per type, or mixed): without a header each row is typed by
  its field count: 15 phone-terminated, 12 phone-originated, 16 verification (only when its third
  field is a verification method, since a ``;`` inside a 15-field row's ``Custom`` also makes 16),
  10 app-to-app or SIP-terminated. Those two have the same count and order; they are told apart by
  ``To``: a SIP address (``sip:`` or an ``@``) is SIP-terminated, anything else an app user id;
- quoting and the escaping of ``;`` inside ``Custom``: each line is read alone as CSV with ``;``
  (a ``"``-quoted field may hold ``;``; a quote inside a field stays as it is), so no line can
  swallow the next;
- every other line with a field count that fits no layout (and a row whose count differs from its
  header's) is kept whole as malformed (``workers.tables.MALFORMED``/``RAW``): never shifted, never
  dropped; the feed refuses it and the worker quarantines it with its text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from workers.tables import MALFORMED, RAW

_CALL = ("CallId", "UserSpaceId", "CallTime", "Result", "Reason", "Duration")
LAYOUTS: dict[str, tuple[str, ...]] = {
    "pstn_terminated": (*_CALL, "AnswerTime", "From", "To", "Amount", "Currency", "Custom", "ApplicationKey",
                        "UserId", "ToCountryId"),
    "phone_originated": (*_CALL, "From", "To", "Amount", "Currency", "Custom", "ApplicationKey"),
    "app_app": (*_CALL, "FromUserId", "ToUserId", "Custom", "ApplicationKey"),
    "sip_terminated": (*_CALL, "From", "To", "Custom", "ApplicationKey"),
    "verification": ("VerificationId", "UserSpaceId", "Method", "StartTimestamp", "EndTimestamp", "Result", "Reason",
                     "CLI", "IdentityType", "IdentityEndpoint", "Country", "Reference", "Custom", "ApplicationKey",
                     "Amount", "Currency"),
}  # fmt: skip
VOICE_TYPES = frozenset({"pstn_terminated", "phone_originated", "app_app", "sip_terminated", "unknown"})
METHODS = frozenset({"flashcall", "sms", "callout", "seamless"})
_NAMES = {name.lower(): name for columns in LAYOUTS.values() for name in columns}
_BY_COLUMNS = {columns: kind for kind, columns in LAYOUTS.items()}


@dataclass(frozen=True)
class Line:
    """One data line of a file: its layout (``verification``, a voice type or ``unknown``), its
    1-based line number, and its columns (or ``MALFORMED``/``RAW`` when it fits none)."""

    kind: str
    number: int
    row: dict[str, Any]

    @property
    def malformed(self) -> bool:
        return MALFORMED in self.row


def fields_of(text: str) -> list[str]:
    try:
        return next(csv.reader([text], delimiter=";"), [])
    except csv.Error:  # a stray carriage return inside the line: split plainly, the count decides
        return text.split(";")


def split_file(lines: Iterable[str]) -> Iterator[Line]:
    """The data lines of one file, each typed and split (see the module docstring)."""
    header: tuple[str, ...] | None = None
    kind = "unknown"
    for number, text in enumerate(lines, 1):
        text = text.rstrip("\r\n")
        if not text.strip():
            continue
        fields = fields_of(text)
        if is_header(fields):
            header = tuple(_NAMES.get(f.strip().lower(), f.strip()) for f in fields)
            kind = _BY_COLUMNS.get(header) or ("verification" if "VerificationId" in header else "unknown")
            continue
        if header is not None:
            found = kind if len(fields) == len(header) else None
            columns = header
        else:
            found = by_count(fields)
            columns = LAYOUTS.get(found or "", ())
        if found is None:
            expected = f"the header's {len(header)}" if header else "15, 12, 10 or 16"
            reason = f"{len(fields)} fields, expected {expected}"
            yield Line(kind if header else "unknown", number, {MALFORMED: reason, RAW: text})
        else:
            yield Line(found, number, dict(zip(columns, fields, strict=True)))


def is_header(fields: list[str]) -> bool:
    """``CallId;UserSpaceId;...`` or ``VerificationId;UserSpaceId;...`` (any case): a call id may
    itself be the word ``callId``, so the second name is checked too."""
    names = [f.strip().lower() for f in fields[:2]]
    return len(names) == 2 and names[0] in ("callid", "verificationid") and names[1] == "userspaceid"


def by_count(fields: list[str]) -> str | None:
    """The layout of a header-less row, by its field count (None: no layout fits)."""
    n = len(fields)
    if n == 15:
        return "pstn_terminated"
    if n == 12:
        return "phone_originated"
    if n == 16:
        return "verification" if fields[2].strip().lower() in METHODS else None
    if n == 10:
        to = fields[7].strip().lower()
        return "sip_terminated" if to.startswith(("sip:", "sips:")) or "@" in to else "app_app"
    return None
