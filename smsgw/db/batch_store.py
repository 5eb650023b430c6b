"""Where a batch's transaction runs: SQLite in the event loop's thread, or PostgreSQL through asyncpg.

``transaction()`` yields an :class:`~smsgw.db.executors.Executor` inside one
transaction and commits when the block ends (rolls back if it raises).

- SQLite: one ``sqlite3`` connection (WAL, ``synchronous=FULL``,
  ``secure_delete``: ``sqlite_writer.connect_sqlite``), ``BEGIN IMMEDIATE`` …
  ``COMMIT``, run without leaving the event loop's thread: no hand-over per
  batch, and the commit's ``fdatasync`` is the only wait. Another process's
  write lock is waited for on the event loop, never inside SQLite.
- PostgreSQL: an asyncpg pool (no SQLAlchemy on the hot path); a serialization
  failure or deadlock (SQLSTATE 40001, 40P01) is ``retryable``: the runner runs
  the whole batch again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

from sqlalchemy import make_url

from .executors import Executor, PostgresExecutor, SqliteExecutor
from .sqlite_writer import WriterConnection, commit, connect_sqlite

__all__ = ["BatchStore", "PostgresBatchStore", "SqliteBatchStore", "jitter"]

_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
_HOT_TABLES = ("subscribers", "topups", "mo_messages", "outbox", "mt_parts", "pending_requests", "early_receipts")


class BatchStore(Protocol):
    dialect: str

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Executor]: ...
    def retryable(self, error: BaseException) -> bool: ...
    async def analyze(self) -> None: ...
    async def close(self) -> None: ...


class SqliteBatchStore:
    dialect = "sqlite"

    def __init__(self, path: str, *, busy_timeout: float = 10.0, commit_delay: float = 0.0) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._commit_delay = commit_delay  # [database] test_commit_delay: a slow disk, for reliability tests
        self._conn: WriterConnection | None = None

    @property
    def conn(self) -> WriterConnection:
        if self._conn is None:
            conn = connect_sqlite(self.path, busy_timeout=self._busy_timeout)
            conn.busy_timeout_ms = 0  # never wait inside SQLite: the event loop would stop
            conn.execute("PRAGMA busy_timeout = 0")
            self._conn = conn
        return self._conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        conn = self.conn
        await self._begin_immediate(conn)
        try:
            yield SqliteExecutor(conn)
            if self._commit_delay:
                time.sleep(random.uniform(0, self._commit_delay))  # noqa: ASYNC251 - the fault being injected
            commit(conn)  # and wipe the WAL when a sealed text was cleared (docs/security.md)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    async def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE; while another process holds the write lock, wait on the event loop, not in SQLite.

        The hot path's connection has no busy timeout: a ``subscribers import`` or a
        backup holding the lock must not stop the loop (enquire_link, metrics, reads).
        After ``[database] busy_timeout`` seconds of waiting the batch fails (and is retried).
        """
        delay, waited = 0.001, 0.0
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if not _busy(error) or waited >= self._busy_timeout:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.05)

    def retryable(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.OperationalError) and _busy(error)

    async def analyze(self) -> None:
        self.conn.execute("PRAGMA optimize")

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None





def _busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy's form) as the DSN asyncpg takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresBatchStore:
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self._dsn = asyncpg_dsn(url)
        self._pool_size = pool_size
        self._pool: Any = None

    async def _get_pool(self) -> Any:
        if self._pool is None:
            import asyncpg

            self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=self._pool_size)
        return self._pool

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        pool = await self._get_pool()
        async with pool.acquire() as conn, conn.transaction():
            yield PostgresExecutor(conn)

    def retryable(self, error: BaseException) -> bool:
        return getattr(error, "sqlstate", None) in _RETRYABLE_SQLSTATES

    async def analyze(self) -> None:
        """Statistics for the hot tables: asyncpg's prepared statements keep plans made when they were empty."""
        pool = await self._get_pool()
        async with pool.acquire() as conn:
            await conn.execute("ANALYZE " + ", ".join(_HOT_TABLES))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def jitter(attempt: int) -> float:
    return random.uniform(0, 0.005 * 2**attempt)
