"""The store: one ``cdrs`` table (plus quarantine), SQLite embedded or PostgreSQL, same schema.

``open_store(DATABASE_URL)`` picks the implementation; both share ``SqlStore``'s logic and differ
only in connection handling, placeholders and locking.
"""

from __future__ import annotations

from workers.errors import ConfigError
from workers.store.base import QuarantinedEnvelope, SqlStore
from workers.store.polling import KEEP_STATE, CallSources, Checkpoint


def open_store(database_url: str) -> SqlStore:
    if database_url.startswith("sqlite:"):
        from workers.store.sqlite import SqliteStore

        return SqliteStore(database_url)
    if database_url.startswith(("postgresql:", "postgres:")):
        from workers.store.postgres import PostgresStore

        return PostgresStore(database_url)
    raise ConfigError(f"DATABASE_URL must start with sqlite:// or postgresql://, got {database_url.split(':')[0]!r}")


__all__ = ["KEEP_STATE", "CallSources", "Checkpoint", "QuarantinedEnvelope", "SqlStore", "open_store"]
