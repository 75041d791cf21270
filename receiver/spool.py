"""The local spool: where accepted deliveries wait, fsync'd, while Redis is down.

Append-only segment files of one JSON envelope per line in ``SPOOL_DIR``. Each receiver process
writes its own segment and holds an exclusive ``flock`` on it, so several processes share one
directory and a segment left by a dead process is recognised (it can be locked) and drained by
any survivor. ``append`` returns only after ``fsync``; a line torn by a crash was never
acknowledged and is skipped. ``drain`` re-enqueues segments oldest first, in file order, and
deletes a segment once all of it is in Redis; a crash mid-drain re-enqueues some envelopes
twice, which the store's idempotent upsert absorbs (same ingest id, same version).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from workers.envelope import Envelope
from workers.errors import PayloadError, TransientError
from workers.logs import get_logger

log = get_logger("cdr_ingest.spool")
SUFFIX = ".spool"


@dataclass(frozen=True)
class SpoolState:
    bytes: int
    segments: int


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._segment: IO[bytes] | None = None

    # -- writing ---------------------------------------------------------------------------------
    def append(self, envelopes: Sequence[Envelope]) -> None:
        """Write the envelopes durably (fsync) or raise ``TransientError`` (full or unwritable)."""
        data = b"".join(orjson.dumps(e.to_dict()) + b"\n" for e in envelopes)
        with self._lock:
            try:
                if self.state().bytes + len(data) > self.max_bytes:
                    raise TransientError(f"spool is full ({self.max_bytes} bytes)")
                segment = self._current()
                segment.write(data)
                segment.flush()
                os.fsync(segment.fileno())
            except OSError as e:
                self._close_current()
                raise TransientError(f"spool is not writable: {e}") from e

    def _current(self) -> IO[bytes]:
        if self._segment is None:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # raw CDRs: the service user only
            name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
            path = self.directory / name
            segment = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
            fcntl.flock(segment.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            _fsync_dir(self.directory)
            self._segment = segment
        return self._segment

    def _close_current(self) -> None:
        if self._segment is not None:
            self._segment.close()  # releases the flock
        self._segment = None

    # -- reading ---------------------------------------------------------------------------------
    def state(self) -> SpoolState:
        total = count = 0
        for path in self._segments():
            try:
                total += path.stat().st_size
                count += 1
            except FileNotFoundError:
                continue
        return SpoolState(bytes=total, segments=count)

    def _segments(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.name.endswith(SUFFIX))

    def drain(self, enqueue: Callable[[Sequence[Envelope]], object], *, batch: int = 500) -> int:
        """Re-enqueue every segment not being written by a live process; return envelopes sent.

        Stops at the first enqueue failure (``TransientError``), leaving that segment in place.
        """
        with self._lock:
            self._close_current()  # rotate: the next append starts a new segment
        sent = 0
        for path in self._segments():
            sent += self._drain_segment(path, enqueue, batch)
        return sent

    def _drain_segment(self, path: Path, enqueue: Callable[[Sequence[Envelope]], object], batch: int) -> int:
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            return 0  # drained by another process meanwhile
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # a live process is writing or draining it
            sent = 0
            chunk: list[Envelope] = []
            unreadable: list[int] = []
            for envelope in _read(handle, path, unreadable):
                chunk.append(envelope)
                if len(chunk) >= batch:
                    enqueue(chunk)
                    sent, chunk = sent + len(chunk), []
            if chunk:
                enqueue(chunk)
                sent += len(chunk)
            if unreadable:  # keep what could not be read for an operator, never delete it
                path.rename(path.with_suffix(".unreadable"))
            else:
                path.unlink()
            _fsync_dir(self.directory)
        if sent:
            log.info("spool.drained", segment=path.name, envelopes=sent)
        return sent

    def close(self) -> None:
        with self._lock:
            self._close_current()


def _read(handle: IO[bytes], path: Path, unreadable: list[int]) -> Iterator[Envelope]:
    for number, line in enumerate(handle, start=1):
        if not line.endswith(b"\n"):
            log.warning("spool.torn_line_skipped", segment=path.name, line=number)
            return  # written by a crash mid-append: never acknowledged
        try:
            yield Envelope.from_dict(orjson.loads(line))
        except (orjson.JSONDecodeError, PayloadError) as e:
            unreadable.append(number)
            log.error("spool.unreadable_line", segment=path.name, line=number, error=str(e))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
