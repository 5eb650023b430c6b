"""One writer thread for SQLite that group-commits units of work.

Every write unit of work on SQLite runs here, on one synchronous SQLAlchemy
connection (``BEGIN IMMEDIATE``, WAL, ``synchronous=FULL``). Jobs queued while
a transaction is open are taken together, up to ``batch_size``: each runs in its
own SAVEPOINT (so one failing unit rolls back alone), then one COMMIT makes the
whole batch durable, and only then is each caller's future resolved. A caller
that acknowledges after its future resolves therefore never acknowledges
before its commit.

A unit of work is a coroutine function; here its database calls never suspend
(``SyncSql``), so it is driven to completion with a single ``send``. Awaiting
anything else inside it is a programming error and fails that unit.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from .sql import SyncSql
from .uow import SqlUnitOfWork

__all__ = ["SqliteWriter"]

T = TypeVar("T")
Work = Callable[[SqlUnitOfWork], Awaitable[Any]]
_STOP = object()


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its result."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a unit of work on the SQLite writer awaited something that is not the database")


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class SqliteWriter:
    def __init__(self, engine: Engine, *, batch_size: int = 64, lock_retries: int = 5) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._lock_retries = lock_retries
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._started = False
        self.batches = 0
        self.jobs = 0

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
        with self._engine.connect() as conn:
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

    def _execute(self, conn: Any, batch: list[Any]) -> None:
        outcomes: list[tuple[asyncio.Future[Any], asyncio.AbstractEventLoop, Any, BaseException | None]] = []
        for attempt in range(self._lock_retries + 1):
            outcomes = []
            try:
                with conn.begin():
                    for work, future, loop in batch:
                        if future.done():  # the caller gave up (cancelled) before we started
                            continue
                        savepoint = conn.begin_nested()
                        try:
                            value = drive(work(SqlUnitOfWork(SyncSql(conn))))
                        except BaseException as error:
                            savepoint.rollback()
                            outcomes.append((future, loop, None, error))
                        else:
                            savepoint.commit()
                            outcomes.append((future, loop, value, None))
                break
            except OperationalError as error:
                if "locked" in str(error).lower() and attempt < self._lock_retries:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                outcomes = [(f, lp, None, error) for _, f, lp in batch]
                break
            except BaseException as error:
                outcomes = [(f, lp, None, error) for _, f, lp in batch]
                break
        self.batches += 1
        self.jobs += len(batch)
        for future, loop, value, error in outcomes:
            try:
                loop.call_soon_threadsafe(_settle, future, value, error)
            except RuntimeError:  # the caller's loop is closed
                pass
