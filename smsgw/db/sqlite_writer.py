"""One writer thread for SQLite that group-commits units of work.

Every write unit of work on SQLite runs here, on one ``sqlite3`` connection
(``BEGIN IMMEDIATE``, WAL, ``synchronous=FULL``), its SQLAlchemy Core statements
executed by :class:`~smsgw.db.sqlite_fast.FastSqliteSql`. Jobs queued while a
transaction is open are taken together, up to ``batch_size``: each runs in its
own SAVEPOINT (so one failing unit rolls back alone), then one COMMIT makes the
whole batch durable, and only then is each caller's future resolved. A caller
that acknowledges after its future resolves therefore never acknowledges
before its commit.

A unit of work is a coroutine function; here its database calls never suspend,
so it is driven to completion with a single ``send``. Awaiting anything else
inside it is a programming error and fails that unit.

Every writing connection (this thread's and the worker process's) comes from
``connect_sqlite`` and commits with ``commit``: ``secure_delete`` is on, and a
transaction that cleared a sealed reply text is followed by a WAL checkpoint
(TRUNCATE), so no page image of the token survives in ``-wal``.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from .sqlite_fast import FastSqliteSql
from .uow import SqlUnitOfWork

__all__ = ["SqliteWriter", "WriterConnection", "commit", "connect_sqlite"]

T = TypeVar("T")
Work = Callable[[SqlUnitOfWork], Awaitable[Any]]
_STOP = object()


# A sealed reply text (a temporary password, encrypted) left behind in the files: its
# row is cleared once the SMSC accepted it, but older page images stay in the WAL
# until it is checkpointed and truncated. These TEMP triggers tell the connection
# that a transaction cleared one; ``commit`` then wipes the WAL.
_WATCH_SEALED = (
    "CREATE TEMP TRIGGER IF NOT EXISTS smsgw_sealed_cleared AFTER UPDATE OF sealed ON outbox"
    " WHEN old.sealed IS NOT NULL AND new.sealed IS NULL BEGIN SELECT smsgw_sealed_cleared(); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS smsgw_sealed_deleted AFTER DELETE ON outbox"
    " WHEN old.sealed IS NOT NULL BEGIN SELECT smsgw_sealed_cleared(); END",
)
# A checkpoint that readers hold up longer is tried again after a later commit, at most
# once a second: a long reader (a backup) costs the hot path 20 ms a second, not every commit.
_WIPE_BUSY_TIMEOUT_MS = 20
_WIPE_RETRY_SECONDS = 1.0


class WriterConnection(sqlite3.Connection):
    """A writing connection: ``secure_delete`` on, and it knows when a sealed text was cleared."""

    busy_timeout_ms = 0
    watching = False  # the triggers are in place (the outbox table exists)
    sealed_cleared = False  # a committed (or committing) transaction cleared a sealed text
    next_wipe = 0.0  # time.monotonic() before which a held-up wipe is not tried again

    def _sealed_cleared(self) -> None:
        self.sealed_cleared = True

    def watch_sealed(self) -> None:
        if self.watching:
            return
        if self.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone():
            for statement in _WATCH_SEALED:
                self.execute(statement)
            self.watching = True

    def wipe_wal(self) -> bool:
        """Checkpoint the WAL into the database file and truncate it to nothing; False if readers kept it."""
        self.execute(f"PRAGMA busy_timeout = {_WIPE_BUSY_TIMEOUT_MS}")
        try:
            busy, _, _ = self.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        if busy:
            self.next_wipe = time.monotonic() + _WIPE_RETRY_SECONDS
            return False
        self.sealed_cleared = False
        return True


def connect_sqlite(path: str, *, busy_timeout: float) -> WriterConnection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout, factory=WriterConnection
    )
    conn.busy_timeout_ms = int(busy_timeout * 1000)
    conn.execute(f"PRAGMA busy_timeout = {conn.busy_timeout_ms}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")  # deleted content is overwritten with zeros
    conn.create_function("smsgw_sealed_cleared", 0, conn._sealed_cleared)
    conn.watch_sealed()
    return conn


def commit(conn: sqlite3.Connection) -> None:
    """COMMIT; then, if the transaction cleared a sealed text, wipe the WAL (never raises after the COMMIT).

    A wipe that readers hold up is tried again after a later commit (at most once a second).
    """
    conn.execute("COMMIT")
    if not isinstance(conn, WriterConnection):
        return
    try:
        conn.watch_sealed()  # the schema may have been created since the connection was opened
        if conn.sealed_cleared and time.monotonic() >= conn.next_wipe:
            conn.wipe_wal()  # False: readers of an older snapshot; the flag stays for a later commit
    except sqlite3.Error:  # the commit stands; the wipe is tried again after the next one
        pass


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its result."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a unit of work on the SQLite writer awaited something that is not the database")


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in outcomes:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


class SqliteWriter:
    def __init__(self, path: str, *, batch_size: int = 64, busy_timeout: float = 10.0, lock_retries: int = 5) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._batch_size = batch_size
        self._lock_retries = lock_retries
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._started = False
        self._cache: dict[Any, Any] = {}
        self._row_types: dict[Any, type] = {}
        self.batches = 0
        self.jobs = 0
        #: Called in the writer thread after every COMMIT (tests use it to delay or observe commits).
        self.after_commit: Callable[[int], None] | None = None

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    async def submit(self, work: Work) -> Any:
        self.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((work, future, loop))
        return await future

    def stop(self) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._started = False

    def _run(self) -> None:
        conn = connect_sqlite(self._path, busy_timeout=self._busy_timeout)
        try:
            while True:
                job = self._queue.get()
                if job is _STOP:
                    return
                batch = [job]
                stopping = False
                while len(batch) < self._batch_size:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        stopping = True
                        break
                    batch.append(nxt)
                self._execute(conn, batch)
                if stopping:
                    return
        finally:
            conn.close()

    def _begin(self, conn: sqlite3.Connection) -> None:
        for attempt in range(self._lock_retries + 1):
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error).lower() or attempt == self._lock_retries:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _execute(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        outcomes: list[tuple[asyncio.Future[Any], asyncio.AbstractEventLoop, Any, BaseException | None]] = []
        sql = FastSqliteSql(conn, self._cache, self._row_types)
        try:
            self._begin(conn)
            try:
                for work, future, loop in batch:
                    if future.done():  # the caller gave up (cancelled) before we started
                        continue
                    conn.execute("SAVEPOINT unit")
                    try:
                        value = drive(work(SqlUnitOfWork(sql)))
                    except BaseException as error:
                        conn.execute("ROLLBACK TO unit")
                        conn.execute("RELEASE unit")
                        outcomes.append((future, loop, None, error))
                    else:
                        conn.execute("RELEASE unit")
                        outcomes.append((future, loop, value, None))
                commit(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except BaseException as failure:  # nothing of this batch is durable
            outcomes = [(f, lp, None, failure) for _, f, lp in batch]
        else:
            if self.after_commit is not None:
                self.after_commit(len(batch))
        self.batches += 1
        self.jobs += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        for future, loop, value, problem in outcomes:
            by_loop.setdefault(loop, []).append((future, value, problem))
        for loop, settled in by_loop.items():  # one wake-up per loop and batch
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # the caller's loop is closed
                pass
