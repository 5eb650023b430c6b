"""The temporary password's single use, raced on real SQLite and PostgreSQL with no fake in between.

Each race lets every contender read the stored hash and verify the password
before any of them writes (a barrier inside ``verify``), so only the database's
guard — ``UPDATE … WHERE msisdn AND password_hash AND used_at IS NULL AND
expires_at > now`` in ``smsgw.db.passwords`` — decides who consumes it. Without
``used_at IS NULL`` every contender wins; without the hash match a password that
was replaced meanwhile consumes its replacement: both races below then fail.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from handlers.credentials import decoy_hash, verify_password
from handlers.password import check_temporary_password
from smsgw.cli import main
from smsgw.db import schema
from smsgw.db.database import Database, open_database
from smsgw.keys import new_key_file
from smsgw.subscriber_import import import_subscribers

from .conftest import DIRECTORY, NOON, Harness, _App, make_harness

SENDER = "37120000002"
CONTENDERS = 8
DECOY = decoy_hash(n=2**10)
LATER = NOON + timedelta(minutes=5)
SMSGW = str(Path(sys.executable).with_name("smsgw"))

Verifier = Callable[[str, str], Awaitable[bool]]


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[Harness]:
    h = await make_harness(database_url)
    await import_subscribers(_App(h.db), DIRECTORY)
    try:
        yield h
    finally:
        await h.db.close()


async def _issue(h: Harness) -> str:
    result = await h.mo(SENDER, "P", destination="1640", smsc_ref=uuid.uuid4().hex)  # a new SMS each time
    assert result.outcome == "password_issued"
    return result.replies[0].text.split(": ")[1].split(" ")[0]


def _together(count: int) -> Verifier:
    """The real scrypt, then wait until ``count`` contenders have read and verified."""
    barrier = asyncio.Barrier(count)

    async def verify(password: str, password_hash: str) -> bool:
        ok = await asyncio.to_thread(verify_password, password, password_hash)
        await asyncio.wait_for(barrier.wait(), 30)
        return ok

    return verify


async def _check(db: Database, password: str, verify: Verifier, now: datetime = LATER) -> bool:
    return await check_temporary_password(
        SENDER, password, read=db.read, write=db.write, verify=verify, decoy=DECOY, now=now
    )


async def _used_at(h: Harness) -> list[Any]:
    stmt = select(schema.temporary_passwords.c.used_at).where(schema.temporary_passwords.c.msisdn == SENDER)
    return [row.used_at for row in await h.db.read(lambda uow: uow.sql.rows(stmt))]


async def test_many_connections_checking_one_password_at_once_consume_it_exactly_once(
    world: Harness, database_url: str
) -> None:
    password = await _issue(world)
    handles = [open_database(database_url) for _ in range(CONTENDERS)]  # a connection (and writer) each
    try:
        verify = _together(CONTENDERS)
        results = await asyncio.gather(*(_check(db, password, verify) for db in handles))
    finally:
        for db in handles:
            await db.close()
    assert sorted(results) == [False] * (CONTENDERS - 1) + [True]
    assert len(await _used_at(world)) == 1 and (await _used_at(world))[0] is not None
    assert await _check(world.db, password, _together(1)) is False  # and never again


async def test_a_password_replaced_while_it_is_checked_never_consumes_its_replacement(world: Harness) -> None:
    first = await _issue(world)
    replacement: list[str] = []

    async def replaced_meanwhile(password: str, password_hash: str) -> bool:
        ok = await asyncio.to_thread(verify_password, password, password_hash)
        replacement.append(await _issue(world))  # the subscriber texts P again before the first is used
        return ok

    assert await _check(world.db, first, replaced_meanwhile) is False
    assert await _used_at(world) == [None]  # the replacement is untouched
    assert await _check(world.db, replacement[0], _together(1)) is True


async def test_the_use_statement_itself_matches_the_hash_unused_and_unexpired(world: Harness) -> None:
    await _issue(world)
    stored = await world.db.read(lambda uow: uow.passwords.temporary(SENDER))
    assert stored is not None
    password_hash, expires_at, _ = stored

    async def use(password_hash: str, at: datetime) -> bool:
        return await world.db.write(lambda uow: uow.passwords.mark_used(SENDER, password_hash, at))

    assert await use(DECOY, LATER) is False  # another hash (a replaced password)
    assert await use(password_hash, expires_at) is False  # expired (valid strictly before expires_at)
    assert await use(password_hash, LATER) is True
    assert await use(password_hash, LATER) is False  # used
    assert await _used_at(world) != [None]


async def test_the_service_s_check_races_to_exactly_one_success(world: Harness) -> None:
    password = await _issue(world)
    world.clock.advance(minutes=1)
    results = await asyncio.gather(*(world.service.check_password(SENDER, password) for _ in range(CONTENDERS)))
    assert results.count(True) == 1


async def test_on_sqlite_scrypt_runs_while_other_writers_can_write(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login storm must not stall the gateway's writes: the service holds no write lock during the hash."""
    h = await make_harness(sqlite_url)
    await import_subscribers(_App(h.db), DIRECTORY)
    try:
        password = await _issue(h)
        h.clock.advance(minutes=1)
        path = sqlite_url.split("///", 1)[1]
        writes: list[bool] = []

        def verify_while_writing(plain: str, password_hash: str) -> bool:
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # "database is locked" at once if a writer holds the lock
                other.execute("ROLLBACK")
                writes.append(True)
            finally:
                other.close()
            return verify_password(plain, password_hash)

        monkeypatch.setattr("smsgw.service.verify_password", verify_while_writing)
        assert await h.service.check_password(SENDER, password) is True
        assert writes == [True]
    finally:
        await h.db.close()


