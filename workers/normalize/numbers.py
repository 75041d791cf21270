"""Phone numbers to E.164 with ``phonenumbers``. Pure.

A value that is a phone number becomes ``+<digits>``; a SIP URI, a user id or anything else that
is not a number is kept as it came; an empty value becomes ``None``. A number written without
``+`` is only read as national when the account has a default region, unless the vendor documents
that its numbers carry the country code without ``+`` (``international=True``, Plivo-style).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Literal

import phonenumbers

_SEPARATORS = str.maketrans("", "", " -.()/\t")


def to_e164(raw: str | int | None, region: str | None = None, *, international: bool = False) -> str | None:
    """E.164 for a phone number; with ``international``, ``14155550100`` is read as ``+14155550100``
    (a number starting with 0 is national whatever the vendor says, and falls back to ``region``)."""
    if raw is None:
        return None
    return _to_e164(str(raw), region, international)


@lru_cache(maxsize=65536)  # DIDs and frequent callers repeat; phonenumbers.parse is the costly part
def _to_e164(raw: str, region: str | None, international: bool) -> str | None:
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
    if international and not compact.startswith("0"):
        formatted = _format("+" + compact, None)
        if formatted:
            return formatted
    if region:
        return _format(compact, region.upper()) or text
    return text


def _format(number: str, region: str | None) -> str | None:
    if region is None and (as_written := _as_written(number)) is not None:
        return number if as_written else None
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if formatted != number and not _stable(formatted):
        return None
    return formatted


def _as_written(number: str) -> bool | None:
    """What ``phonenumbers`` would make of ``+<digits>`` without its parser (~20 µs, most of a
    worker's time for a call with a party not seen before), where that is certain: True when it
    would keep the number as written, False when it is no possible number; None (parse it) when the
    digits after the country code start with 0 or match the country's national prefix for parsing
    (``phonenumbers`` might strip it), or there is no country code. The same metadata, the same
    length check; ``test_numbers.py`` holds the two ways equal over drawn numbers."""
    digits = number[1:]
    if number[:1] != "+" or not (digits.isascii() and digits.isdigit()) or digits[0] == "0":
        return None
    for length in (1, 2, 3):  # the first prefix that is a country code is the one
        prefix_pattern = _national_prefix(int(digits[:length]))
        if prefix_pattern is None:
            continue
        national = digits[length:]
        if not national or national[0] == "0" or (prefix_pattern and prefix_pattern.match(national)):
            return None
        return phonenumbers.is_possible_number(
            phonenumbers.PhoneNumber(country_code=int(digits[:length]), national_number=int(national))
        )
    return None


@cache  # one entry per 1-3 digit prefix: at most 999
def _national_prefix(country_code: int) -> re.Pattern[str] | Literal[""] | None:
    """The national prefix pattern ``phonenumbers.parse`` strips for ``country_code`` ("" when it
    strips none); None when the country code does not exist."""
    if country_code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        return None
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    pattern = metadata.national_prefix_for_parsing if metadata is not None else None
    return re.compile(pattern) if pattern else ""


def _stable(e164: str) -> bool:
    """Whether ``e164`` reads back as itself. ``phonenumbers`` drops a national prefix written after
    the country code (``+44 (0)20…`` → ``+4420…``), and on some digit runs it drops one on every
    pass (``+310000000`` → ``+31000000`` → ``+3100000``): such a result is no number to store,
    and normalizing twice must not change it. Checked only when formatting changed the digits
    (a number read in its region's national format, mostly): without the parser when that is sure."""
    if _as_written(e164):
        return True
    try:
        again = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.format_number(again, phonenumbers.PhoneNumberFormat.E164) == e164


def sip_user(value: str | None) -> str | None:
    """The user part of a SIP address: ``sip:+1555@host;x=y`` or ``+1555@host`` → ``+1555``;
    a value without ``@`` is returned as it came; empty → None."""
    if value is None:
        return None
    text = value.strip()
    if "@" in text:
        text = text.split("@", 1)[0]
        text = text.split(":", 1)[1] if text.lower().startswith(("sip:", "sips:", "tel:")) else text
    return text.strip() or None
