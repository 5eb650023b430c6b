"""Ports: what the handlers need from storage, as protocols.

The service implements them on SQLAlchemy Core (``smsgw.db``); the unit tests
implement them in memory (``tests/unit/fakes.py``). Every method is a coroutine
so that one implementation can run on asyncpg and another on a synchronous
SQLite connection in a writer thread. A unit of work is one database
transaction: the caller commits it, handlers never do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from .model import LedgerTotals, MonthlyOrder, PendingRequest, Subscriber, TopUpKind

__all__ = [
    "EmailQueue",
    "Ledger",
    "MonthlyOrders",
    "PasswordStore",
    "PendingRequests",
    "Subscribers",
    "Transaction",
    "UnitOfWork",
]

T = TypeVar("T")


class Subscribers(Protocol):
    async def get(self, msisdn: str, *, lock: bool = False) -> Subscriber | None:
        """The subscriber, or None. ``lock`` holds the row until commit (serialises a sender)."""

    async def credit_karte(self, msisdn: str, amount: Decimal, expires_on: date | None) -> None:
        """Add ``amount`` to the Karte's balance and set its new expiry date."""

    async def set_portal_password(self, msisdn: str, password_hash: str | None) -> None:
        """Make ``password_hash`` the subscriber's current My LMT password (None: no password)."""

    async def portal_password(self, msisdn: str) -> str | None:
        """The current My LMT password hash, if any."""


class Ledger(Protocol):
    """Top-ups and the invoice charges paired with them (insert-only)."""

    async def totals(
        self, sender: str, day: tuple[datetime, datetime], month: tuple[datetime, datetime]
    ) -> LedgerTotals:
        """One-off top-ups within ``day`` and all top-ups within ``month`` (half-open UTC ranges)."""

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
        """Record a top-up and its invoice charge; returns the top-up id."""

    async def by_karte(self, sender: str, month: tuple[datetime, datetime]) -> list[tuple[str, Decimal]]:
        """This month's top-ups of ``sender`` summed per Karte, largest first."""


class PendingRequests(Protocol):
    async def get(self, sender: str) -> PendingRequest | None: ...

    async def put(self, request: PendingRequest) -> None:
        """Store the sender's pending request, replacing an earlier one."""

    async def delete(self, sender: str) -> bool:
        """Drop the sender's pending request; True if there was one."""

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Drop requests made before ``cutoff``; returns how many."""


class MonthlyOrders(Protocol):
    async def for_sender(self, sender: str, month: str) -> list[MonthlyOrder]:
        """The sender's orders that still run in ``month`` (``last_month`` unset or not before it)."""

    async def get(self, sender: str, karte: str) -> MonthlyOrder | None: ...

    async def save(self, sender: str, karte: str, amount: Decimal, at: datetime) -> tuple[int, bool]:
        """Create or re-activate the order with this amount; returns (id, existed_and_ran)."""

    async def end_after(self, order_id: int, month: str) -> None:
        """Let the order run for the last time in ``month`` (``YYYY-MM``)."""

    async def due(self, month: str, confirmed_before: datetime) -> list[MonthlyOrder]:
        """Orders to execute for ``month`` that have not been executed (or skipped) for it yet."""

    async def claim_run(self, order_id: int, month: str, at: datetime) -> bool:
        """Claim the month's execution of the order; False if it is already claimed (ran, or runs)."""

    async def finish_run(self, order_id: int, month: str, outcome: str) -> None:
        """Record how the claimed execution ended."""


class PasswordStore(Protocol):
    async def recent_requests(self, msisdn: str, since: datetime) -> list[tuple[datetime, str]]:
        """(time, outcome) of password requests since ``since``, oldest first."""

    async def record_request(self, msisdn: str, at: datetime, outcome: str) -> None: ...

    async def put_temporary(self, msisdn: str, password_hash: str, at: datetime, expires_at: datetime) -> None:
        """Store the only temporary password of ``msisdn``, replacing an earlier one."""

    async def temporary(self, msisdn: str) -> tuple[str, datetime, datetime | None] | None:
        """(hash, expires_at, used_at) of the temporary password, if any."""

    async def mark_used(self, msisdn: str, password_hash: str, at: datetime) -> bool:
        """Consume the temporary password of ``msisdn`` whose hash is ``password_hash``.

        One guarded statement: it changes nothing, and returns False, unless that very
        password (not a newer one that replaced it) is still unused and unexpired at ``at``.
        """


class EmailQueue(Protocol):
    async def queue(self, to: str, subject: str, body: str, at: datetime) -> None: ...


class UnitOfWork(Protocol):
    @property
    def subscribers(self) -> Subscribers: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def pending(self) -> PendingRequests: ...
    @property
    def orders(self) -> MonthlyOrders: ...
    @property
    def passwords(self) -> PasswordStore: ...
    @property
    def emails(self) -> EmailQueue: ...


class Transaction(Protocol):
    """Runs ``work`` in a unit of work of its own and returns its result (``Database.read``/``write``).

    For the few handlers that must do slow work between two short transactions
    (the portal's password check: scrypt outside any write transaction).
    """

    def __call__(self, work: Callable[[UnitOfWork], Awaitable[T]], /) -> Awaitable[T]: ...


Msisdns = Sequence[str]