# --- several processes on one database --------------------------------------------------------


def _contender(url: str, password: str, now: datetime, barrier: Any, results: Any) -> None:
    async def run() -> bool:
        db = open_database(url)
        try:

            async def verify(plain: str, password_hash: str) -> bool:
                ok = await asyncio.to_thread(verify_password, plain, password_hash)
                await asyncio.to_thread(barrier.wait, 60)
                return ok

            return await _check(db, password, verify, now)
        finally:
            await db.close()

    results.put(asyncio.run(run()))


async def test_several_processes_checking_one_password_at_once_consume_it_once(database_url: str) -> None:
    """Each process verifies, then waits for the others, then consumes: only the database decides."""
    h = await make_harness(database_url)
    await import_subscribers(_App(h.db), DIRECTORY)
    try:
        password = await _issue(h)
    finally:
        await h.db.close()
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(CONTENDERS // 2), spawn.Queue()
    processes = [
        spawn.Process(target=_contender, args=(database_url, password, LATER, barrier, results))
        for _ in range(CONTENDERS // 2)
    ]
    for process in processes:
        process.start()
    found = [await asyncio.to_thread(results.get, True, 120) for _ in processes]
    for process in processes:
        await asyncio.to_thread(process.join, 30)
    assert sorted(found) == [False] * (CONTENDERS // 2 - 1) + [True]
    db = open_database(database_url)
    try:
        assert await _check(db, password, _together(1)) is False  # consumed: never again
    finally:
        await db.close()


# --- the command line, as the portal would call it -------------------------------------------------


def test_concurrent_password_check_commands_let_exactly_one_in(tmp_path: Path, database_url: str) -> None:
    new_key_file(tmp_path / "gw.key")
    config = tmp_path / "config.toml"
    config.write_text(
        '[smpp]\nhost = "127.0.0.1"\nport = 2775\nsystem_id = "smsgw"\npassword = "demo1234"\n'
        '[http]\nhost = "127.0.0.1"\nport = 8080\n'
        f'[database]\nurl = "{database_url}"\n[security]\nkey_file = "gw.key"\n[password]\nscrypt_n = 16384\n',
        encoding="utf-8",
    )
    (tmp_path / "subs.csv").write_text(
        "msisdn,kind,status,customer_type,sos_sms_allowed,language,email,karte_expires_on,balance\n"
        f"{SENDER},postpaid,active,private,,en,,,\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    assert (
        runner.invoke(main, ["--config", str(config), "subscribers", "import", str(tmp_path / "subs.csv")]).exit_code
        == 0
    )
    issued = runner.invoke(main, ["--config", str(config), "mo", SENDER, "1640", "P"])
    password = issued.stdout.split("\t")[2].split(": ")[1].split(" ")[0]
    checks = [
        subprocess.Popen(
            [SMSGW, "--config", str(config), "password", "check", SENDER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(CONTENDERS // 2)
    ]
    codes = []
    for check in checks:
        check.communicate(password + "\n", timeout=120)
        codes.append(check.returncode)
    assert sorted(codes) == [0] + [1] * (CONTENDERS // 2 - 1)
