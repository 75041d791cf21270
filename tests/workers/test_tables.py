"""Downloaded tables → rows: CSV with a header (any usual delimiter), JSON lists, zip and gzip."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from workers.errors import PayloadError
from workers.tables import MALFORMED, RAW, check_row, rows_from_bytes

CSV = 'callid,callerName,billingDebit\r\n1,"Dupont, Jean",0.50\r\n2,,\r\n'


def test_csv_with_header_and_quoted_commas() -> None:
    """Columns come from the header; a quoted comma stays inside its field."""
    assert rows_from_bytes(CSV.encode(), "text/csv") == [
        {"callid": "1", "callerName": "Dupont, Jean", "billingDebit": "0.50"},
        {"callid": "2", "callerName": "", "billingDebit": ""},
    ]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_delimiters_are_recognised(delimiter: str) -> None:
    """The delimiter is read off the header line."""
    text = f"callid{delimiter}callee\n7{delimiter}+33199001234\n"
    assert rows_from_bytes(text.encode()) == [{"callid": "7", "callee": "+33199001234"}]


def test_a_row_with_the_wrong_field_count_is_marked_not_shifted() -> None:
    """A short or long row is kept whole and marked, so its feed refuses it and it is quarantined."""
    rows = rows_from_bytes(b"a,b,c\n1,2,3\n1,2\n1,2,3,4\n")
    assert rows[0] == {"a": "1", "b": "2", "c": "3"}
    assert rows[1] == {MALFORMED: "expected 3 fields, got 2", RAW: "1,2"}
    assert rows[2][MALFORMED] == "expected 3 fields, got 4"
    with pytest.raises(PayloadError, match="got 4"):
        check_row(rows[2], "row")


@pytest.mark.parametrize(
    "body",
    [
        b'[{"callid": 1}]',
        b'{"data": [{"callid": 1}]}',
        b'{"result": {"rows": [{"callid": 1}]}}',
        b'\xef\xbb\xbf[{"callid": 1}]',
    ],
)
def test_json_list_bare_or_wrapped(body: bytes) -> None:
    """A JSON list of rows, also under a usual key one or two levels down, BOM or not."""
    assert rows_from_bytes(body, "application/json") == [{"callid": 1}]


def test_zip_and_gzip_are_unpacked() -> None:
    """A zipped or gzipped export is read like the file inside."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export/", "")
        archive.writestr("export/calls.csv", CSV)
    assert len(rows_from_bytes(buffer.getvalue())) == 2
    assert len(rows_from_bytes(gzip.compress(CSV.encode()))) == 2


@pytest.mark.parametrize("body", [b"[1, 2", b'{"status": "done"}', b"\xff\xfe\x00garbage"])
def test_unreadable_tables_raise(body: bytes) -> None:
    """Broken JSON, an object without rows, or bytes that are not text raise PayloadError."""
    with pytest.raises(PayloadError):
        rows_from_bytes(body)


def test_empty_body_has_no_rows() -> None:
    """An empty export (no header even) is zero rows, not an error."""
    assert rows_from_bytes(b"") == [] and rows_from_bytes(b"callid,callee\r\n") == []
