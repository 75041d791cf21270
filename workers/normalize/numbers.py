"""Phone numbers to E.164 with ``phonenumbers``. Pure.

A value that is a phone number becomes ``+<digits>``; a SIP URI, a user id or anything else that
is not a number is kept as it came; an empty value becomes ``None``. A number written without
``+`` is only read as national when the account has a default region.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

_SEPARATORS = str.maketrans("", "", " -.()/\t")


def to_e164(raw: str | int | None, region: str | None = None) -> str | None:
    if raw is None:
        return None
    return _to_e164(str(raw), region)


@lru_cache(maxsize=65536)  # DIDs and frequent callers repeat; phonenumbers.parse is the costly part
def _to_e164(raw: str, region: str | None) -> str | None:
    text = raw.strip()
    if not text:
        return None
    if "@" in text or ":" in text or any(c.isalpha() for c in text):
        return text  # SIP URI, user id, "anonymous": not a number, kept raw
    compact = text.translate(_SEPARATORS)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not compact.lstrip("+").isdigit():
        return text
    if compact.startswith("+"):
        return _format(compact, None) or text
    if region:
        return _format(compact, region.upper()) or text
    return text


def _format(number: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
