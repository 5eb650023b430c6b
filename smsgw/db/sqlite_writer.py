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

__all__ = ["SqliteWriter", "connect_sqlite"]

T = TypeVar("T")
Work = Callable[[SqlUnitOfWork], Awaitable[Any]]
_STOP = object()


def connect_sqlite(path: str, *, busy_timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


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
                conn.execute("COMMIT")
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
