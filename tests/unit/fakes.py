"""An in-memory unit of work for the handler tests, plus subscribers and a fixed clock.

Every protocol of ``handlers.ports`` is implemented here on plain lists and dicts,
the obvious way: sums are computed by filtering the rows, ranges are half-open
``[start, end)``, and nothing is cached. The fakes keep their state public
(``uow.ledger.rows``, ``uow.orders.runs``, ``uow.emails.sent`` …) so that tests
can assert the effects of a handler directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TypeVar

from handlers.context import Context
from handlers.credentials import TemporaryPassword, decoy_hash, generate_password, hash_password, verify_password
from handlers.model import (
    CustomerType,
    Kind,
    Language,
    LedgerTotals,
    MonthlyOrder,
    PendingRequest,
    Subscriber,
    SubscriberStatus,
    TopUpKind,
)
from handlers.ports import (
    EmailQueue,
    Ledger,
    MonthlyOrders,
    PasswordStore,
    PendingRequests,
    Subscribers,
    Transaction,
    UnitOfWork,
)
from handlers.rules import Rules

__all__ = [
    "DECOY",
    "FAST_SCRYPT_N",
    "KARTE",
    "KARTE_2",
    "NOW",
    "RULES",
    "SENDER",
    "Email",
    "FakeEmailQueue",
    "FakeLedger",
    "FakeMonthlyOrders",
    "FakePasswordStore",
    "FakePendingRequests",
    "FakeSubscribers",
    "FakeUnitOfWork",
    "LedgerRow",
    "RecordingVerifier",
    "ctx",
    "karte",
    "postpaid",
    "transaction",
]

T = TypeVar("T")

#: A Tuesday in March 2026, 12:00 in Riga (EET, UTC+2): mid-month, mid-day, no DST nearby.
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
SENDER = "37120000001"
KARTE = "37129123456"
KARTE_2 = "37129000002"
RULES = Rules()
#: scrypt cost for test hashes: the stored string carries its own cost, so verification still works.
FAST_SCRYPT_N = 2**4

#: What a number with no temporary password is checked against (the cost of FAST_SCRYPT_N).
DECOY = decoy_hash(n=FAST_SCRYPT_N)

_ZERO = Decimal("0.00")


# --- subscribers ---------------------------------------------------------------


def postpaid(
    msisdn: str = SENDER,
    *,
    status: SubscriberStatus = SubscriberStatus.ACTIVE,
    customer_type: CustomerType = CustomerType.PRIVATE,
    sos_sms_allowed: bool = False,
    language: Language = Language.LV,
    email: str | None = None,
) -> Subscriber:
    return Subscriber(
        msisdn=msisdn,
        kind=Kind.POSTPAID,
        status=status,
        customer_type=customer_type,
        sos_sms_allowed=sos_sms_allowed,
        language=language,
        email=email,
    )


def karte(
    msisdn: str = KARTE,
    *,
    status: SubscriberStatus = SubscriberStatus.ACTIVE,
    expires_on: date | None = date(2026, 6, 30),
    balance: Decimal | None = Decimal("0.00"),
    language: Language = Language.LV,
    email: str | None = None,
) -> Subscriber:
    return Subscriber(
        msisdn=msisdn,
        kind=Kind.KARTE,
        status=status,
        language=language,
        email=email,
        karte_expires_on=expires_on,
        balance=balance,
    )


class FakeSubscribers:
    def __init__(self, subscribers: tuple[Subscriber, ...] = ()) -> None:
        self.by_msisdn: dict[str, Subscriber] = {s.msisdn: s for s in subscribers}
        self.portal_passwords: dict[str, str] = {}

    def add(self, subscriber: Subscriber) -> None:
        self.by_msisdn[subscriber.msisdn] = subscriber

    async def get(self, msisdn: str, *, lock: bool = False) -> Subscriber | None:
        return self.by_msisdn.get(msisdn)

    async def credit_karte(self, msisdn: str, amount: Decimal, expires_on: date | None) -> None:
        current = self.by_msisdn[msisdn]
        balance = (current.balance if current.balance is not None else _ZERO) + amount
        self.by_msisdn[msisdn] = replace(current, balance=balance, karte_expires_on=expires_on)

    async def set_portal_password(self, msisdn: str, password_hash: str | None) -> None:
        self.portal_passwords[msisdn] = password_hash

    async def portal_password(self, msisdn: str) -> str | None:
        return self.portal_passwords.get(msisdn)


# --- ledger --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One top-up and its invoice charge."""

    id: int
    sender: str
    karte: str
    amount: Decimal
    kind: TopUpKind
    at: datetime
    mo_id: str | None
    order_id: int | None
    period: str | None


