"""The Sinch files source from a directory and from S3 (moto on 127.0.0.1): every call type and the
verification file, with or without a header, other applications' rows, gzip, which files a window
reads, files remembered in the checkpoint state, a late file picked up, refusals."""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.fakes.sinch_files import header, verification_line, voice_line
from tests.workers.poller.conftest import Clock, Queue, S3Bucket
from workers.poller.http import HttpClient, SourceStopped
from workers.poller.loop import Poller
from workers.poller.sources import Memory, Page
from workers.poller.sources import _files as files_module
from workers.poller.sources.sinch import FILES, file_day, selected
from workers.settings import Account, Settings
from workers.store import SqlStore

DAY = datetime(2023, 12, 29, tzinfo=UTC)
KINDS = ["pstn_terminated", "phone_originated", "app_app", "sip_terminated"]


def day_files() -> dict[str, str]:
    """One day's files: a voice file with a header, a mixed one without, a verification file."""
    at = DAY + timedelta(hours=9)
    headed = [header("pstn_terminated"), *(voice_line("pstn_terminated", f"p{i}", at) for i in range(3))]
    mixed = [voice_line(kind, f"{kind}-1", at) for kind in KINDS]
    verifications = [verification_line("v1", at), verification_line("v2", at, method="sms", result="FAIL")]
    return {
        "voice/cdr-2023-12-29.csv": "\r\n".join(headed) + "\r\n",
        "voice/mixed_20231229.txt": "\n".join(mixed),
        "verification/2023-12-29.csv": "\n".join(verifications),
    }


def write(root: Path, name: str, text: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def summary(pages: list[Page]) -> list[tuple[str | None, str, str]]:
    """(feed, type, first column) of every row fetched."""
    return [(p.feed, r["type"], next(iter(r["row"].values()))) for p in pages for r in p.rows]


@pytest.fixture
def account(make_settings: Callable[..., Settings], poller_env: dict[str, str]) -> Account:
    return make_settings(**poller_env).accounts_for("sinch")[0]


EXPECTED = sorted(
    [("sinch.files", "pstn_terminated", f"p{i}") for i in range(3)]
    + [("sinch.files", kind, f"{kind}-1") for kind in KINDS]
    + [("sinch.verifications", "verification", v) for v in ("v1", "v2")]
)


def test_directory_every_type_with_or_without_a_header(sinch_dir: Path, account: Account, client: HttpClient) -> None:
    """A backfill window of the files' day reads all three files: each row typed and sent to its feed."""
    for name, text in day_files().items():
        write(sinch_dir, name, text)
    pages = list(FILES.fetch(account, DAY, DAY + timedelta(days=1), client, Memory()))
    assert sorted(summary(pages)) == EXPECTED
    assert all(len({r["type"] == "verification" for r in p.rows}) == 1 for p in pages)  # one feed per job


def test_s3_reads_the_same_rows(
    s3_bucket: S3Bucket, make_settings: Callable[..., Settings], poller_env: dict[str, str], client: HttpClient
) -> None:
    """The same files under s3://bucket/sinch/ (moto on 127.0.0.1): the same rows; other prefixes ignored."""
    for name, text in day_files().items():
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=f"sinch/{name}", Body=text.encode())
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="other/2023-12-29.csv", Body=b"x;y")
    (account,) = make_settings(**(poller_env | s3_bucket.env())).accounts_for("sinch")
    pages = list(FILES.fetch(account, DAY, DAY + timedelta(days=1), client, Memory()))
    assert sorted(summary(pages)) == EXPECTED and {r["file"] for p in pages for r in p.rows} == {
        f"sinch/{n}" for n in day_files()
    }


def test_s3_refusals_stop_the_source(
    s3_bucket: S3Bucket, make_settings: Callable[..., Settings], poller_env: dict[str, str], client: HttpClient
) -> None:
    """A bucket that does not exist is a refusal (404): the source stops, without the secret key."""
    env = poller_env | s3_bucket.env() | {"SINCH_CDR_SOURCE": "s3://no-such-bucket-here/sinch/"}
    (account,) = make_settings(**env).accounts_for("sinch")
    with pytest.raises(SourceStopped, match="404 NoSuchBucket") as stopped:
        list(FILES.fetch(account, DAY, DAY + timedelta(days=1), client, Memory()))
    assert "testing-secret" not in str(stopped.value)


def test_gzip_files_and_other_applications(sinch_dir: Path, account: Account, client: HttpClient) -> None:
    """A .gz file is unpacked; rows of another application are not taken, only counted in poll.file."""
    lines = [voice_line("app_app", "mine", DAY), voice_line("app_app", "theirs", DAY, app="OTHER-APP")]
    write(sinch_dir, "cdr-2023-12-29.csv.gz", gzip.compress("\n".join(lines).encode()))
    with capture_logs() as logs:
        pages = list(FILES.fetch(account, DAY, DAY + timedelta(days=1), client, Memory()))
    assert [r["row"]["CallId"] for p in pages for r in p.rows] == ["mine"]
    (line,) = [e for e in logs if e["event"] == "poll.file"]
    assert (line["app_app"], line["other_applications"], line["file"]) == (1, 1, "cdr-2023-12-29.csv.gz")


