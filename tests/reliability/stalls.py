"""Holding the gateway's commits without stopping the gateway, and knowing what it has read.

The gateway commits its batches on the SQLite file from its own event loop
(``smsgw/db/batch_store.py``): while another connection holds the write lock
(``BEGIN IMMEDIATE``), each batch waits for it on the event loop, for up to
``[database] busy_timeout`` (10 s by default) per attempt. Meanwhile the
gateway goes on reading deliver_sm and answering enquire_link, but commits
nothing and so answers no MO. :class:`WriteLock` is that other connection;
``release`` (ROLLBACK) lets the waiting batch commit at once.

:func:`wait_gateway_read` waits until the SMSC wrote given MOs and the gateway
read every byte of them (its socket's receive queue, from ``/proc/net/tcp``):
the MOs are then in the gateway's hands — in a batch waiting for the lock —
not in the kernel's. This replaces the fixed pauses of the suite's first
version, which a loaded machine could outrun.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from tests.e2e.harness import Stack

from .invariants import Sent, SimulatorView

__all__ = ["WriteLock", "unread_bytes", "wait_gateway_read", "wait_quiet"]


class WriteLock:
    """``BEGIN IMMEDIATE`` on the gateway's database from another connection: its batches cannot commit."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._con: sqlite3.Connection | None = None

    @property
    def held(self) -> bool:
        return self._con is not None

    def acquire(self, timeout: float = 30.0) -> WriteLock:
        """Take the lock (waiting up to ``timeout`` s for a batch that is committing)."""
        assert self._con is None, "the write lock is held already"
        con = sqlite3.connect(self.db_path, timeout=timeout, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
        except BaseException:
            con.close()
            raise
        self._con = con
        return self

    def release(self) -> None:
        """ROLLBACK (nothing was written): the gateway's waiting batch commits at its next try."""
        con, self._con = self._con, None
        if con is not None:
            try:
                con.execute("ROLLBACK")
            finally:
                con.close()

    def __enter__(self) -> WriteLock:
        return self.acquire() if self._con is None else self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()


def unread_bytes(smsc_port: int) -> int | None:
    """Bytes the SMSC sent that sit unread in the receive queues of connections to ``smsc_port``.

    None when there is no established connection to that port (the gateway is
    not connected). Linux only (``/proc/net/tcp``), as the rest of this suite.
    """
    found, total = False, 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 5 or fields[3] != "01":  # 01: ESTABLISHED
                continue
            if int(fields[2].rsplit(":", 1)[1], 16) != smsc_port:  # the remote end is the SMSC: our end
                continue
            found = True
            total += int(fields[4].split(":")[1], 16)  # tx_queue:rx_queue
    return total if found else None


def wait_quiet(stack: Stack, timeout: float = 15.0) -> None:
    """Wait until no deliver_sm (MO or receipt) is queued or unanswered at the simulator.

    Taken before the write lock: receipts wait for a batch too, and those
    already in flight would otherwise take the places of the MOs in the
    simulator's window. While the lock is held no new submit goes out, so at
    most the submits already in flight bring receipts.
    """
    deadline = time.monotonic() + timeout
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = stack.status()
        binds = status["binds"]
        assert isinstance(binds, list)
        if int(str(status["queued"])) == 0 and all(int(b["outstanding_delivers"]) == 0 for b in binds):
            return
        time.sleep(0.02)
    raise AssertionError(f"the simulator did not become quiet within {timeout} s: {status}")


def wait_gateway_read(stack: Stack, view: SimulatorView, mos: Sequence[Sent], timeout: float = 15.0) -> None:
    """Wait until the simulator wrote every MO of ``mos`` and the gateway read all it was sent."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    unread: int | None = None
    while time.monotonic() < deadline:
        states = view.mo_states(mos)
        if all(state != "queued" for state in states.values()):
            # The simulator writes a deliver_sm in the loop turn that dispatched it, before it
            # serves our next request: what it holds as sent is in the kernel or already read.
            unread = unread_bytes(stack.smpp_port)
            if unread == 0:
                return
        time.sleep(0.02)
    raise AssertionError(f"the gateway did not read the MOs within {timeout} s: {states}, unread bytes {unread}")
