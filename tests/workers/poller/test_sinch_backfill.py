"""Sinch files backfilled end to end on both stores (a directory → RQ on real Redis → a burst worker):
calls into cdrs, verifications into their own table, bad lines quarantined with their text, the
DiCE and file copies of a call on one row, and a re-run that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from tests.conftest import PAYLOADS, SINCH_KEY
from tests.fakes.sinch_files import header, verification_line, voice_line
from tests.workers.poller.conftest import Backfill
from tests.workers.poller.test_api_backfill import push
from workers import jobs
from workers.cdr import Source
from workers.merge import as_comparable
from workers.tables import RAW

DAY = datetime(2023, 12, 29, tzinfo=UTC)
BAD = "c9;us-space-1;2023-12-29T10:00:00Z;ANSWERED;CALLERHANGUP"


def fill(root: Path) -> None:
    at = DAY + timedelta(hours=15, minutes=7, seconds=6)
    dice_call = voice_line("pstn_terminated", "callId", at, reason="MANAGERHANGUP", amount="0.1760")
    voice = [header("pstn_terminated"), dice_call, *(voice_line("pstn_terminated", f"p{i}", at) for i in range(3))]
    (root / "voice").mkdir()
    (root / "voice" / "2023-12-29.csv").write_text("\n".join(voice) + "\n")
    other = [voice_line("app_app", "a1", at), BAD, voice_line("sip_terminated", "s1", at)]
    (root / "voice" / "2023-12-29-more.csv").write_text("\n".join(other))
    verifications = [verification_line("v1", at), verification_line("v2", at, method="sms", result="DENIED")]
    (root / "verification-2023-12-29.csv").write_text("\n".join(verifications))


def test_sinch_files_into_both_tables(
    sinch_dir: Path, runtime: jobs.Runtime, backfill: Backfill, redis_client: redis.Redis
) -> None:
    """DiCE then the files: the call is one row (backfill,webhook) with the file's start and billing
    and DiCE's end; the other calls and both verifications stored; the bad line quarantined whole."""
    push(redis_client, runtime, "sinch.dice", SINCH_KEY, (PAYLOADS / "sinch" / "dice_sdk_fixture.json").read_bytes())
    fill(sinch_dir)
    tally = backfill("sinch", since=DAY, until=DAY + timedelta(days=1))
    assert tally.rows == 9
    row = runtime.store.get(f"sinch:{SINCH_KEY}:callId")
    assert row is not None and row.sources == {Source.BACKFILL, Source.WEBHOOK}
    assert (str(row.cdr.cost), row.cdr.currency) == ("0.176000", "EUR")
    assert row.cdr.started_at == DAY + timedelta(hours=15, minutes=7, seconds=6)
    assert row.cdr.ended_at == datetime(2023, 12, 29, 15, 7, 22, tzinfo=UTC)
    assert runtime.store.count() == 6 and runtime.store.count("verifications") == 2
    v2 = runtime.store.get_verification(f"sinch:{SINCH_KEY}:v2")
    assert v2 is not None and (v2.cdr.method, v2.cdr.result, v2.cdr.cli) == ("sms", "denied", None)
    assert v2.sources == {Source.BACKFILL} and str(v2.cdr.cost) == "0.006000"
    (bad,) = runtime.store.quarantined()
    assert BAD in bad.reason and "line 2" in bad.reason and bad.envelope["body"]["row"][RAW] == BAD


def test_rerunning_the_files_changes_nothing(sinch_dir: Path, runtime: jobs.Runtime, backfill: Backfill) -> None:
    """The same day twice: calls and verifications unchanged (values, sources, first_seen_at)."""
    fill(sinch_dir)
    backfill("sinch", since=DAY, until=DAY + timedelta(days=1))
    ids = [f"sinch:{SINCH_KEY}:{c}" for c in ("callId", "p0", "p1", "p2", "a1", "s1")]
    keep = ("cdr", "sources", "first_seen_at")
    before = [{k: as_comparable(runtime.store.get(i))[k] for k in keep} for i in ids]  # type: ignore[arg-type]
    v_before = as_comparable(runtime.store.get_verification(f"sinch:{SINCH_KEY}:v1"))  # type: ignore[arg-type]
    backfill("sinch", since=DAY, until=DAY + timedelta(days=1))
    after = [{k: as_comparable(runtime.store.get(i))[k] for k in keep} for i in ids]  # type: ignore[arg-type]
    v_after = as_comparable(runtime.store.get_verification(f"sinch:{SINCH_KEY}:v1"))  # type: ignore[arg-type]
    assert before == after and {k: v_before[k] for k in keep} == {k: v_after[k] for k in keep}
    assert runtime.store.count() == 6 and runtime.store.count("verifications") == 2
