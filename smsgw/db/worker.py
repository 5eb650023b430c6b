"""The SQLite writer as a process of its own, for the gateway's hot path.

The gateway's event loop (SMPP, parsing, encoding) and its database work both
need the interpreter. In one process they take turns on one lock, and every
hand-over between threads can wait for the other thread's switch interval
(5 ms): measured, a top-up then took 12–40 ms from read to commit while the
disk and SQLite needed well under one (docs/performance.md). So ``smsgw run``
on SQLite sends its named units of work (``smsgw.db.calls``) to this process,
with no thread of ours in between:

- the gateway writes the calls made in one turn of its event loop as one frame
  (4-byte length, pickle) on a socket pair, and reads the answers on the same
  event loop;
- the worker, one thread, takes every frame waiting, runs all their calls in ONE
  transaction (``BEGIN IMMEDIATE``, a SAVEPOINT per call, ``synchronous=FULL``),
  commits, and only then answers: a caller that acknowledges after its result
  arrives never acknowledges before the commit;
- the worker builds its own catalog (rules, sealing key) from the same config.

If the worker dies, every call waiting on it fails (the SMSC keeps those MOs
and delivers them again) and the next call starts a new worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import pickle
import random
import select
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import structlog

from .sqlite_writer import commit

__all__ = ["WorkerClient", "main"]

log = structlog.get_logger("smsgw.db.worker")

_MAX_CALLS = 512
_LENGTH = struct.Struct(">I")


# --- the worker process -------------------------------------------------------------------


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise EOFError
        chunks += chunk
    return bytes(chunks)


def _recv_frame(sock: socket.socket) -> Any:
    (size,) = _LENGTH.unpack(_recv_exactly(sock, 4))
    return pickle.loads(_recv_exactly(sock, size))


def _send_frame(sock: socket.socket, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LENGTH.pack(len(data)) + data)


def main(fd: int) -> None:
    """``python -m smsgw.db.worker FD``: serve calls on the inherited socket until it closes."""
    from .sqlite_fast import FastSqliteSql
    from .sqlite_writer import connect_sqlite, drive
    from .uow import SqlUnitOfWork

    sock = socket.socket(fileno=fd)
    path, busy_timeout, make_catalog, config = _recv_frame(sock)
    catalog = make_catalog(config)
    delay = float(getattr(getattr(config, "database", None), "test_commit_delay", 0.0) or 0.0)
    db = connect_sqlite(path, busy_timeout=busy_timeout)
    sql = FastSqliteSql(db, {}, {})
    try:
        _send_frame(sock, "ready")
    except OSError:  # the gateway went away while we started
        return
    while True:
        try:
            calls = _recv_frame(sock)
            while len(calls) < _MAX_CALLS and select.select([sock], [], [], 0)[0]:
                calls.extend(_recv_frame(sock))
        except (EOFError, OSError):
            return
        results = _run(db, sql, calls, catalog, drive, SqlUnitOfWork, delay)
        try:
            data = pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an unpicklable result or exception: say what it was
            results = [
                (i, ok, v if _picklable(v) else RuntimeError(f"{type(v).__name__}: {v}")) for i, ok, v in results
            ]
            data = pickle.dumps(results)
        try:
            sock.sendall(_LENGTH.pack(len(data)) + data)
        except OSError:
            return


def _run(
    db: sqlite3.Connection, sql: Any, calls: list[Any], catalog: Any, drive: Any, uow_type: Any, delay: float = 0.0
) -> list[Any]:
    results: list[Any] = []
    try:
        _begin(db)
        try:
            for call_id, name, args in calls:
                db.execute("SAVEPOINT unit")
                try:
                    value = drive(catalog[name](uow_type(sql), *args))
                except Exception as error:  # handed back to the caller
                    db.execute("ROLLBACK TO unit")
                    db.execute("RELEASE unit")
                    results.append((call_id, False, error))
                else:
                    db.execute("RELEASE unit")
                    results.append((call_id, True, value))
            if delay:
                time.sleep(random.uniform(0, delay))  # [database] test_commit_delay: a slow disk
            commit(db)  # and wipes the WAL when a sealed text was cleared
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    except Exception as failure:  # nothing of this batch is durable
        return [(call_id, False, failure) for call_id, _, _ in calls]
    return results


def _begin(db: sqlite3.Connection, retries: int = 5) -> None:
    for attempt in range(retries + 1):
        try:
            db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error).lower() or attempt == retries:
                raise
            time.sleep(0.05 * (attempt + 1))


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


# --- the gateway's side ----------------------------------------------------------------------


class WorkerClient:
    """``await call(name, *args)``; starts the worker process on first use."""

    def __init__(self, path: str, busy_timeout: float, make_catalog: Callable[[Any], Any], config: Any) -> None:
        self._init = (path, busy_timeout, make_catalog, config)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._outgoing: list[tuple[int, str, tuple[Any, ...]]] = []
        self._scheduled = False
        self._process: subprocess.Popen[bytes] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._closed = False
        self.batches = 0
        self.calls = 0

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None and self._writer is not None

    async def start(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.alive:
                return
            ours, theirs = socket.socketpair()
            self._process = subprocess.Popen(  # noqa: ASYNC220 - starting it is quick; it is waited for below
                [sys.executable, "-m", "smsgw.db.worker", str(theirs.fileno())], pass_fds=(theirs.fileno(),)
            )
            theirs.close()
            reader, writer = await asyncio.open_connection(sock=ours)
            data = pickle.dumps(self._init)
            writer.write(_LENGTH.pack(len(data)) + data)
            (size,) = _LENGTH.unpack(await reader.readexactly(4))
            if pickle.loads(await reader.readexactly(size)) != "ready":
                raise RuntimeError("the database worker did not start")
            self._writer = writer
            self._reader_task = asyncio.get_running_loop().create_task(self._read(reader))
            log.info("db_worker_started", pid=self._process.pid)

    async def call(self, name: str, *args: Any) -> Any:
        if self._closed:  # shutting down: no new worker for a late caller
            raise ConnectionError("the database is closed")
        if not self.alive:
            await self.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        call_id = next(self._ids)
        self._pending[call_id] = future
        self._outgoing.append((call_id, name, args))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        calls, self._outgoing = self._outgoing, []
        if not calls:
            return
        writer = self._writer
        if writer is None or writer.is_closing():
            self._fail([call_id for call_id, _, _ in calls])
            return
        self.batches += 1
        self.calls += len(calls)
        data = pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL)
        writer.write(_LENGTH.pack(len(data)) + data)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (size,) = _LENGTH.unpack(await reader.readexactly(4))
                for call_id, ok, value in pickle.loads(await reader.readexactly(size)):
                    future = self._pending.pop(call_id, None)
                    if future is None or future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        self._writer = None
        if self._pending and not self._closed:
            log.error("db_worker_lost", calls_failed=len(self._pending))
        self._fail(list(self._pending))

    def _fail(self, call_ids: list[int]) -> None:
        for call_id in call_ids:
            future = self._pending.pop(call_id, None)
            if future is not None and not future.done():
                future.set_exception(ConnectionError("the database worker process ended"))

    async def close(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._reader_task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._reader_task, 10)
        process = self._process
        if process is not None:
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
        self._process = None


if __name__ == "__main__":
    main(int(sys.argv[1]))
