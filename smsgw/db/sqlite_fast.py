"""SQLAlchemy Core statements executed straight on a ``sqlite3`` connection.

The repositories build their statements with SQLAlchemy Core, once, at import.
On the SQLite writer thread this executor compiles each statement once (per set
of inserted columns) for the SQLite dialect and then runs the compiled SQL on
the stdlib cursor: no per-call compilation lookup, result proxy or type
processing. That is safe here because the schema only uses integers, text and
booleans, which ``sqlite3`` reads and writes as SQLAlchemy would. It takes a
statement from about 40 µs to about 10 µs; see docs/performance.md.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.dialects import sqlite

from .sql import Params

__all__ = ["FastSqliteSql"]

_DIALECT = sqlite.dialect(paramstyle="qmark")


class _Prepared:
    __slots__ = ("defaults", "order", "sql")

    def __init__(self, stmt: Executable, keys: tuple[str, ...] | None) -> None:
        compiled = stmt.compile(dialect=_DIALECT, column_keys=list(keys) if keys else None)  # type: ignore[attr-defined]
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("IN (…) needs per-call rendering, which this executor does not do: use or_(…)")
        self.sql: str = compiled.string
        self.order: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.defaults: dict[str, Any] = dict(compiled.params)

    def args(self, params: Mapping[str, Any] | None) -> list[Any]:
        values = self.defaults | params if params else self.defaults  # type: ignore[operator]
        return [values[name] for name in self.order]

    def call(self, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        return self.sql, self.args(params)


class FastSqliteSql:
    """The ``Sql`` port on a raw ``sqlite3`` connection (the writer thread's)."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, cache: dict[Any, _Prepared], rows: dict[str, type]) -> None:
        self._conn = conn
        self._cache = cache
        self._row_types = rows

    def _prepare(self, stmt: Executable, first: Mapping[str, Any] | None) -> _Prepared:
        keys = tuple(first) if first is not None and _is_insert(stmt) else None
        key = (stmt, keys)
        prepared = self._cache.get(key)
        if prepared is None:
            prepared = self._cache[key] = _Prepared(stmt, keys)
        return prepared

    def _cursor(self, stmt: Executable, params: Params) -> sqlite3.Cursor:
        if params is None or isinstance(params, dict):
            return self._conn.execute(*self._prepare(stmt, params).call(params))
        many = list(params)  # a sequence of mappings: executemany
        if not many:
            raise ValueError("executemany with no rows")
        prepared = self._prepare(stmt, many[0])  # type: ignore[arg-type]
        return self._conn.executemany(prepared.sql, [prepared.args(p) for p in many])  # type: ignore[arg-type]

    def _row_type(self, cursor: sqlite3.Cursor) -> type:
        names = tuple(column[0] for column in cursor.description)
        row_type = self._row_types.get(names)  # type: ignore[call-overload]
        if row_type is None:
            row_type = self._row_types[names] = namedtuple("Row", names, rename=True)  # type: ignore[index]
        return row_type  # type: ignore[no-any-return]

    async def rows(self, stmt: Executable, params: Params = None) -> list[Any]:
        cursor = self._cursor(stmt, params)
        row_type = self._row_type(cursor)
        return [row_type._make(row) for row in cursor.fetchall()]  # type: ignore[attr-defined]

    async def row(self, stmt: Executable, params: Params = None) -> Any:
        cursor = self._cursor(stmt, params)
        found = cursor.fetchone()
        return None if found is None else self._row_type(cursor)._make(found)  # type: ignore[attr-defined]

    async def value(self, stmt: Executable, params: Params = None) -> Any:
        found = self._cursor(stmt, params).fetchone()
        return None if found is None else found[0]

    async def run(self, stmt: Executable, params: Params = None) -> int:
        return self._cursor(stmt, params).rowcount

    async def insert(self, stmt: Executable, params: Params = None) -> int:
        cursor = self._cursor(stmt, params)
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)


def _is_insert(stmt: Executable) -> bool:
    return getattr(stmt, "is_insert", False) is True
