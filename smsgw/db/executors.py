"""Two thin SQL executors for the batch unit of work: stdlib ``sqlite3`` and ``asyncpg``.

The batch's SQL (``smsgw.db.batch_sql``) is written once, with ``?``
placeholders; an executor runs it on its driver. The differences that matter
live here and nowhere else: how a set of values is matched (``IN (?,…)`` padded
to a power of two on SQLite, ``= ANY(?)`` with one array on PostgreSQL), how
many rows are inserted with their new ids (ids counted on from the largest
under SQLite's exclusive write lock, in one ``executemany``; one ``unnest``
statement on PostgreSQL, where a statement costs a round trip), and the locks that order a batch's numbers
(nothing on SQLite, whose write transaction is exclusive; advisory transaction
locks on PostgreSQL, taken in one global order).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Protocol

__all__ = ["Executor", "PostgresExecutor", "SqliteExecutor", "padded"]

Row = Sequence[Any]


class Executor(Protocol):
    dialect: str

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def execute(self, sql: str, *args: Any) -> int: ...
    async def many(self, sql: str, rows: Sequence[Row]) -> None: ...
    def any_of(self, column: str, values: Iterable[Any], pg_type: str = "text") -> tuple[str, list[Any]]: ...
    async def insert_ids(self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Row]) -> list[int]: ...
    async def lock(self, keys: Sequence[str]) -> None: ...


def padded(values: Iterable[Any]) -> list[Any]:
    """The values, padded to a power of two by repeating the last (an ``IN`` list is a set)."""
    items = list(values)
    size = 1
    while size < len(items):
        size *= 2
    return items + items[-1:] * (size - len(items))


class SqliteExecutor:
    """On one ``sqlite3`` connection; the coroutines never suspend."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return self.conn.execute(sql, _flat(args)).fetchall()

    async def execute(self, sql: str, *args: Any) -> int:
        return self.conn.execute(sql, _flat(args)).rowcount

    async def many(self, sql: str, rows: Sequence[Row]) -> None:
        if rows:
            self.conn.executemany(sql, rows)

    def any_of(self, column: str, values: Iterable[Any], pg_type: str = "text") -> tuple[str, list[Any]]:
        items = padded(values)
        return f"{column} IN ({','.join('?' * len(items))})", [_Spread(items)]

    async def insert_ids(self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Row]) -> list[int]:
        """The rows get the ids SQLite would give them one by one (the largest so far, plus one, and on),
        in one ``executemany``: the batch's ``BEGIN IMMEDIATE`` keeps every other writer out meanwhile."""
        if not rows:
            return []
        names = ", ".join(name for name, _ in columns)
        (top,) = self.conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
        ids = list(range(top + 1, top + 1 + len(rows)))
        sql = f"INSERT INTO {table} (id, {names}) VALUES (?, {','.join('?' * len(columns))})"
        self.conn.executemany(sql, [(new_id, *row) for new_id, row in zip(ids, rows, strict=True)])
        return ids

    async def lock(self, keys: Sequence[str]) -> None:
        return None  # BEGIN IMMEDIATE: one writer at a time


class _Spread(list[Any]):
    """Values of an ``IN`` list: spread into the statement's parameters."""


def _flat(args: Sequence[Any]) -> list[Any]:
    flat: list[Any] = []
    for arg in args:
        if isinstance(arg, _Spread):
            flat.extend(arg)
        else:
            flat.append(arg)
    return flat


_QMARK = re.compile(r"\?")


class PostgresExecutor:
    """On one asyncpg connection inside its transaction; statements are prepared once (asyncpg's cache)."""

    dialect = "postgresql"

    _converted: ClassVar[dict[str, str]] = {}  # ?-placeholders to $n, per statement

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    def _sql(cls, sql: str) -> str:
        converted = cls._converted.get(sql)
        if converted is None:
            counter = iter(range(1, 10_000))
            converted = cls._converted[sql] = _QMARK.sub(lambda _: f"${next(counter)}", sql)
        return converted

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self.conn.fetch(self._sql(sql), *args))

    async def execute(self, sql: str, *args: Any) -> int:
        status: str = await self.conn.execute(self._sql(sql), *args)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def many(self, sql: str, rows: Sequence[Row]) -> None:
        if rows:
            await self.conn.executemany(self._sql(sql), rows)

    def any_of(self, column: str, values: Iterable[Any], pg_type: str = "text") -> tuple[str, list[Any]]:
        return f"{column} = ANY(?::{pg_type}[])", [list(values)]

    async def insert_ids(self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Row]) -> list[int]:
        if not rows:
            return []
        names = ", ".join(name for name, _ in columns)
        arrays = ", ".join(f"?::{pg_type}[]" for _, pg_type in columns)
        sql = (
            f"INSERT INTO {table} ({names}) SELECT {names} FROM unnest({arrays}) WITH ORDINALITY"
            f" AS u({names}, ordinal) ORDER BY ordinal RETURNING id"
        )
        found = await self.conn.fetch(self._sql(sql), *([row[i] for row in rows] for i in range(len(columns))))
        # Ids come from the table's sequence as the rows are inserted, in ordinal order.
        return sorted(int(record[0]) for record in found)

    async def lock(self, keys: Sequence[str]) -> None:
        if keys:
            await self.conn.execute(
                self._sql(
                    "SELECT pg_advisory_xact_lock(h) FROM"
                    " (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(?::text[]) AS k ORDER BY h) AS ordered"
                ),
                list(keys),
            )
