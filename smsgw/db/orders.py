"""Pending monthly requests and confirmed monthly orders with their per-month runs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from handlers.model import MonthlyOrder, PendingRequest

from .schema import monthly_orders as orders
from .schema import monthly_runs as runs
from .schema import pending_requests as pending
from .sql import Sql
from .timefmt import cents, euros, parse_ts, ts

__all__ = ["SqlMonthlyOrders", "SqlPendingRequests"]

_GET_PENDING = select(pending.c.karte, pending.c.amount_cents, pending.c.requested_at).where(
    pending.c.sender == bindparam("p_sender")
)
_DELETE_PENDING = delete(pending).where(pending.c.sender == bindparam("p_sender"))
_DELETE_OLD_PENDING = delete(pending).where(pending.c.requested_at < bindparam("p_cutoff"))
_INSERT_PENDING = insert(pending)
_COUNT_PENDING = select(func.count()).select_from(pending)


class SqlPendingRequests:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def get(self, sender: str) -> PendingRequest | None:
        row = await self._sql.row(_GET_PENDING, {"p_sender": sender})
        if row is None:
            return None
        return PendingRequest(sender, row.karte, euros(row.amount_cents), parse_ts(row.requested_at))

    async def put(self, request: PendingRequest) -> None:
        await self._sql.run(_DELETE_PENDING, {"p_sender": request.sender})
        await self._sql.run(
            _INSERT_PENDING,
            {
                "sender": request.sender,
                "karte": request.karte,
                "amount_cents": cents(request.amount),
                "requested_at": ts(request.requested_at),
            },
        )

    async def delete(self, sender: str) -> bool:
        return await self._sql.run(_DELETE_PENDING, {"p_sender": sender}) > 0

    async def delete_older_than(self, cutoff: datetime) -> int:
        return await self._sql.run(_DELETE_OLD_PENDING, {"p_cutoff": ts(cutoff)})

    async def count(self) -> int:
        return int(await self._sql.value(_COUNT_PENDING) or 0)


_ORDER_COLUMNS = (orders.c.id, orders.c.sender, orders.c.karte, orders.c.amount_cents, orders.c.last_month)
_GET_ORDER = select(*_ORDER_COLUMNS).where(
    orders.c.sender == bindparam("p_sender"), orders.c.karte == bindparam("p_karte")
)
_FOR_SENDER = (
    select(*_ORDER_COLUMNS)
    .where(
        orders.c.sender == bindparam("p_sender"),
        or_(orders.c.last_month.is_(None), orders.c.last_month >= bindparam("p_month")),
    )
    .order_by(orders.c.karte)
)
_INSERT_ORDER = insert(orders)
_UPDATE_ORDER = (
    update(orders)
    .where(orders.c.id == bindparam("p_id"))
    .values(amount_cents=bindparam("p_cents"), confirmed_at=bindparam("p_at"), last_month=None)
)
_END_AFTER = update(orders).where(orders.c.id == bindparam("p_id")).values(last_month=bindparam("p_month"))
_ALREADY_RAN = select(runs.c.order_id).where(runs.c.order_id == orders.c.id, runs.c.month == bindparam("p_month"))
_DUE = (
    select(*_ORDER_COLUMNS)
    .where(
        or_(orders.c.last_month.is_(None), orders.c.last_month >= bindparam("p_month")),
        orders.c.confirmed_at < bindparam("p_before"),
        ~_ALREADY_RAN.exists(),
    )
    .order_by(orders.c.id)
)
_FINISH_RUN = (
    update(runs)
    .where(runs.c.order_id == bindparam("p_id"), runs.c.month == bindparam("p_month"))
    .values(outcome=bindparam("p_outcome"))
)


def _order(row: object) -> MonthlyOrder:
    return MonthlyOrder(row.id, row.sender, row.karte, euros(row.amount_cents), row.last_month)  # type: ignore[attr-defined]


class SqlMonthlyOrders:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def for_sender(self, sender: str, month: str) -> list[MonthlyOrder]:
        rows = await self._sql.rows(_FOR_SENDER, {"p_sender": sender, "p_month": month})
        return [_order(row) for row in rows]

    async def get(self, sender: str, karte: str) -> MonthlyOrder | None:
        row = await self._sql.row(_GET_ORDER, {"p_sender": sender, "p_karte": karte})
        return None if row is None else _order(row)

    async def save(self, sender: str, karte: str, amount: Decimal, at: datetime) -> tuple[int, bool]:
        existing = await self.get(sender, karte)
        if existing is not None:
            await self._sql.run(_UPDATE_ORDER, {"p_id": existing.id, "p_cents": cents(amount), "p_at": ts(at)})
            return existing.id, True
        order_id = await self._sql.insert(
            _INSERT_ORDER,
            {
                "sender": sender,
                "karte": karte,
                "amount_cents": cents(amount),
                "created_at": ts(at),
                "confirmed_at": ts(at),
                "last_month": None,
            },
        )
        return order_id, False

    async def end_after(self, order_id: int, month: str) -> None:
        await self._sql.run(_END_AFTER, {"p_id": order_id, "p_month": month})

    async def due(self, month: str, confirmed_before: datetime) -> list[MonthlyOrder]:
        rows = await self._sql.rows(_DUE, {"p_month": month, "p_before": ts(confirmed_before)})
        return [_order(row) for row in rows]

    async def claim_run(self, order_id: int, month: str, at: datetime) -> bool:
        dialect_insert = postgresql.insert if self._sql.dialect == "postgresql" else sqlite.insert
        stmt = dialect_insert(runs).on_conflict_do_nothing(index_elements=[runs.c.order_id, runs.c.month])
        values = {"order_id": order_id, "month": month, "outcome": "running", "ran_at": ts(at)}
        return await self._sql.run(stmt, values) == 1

    async def finish_run(self, order_id: int, month: str, outcome: str) -> None:
        await self._sql.run(_FINISH_RUN, {"p_id": order_id, "p_month": month, "p_outcome": outcome})
