"""The database: SQLAlchemy units of work for the cold paths, and the batch store of the hot path.

``write(work)`` runs ``work(uow)`` in one transaction and returns its result
after the commit; ``read(work)`` runs it without writing. These serve the
command line, the scheduler and the e-mail sender. On SQLite, writes go through
one writer thread (``sqlite_writer``, on the stdlib driver with our
compiled-statement executor) and reads through aiosqlite; on PostgreSQL both go
through asyncpg, and a write that fails with a serialization failure or a
deadlock (SQLSTATE 40001, 40P01) is retried from the start with a jittered
backoff.

``batch_store`` is where the hot path's batches run (``smsgw.db.batch_store``:
stdlib ``sqlite3`` in the event loop's thread, or asyncpg without SQLAlchemy).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .batch_store import BatchStore, PostgresBatchStore, SqliteBatchStore
from .sql import AsyncSql
from .sqlite_writer import SqliteWriter
from .uow import SqlUnitOfWork

__all__ = ["Database", "PostgresDatabase", "SqliteDatabase", "open_database"]

T = TypeVar("T")
Work = Callable[[SqlUnitOfWork], Awaitable[T]]

_RETRYABLE_SQLSTATES = {"40001", "40P01"}


class Database:
    url: str
    dialect: str
    batch_store: BatchStore

    async def write(self, work: Work[T]) -> T:
        raise NotImplementedError

    async def read(self, work: Work[T]) -> T:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    return on_connect


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(
        self, url: str, *, batch_size: int = 64, busy_timeout: float = 10.0, commit_delay: float = 0.0
    ) -> None:
        self.url = url
        timeout_ms = int(busy_timeout * 1000)
        self.path = make_url(url).database or ""
        if not self.path or self.path == ":memory:":
            raise ValueError("the SQLite database must be a file (sqlite+aiosqlite:///PATH)")
        self._read_engine = create_async_engine(url)
        event.listen(self._read_engine.sync_engine, "connect", _sqlite_pragmas(timeout_ms))
        self.writer = SqliteWriter(self.path, batch_size=batch_size, busy_timeout=busy_timeout)
        self.busy_timeout = busy_timeout
        self.batch_store = SqliteBatchStore(self.path, busy_timeout=busy_timeout, commit_delay=commit_delay)

    async def write(self, work: Work[T]) -> T:
        return await self.writer.submit(work)  # type: ignore[no-any-return]

    async def read(self, work: Work[T]) -> T:
        async with self._read_engine.connect() as conn:
            return await work(SqlUnitOfWork(AsyncSql(conn)))

    async def close(self) -> None:
        await self.batch_store.close()
        await asyncio.to_thread(self.writer.stop)
        await self._read_engine.dispose()


def _sqlstate(error: DBAPIError) -> str | None:
    orig = error.orig
    return getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 10, max_retries: int = 8) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
        self._max_retries = max_retries
        self.retries = 0
        self.batch_store = PostgresBatchStore(url, pool_size=min(pool_size, 4))

    async def write(self, work: Work[T]) -> T:
        for attempt in range(self._max_retries + 1):
            try:
                async with self.engine.begin() as conn:
                    return await work(SqlUnitOfWork(AsyncSql(conn)))
            except DBAPIError as error:
                if _sqlstate(error) not in _RETRYABLE_SQLSTATES or attempt == self._max_retries:
                    raise
                self.retries += 1
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    async def read(self, work: Work[T]) -> T:
        async with self.engine.connect() as conn:
            return await work(SqlUnitOfWork(AsyncSql(conn)))

    async def close(self) -> None:
        await self.batch_store.close()
        await self.engine.dispose()


def open_database(
    url: str, *, batch_size: int = 64, busy_timeout: float = 10.0, pool_size: int = 10, commit_delay: float = 0.0
) -> Database:
    if url.startswith("sqlite+aiosqlite://"):
        return SqliteDatabase(url, batch_size=batch_size, busy_timeout=busy_timeout, commit_delay=commit_delay)
    if url.startswith("postgresql+asyncpg://"):
        return PostgresDatabase(url, pool_size=pool_size)
    raise ValueError(f"unsupported database URL scheme: {url.split('://')[0]}")
