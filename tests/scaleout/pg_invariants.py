"""The reliability suite's invariants over a PostgreSQL database shared by several instances.

``tests/reliability/invariants.py`` reads a SQLite file. Here the tables it reads
are copied from PostgreSQL, in one ``REPEATABLE READ`` transaction (one
consistent snapshot of the whole database, whichever instance wrote what), into
a fresh SQLite file, and the very same checks run on the copy. While the system
settles the copy is taken again before every look. Nothing is mocked: the rows
are the ones the instances committed, the SMSC's side is the simulator's
control API.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from smsgw.db.batch_store import asyncpg_dsn
from tests.reliability.invariants import Expected, Mt, Sent, SimulatorView, acked_but_unrecorded, check_invariants

__all__ = ["PgCopy", "acked_but_unrecorded_pg", "check_cluster", "fetch_pg"]

#: The tables the checks read (and those the suite's own checks read).
TABLES = (
    "mo_messages",
    "topups",
    "charges",
    "outbox",
    "mt_parts",
    "mo_parts",
    "monthly_orders",
    "instances",
    "subscribers",
)


async def _copy(dsn: str, target: Path) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            tables = {}
            for table in TABLES:
                stmt = await conn.prepare(f"SELECT * FROM {table}")
                names = [a.name for a in stmt.get_attributes()]
                tables[table] = (names, await stmt.fetch())
    finally:
        await conn.close()
    partial = target.with_suffix(".part")
    partial.unlink(missing_ok=True)
    con = sqlite3.connect(partial)
    try:
        for table, (names, rows) in tables.items():
            con.execute(f"CREATE TABLE {table} ({', '.join(names)})")
            marks = ", ".join("?" * len(names))
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", [tuple(_plain(v) for v in r) for r in rows])
        con.commit()
    finally:
        con.close()
    os.replace(partial, target)


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def fetch_pg(database_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of one query on the shared database (its own connection)."""

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            return [tuple(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


@dataclass
class PgCopy:
    """What ``check_invariants`` takes as its ``stack``: a SQLite copy of the shared database, the simulator."""

    database_url: str
    db_path: Path
    sim_http: int
    billing_export: Callable[[str], list[dict[str, str]]] | None = None

    def refresh(self) -> Path:
        asyncio.run(_copy(asyncpg_dsn(self.database_url), self.db_path))
        return self.db_path

    def billing(self, month: str) -> list[dict[str, str]]:
        assert self.billing_export is not None
        return self.billing_export(month)


class _StatesFirst:
    """An ``SmscView`` whose MO states were read before the database was copied.

    ``check_invariants`` asks the SMSC first so that a commit made after an ack
    cannot excuse a missing row; with a copy, the SMSC must be asked before the
    copy is taken, or an MO committed and acknowledged in between would look
    acknowledged but not recorded. The MTs are read live (later is harmless).
    """

    def __init__(self, view: SimulatorView, states: dict[str, str]) -> None:
        self._view = view
        self._states = states

    def mo_states(self, mos: Sequence[Sent]) -> dict[str, str]:
        return {m.key: self._states.get(m.key, "unknown") for m in mos}

    def mts(self, cursor: int) -> list[Mt]:
        return self._view.mts(cursor)


def acked_but_unrecorded_pg(copy: PgCopy, expected: Expected) -> list[str]:
    """(a) at this instant: the SMSC is asked first, then the database is copied."""
    view = SimulatorView(copy.sim_http)
    try:
        states = view.mo_states(expected.mos)
        copy.refresh()
        return acked_but_unrecorded(copy.db_path, _StatesFirst(view, states), expected.mos)
    finally:
        view.close()


def check_cluster(copy: PgCopy, expected: Expected, *, settle: float = 30.0, billing: bool = False) -> list[str]:
    """The violated guarantees across the whole shared database (empty: all hold), after up to ``settle`` s.

    Each look asks the SMSC, copies the database and runs ``check_invariants`` on
    the copy without waiting; violations that time may resolve (an MO not yet
    acknowledged, a reply still being sent) are looked at again until ``settle``
    passes, the others end the wait at once — as ``check_invariants`` itself does.
    """
    deadline = time.monotonic() + settle
    view = SimulatorView(copy.sim_http)
    try:
        while True:
            states = view.mo_states(expected.mos)
            copy.refresh()
            problems = check_invariants(copy, expected, smsc=_StatesFirst(view, states), settle=0.0, billing=billing)
            still_settling = bool(problems) and problems[-1].startswith("not settled")
            if not still_settling or time.monotonic() >= deadline:
                break
            time.sleep(0.3)
    finally:
        view.close()
    if problems and problems[-1].startswith("not settled"):
        problems[-1] = f"not settled within {settle:.0f} s"
    return problems
