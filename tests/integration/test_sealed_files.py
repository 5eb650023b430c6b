"""No temporary password, clear or sealed, stays in the SQLite files once its SMS is done with.

The sealed text of a password SMS is cleared from its outbox row when the SMSC
accepts it (or it fails or expires); the writer then checkpoints the WAL and
truncates it, so that no older page image keeps the token (``sqlite_writer.commit``).
These tests grep the bytes of ``smsgw.db``, ``-wal`` and ``-shm``; the end-to-end
proof with real processes is ``tests/e2e/test_password_files.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from smsgw.db.database import SqliteDatabase
from smsgw.db.outbox import PartAccepted
from smsgw.subscriber_import import import_subscribers

from .conftest import DIRECTORY, NOON, Harness, _App, make_harness

#: Every Fernet token starts so (version byte 0x80, then a 64-bit timestamp).
TOKEN_PREFIX = b"gAAAAA"


def database_files(db: SqliteDatabase) -> dict[str, bytes]:
    paths = [Path(db.path), Path(db.path + "-wal"), Path(db.path + "-shm")]
    return {path.name: path.read_bytes() for path in paths if path.exists()}


def holding(db: SqliteDatabase, *needles: bytes) -> list[str]:
    """Which database files hold any of ``needles``."""
    return sorted(name for name, data in database_files(db).items() if any(n in data for n in needles))


@pytest.fixture
async def sqlite_harness(sqlite_url: str) -> AsyncIterator[Harness]:
    h = await make_harness(sqlite_url)
    await import_subscribers(_App(h.db), DIRECTORY)
    try:
        yield h
    finally:
        await h.db.close()


async def _password_queued(h: Harness) -> tuple[bytes, bytes, int]:
    """Ask for a password; returns (the password, its sealed token, the reply's outbox id), claimed."""
    result = await h.mo("37120000002", "P", destination="1640")
    password = result.replies[0].text.split(": ")[1].split(" ")[0].encode()
    [claimed] = await h.db.write(
        lambda uow: uow.outbox.claim(now=NOON, lease_until=NOON + timedelta(seconds=60), limit=1, owner="t")
    )
    assert claimed.sealed is not None
    return password, claimed.sealed.encode(), claimed.id


async def test_once_accepted_neither_the_password_nor_its_token_is_in_any_file(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    assert isinstance(h.db, SqliteDatabase)
    password, token, reply_id = await _password_queued(h)
    assert holding(h.db, token) != []  # the test can see it while it is needed
    await h.db.write(lambda uow: uow.outbox.accepted([PartAccepted(reply_id, 1, "m1", 1, True)], NOON))
    assert holding(h.db, token, TOKEN_PREFIX, password) == []
    await h.db.write(lambda uow: uow.outbox.receipt(("m1",), "delivered", NOON))  # life goes on
    assert holding(h.db, token, TOKEN_PREFIX, password) == []


async def test_a_password_sms_that_fails_or_expires_leaves_no_token_either(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    assert isinstance(h.db, SqliteDatabase)
    _, token, reply_id = await _password_queued(h)
    await h.db.write(lambda uow: uow.outbox.fail(reply_id, "failed", "refused by the SMSC", NOON))
    assert holding(h.db, token, TOKEN_PREFIX) == []

    await h.mo("37120000001", "P", destination="1640")  # never claimed: it expires
    late = NOON + h.service.reply_validity + timedelta(seconds=1)
    await h.db.write(lambda uow: uow.outbox.claim(now=late, lease_until=late, limit=1, owner="t"))
    assert holding(h.db, TOKEN_PREFIX) == []


async def test_a_reader_holding_an_old_snapshot_delays_the_wipe_to_a_later_commit(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    assert isinstance(h.db, SqliteDatabase)
    _, token, reply_id = await _password_queued(h)
    reader = sqlite3.connect(h.db.path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM outbox").fetchone()  # a snapshot from before the clearing
        await h.db.write(lambda uow: uow.outbox.accepted([PartAccepted(reply_id, 1, "m1", 1, True)], NOON))
        assert holding(h.db, token) == ["smsgw.db-wal"]  # the reader may still need that page
    finally:
        reader.close()
    # A later commit wipes it (the gateway's sender commits a claim every half second).
    for _ in range(40):
        await h.db.write(lambda uow: uow.outbox.receipt(("m1",), "delivered", NOON))
        if not holding(h.db, token, TOKEN_PREFIX):
            break
        await asyncio.sleep(0.1)
    assert holding(h.db, token, TOKEN_PREFIX) == []
