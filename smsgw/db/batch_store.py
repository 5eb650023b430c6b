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
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy import make_url

from ..batch.jobs import Batch
from ..batch.snapshot import Keys, Snapshot
from ..logs import log_failure
from .batch_load import load_snapshot
from .batch_sender import SenderWork, record_sender_work
from .batch_write import WritePlan, write_decisions, write_rare
from .executors import Executor, PostgresExecutor, SqliteExecutor
from .pg_batch import lock_script, pg_load, pg_record
from .sqlite_writer import WriterConnection, commit, connect_sqlite

__all__ = ["BatchStore", "PostgresBatchStore", "SqliteBatchStore", "jitter"]

log = structlog.get_logger("smsgw.db")

_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
_HOT_TABLES = (
    "subscribers",
    "topups",
    "charges",
    "mo_messages",
    "outbox",
    "mt_parts",
    "pending_requests",
    "early_receipts",
)
# PostgreSQL keeps plans made while the tables were small (a foreign-key check, a prepared statement) until
# their statistics change: the tables are analysed after this instance's first MOs, then each time they grew
# eightfold (a fresh database would otherwise scan whole tables, foreign-key checks included, until
# autovacuum came by; once the plans use the indexes, growth does not change them).
_FIRST_ANALYZE_AFTER = 2000
_ANALYZE_GROWTH = 8


class BatchStore(Protocol):
    """A database's way of running a batch: its transaction, and how it loads, writes and records."""

    dialect: str

    def transaction(
        self, lock: Sequence[str] = (), *, alone: bool = False
    ) -> contextlib.AbstractAsyncContextManager[Executor]: ...
    async def load(self, ex: Executor, keys: Keys, snap: Snapshot) -> None: ...
    async def record(
        self,
        ex: Executor,
        plan: WritePlan | None,
        batch: Batch,
        now: datetime,
        variants: Callable[[str], tuple[str, ...]],
    ) -> tuple[list[int], SenderWork]: ...
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
    async def transaction(self, lock: Sequence[str] = (), *, alone: bool = False) -> AsyncIterator[Executor]:
        """BEGIN IMMEDIATE: the write lock orders everything (``lock`` is not needed)."""
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

    async def load(self, ex: Executor, keys: Keys, snap: Snapshot) -> None:
        await load_snapshot(ex, keys, snap)

    async def record(
        self,
        ex: Executor,
        plan: WritePlan | None,
        batch: Batch,
        now: datetime,
        variants: Callable[[str], tuple[str, ...]],
    ) -> tuple[list[int], SenderWork]:
        reply_ids = await write_decisions(ex, plan) if plan is not None else []
        return reply_ids, await record_sender_work(ex, batch, now, variants)

    def retryable(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.OperationalError) and _busy(error)

    async def analyze(self) -> None:
        self.conn.execute("PRAGMA optimize")

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _conn(ex: Executor) -> Any:
    assert isinstance(ex, PostgresExecutor)
    return ex.conn


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
        self._mos = 0
        self._analyze_at = _FIRST_ANALYZE_AFTER
        self._analyzing: asyncio.Task[None] | None = None

    async def _get_pool(self) -> Any:
        if self._pool is None:
            import asyncpg

            class _Connection(asyncpg.Connection):  # type: ignore[misc]
                def get_reset_query(self) -> str:
                    # Released after every batch: no session state is ever set and advisory locks are
                    # per transaction, so the default reset (RESET ALL, unlock all …) would be a round trip
                    # per batch for nothing. An open transaction is still rolled back by the pool.
                    return ""

            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self._pool_size,
                connection_class=_Connection,
                # The batch's statements are large and always the same: planned once per connection (and again
                # after each ANALYZE), not at every execution — custom plans cost the server more than running them.
                server_settings={"plan_cache_mode": "force_generic_plan"},
            )
        return self._pool

    @contextlib.asynccontextmanager
    async def transaction(self, lock: Sequence[str] = (), *, alone: bool = False) -> AsyncIterator[Executor]:
        """BEGIN and the advisory locks of ``lock`` in one round trip (``pg_batch.lock_script``);
        ``alone``: the work is one statement, atomic by itself (no BEGIN, no COMMIT)."""
        pool = await self._get_pool()
        async with pool.acquire() as conn:
            if alone:
                yield PostgresExecutor(conn)
                return
            await conn.execute(lock_script(lock))
            try:
                yield PostgresExecutor(conn)
                await conn.execute("COMMIT")
            except BaseException:
                if not conn.is_closed() and conn.is_in_transaction():
                    await conn.execute("ROLLBACK")
                raise

    async def load(self, ex: Executor, keys: Keys, snap: Snapshot) -> None:
        await pg_load(_conn(ex), ex, keys, snap)

    async def record(
        self,
        ex: Executor,
        plan: WritePlan | None,
        batch: Batch,
        now: datetime,
        variants: Callable[[str], tuple[str, ...]],
    ) -> tuple[list[int], SenderWork]:
        if plan is not None:
            await write_rare(ex, plan)
        recorded = await pg_record(_conn(ex), ex, plan, batch, now, variants)
        self._grew(len(batch.mos))
        return recorded

    def _grew(self, mos: int) -> None:
        """Analyse in the background after the first MOs, then each time they grew eightfold."""
        self._mos += mos
        if self._mos < self._analyze_at or (self._analyzing is not None and not self._analyzing.done()):
            return
        self._analyze_at = _ANALYZE_GROWTH * self._mos
        self._analyzing = asyncio.get_running_loop().create_task(self._analyze_quietly())

    async def _analyze_quietly(self) -> None:
        try:
            await self.analyze()
        except Exception as error:  # statistics are an optimisation: the next doubling tries again
            log_failure(log, "analyze_failed", error)

    def retryable(self, error: BaseException) -> bool:
        return getattr(error, "sqlstate", None) in _RETRYABLE_SQLSTATES

    async def analyze(self) -> None:
        """Statistics for the hot tables: asyncpg's prepared statements keep plans made when they were empty."""
        pool = await self._get_pool()
        async with pool.acquire() as conn:
            await conn.execute("ANALYZE " + ", ".join(_HOT_TABLES))

    async def close(self) -> None:
        if self._analyzing is not None and not self._analyzing.done():
            self._analyzing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._analyzing
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def jitter(attempt: int) -> float:
    return random.uniform(0, 0.005 * 2**attempt)
