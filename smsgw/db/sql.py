"""The narrow statement-execution port the repositories use, on two drivers.

``SyncSql`` wraps a synchronous SQLAlchemy connection (the SQLite writer
thread); its coroutines never suspend, so a whole unit of work runs to the end
in one ``send``. ``AsyncSql`` wraps an ``AsyncConnection`` (PostgreSQL through
asyncpg, and SQLite reads through aiosqlite). Both give the same results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, Executable, Row
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["AsyncSql", "Params", "Sql", "SyncSql"]

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class Sql(Protocol):
    dialect: str

    async def rows(self, stmt: Executable, params: Params = None) -> Sequence[Row[Any]]: ...
    async def row(self, stmt: Executable, params: Params = None) -> Row[Any] | None: ...
    async def value(self, stmt: Executable, params: Params = None) -> Any: ...
    async def run(self, stmt: Executable, params: Params = None) -> int: ...
    async def insert(self, stmt: Executable, params: Params = None) -> int: ...


class SyncSql:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect.name

    async def rows(self, stmt: Executable, params: Params = None) -> Sequence[Row[Any]]:
        return self._conn.execute(stmt, params).all()

    async def row(self, stmt: Executable, params: Params = None) -> Row[Any] | None:
        return self._conn.execute(stmt, params).first()

    async def value(self, stmt: Executable, params: Params = None) -> Any:
        return self._conn.execute(stmt, params).scalar()

    async def run(self, stmt: Executable, params: Params = None) -> int:
        return self._conn.execute(stmt, params).rowcount

    async def insert(self, stmt: Executable, params: Params = None) -> int:
        key = self._conn.execute(stmt, params).inserted_primary_key
        assert key is not None
        return int(key[0])


class AsyncSql:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.dialect = conn.dialect.name

    async def rows(self, stmt: Executable, params: Params = None) -> Sequence[Row[Any]]:
        return (await self._conn.execute(stmt, params)).all()

    async def row(self, stmt: Executable, params: Params = None) -> Row[Any] | None:
        return (await self._conn.execute(stmt, params)).first()

    async def value(self, stmt: Executable, params: Params = None) -> Any:
        return (await self._conn.execute(stmt, params)).scalar()

    async def run(self, stmt: Executable, params: Params = None) -> int:
        return (await self._conn.execute(stmt, params)).rowcount

    async def insert(self, stmt: Executable, params: Params = None) -> int:
        key = (await self._conn.execute(stmt, params)).inserted_primary_key
        assert key is not None
        return int(key[0])
