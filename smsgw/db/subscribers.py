"""The subscriber directory: lookups for the rules, Karte credits, and the CSV upsert."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from handlers.model import CustomerType, Kind, Language, Subscriber, SubscriberStatus

from .pg_batch import lock_key
from .schema import subscribers as t
from .sql import Sql
from .timefmt import cents, day, euros, parse_day, ts

__all__ = ["SqlSubscribers", "upsert_statement"]

_GET = select(
    t.c.msisdn,
    t.c.kind,
    t.c.status,
    t.c.customer_type,
    t.c.sos_sms_allowed,
    t.c.language,
    t.c.email,
    t.c.karte_expires_on,
    t.c.balance_cents,
).where(t.c.msisdn == bindparam("p_msisdn"))
_GET_LOCKED = _GET.with_for_update()
_CREDIT = (
    update(t)
    .where(t.c.msisdn == bindparam("p_msisdn"))
    .values(
        balance_cents=func.coalesce(t.c.balance_cents, 0) + bindparam("p_cents"),
        karte_expires_on=bindparam("p_expires"),
    )
)
_ADVISORY = select(func.pg_advisory_xact_lock(bindparam("p_key", type_=BigInteger)))
_SET_PASSWORD = update(t).where(t.c.msisdn == bindparam("p_msisdn")).values(portal_password_hash=bindparam("p_hash"))
_PASSWORD = select(t.c.portal_password_hash).where(t.c.msisdn == bindparam("p_msisdn"))


def _subscriber(row: Any) -> Subscriber:
    return Subscriber(
        msisdn=row.msisdn,
        kind=Kind(row.kind),
        status=SubscriberStatus(row.status),
        customer_type=CustomerType(row.customer_type),
        sos_sms_allowed=bool(row.sos_sms_allowed),
        language=Language(row.language),
        email=row.email,
        karte_expires_on=parse_day(row.karte_expires_on),
        balance=None if row.balance_cents is None else euros(row.balance_cents),
    )


class SqlSubscribers:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def get(self, msisdn: str, *, lock: bool = False) -> Subscriber | None:
        if lock and self._sql.dialect == "postgresql":  # the lock the hot path's batches take (pg_batch.lock_key)
            await self._sql.value(_ADVISORY, {"p_key": lock_key(msisdn)})
        row = await self._sql.row(_GET_LOCKED if lock else _GET, {"p_msisdn": msisdn})
        return None if row is None else _subscriber(row)

    async def credit_karte(self, msisdn: str, amount: Decimal, expires_on: date | None) -> None:
        params = {
            "p_msisdn": msisdn,
            "p_cents": cents(amount),
            "p_expires": None if expires_on is None else day(expires_on),
        }
        await self._sql.run(_CREDIT, params)

    async def set_portal_password(self, msisdn: str, password_hash: str | None) -> None:
        await self._sql.run(_SET_PASSWORD, {"p_msisdn": msisdn, "p_hash": password_hash})

    async def portal_password(self, msisdn: str) -> str | None:
        value = await self._sql.value(_PASSWORD, {"p_msisdn": msisdn})
        return None if value is None else str(value)


def upsert_statement(dialect: str, rows: Sequence[Subscriber], at: datetime) -> tuple[Any, list[dict[str, Any]]]:
    """INSERT … ON CONFLICT (msisdn) DO UPDATE for the CSV import; keeps the portal password."""
    insert = postgresql.insert(t) if dialect == "postgresql" else sqlite.insert(t)
    columns = [
        "kind",
        "status",
        "customer_type",
        "sos_sms_allowed",
        "language",
        "email",
        "karte_expires_on",
        "balance_cents",
        "updated_at",
    ]
    stmt = insert.on_conflict_do_update(
        index_elements=[t.c.msisdn], set_={name: insert.excluded[name] for name in columns}
    )
    now = ts(at)
    values = [
        {
            "msisdn": s.msisdn,
            "kind": s.kind.value,
            "status": s.status.value,
            "customer_type": s.customer_type.value,
            "sos_sms_allowed": s.sos_sms_allowed,
            "language": s.language.value,
            "email": s.email,
            "karte_expires_on": None if s.karte_expires_on is None else day(s.karte_expires_on),
            "balance_cents": None if s.balance is None else cents(s.balance),
            "updated_at": now,
        }
        for s in rows
    ]
    return stmt, values
