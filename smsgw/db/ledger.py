"""Top-ups and their invoice charges: insert-only, summed for the caps and the status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, select

from handlers.model import LedgerTotals, TopUpKind

from .schema import charges, topups
from .sql import Sql
from .timefmt import cents, euros, ts

__all__ = ["SqlLedger", "charges_in"]

_TOTALS = select(
    func.coalesce(
        func.sum(
            case(
                (
                    and_(
                        topups.c.kind == TopUpKind.ONE_OFF.value,
                        topups.c.created_at >= bindparam("p_day_start"),
                        topups.c.created_at < bindparam("p_day_end"),
                    ),
                    topups.c.amount_cents,
                ),
                else_=0,
            )
        ),
        0,
    ),
    func.coalesce(func.sum(topups.c.amount_cents), 0),
).where(
    topups.c.sender == bindparam("p_sender"),
    topups.c.created_at >= bindparam("p_month_start"),
    topups.c.created_at < bindparam("p_month_end"),
)
_ADD_TOPUP = insert(topups)
_ADD_CHARGE = insert(charges)
_BY_KARTE = (
    select(topups.c.karte, func.sum(topups.c.amount_cents).label("total"))
    .where(
        topups.c.sender == bindparam("p_sender"),
        topups.c.created_at >= bindparam("p_start"),
        topups.c.created_at < bindparam("p_end"),
    )
    .group_by(topups.c.karte)
    .order_by(func.sum(topups.c.amount_cents).desc(), topups.c.karte)
)


class SqlLedger:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def totals(
        self, sender: str, day: tuple[datetime, datetime], month: tuple[datetime, datetime]
    ) -> LedgerTotals:
        row = await self._sql.row(
            _TOTALS,
            {
                "p_sender": sender,
                "p_day_start": ts(day[0]),
                "p_day_end": ts(day[1]),
                "p_month_start": ts(month[0]),
                "p_month_end": ts(month[1]),
            },
        )
        assert row is not None
        return LedgerTotals(euros(row[0]), euros(row[1]))  # type: ignore[misc]

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
        amount_cents, when = cents(amount), ts(at)
        topup_id = await self._sql.insert(
            _ADD_TOPUP,
            {
                "sender": sender,
                "karte": karte,
                "amount_cents": amount_cents,
                "kind": kind.value,
                "created_at": when,
                "mo_id": mo_id,
                "order_id": order_id,
                "period": period,
            },
        )
        await self._sql.run(
            _ADD_CHARGE,
            {
                "topup_id": topup_id,
                "sender": sender,
                "karte": karte,
                "amount_cents": amount_cents,
                "kind": kind.value,
                "charged_at": when,
            },
        )
        return topup_id

    async def by_karte(self, sender: str, month: tuple[datetime, datetime]) -> list[tuple[str, Decimal]]:
        rows = await self._sql.rows(_BY_KARTE, {"p_sender": sender, "p_start": ts(month[0]), "p_end": ts(month[1])})
        return [(row.karte, euros(row.total)) for row in rows]


_CHARGES_IN = (
    select(charges.c.charged_at, charges.c.sender, charges.c.karte, charges.c.amount_cents, charges.c.kind)
    .where(charges.c.charged_at >= bindparam("p_start"), charges.c.charged_at < bindparam("p_end"))
    .order_by(charges.c.charged_at, charges.c.id)
)


async def charges_in(sql: Sql, start: datetime, end: datetime) -> Sequence[Any]:
    """Every charge in the half-open UTC range, in time order (the billing export)."""
    return await sql.rows(_CHARGES_IN, {"p_start": ts(start), "p_end": ts(end)})