def test_a_bad_line_is_sent_whole_to_be_quarantined(sinch_dir: Path, account: Account, client: HttpClient) -> None:
    """A line with a wrong field count is posted with its raw text, between its good neighbours."""
    bad = "c9;us-space-1;2023-12-29T10:00:00Z;ANSWERED"
    write(
        sinch_dir, "2023-12-29.csv", "\n".join([voice_line("app_app", "a", DAY), bad, voice_line("app_app", "b", DAY)])
    )
    (page,) = list(FILES.fetch(account, DAY, DAY + timedelta(days=1), client, Memory()))
    assert [r["line"] for r in page.rows] == [1, 2, 3]
    assert page.rows[1]["row"] == {
        "_cdr_ingest_malformed": "4 fields, expected 15, 12, 10 or 16",
        "_cdr_ingest_raw": bad,
    }


def test_which_files_a_window_reads() -> None:
    """Modified in the window, or named for a day it touches (several date spellings); else not."""
    since, until = DAY, DAY + timedelta(days=1)
    old = DAY - timedelta(days=30)
    assert selected("anything.csv", DAY + timedelta(hours=3), since, until)
    assert selected("cdrs/20231229.csv", old, since, until) and selected("x/2023_12_29-voice.csv", old, since, until)
    assert not selected("cdrs/2023-12-30.csv", old, since, until) and not selected("cdrs/plain.csv", old, since, until)
    assert file_day("2023-12-28/export-2023-12-29.csv") == date(2023, 12, 29) and file_day("run-123456789.csv") is None


def test_a_file_being_written_waits_for_the_next_poll(
    sinch_dir: Path, account: Account, client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory file changed less than SETTLE_S ago is not read yet (it may be half written)."""
    monkeypatch.setattr(files_module, "SETTLE_S", 60)
    write(sinch_dir, "2023-12-29.csv", voice_line("app_app", "a", DAY))
    assert list(FILES.fetch(account, DAY, DAY + timedelta(days=1), client, Memory())) == []


def test_a_missing_directory_stops_the_source(
    make_settings: Callable[..., Settings], poller_env: dict[str, str], client: HttpClient, tmp_path: Path
) -> None:
    """SINCH_CDR_SOURCE naming no directory stops the source with a sentence saying so."""
    (account,) = make_settings(**(poller_env | {"SINCH_CDR_SOURCE": str(tmp_path / "nope")})).accounts_for("sinch")
    with pytest.raises(SourceStopped, match="is not a directory"):
        list(FILES.fetch(account, DAY, DAY + timedelta(days=1), client, Memory()))


def test_files_read_are_remembered_and_a_late_file_is_picked_up(
    sinch_dir: Path,
    make_settings: Callable[..., Settings],
    poller_env: dict[str, str],
    make_poller: Callable[..., Poller],
    loop_store: SqlStore,
) -> None:
    """Poll, restart, poll: a file read is not read again (the checkpoint state says so), a late
    file for an old day is read, and a rewritten file is read again."""
    settings = make_settings(**poller_env, CALLR_WEBHOOK_SECRET=None)
    write(sinch_dir, "2023-12-28.csv", voice_line("app_app", "first", DAY))
    queue = Queue()
    make_poller(settings, queue, Clock(datetime.now(UTC) + timedelta(seconds=2))).poll_once()
    cp = loop_store.get_checkpoint("sinch", settings.accounts_for("sinch")[0].id, "sinch.files")
    assert cp is not None and list(cp.state["files"]) == ["2023-12-28.csv"]
    late = write(sinch_dir, "2023-01-05.csv", voice_line("pstn_terminated", "late", DAY - timedelta(days=358)))
    restarted = Queue()
    make_poller(settings, restarted, Clock(datetime.now(UTC) + timedelta(seconds=2))).poll_once()
    assert [e.body["row"]["CallId"] for job in restarted.jobs for e in job] == ["late"]
    time.sleep(0.01)
    late.write_text(voice_line("pstn_terminated", "late", DAY) + "\n" + voice_line("app_app", "added", DAY))
    os.utime(late)
    again = Queue()
    make_poller(settings, again, Clock(datetime.now(UTC) + timedelta(seconds=2))).poll_once()
    assert [e.body["row"]["CallId"] for job in again.jobs for e in job] == ["late", "added"]
    cp = loop_store.get_checkpoint("sinch", settings.accounts_for("sinch")[0].id, "sinch.files")
    assert cp is not None and sorted(cp.state["files"]) == ["2023-01-05.csv", "2023-12-28.csv"]
