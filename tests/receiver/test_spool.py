"""The spool: fsync'd appends, ordered idempotent drains, torn lines, orphaned segments, limits."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from receiver.acceptor import DurableSink
from receiver.spool import Spool
from workers.envelope import Envelope
from workers.errors import TransientError
from workers.inbox import Keys


def env(n: int) -> Envelope:
    return Envelope(
        feed="callr.webhook", account="a", received_at=datetime.now(UTC), body=f'{{"n": {n}}}', ingest_id=f"i{n}"
    )


class Sink:
    def __init__(self, fail_after: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_after = fail_after

    def __call__(self, envelopes: Sequence[Envelope]) -> None:
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            raise TransientError("redis down")
        self.batches.append([e.ingest_id for e in envelopes])

    @property
    def ids(self) -> list[str]:
        return [i for b in self.batches for i in b]


def test_append_then_drain_in_order(tmp_path: Path) -> None:
    """Everything appended comes back once, in order, and the drained segments are deleted."""
    spool = Spool(tmp_path, 10**6)
    spool.append([env(1), env(2)])
    spool.append([env(3)])
    sink = Sink()
    assert spool.drain(sink, batch=2) == 3
    assert sink.ids == ["i1", "i2", "i3"] and sink.batches == [["i1", "i2"], ["i3"]]
    assert spool.state().segments == 0 and list(tmp_path.iterdir()) == []


def test_appends_after_a_drain_go_to_a_new_segment(tmp_path: Path) -> None:
    """A drain rotates the segment; later appends are drained next time, after the earlier ones."""
    spool = Spool(tmp_path, 10**6)
    spool.append([env(1)])
    sink = Sink()
    spool.drain(sink)
    spool.append([env(2)])
    spool.drain(sink)
    assert sink.ids == ["i1", "i2"]


def test_torn_last_line_is_skipped(tmp_path: Path) -> None:
    """A line a crash cut short was never acknowledged: it is skipped, the rest drained."""
    spool = Spool(tmp_path, 10**6)
    spool.append([env(1)])
    spool.close()
    (segment,) = tmp_path.glob("*.spool")
    with open(segment, "ab") as f:
        f.write(b'{"v": 1, "feed": "callr.webh')
    sink = Sink()
    assert Spool(tmp_path, 10**6).drain(sink) == 1
    assert sink.ids == ["i1"]


def test_unreadable_line_keeps_the_segment(tmp_path: Path) -> None:
    """A complete but unreadable line is never deleted: the segment is set aside for an operator."""
    (tmp_path / "0001-1-x.spool").write_bytes(b"garbage\n")
    Spool(tmp_path, 10**6).drain(Sink())
    assert [p.suffix for p in tmp_path.iterdir()] == [".unreadable"]


def test_failed_drain_keeps_the_segment(tmp_path: Path) -> None:
    """If Redis fails mid-drain the segment stays; the next drain sends it again (idempotent downstream)."""
    spool = Spool(tmp_path, 10**6)
    spool.append([env(1), env(2), env(3)])
    with pytest.raises(TransientError):
        spool.drain(Sink(fail_after=1), batch=1)
    sink = Sink()
    spool.drain(sink)
    assert sink.ids == ["i1", "i2", "i3"]


def test_orphaned_segment_of_a_dead_process_is_drained(tmp_path: Path) -> None:
    """A segment nobody holds a lock on (its process died) is drained by another process."""
    code = (
        "import os, sys; from pathlib import Path; from receiver.spool import Spool;"
        "from tests.receiver.test_spool import env;"
        "Spool(Path(sys.argv[1]), 10**6).append([env(7)]); os._exit(0)"  # dies holding the segment
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, cwd=Path(__file__).parents[2])
    sink = Sink()
    other = Spool(tmp_path, 10**6)
    other.drain(sink)
    assert sink.ids == ["i7"]


def test_segment_being_written_by_a_live_process_is_skipped(tmp_path: Path) -> None:
    """A segment locked by a live writer is not drained under it."""
    (tmp_path / "0001-1-x.spool").write_bytes(b"")
    fd = os.open(tmp_path / "0001-1-x.spool", os.O_RDONLY)
    other_fd = os.open(tmp_path / "0001-1-x.spool", os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert Spool(tmp_path, 10**6).drain(Sink()) == 0
        assert (tmp_path / "0001-1-x.spool").exists()
    finally:
        os.close(fd)
        os.close(other_fd)


def test_full_spool_refuses(tmp_path: Path) -> None:
    """Past SPOOL_MAX_BYTES an append raises TransientError (the receiver answers 503)."""
    spool = Spool(tmp_path, 200)
    spool.append([env(1)])
    with pytest.raises(TransientError, match="full"):
        spool.append([env(2)])
    spool.close()


def test_unwritable_spool_refuses(tmp_path: Path) -> None:
    """A spool directory that cannot be created raises TransientError."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TransientError, match="not writable"):
        Spool(blocker / "spool", 10**6).append([env(1)])


def test_sink_spools_while_redis_is_down_and_drains_when_back(tmp_path: Path) -> None:
    """Redis fails → spooled; ping fails → nothing drained; Redis back → drained in order, then Redis again."""
    redis_up = {"value": False}
    queue = Sink()

    def push(envelopes: Sequence[Envelope], keys: Keys, nonces: Keys | None) -> list[str]:
        if not redis_up["value"]:
            raise TransientError("down")
        queue(envelopes)
        return ["queued"] * len(envelopes)

    async def push_async(envelopes: Sequence[Envelope], keys: Keys, nonces: Keys | None) -> list[str]:
        return push(envelopes, keys, nonces)

    sink = DurableSink(push_async, Spool(tmp_path, 10**6), ping=lambda: redis_up["value"], push=push)
    assert asyncio.run(sink.store([env(1)])) == ["spooled"]
    assert asyncio.run(sink.store([env(2)])) == ["spooled"]
    assert sink.recover() == 0
    redis_up["value"] = True
    assert asyncio.run(sink.store([env(3)])) == ["spooled"]  # keeps order: Redis again once the spool is empty
    assert sink.recover() == 3
    assert asyncio.run(sink.store([env(4)])) == ["queued"]
    assert queue.ids == ["i1", "i2", "i3", "i4"]


def test_spool_is_private_to_the_service_user(tmp_path: Path) -> None:
    """The spool directory and its segments (raw CDRs, phone numbers) are created 0700 and 0600."""
    spool = Spool(tmp_path / "spool", 1 << 20)
    spool.append([Envelope(feed="callr.webhook", account="a", received_at=datetime.now(UTC), body="{}")])
    spool.close()
    assert (tmp_path / "spool").stat().st_mode & 0o777 == 0o700
    assert [p.stat().st_mode & 0o777 for p in (tmp_path / "spool").glob("*.spool")] == [0o600]
