"""Downloaded tables (vendor exports) → rows: CSV with a header or a JSON list, maybe zipped. Pure.

Shared by the poller sources (which split a download into rows) and the backfill feeds (which
refuse a malformed row). A CSV row whose field count differs from the header is never shifted and
never dropped: it becomes a row holding only ``MALFORMED`` (the reason) and ``RAW`` (its text), so
the feed raises ``PayloadError`` on it and the worker quarantines it with the raw line kept.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from collections.abc import Mapping
from typing import Any

import orjson

from workers.bodies import JSON, media_type
from workers.errors import PayloadError

MALFORMED = "_cdr_ingest_malformed"
RAW = "_cdr_ingest_raw"
# Keys under which a JSON object may wrap its list of rows, tried in this order.
ROW_KEYS = ("data", "rows", "result", "results", "records", "items", "hits", "calls", "cdrs")


def unpack(content: bytes) -> bytes:
    """A zip (first file in it) or gzip body → its bytes; anything else unchanged."""
    if content.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            if not names:
                raise PayloadError("the zip file is empty", malformed=True)
            return archive.read(names[0])
    if content.startswith(b"\x1f\x8b"):
        return gzip.decompress(content)
    return content


def rows_from_bytes(content: bytes, content_type: str | None = None) -> list[dict[str, Any]]:
    """A downloaded table → its rows. JSON when the type says so or the text opens with ``[``/``{``."""
    try:
        text = unpack(content).decode("utf-8-sig")
    except (UnicodeDecodeError, zipfile.BadZipFile, OSError, EOFError) as e:
        raise PayloadError(f"the table is not UTF-8 text, zip or gzip: {e}", malformed=True) from None
    head = text.lstrip()[:1]
    if media_type(content_type) == JSON or head in ("[", "{"):
        return rows_from_json(text)
    return rows_from_csv(text)


def rows_from_json(text: str) -> list[dict[str, Any]]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise PayloadError(f"the table is not valid JSON: {e}", malformed=True) from None
    rows = json_rows(value)
    if rows is None:
        raise PayloadError("the JSON table is neither a list of rows nor an object holding one", malformed=True)
    return rows


def json_rows(value: Any, depth: int = 2) -> list[dict[str, Any]] | None:
    """A JSON list of objects, or the first such list under one of ``ROW_KEYS`` (two levels deep)."""
    if isinstance(value, list):
        return [r if isinstance(r, dict) else {MALFORMED: "a row is not an object", RAW: repr(r)} for r in value]
    if isinstance(value, Mapping) and depth > 0:
        for key in ROW_KEYS:
            rows = json_rows(value.get(key), depth - 1)
            if rows is not None:
                return rows
    return None


def rows_from_csv(text: str) -> list[dict[str, Any]]:
    """CSV with a header row; the delimiter (``,`` ``;`` or tab) is read off the header line."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return []
    try:
        delimiter = csv.Sniffer().sniff(lines[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    rows: list[dict[str, Any]] = []
    for fields in reader:
        if not fields or fields == [""]:
            continue
        if len(fields) != len(header):
            raw = delimiter.join(fields)
            rows.append({MALFORMED: f"expected {len(header)} fields, got {len(fields)}", RAW: raw})
            continue
        rows.append(dict(zip(header, fields, strict=True)))
    return rows


def check_row(row: Mapping[str, Any], where: str) -> None:
    """Raise ``PayloadError`` for a row the table reader marked malformed."""
    if MALFORMED in row:
        raise PayloadError(f"{where}: {row[MALFORMED]}: {str(row.get(RAW, ''))[:500]!r}")
