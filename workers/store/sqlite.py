"""SQLite store: the embedded default (``sqlite:///var/cdr.db``). WAL, one writer at a time.

``BEGIN IMMEDIATE`` takes the write lock up front, so a batch never conflicts with another
writer; ``synchronous=FULL`` because a stored CDR is money.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from workers.errors import TransientError
from workers.store.base import SqlStore
from workers.store.rows import TEXT, by_nulls
from workers.store.table import Table

# 16 KiB pages for a new database (SQLite's default is 4 KiB): a CDR row is ~1.4 KB and a batch
# commits ~1 MB of table and index pages, written to the WAL a page at a time and copied again by
# checkpoints. Insert + commit CPU of 100,000 export rows ingested in process: ~15.5 -> ~12.7 µs a
# row; ``make bench``'s SQLite backfill ~20,600 -> ~22,500 rows/s. A database created with smaller
# pages keeps them (changing them needs a VACUUM outside WAL mode).
PAGE_SIZE = 16384


def sqlite_path(database_url: str) -> str:
    """``sqlite:///var/cdr.db`` → ``var/cdr.db``; ``sqlite:////abs/x.db`` → ``/abs/x.db``."""
    path = database_url.removeprefix("sqlite://")
    if path.startswith("/"):
        path = path[1:]
    return path or ":memory:"


class SqliteStore(SqlStore):
    dialect = "sqlite"
    encoding = TEXT
    param = "?"
    # One writer at a time: two workers took turns at the lock, held ~80% of a backfill, while each
    # merged and encoded its batch inside it (``base`` module text).
    merges_before_lock = True

    def __init__(self, database_url: str) -> None:
        path = sqlite_path(database_url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new database only; before WAL fixes it
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=30000")

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                yield cur
                cur.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                raise TransientError(f"SQLite: {e}") from e
            except BaseException:
                self._rollback()
                raise
            finally:
                cur.close()

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """Reads take no write lock (``_transaction`` does), so they never hold up the workers."""
        with self._lock:
            cur = self._conn.cursor()
            try:
                yield cur
            except sqlite3.Error as e:
                raise TransientError(f"SQLite: {e}") from e
            finally:
                cur.close()

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _lock_clause(self) -> str:
        return ""

    def _insert_new(self, cur: Any, table: Table[Any], rows: list[tuple[Any, ...]]) -> None:
        self._executemany(cur, self.insert_sql(table), rows)

    def _executemany(self, cur: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """The rows grouped by where their nulls are, each group's NULLs written into ``sql``
        (``rows.by_nulls``): the driver looks for an adapter for every ``None`` it binds."""
        for nulls, values in by_nulls(rows).items():
            cur.executemany(with_nulls(sql, nulls), values)

    def close(self) -> None:
        self._conn.close()


@cache  # a few patterns per statement
def with_nulls(sql: str, nulls: tuple[int, ...]) -> str:
    """``sql`` with NULL in place of its placeholders at the positions ``nulls`` (0 is the first
    ``?``; the statements given here have no other ``?``)."""
    first, *rest = sql.split("?")
    out = [first]
    for i, part in enumerate(rest):
        out += ["NULL" if i in nulls else "?", part]
    return "".join(out)