def _within(at: datetime, bounds: tuple[datetime, datetime]) -> bool:
    start, end = bounds
    return start <= at < end


class FakeLedger:
    def __init__(self) -> None:
        self.rows: list[LedgerRow] = []

    async def totals(
        self, sender: str, day: tuple[datetime, datetime], month: tuple[datetime, datetime]
    ) -> LedgerTotals:
        mine = [row for row in self.rows if row.sender == sender]
        one_off_today = sum(
            (row.amount for row in mine if row.kind is TopUpKind.ONE_OFF and _within(row.at, day)), _ZERO
        )
        this_month = sum((row.amount for row in mine if _within(row.at, month)), _ZERO)
        return LedgerTotals(one_off_today, this_month)

    async def add(
        self,
        *,
        sender: str,
        karte: str,
        amount: Decimal,
        kind: TopUpKind,
        at: datetime,
        mo_id: str | None = None,
        order_id: int | None = None,
        period: str | None = None,
    ) -> int:
        row = LedgerRow(len(self.rows) + 1, sender, karte, amount, kind, at, mo_id, order_id, period)
        self.rows.append(row)
        return row.id

    async def by_karte(self, sender: str, month: tuple[datetime, datetime]) -> list[tuple[str, Decimal]]:
        sums: dict[str, Decimal] = {}
        for row in self.rows:
            if row.sender == sender and _within(row.at, month):
                sums[row.karte] = sums.get(row.karte, _ZERO) + row.amount
        return sorted(sums.items(), key=lambda item: (-item[1], item[0]))


# --- monthly requests and orders -------------------------------------------------


class FakePendingRequests:
    def __init__(self) -> None:
        self.by_sender: dict[str, PendingRequest] = {}

    async def get(self, sender: str) -> PendingRequest | None:
        return self.by_sender.get(sender)

    async def put(self, request: PendingRequest) -> None:
        self.by_sender[request.sender] = request

    async def delete(self, sender: str) -> bool:
        return self.by_sender.pop(sender, None) is not None

    async def delete_older_than(self, cutoff: datetime) -> int:
        old = [sender for sender, request in self.by_sender.items() if request.requested_at < cutoff]
        for sender in old:
            del self.by_sender[sender]
        return len(old)


@dataclass(slots=True)
class _OrderRow:
    id: int
    sender: str
    karte: str
    amount: Decimal
    confirmed_at: datetime
    last_month: str | None = None

    def order(self) -> MonthlyOrder:
        return MonthlyOrder(self.id, self.sender, self.karte, self.amount, self.last_month)

    def runs_in(self, month: str) -> bool:
        return self.last_month is None or self.last_month >= month


class FakeMonthlyOrders:
    def __init__(self) -> None:
        self.rows: list[_OrderRow] = []
        #: (order id, "YYYY-MM") → outcome ("running" until finished).
        self.runs: dict[tuple[int, str], str] = {}

    async def for_sender(self, sender: str, month: str) -> list[MonthlyOrder]:
        mine = [row for row in self.rows if row.sender == sender and row.runs_in(month)]
        return [row.order() for row in sorted(mine, key=lambda row: row.karte)]

    async def get(self, sender: str, karte: str) -> MonthlyOrder | None:
        for row in self.rows:
            if row.sender == sender and row.karte == karte:
                return row.order()
        return None

    async def save(self, sender: str, karte: str, amount: Decimal, at: datetime) -> tuple[int, bool]:
        for row in self.rows:
            if row.sender == sender and row.karte == karte:
                row.amount, row.confirmed_at, row.last_month = amount, at, None
                return row.id, True
        row = _OrderRow(len(self.rows) + 1, sender, karte, amount, at)
        self.rows.append(row)
        return row.id, False

    async def end_after(self, order_id: int, month: str) -> None:
        for row in self.rows:
            if row.id == order_id:
                row.last_month = month

    async def due(self, month: str, confirmed_before: datetime) -> list[MonthlyOrder]:
        return [
            row.order()
            for row in sorted(self.rows, key=lambda row: row.id)
            if row.runs_in(month) and row.confirmed_at < confirmed_before and (row.id, month) not in self.runs
        ]

    async def claim_run(self, order_id: int, month: str, at: datetime) -> bool:
        if (order_id, month) in self.runs:
            return False
        self.runs[(order_id, month)] = "running"
        return True

    async def finish_run(self, order_id: int, month: str, outcome: str) -> None:
        assert (order_id, month) in self.runs, "finish_run without claim_run"
        self.runs[(order_id, month)] = outcome


