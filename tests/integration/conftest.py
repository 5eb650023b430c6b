"""Integration fixtures: a migrated database (SQLite file or PostgreSQL) and the real service on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from handlers.model import CustomerType, Kind, Language, Subscriber, SubscriberStatus
from handlers.rules import Rules
from smsgw.db.database import Database, open_database
from smsgw.db.migrate import upgrade
from smsgw.sealing import Sealer
from smsgw.service import InboundMo, MoResult, Service
from smsgw.subscriber_import import import_subscribers


class Clock:
    """A settable clock: tests move time instead of waiting."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Harness:
    db: Database
    service: Service
    clock: Clock

    async def mo(self, source: str, text: str, destination: str = "1643", **kwargs: object) -> MoResult:
        mo = InboundMo(source, destination, text, self.clock(), **kwargs)  # type: ignore[arg-type]
        return await self.service.handle_mo(mo)


def postpaid(msisdn: str, **fields: object) -> Subscriber:
    values: dict[str, object] = {"kind": Kind.POSTPAID, "status": SubscriberStatus.ACTIVE}
    values.update(fields)
    return Subscriber(msisdn, **values)  # type: ignore[arg-type]


def karte(msisdn: str, **fields: object) -> Subscriber:
    values: dict[str, object] = {
        "kind": Kind.KARTE,
        "status": SubscriberStatus.ACTIVE,
        "balance": Decimal("0.00"),
        "karte_expires_on": datetime(2027, 6, 30).date(),
    }
    values.update(fields)
    return Subscriber(msisdn, **values)  # type: ignore[arg-type]


DIRECTORY = [
    postpaid("37120000001"),
    postpaid("37120000002", language=Language.EN, email="ann@example.com"),
    postpaid("37120000003", customer_type=CustomerType.LEGAL),
    postpaid("37120000004", customer_type=CustomerType.LEGAL, sos_sms_allowed=True),
    karte("37129000001"),
    karte("37129000002", language=Language.EN),
    karte("37129000003"),
]

#: A Wednesday in November, 12:00 in Riga.
NOON = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


class _App:
    def __init__(self, db: Database) -> None:
        self.db = db


async def make_harness(url: str, *, now: datetime = NOON, migrate: bool = True) -> Harness:
    if migrate:
        await upgrade(url)
    db = open_database(url, batch_size=64)
    clock = Clock(now)
    service = Service(db, Rules(), Sealer(_KEY), clock=clock, scrypt_n=2**10)
    return Harness(db, service, clock)


_KEY = Fernet.generate_key()


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    h = await make_harness(database_url)
    await import_subscribers(_App(h.db), DIRECTORY)
    try:
        yield h
    finally:
        await h.db.close()
