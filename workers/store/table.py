"""What the store's generic upsert needs to know about a table, and a dialect's encodings. Pure.

Apart from ``rows.py`` because that module is compiled with mypyc (``workers.native``) and these
classes are not compilable as they are (a generic dataclass).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from workers.cdr import Identified, Stored

R = TypeVar("R", bound=Identified)


@dataclass(frozen=True)
class Encoding:
    """How a dialect binds the values its driver does not take as they are (None stays None).
    ``rows.TEXT`` (SQLite); PostgreSQL's is in ``postgres.py`` (jsonb, the rest native)."""

    time: Callable[[datetime | None], Any]  # an instant a batch shares (receipt, write time)
    call_time: Callable[[datetime | None], Any]  # a call's own times, which hardly repeat
    json: Callable[[Any], Any]
    money: Callable[[Decimal | None], Any]
    boolean: Callable[[bool], Any]


@dataclass(frozen=True)
class Table(Generic[R]):
    name: str
    columns: tuple[str, ...]  # ``id`` first
    to_row: Callable[[Stored[R], Encoding], tuple[Any, ...]]  # (row, encoding) -> values in column order
    from_row: Callable[[Mapping[str, Any]], Stored[R]]

    @property
    def update_columns(self) -> tuple[str, ...]:
        """What ``UPDATE ... SET`` sets: every column but id."""
        return self.columns[1:]

    @staticmethod
    def update_values(values: tuple[Any, ...]) -> tuple[Any, ...]:
        """A row's values for ``UPDATE ... SET (update_columns) WHERE id``."""
        return (*values[1:], values[0])
