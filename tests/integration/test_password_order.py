"""Password work in the right order, on a real SQLite file and a real PostgreSQL, no fake in between.

- A burst of ``P`` from one number past the limit gets three passwords and ONE
  "try later", whether the burst comes through one service's concurrent tasks or
  through several services (several connections) on one database.
- Eligibility and the rate limits are decided before scrypt: an unknown number, an
  ineligible one and a rate-limited one cost no scrypt; an eligible one costs one.
- The portal's check runs one scrypt of the same cost whether or not the number has
  a temporary password (a decoy hash stands in): no timing oracle.

scrypt is counted by wrapping ``hashlib.scrypt`` (``handlers.credentials`` calls
it for hashing and verifying alike); the wrapper calls the real function.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from handlers.credentials import TemporaryPassword
from handlers.model import Language, SubscriberStatus
from handlers.templates import render
from smsgw.db import schema
from smsgw.subscriber_import import import_subscribers

from .conftest import DIRECTORY, Harness, _App, make_harness, postpaid

SENDER = "37120000002"  # active, English
NO_TEMPORARY = "37120000001"  # active, has never asked for a password
CANCELLED = "37120000009"
UNKNOWN = "37120000099"
BURST = 12
#: 3 per hour: three passwords, one "try later", silence for the rest.
EXPECTED = {"password_issued": 3, "password_rate_limited": 1, "password_rate_limited_silent": BURST - 4}


@pytest.fixture
def scrypt_costs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every scrypt computed while the test runs, as its cost parameter ``n`` (threads included)."""
    costs: list[int] = []
    real = hashlib.scrypt

    def counting(password: bytes, **params: Any) -> bytes:
        costs.append(params["n"])
        return real(password, **params)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return costs


async def _p(h: Harness, sender: str = SENDER) -> str:
    result = await h.mo(sender, "P", destination="1640", smsc_ref=uuid.uuid4().hex)  # a new SMS each time
    return result.outcome


async def _replies(h: Harness) -> Counter[str]:
    """The replies queued to SENDER, by kind: a sealed password SMS, a "try later", anything else."""
    stmt = select(schema.outbox.c.text, schema.outbox.c.sealed).where(schema.outbox.c.destination == SENDER)
    rows = await h.db.read(lambda uow: uow.sql.rows(stmt))
    try_later = render("password_try_later", Language.EN)
    return Counter(
        "password" if row.sealed is not None else "try_later" if row.text == try_later else row.text for row in rows
    )


def _all_decided_first(service_count: int, harnesses: list[Harness]) -> None:
    """Hold each prepared password until every P of the burst has passed its first batch.

    The first batch decides eligibility and limits without a password and records
    nothing; holding here makes every P see "no request yet", so the second batches
    (which issue, or answer "try later") all race each other.
    """
    barrier = asyncio.Barrier(service_count)
    for h in harnesses:
        prepare: Callable[[], Awaitable[TemporaryPassword]] = h.service.new_password

        async def held(prepare: Callable[[], Awaitable[TemporaryPassword]] = prepare) -> TemporaryPassword:
            password = await prepare()
            await asyncio.wait_for(barrier.wait(), 60)
            return password

        h.service.new_password = held  # type: ignore[method-assign]


# --- "try later" exactly once ---------------------------------------------------------------------


async def test_a_burst_of_p_through_one_service_gets_three_passwords_and_one_try_later(harness: Harness) -> None:
    _all_decided_first(BURST, [harness])
    outcomes = await asyncio.gather(*(_p(harness) for _ in range(BURST)))
    assert Counter(outcomes) == EXPECTED
    assert await _replies(harness) == {"password": 3, "try_later": 1}


async def test_a_burst_of_p_through_several_services_on_one_database_gets_one_try_later(database_url: str) -> None:
    services = [await make_harness(database_url, migrate=i == 0) for i in range(4)]  # a connection pool each
    try:
        await import_subscribers(_App(services[0].db), DIRECTORY)
        _all_decided_first(BURST, services)
        outcomes = await asyncio.gather(*(_p(services[i % len(services)]) for i in range(BURST)))
        assert Counter(outcomes) == EXPECTED
        assert await _replies(services[0]) == {"password": 3, "try_later": 1}
        stmt = select(schema.password_requests.c.outcome).where(schema.password_requests.c.msisdn == SENDER)
        recorded = Counter(row.outcome for row in await services[0].db.read(lambda uow: uow.sql.rows(stmt)))
        assert recorded == {"issued": 3, "try_later": 1, "silent": BURST - 4}
        # and later in the same hour: silence, no second "try later"
        assert await _p(services[1]) == "password_rate_limited_silent"
        assert await _replies(services[0]) == {"password": 3, "try_later": 1}
    finally:
        for h in services:
            await h.db.close()


# --- eligibility and limits before scrypt ---------------------------------------------------------


async def test_no_scrypt_for_unknown_ineligible_or_rate_limited_numbers_one_for_an_eligible(
    harness: Harness, scrypt_costs: list[int]
) -> None:
    await import_subscribers(_App(harness.db), [postpaid(CANCELLED, status=SubscriberStatus.CANCELLED)])
    assert await _p(harness, UNKNOWN) == "password_unknown_number"
    assert await _p(harness, CANCELLED) == "password_not_active"
    assert scrypt_costs == []
    for _ in range(3):
        assert await _p(harness) == "password_issued"
    assert scrypt_costs == [harness.service.scrypt_n] * 3  # one hash per password issued, nothing else
    assert await _p(harness) == "password_rate_limited"
    assert await _p(harness) == "password_rate_limited_silent"
    assert len(scrypt_costs) == 3


# --- the check costs the same with or without a temporary password -----------------------------


async def test_the_check_runs_one_scrypt_of_the_same_cost_whether_or_not_the_number_has_a_password(
    harness: Harness, scrypt_costs: list[int]
) -> None:
    result = await harness.mo(SENDER, "P", destination="1640")
    password = result.replies[0].text.split(": ")[1].split(" ")[0]
    harness.clock.advance(minutes=1)
    scrypt_costs.clear()

    async def cost_of(msisdn: str, attempt: str) -> tuple[bool, list[int]]:
        scrypt_costs.clear()
        return await harness.service.check_password(msisdn, attempt), list(scrypt_costs)

    one = [harness.service.scrypt_n]
    assert await cost_of(SENDER, "Wrong23456") == (False, one)  # has one: verified against its hash
    assert await cost_of(NO_TEMPORARY, "Wrong23456") == (False, one)  # has none: against the decoy
    assert await cost_of(UNKNOWN, "Wrong23456") == (False, one)  # not a subscriber: the decoy too
    assert await cost_of(NO_TEMPORARY, password) == (False, one)  # another number's password opens nothing
    assert await cost_of(SENDER, password) == (True, one)
    assert await cost_of(SENDER, password) == (False, one)  # used: still verified, then refused
