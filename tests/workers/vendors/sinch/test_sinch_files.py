"""Sinch daily files: lines typed by header or field count (bad ones kept whole), each call type and
the verification row against golden files, and the file row meeting the DiCE row of the call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import PAYLOADS
from tests.fakes.sinch_files import header, verification_line, voice_line
from tests.golden import RECEIVED_AT, check_golden, convert
from workers.errors import PayloadError
from workers.settings import Account
from workers.tables import MALFORMED, RAW
from workers.vendors import get_feed
from workers.vendors.sinch._layout import LAYOUTS, split_file

ACCOUNT = Account(vendor="sinch", id="669E367E-6BBA-48AB-AF15-266871C28135", region="SE")
AT = datetime(2023, 12, 29, 15, 0, tzinfo=UTC)
SINCH = PAYLOADS / "sinch"
VOICE = ["pstn_terminated", "phone_originated", "app_app", "sip_terminated"]


@pytest.mark.parametrize(
    ("feed", "name"),
    [("sinch.files", f"files_{kind}.json") for kind in VOICE]
    + [("sinch.verifications", "verification_flashcall.json"), ("sinch.verifications", "verification_sms_denied.json")],
)
def test_golden(feed: str, name: str) -> None:
    """Each file row (every call type, and verifications) converts to exactly its expected record."""
    check_golden(feed, SINCH / name, ACCOUNT)


@pytest.mark.parametrize("kind", VOICE)
def test_each_call_type_is_found_without_a_header(kind: str) -> None:
    """A header-less line is typed by its field count (10: by the To value) and split by its column list."""
    (line,) = split_file([voice_line(kind, "c1", AT)])
    assert line.kind == kind and list(line.row) == list(LAYOUTS[kind]) and line.row["CallId"] == "c1"


@pytest.mark.parametrize("kind", [*VOICE, "verification"])
def test_a_header_names_the_type_and_the_columns(kind: str) -> None:
    """With a header (any case) the rows are read by its names, and the file's type is the header's."""
    row = verification_line("v1", AT) if kind == "verification" else voice_line(kind, "c1", AT)
    (line,) = split_file([header(kind).upper() + "\r\n", row + "\r\n"])
    assert (line.kind, line.number, line.row[LAYOUTS[kind][0]]) == (kind, 2, "v1" if kind == "verification" else "c1")


def test_header_and_headerless_files_give_the_same_rows() -> None:
    """The same lines with and without a header row are the same rows."""
    rows = [voice_line("pstn_terminated", f"c{i}", AT) for i in range(3)]
    plain = [(x.kind, x.row) for x in split_file(rows)]
    headed = [(x.kind, x.row) for x in split_file([header("pstn_terminated"), *rows])]
    assert plain == headed and len(plain) == 3


def test_a_call_id_spelled_like_the_header_is_data() -> None:
    """A call whose id is the word callId (as in Sinch's own DiCE fixture) is a row, not a header."""
    (line,) = split_file([voice_line("app_app", "callId", AT)])
    assert (line.kind, line.row["CallId"]) == ("app_app", "callId")


def test_a_line_with_the_wrong_field_count_is_kept_whole() -> None:
    """A line with a stray ';' fits no layout: it is neither shifted into columns nor dropped."""
    bad = voice_line("phone_originated", "c2", AT, custom="a;b")  # 13 fields
    good, kept = split_file([voice_line("phone_originated", "c1", AT), bad])
    assert good.row["CallId"] == "c1"
    assert kept.malformed and kept.row == {MALFORMED: "13 fields, expected 15, 12, 10 or 16", RAW: bad}
    under_header = list(split_file([header("app_app"), voice_line("phone_originated", "c3", AT)]))
    assert under_header[0].malformed and "expected the header's 10" in under_header[0].row[MALFORMED]


def test_sixteen_fields_are_a_verification_only_with_a_method() -> None:
    """A 15-field call whose Custom holds ';' has 16 fields, but no method in third place: malformed."""
    call = voice_line("pstn_terminated", "c1", AT, custom="x;y")
    (line,) = split_file([call])
    assert line.malformed
    (verification,) = split_file([verification_line("v1", AT, method="sms")])
    assert verification.kind == "verification" and verification.row["CLI"] == ""


def test_quoted_custom_may_hold_semicolons() -> None:
    """A "-quoted field keeps its ';' and the row its 12 fields; a quote inside a field stays as is."""
    row = voice_line("phone_originated", "c1", AT, custom='"k=v;w"')
    (line,) = split_file([row])
    assert line.kind == "phone_originated" and line.row["Custom"] == "k=v;w"
    (line,) = split_file([voice_line("phone_originated", "c2", AT, custom='say "hi"')])
    assert line.row["Custom"] == 'say "hi"'


def test_file_row_meets_the_dice_row() -> None:
    """The file's CallId is DiCE's callid: same row id; the file brings the start, DiCE the end."""
    row = convert("sinch.files", SINCH / "files_pstn_terminated.json", ACCOUNT)
    dice = convert("sinch.dice", SINCH / "dice_sdk_fixture.json", ACCOUNT)
    assert row["id"] == dice["id"] == f"sinch:{ACCOUNT.id}:callId"
    assert (row["status"], row["direction"], row["hangup_source"]) == (dice["status"], dice["direction"], "system")
    assert row["started_at"] == "2023-12-29T15:07:06+00:00" and dice["ended_at"] == "2023-12-29T15:07:22+00:00"


def test_answer_time_that_is_not_a_time_stays_in_extra() -> None:
    """AnswerTime's format is unknown: a value that is not a time is kept, not guessed at."""
    payload = {"type": "pstn_terminated", "row": {"CallId": "c1", "AnswerTime": "4"}}
    feed = get_feed("sinch.files")
    cdr = feed.to_cdr(feed.parse(payload), account=ACCOUNT, received_at=RECEIVED_AT)  # type: ignore[arg-type]
    assert cdr.answered_at is None and cdr.extra["AnswerTime"] == "4"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("feed", "payload", "match"),
    [
        ("sinch.files", {"type": "pstn_terminated", "file": "f.csv", "line": 7,
                         "row": {MALFORMED: "13 fields, expected 15, 12, 10 or 16", RAW: "a;b;c"}}, "f.csv line 7"),
        ("sinch.files", {"type": "verification", "row": {"VerificationId": "v"}}, "body.type"),
        ("sinch.verifications", {"type": "app_app", "row": {"CallId": "c"}}, "body.type"),
        ("sinch.files", {"type": "app_app", "row": {"CallTime": "2023-12-29T15:00:00Z"}}, "CallId"),
        ("sinch.files", {"type": "app_app"}, "body.row"),
        ("sinch.verifications", {"type": "verification", "row": {"VerificationId": "v", "Amount": "x"}}, "Amount"),
    ],
)  # fmt: skip
def test_rows_that_cannot_be_read_are_refused(feed: str, payload: dict[str, object], match: str) -> None:
    """A malformed line (with where it was and its text), a row of the other feed, or a bad value: PayloadError."""
    f = get_feed(feed)
    with pytest.raises(PayloadError, match=match):
        f.to_cdr(f.parse(payload), account=ACCOUNT, received_at=RECEIVED_AT)  # type: ignore[arg-type]
