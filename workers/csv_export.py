"""CSV for ``GET /cdrs/export.csv``: one header line, then rows, safe to open in a spreadsheet. Pure.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some also after a
tab or carriage return) as a formula. Every text cell that starts with one of those, or with
``'`` itself, gets a leading ``'``: a spreadsheet shows the text as it is, and a program gets the
exact value back by removing one leading ``'`` from any text cell that has one. So an E.164
number is written ``'+33612345678``. Numeric columns (durations, cost, quality) are written by
us from numbers and are never prefixed; a negative cost stays ``-0.500000``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from workers.store.reads import LIST_COLUMNS

COLUMNS = LIST_COLUMNS
NUMERIC = frozenset({
    "duration_s", "talk_s", "billed_s", "ring_s", "q850_cause", "sip_code", "cost", "mos", "jitter_ms",
    "packet_loss_pct",
})  # fmt: skip
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralize(text: str) -> str:
    """``'`` before a text cell a spreadsheet could take for a formula (or that starts with ``'``)."""
    return "'" + text if text.startswith(_TRIGGERS) else text


def cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if column in NUMERIC:
        return str(value)
    if not isinstance(value, str):
        value = orjson.dumps(value).decode()  # extra: a JSON object
    return neutralize(value)


def header() -> str:
    return _line(COLUMNS)


def lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """One CSV line (CRLF-terminated, quoted where needed) per public row."""
    for row in rows:
        yield _line(cell(c, row.get(c)) for c in COLUMNS)


def _line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()