# --- passwords and e-mail ----------------------------------------------------------


@dataclass(slots=True)
class _Temporary:
    password_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class FakePasswordStore:
    def __init__(self) -> None:
        #: (msisdn, time, outcome) in the order recorded.
        self.requests: list[tuple[str, datetime, str]] = []
        self.temporaries: dict[str, _Temporary] = {}

    async def recent_requests(self, msisdn: str, since: datetime) -> list[tuple[datetime, str]]:
        mine = [(at, outcome) for who, at, outcome in self.requests if who == msisdn and at >= since]
        return sorted(mine, key=lambda item: item[0])

    async def record_request(self, msisdn: str, at: datetime, outcome: str) -> None:
        self.requests.append((msisdn, at, outcome))

    async def put_temporary(self, msisdn: str, password_hash: str, at: datetime, expires_at: datetime) -> None:
        self.temporaries[msisdn] = _Temporary(password_hash, at, expires_at)

    async def temporary(self, msisdn: str) -> tuple[str, datetime, datetime | None] | None:
        stored = self.temporaries.get(msisdn)
        if stored is None:
            return None
        return stored.password_hash, stored.expires_at, stored.used_at

    async def mark_used(self, msisdn: str, password_hash: str, at: datetime) -> bool:
        stored = self.temporaries.get(msisdn)
        if stored is None or stored.password_hash != password_hash or stored.used_at is not None:
            return False
        if at >= stored.expires_at:
            return False
        stored.used_at = at
        return True


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    body: str
    at: datetime


class FakeEmailQueue:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    async def queue(self, to: str, subject: str, body: str, at: datetime) -> None:
        self.sent.append(Email(to, subject, body, at))


# --- the unit of work and the context ---------------------------------------------


@dataclass
class FakeUnitOfWork:
    subscribers: FakeSubscribers = field(default_factory=FakeSubscribers)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    pending: FakePendingRequests = field(default_factory=FakePendingRequests)
    orders: FakeMonthlyOrders = field(default_factory=FakeMonthlyOrders)
    passwords: FakePasswordStore = field(default_factory=FakePasswordStore)
    emails: FakeEmailQueue = field(default_factory=FakeEmailQueue)

    @classmethod
    def with_subscribers(cls, *subscribers: Subscriber) -> FakeUnitOfWork:
        return cls(subscribers=FakeSubscribers(subscribers))


def transaction(uow: FakeUnitOfWork) -> Transaction:
    """``Database.read``/``write`` on the fake: every unit of work runs on ``uow``."""

    async def run(work: Callable[[UnitOfWork], Awaitable[T]], /) -> T:
        return await work(uow)

    return run


@dataclass
class RecordingVerifier:
    """The real ``verify_password``, recording every hash it was asked to verify against."""

    hashes: list[str] = field(default_factory=list)

    async def __call__(self, password: str, password_hash: str) -> bool:
        self.hashes.append(password_hash)
        return verify_password(password, password_hash)


def _implements_every_port() -> tuple[Subscribers, Ledger, PendingRequests, MonthlyOrders, PasswordStore, EmailQueue]:
    """Never called: mypy checks here that each fake implements its port."""
    uow = FakeUnitOfWork()
    return uow.subscribers, uow.ledger, uow.pending, uow.orders, uow.passwords, uow.emails


def ctx(
    uow: FakeUnitOfWork,
    *,
    now: datetime = NOW,
    sender: str = SENDER,
    password: str | None = None,
    rules: Rules = RULES,
    mo_id: str | None = "mo-1",
) -> Context:
    """The context of one unit of work at the fixed instant ``now``.

    ``password`` is the plain temporary password the unit is handed (random if None),
    hashed cheaply (``FAST_SCRYPT_N``) so the suite stays fast.
    """

    def new_password() -> TemporaryPassword:
        plain = password if password is not None else generate_password(rules.password_length)
        return TemporaryPassword(plain, hash_password(plain, n=FAST_SCRYPT_N))

    return Context(sender=sender, now=now, uow=uow, rules=rules, new_password=new_password, mo_id=mo_id)
