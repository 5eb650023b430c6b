"""The handlers' ports in memory, over what a batch loaded: every MO of the batch sees the ones before it.

:class:`BatchView` implements :class:`handlers.ports.UnitOfWork` on a
:class:`~smsgw.batch.snapshot.Snapshot`. Reads come from the snapshot as changed
by the MOs decided so far; writes change that state through the
:class:`~smsgw.batch.journal.Journal` (so a failed MO can be undone) and leave
behind what the database must write: the final state of every key that changed
(``dirty_*``) and the rows to insert (``new_*``). Nothing here suspends: the
handlers' coroutines run to the end in one step.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from handlers.model import LedgerTotals, MonthlyOrder, PendingRequest, Subscriber, TopUpKind

from ..db.timefmt import cents, euros
from .journal import Journal
from .snapshot import Miss, NotInBatch, OrderRow, Snapshot, TopUpSum

__all__ = ["BatchView", "NewTopUp"]

_ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class NewTopUp:
    sender: str
    karte: str
    amount_cents: int
    kind: TopUpKind
    at: datetime
    mo_id: str | None
    order_id: int | None
    period: str | None


class BatchView:
    """The unit of work the handlers see during a batch (implements ``handlers.ports.UnitOfWork``)."""

    def __init__(self, snapshot: Snapshot, journal: Journal) -> None:
        self.snapshot = snapshot
        self.journal = journal
        self.subscribers = _Subscribers(self)
        self.ledger = _Ledger(self)
        self.pending = _Pending(self)
        self.orders = _Orders(self)
        self.passwords = _Passwords(self)
        self.emails = _Emails(self)
        # What the database writes after the batch: final states by key, and new rows.
        self.dirty_subscribers: dict[str, Subscriber] = {}
        self.dirty_portal_hashes: dict[str, str | None] = {}
        self.dirty_pending: dict[str, PendingRequest | None] = {}
        self.dirty_orders: dict[tuple[str, str], OrderRow] = {}
        self.dirty_temporary: dict[str, tuple[str, datetime, datetime]] = {}
        self.new_topups: list[NewTopUp] = []
        self.new_password_requests: list[tuple[str, datetime, str]] = []
        self.new_emails: list[tuple[str, str, str, datetime]] = []
        self._temporary_ids = itertools.count(-1, -1)  # ids of rows not written yet


class _Subscribers:
    def __init__(self, view: BatchView) -> None:
        self._v = view

    async def get(self, msisdn: str, *, lock: bool = False) -> Subscriber | None:
        table = self._v.snapshot.subscribers
        if msisdn not in table:
            raise Miss("subscriber", msisdn)
        return table[msisdn]

    async def credit_karte(self, msisdn: str, amount: Decimal, expires_on: date | None) -> None:
        v = self._v
        current = await self.get(msisdn)
        if current is None:
            raise ValueError(f"credit of an unknown number {msisdn}")
        balance = (current.balance if current.balance is not None else _ZERO) + amount
        updated = replace(current, balance=balance, karte_expires_on=expires_on)
        v.journal.set(v.snapshot.subscribers, msisdn, updated)
        v.journal.set(v.dirty_subscribers, msisdn, updated)

    async def set_portal_password(self, msisdn: str, password_hash: str | None) -> None:
        self._v.journal.set(self._v.dirty_portal_hashes, msisdn, password_hash)

    async def portal_password(self, msisdn: str) -> str | None:
        raise NotInBatch("the portal password")  # the portal's check never runs in a batch


class _Ledger:
    def __init__(self, view: BatchView) -> None:
        self._v = view

    def _sums(self, sender: str) -> list[TopUpSum]:
        sums = self._v.snapshot.topups.get(sender)
        if sums is None:
            raise Miss("top-ups of", sender)
        return sums

    def _check(self, bounds: tuple[datetime, datetime], loaded: tuple[datetime, datetime]) -> None:
        if bounds != loaded:
            raise NotInBatch(f"top-ups between {bounds}")

    async def totals(
        self, sender: str, day: tuple[datetime, datetime], month: tuple[datetime, datetime]
    ) -> LedgerTotals:
        snap = self._v.snapshot
        self._check(month, snap.month)
        sums = self._sums(sender)
        month_total = sum(s.month_cents for s in sums)
        if day == month:  # one-off top-ups within the month (the port's "day" range), as the SQL ledger counts
            today = sum(s.month_cents for s in sums if s.kind is TopUpKind.ONE_OFF)
        else:
            self._check(day, snap.day)
            today = sum(s.today_cents for s in sums if s.kind is TopUpKind.ONE_OFF)
        return LedgerTotals(euros(today), euros(month_total))

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
        v, snap = self._v, self._v.snapshot
        amount_cents = cents(amount)
        sums = self._sums(sender)
        today = amount_cents if snap.day[0] <= at < snap.day[1] else 0
        month = amount_cents if snap.month[0] <= at < snap.month[1] else 0
        v.journal.set(snap.topups, sender, [*sums, TopUpSum(karte, kind, today, month)])
        v.journal.append(v.new_topups, NewTopUp(sender, karte, amount_cents, kind, at, mo_id, order_id, period))
        return next(v._temporary_ids)

    async def by_karte(self, sender: str, month: tuple[datetime, datetime]) -> list[tuple[str, Decimal]]:
        self._check(month, self._v.snapshot.month)
        totals: dict[str, int] = {}
        for item in self._sums(sender):
            totals[item.karte] = totals.get(item.karte, 0) + item.month_cents
        ranked = sorted(((k, c) for k, c in totals.items() if c), key=lambda kc: (-kc[1], kc[0]))
        return [(karte, euros(total)) for karte, total in ranked]


class _Pending:
    def __init__(self, view: BatchView) -> None:
        self._v = view

    async def get(self, sender: str) -> PendingRequest | None:
        table = self._v.snapshot.pending
        if sender not in table:
            raise Miss("pending request of", sender)
        return table[sender]

    async def put(self, request: PendingRequest) -> None:
        v = self._v
        await self.get(request.sender)
        v.journal.set(v.snapshot.pending, request.sender, request)
        v.journal.set(v.dirty_pending, request.sender, request)

    async def delete(self, sender: str) -> bool:
        v = self._v
        existed = await self.get(sender) is not None
        if existed:
            v.journal.set(v.snapshot.pending, sender, None)
            v.journal.set(v.dirty_pending, sender, None)
        return existed

    async def delete_older_than(self, cutoff: datetime) -> int:
        raise NotInBatch("clearing old pending requests")


class _Orders:
    def __init__(self, view: BatchView) -> None:
        self._v = view

    def _rows(self, sender: str) -> list[OrderRow]:
        rows = self._v.snapshot.orders.get(sender)
        if rows is None:
            raise Miss("monthly orders of", sender)
        return rows

    async def for_sender(self, sender: str, month: str) -> list[MonthlyOrder]:
        found = [r.order for r in self._rows(sender) if r.order.last_month is None or r.order.last_month >= month]
        return sorted(found, key=lambda order: order.karte)

    async def get(self, sender: str, karte: str) -> MonthlyOrder | None:
        return next((r.order for r in self._rows(sender) if r.order.karte == karte), None)

    def _put(self, row: OrderRow) -> None:
        v, order = self._v, row.order
        rows = [r for r in self._rows(order.sender) if r.order.karte != order.karte]
        v.journal.set(v.snapshot.orders, order.sender, [*rows, row])
        v.journal.set(v.dirty_orders, (order.sender, order.karte), row)

    async def save(self, sender: str, karte: str, amount: Decimal, at: datetime) -> tuple[int, bool]:
        existing = next((r for r in self._rows(sender) if r.order.karte == karte), None)
        if existing is not None:
            order = replace(existing.order, amount=amount, last_month=None)
            self._put(OrderRow(order, existing.created_at, at))
            return order.id, True
        order = MonthlyOrder(next(self._v._temporary_ids), sender, karte, amount, None)
        self._put(OrderRow(order, at, at))
        return order.id, False

    async def end_after(self, order_id: int, month: str) -> None:
        for rows in self._v.snapshot.orders.values():
            for row in rows:
                if row.order.id == order_id:
                    self._put(replace(row, order=replace(row.order, last_month=month)))
                    return
        raise NotInBatch(f"monthly order {order_id}")

    async def due(self, month: str, confirmed_before: datetime) -> list[MonthlyOrder]:
        raise NotInBatch("monthly orders due")

    async def claim_run(self, order_id: int, month: str, at: datetime) -> bool:
        raise NotInBatch("monthly runs")

    async def finish_run(self, order_id: int, month: str, outcome: str) -> None:
        raise NotInBatch("monthly runs")


class _Passwords:
    def __init__(self, view: BatchView) -> None:
        self._v = view

    def _history(self, msisdn: str) -> list[tuple[datetime, str]]:
        history = self._v.snapshot.password_history.get(msisdn)
        if history is None:
            raise Miss("password requests of", msisdn)
        return history

    async def recent_requests(self, msisdn: str, since: datetime) -> list[tuple[datetime, str]]:
        if since < self._v.snapshot.now - self._v.snapshot.password_window:
            raise NotInBatch(f"password requests since {since}")
        return [entry for entry in self._history(msisdn) if entry[0] >= since]

    async def record_request(self, msisdn: str, at: datetime, outcome: str) -> None:
        v = self._v
        v.journal.set(v.snapshot.password_history, msisdn, [*self._history(msisdn), (at, outcome)])
        v.journal.append(v.new_password_requests, (msisdn, at, outcome))

    async def put_temporary(self, msisdn: str, password_hash: str, at: datetime, expires_at: datetime) -> None:
        self._v.journal.set(self._v.dirty_temporary, msisdn, (password_hash, at, expires_at))

    async def temporary(self, msisdn: str) -> tuple[str, datetime, datetime | None] | None:
        raise NotInBatch("temporary passwords")

    async def mark_used(self, msisdn: str, password_hash: str, at: datetime) -> bool:
        raise NotInBatch("temporary passwords")


class _Emails:
    def __init__(self, view: BatchView) -> None:
        self._v = view

    async def queue(self, to: str, subject: str, body: str, at: datetime) -> None:
        self._v.journal.append(self._v.new_emails, (to, subject, body, at))
