"""The portal's password check, step by step: read, scrypt outside any transaction, a guarded consume.

The fakes here only stand in for the database; the same properties are raced on
real SQLite and PostgreSQL in ``tests/integration/test_password_race.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from handlers.credentials import ALPHABET, decoy_hash, generate_password, hash_password, verify_password
from handlers.password import check_temporary_password
from handlers.ports import Transaction, UnitOfWork
from tests.unit.fakes import DECOY, FAST_SCRYPT_N, NOW, SENDER, FakeUnitOfWork, RecordingVerifier, postpaid

T = TypeVar("T")
PLAIN = "Kp7wX3hZqa"
LATER = NOW + timedelta(minutes=5)


def _params(password_hash: str) -> list[str]:
    """``scrypt$n$r$p``: what decides the cost of verifying against a hash."""
    return password_hash.split("$")[:4]


async def _world(*, temporary: str | None = PLAIN) -> FakeUnitOfWork:
    uow = FakeUnitOfWork.with_subscribers(postpaid())
    if temporary is not None:
        stored = hash_password(temporary, n=FAST_SCRYPT_N)
        await uow.passwords.put_temporary(SENDER, stored, NOW, NOW + timedelta(hours=24))
    return uow


class Journal:
    """Transactions on the fake that say what ran, in order, and whether it could write."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.steps: list[str] = []
        self.in_write = False

    def transaction(self, kind: str) -> Transaction:
        async def run(work: Callable[[UnitOfWork], Awaitable[T]], /) -> T:
            self.steps.append(kind)
            self.in_write = kind == "write"
            try:
                return await work(self.uow)
            finally:
                self.in_write = False

        return run

    def verifier(self) -> Callable[[str, str], Awaitable[bool]]:
        async def verify(password: str, password_hash: str) -> bool:
            assert not self.in_write, "scrypt ran inside a write transaction"
            self.steps.append("verify")
            return verify_password(password, password_hash)

        return verify


async def _check(journal: Journal, password: str, now: datetime = LATER, msisdn: str = SENDER) -> bool:
    return await check_temporary_password(
        msisdn,
        password,
        read=journal.transaction("read"),
        write=journal.transaction("write"),
        verify=journal.verifier(),
        decoy=DECOY,
        now=now,
    )


async def test_a_valid_password_is_read_then_verified_outside_then_consumed_in_a_short_write() -> None:
    journal = Journal(await _world())
    assert await _check(journal, PLAIN) is True
    assert journal.steps == ["read", "verify", "write"]
    assert journal.uow.passwords.temporaries[SENDER].used_at == LATER


async def test_a_wrong_password_never_opens_a_write_transaction() -> None:
    journal = Journal(await _world())
    assert await _check(journal, "Wrong12345") is False
    assert journal.steps == ["read", "verify"]


async def test_the_check_costs_one_scrypt_of_the_same_parameters_with_or_without_a_temporary_password() -> None:
    with_one, without = RecordingVerifier(), RecordingVerifier()
    for uow, verifier in ((await _world(), with_one), (await _world(temporary=None), without)):
        run = Journal(uow).transaction("read")
        await check_temporary_password(
            SENDER, "Wrong12345", read=run, write=run, verify=verifier, decoy=DECOY, now=LATER
        )
    assert len(with_one.hashes) == len(without.hashes) == 1
    assert _params(without.hashes[0]) == _params(with_one.hashes[0])
    assert without.hashes == [DECOY]


async def test_used_and_expired_passwords_are_verified_too_and_then_refused() -> None:
    uow = await _world()
    used = Journal(uow)
    assert await _check(used, PLAIN) is True
    again = Journal(uow)
    assert await _check(again, PLAIN) is False
    assert again.steps == ["read", "verify"]
    expired = Journal(await _world())
    assert await _check(expired, PLAIN, now=NOW + timedelta(hours=24)) is False
    assert expired.steps == ["read", "verify"]


def test_the_decoy_matches_no_password_and_differs_each_time() -> None:
    decoy = decoy_hash(n=FAST_SCRYPT_N)
    assert _params(decoy) == ["scrypt", str(FAST_SCRYPT_N), "8", "1"]
    assert decoy != decoy_hash(n=FAST_SCRYPT_N)
    assert not verify_password("", decoy) and not verify_password(PLAIN, decoy)


async def test_a_password_replaced_between_its_check_and_its_use_consumes_nothing() -> None:
    uow = await _world()
    journal = Journal(uow)
    verify = journal.verifier()

    async def replaced_meanwhile(password: str, password_hash: str) -> bool:
        ok = await verify(password, password_hash)
        newer = hash_password("Zz9yY8xX7w", n=FAST_SCRYPT_N)  # the subscriber texted P again
        await uow.passwords.put_temporary(SENDER, newer, LATER, LATER + timedelta(hours=24))
        return ok

    run_read, run_write = journal.transaction("read"), journal.transaction("write")
    assert not await check_temporary_password(
        SENDER, PLAIN, read=run_read, write=run_write, verify=replaced_meanwhile, decoy=DECOY, now=LATER
    )
    assert uow.passwords.temporaries[SENDER].used_at is None  # the replacement is intact
    assert await _check(Journal(uow), "Zz9yY8xX7w") is True


async def test_two_checks_that_both_read_before_either_writes_consume_it_once() -> None:
    uow = await _world()
    barrier = asyncio.Barrier(2)

    async def together(password: str, password_hash: str) -> bool:
        ok = verify_password(password, password_hash)
        await barrier.wait()  # both have read and verified: only the guarded write decides
        return ok

    run = Journal(uow).transaction("any")
    results = await asyncio.gather(
        *(
            check_temporary_password(SENDER, PLAIN, read=run, write=run, verify=together, decoy=DECOY, now=LATER)
            for _ in range(2)
        )
    )
    assert sorted(results) == [False, True]


def test_temporary_passwords_are_random_over_the_whole_unambiguous_alphabet() -> None:
    passwords = [generate_password(10) for _ in range(2000)]
    assert len(set(passwords)) == 2000 and {len(p) for p in passwords} == {10}
    used = set("".join(passwords))
    assert used == set(ALPHABET) and not used & set("0O1lIi")
    assert len(ALPHABET) == 55  # 10 characters: about 58 bits
    assert hash_password(PLAIN, n=FAST_SCRYPT_N) != hash_password(PLAIN, n=FAST_SCRYPT_N)  # salted
