"""Phone numbers to E.164 with ``phonenumbers``. Pure.

A value that is a phone number becomes ``+<digits>``; a SIP URI, a user id or anything else that
is not a number is kept as it came; an empty value becomes ``None``. A number written without
``+`` is only read as national when the account has a default region, unless the vendor documents
that its numbers carry the country code without ``+`` (``international=True``, Plivo-style).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

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
    """E.164 for ``number`` (read in ``region`` when it carries no country code), or None."""
    if region is None and (as_written := _as_written(number)) is not None:
        return number if as_written else None
    formatted = _parsed(number, region)
    if formatted is None or formatted == number or _stable(formatted):
        return formatted
    return None


def _parsed(number: str, region: str | None) -> str | None:
    """What ``phonenumbers`` alone makes of ``number``: E.164, or None when it is no possible number."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _as_written(number: str) -> bool | None:
    """What ``phonenumbers`` would make of ``+<digits>`` without its parser (~20 µs, most of a
    worker's time for a call with a party not seen before), where that is certain: True when it
    would keep the number as written, False when it is no possible number; None (parse it) when the
    digits after the country code start with 0 or match the country's national prefix for parsing
    (``phonenumbers`` might strip it), or there is no country code. The same metadata, the same
    length check (``_possible_lengths``); ``test_numbers.py`` holds it equal to ``_parsed`` over
    drawn numbers."""
    digits = number[1:]
    if number[:1] != "+" or not (digits.isascii() and digits.isdigit()) or digits[0] == "0":
        return None
    for length in (1, 2, 3):  # the first prefix that is a country code is the one
        country_code = int(digits[:length])
        if country_code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            continue
        national = digits[length:]
        prefix = _national_prefix(country_code)
        if not national or national[0] == "0" or (prefix is not None and prefix.match(national)):
            return None
        return len(national) in _possible_lengths(country_code)
    return None


@cache  # one entry per country code (215)
def _possible_lengths(country_code: int) -> frozenset[int]:
    """The lengths of a national number (no leading 0) that ``phonenumbers.is_possible_number``
    accepts after ``country_code``, asked of it once per length: its verdict for such a number is
    its length against the country's metadata, nothing else (~2.4 µs a number, asked each time)."""
    return frozenset(
        n
        for n in range(1, 18)  # E.164 allows 15 digits in all; phonenumbers reads up to 17
        if phonenumbers.is_possible_number(
            phonenumbers.PhoneNumber(country_code=country_code, national_number=int("1" * n))
        )
    )


@cache  # one entry per country code (215)
def _national_prefix(country_code: int) -> re.Pattern[str] | None:
    """The national prefix pattern ``phonenumbers.parse`` strips after ``country_code`` (None: none)."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    pattern = metadata.national_prefix_for_parsing if metadata is not None else None
    return re.compile(pattern) if pattern else None


def _stable(e164: str) -> bool:
    """Whether ``e164`` reads back as itself. ``phonenumbers`` drops a national prefix written after
    the country code (``+44 (0)20…`` → ``+4420…``), and on some digit runs it drops one on every
    pass (``+310000000`` → ``+31000000`` → ``+3100000``): such a result is no number to store,
    and normalizing twice must not change it. Asked only when formatting changed the digits (a
    number read in its region's national format, mostly); without the parser when that is sure."""
    return bool(_as_written(e164)) or _parsed(e164, None) == e164


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
