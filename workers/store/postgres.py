"""PostgreSQL store (psycopg 3), for production. Same schema and logic as SQLite.

Rows a batch already has are locked with ``FOR UPDATE``; rows it believes new are COPY'd into a
staging table and inserted with ``ON CONFLICT DO NOTHING``; if another worker inserted one first,
the batch is retried so that row is merged rather than overwritten. A lost connection is
reopened on the next call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from workers.errors import TransientError
from workers.store.base import ConcurrentInsert, SqlStore
from workers.store.rows import dump_json
from workers.store.table import Encoding, Table


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=dump_json)


def _as_is(value: Any) -> Any:
    return value


# psycopg binds datetimes, Decimals and booleans as they are; JSON goes as jsonb.
NATIVE = Encoding(time=_as_is, call_time=_as_is, json=_jsonb, money=_as_is, boolean=_as_is)


class PostgresStore(SqlStore):
    dialect = "postgresql"
    encoding = NATIVE
    param = "%s"

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[dict[str, Any]] | None = None

    def _connection(self) -> psycopg.Connection[dict[str, Any]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, row_factory=dict_row, connect_timeout=10)
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock:
            try:
                conn = self._connection()
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            except psycopg.Error as e:
                self._drop_if_broken()
                raise TransientError(f"PostgreSQL: {e}") from e

    def _drop_if_broken(self) -> None:
        if self._conn is not None and (self._conn.closed or self._conn.broken):
            self._conn = None

    def _lock_clause(self) -> str:
        return " FOR UPDATE"

    def _insert_new(self, cur: Any, table: Table[Any], rows: list[tuple[Any, ...]]) -> None:
        """COPY into a session-private staging table, then one INSERT ... SELECT (the fast path)."""
        if not rows:
            return
        # Temporary (this session only) and emptied at every commit or rollback.
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table.name}_stage (LIKE {table.name}) ON COMMIT DELETE ROWS")
        columns = ", ".join(table.columns)
        with cur.copy(f"COPY {table.name}_stage ({columns}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        cur.execute(
            f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {table.name}_stage ON CONFLICT (id) DO NOTHING"
        )
        if cur.rowcount != len(rows):
            raise ConcurrentInsert()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
