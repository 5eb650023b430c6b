"""Temporary password hashes and the request log behind the rate limit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update

from .schema import password_requests, temporary_passwords
from .sql import Sql
from .timefmt import parse_ts, ts

__all__ = ["SqlPasswordStore"]

_RECENT = (
    select(password_requests.c.requested_at, password_requests.c.outcome)
    .where(
        password_requests.c.msisdn == bindparam("p_msisdn"), password_requests.c.requested_at >= bindparam("p_since")
    )
    .order_by(password_requests.c.requested_at, password_requests.c.id)
)
_RECORD = insert(password_requests)
_DROP = delete(temporary_passwords).where(temporary_passwords.c.msisdn == bindparam("p_msisdn"))
_PUT = insert(temporary_passwords)
_GET = select(
    temporary_passwords.c.password_hash, temporary_passwords.c.expires_at, temporary_passwords.c.used_at
).where(temporary_passwords.c.msisdn == bindparam("p_msisdn"))
# Single use, on the database itself: this password (the hash), still unused, still valid.
_USE = (
    update(temporary_passwords)
    .where(
        temporary_passwords.c.msisdn == bindparam("p_msisdn"),
        temporary_passwords.c.password_hash == bindparam("p_hash"),
        temporary_passwords.c.used_at.is_(None),
        temporary_passwords.c.expires_at > bindparam("p_at"),
    )
    .values(used_at=bindparam("p_at"))
)


class SqlPasswordStore:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def recent_requests(self, msisdn: str, since: datetime) -> list[tuple[datetime, str]]:
        rows = await self._sql.rows(_RECENT, {"p_msisdn": msisdn, "p_since": ts(since)})
        return [(parse_ts(row.requested_at), row.outcome) for row in rows]

    async def record_request(self, msisdn: str, at: datetime, outcome: str) -> None:
        await self._sql.run(_RECORD, {"msisdn": msisdn, "requested_at": ts(at), "outcome": outcome})

    async def put_temporary(self, msisdn: str, password_hash: str, at: datetime, expires_at: datetime) -> None:
        await self._sql.run(_DROP, {"p_msisdn": msisdn})
        await self._sql.run(
            _PUT,
            {"msisdn": msisdn, "password_hash": password_hash, "created_at": ts(at), "expires_at": ts(expires_at)},
        )

    async def temporary(self, msisdn: str) -> tuple[str, datetime, datetime | None] | None:
        row = await self._sql.row(_GET, {"p_msisdn": msisdn})
        if row is None:
            return None
        used = None if row.used_at is None else parse_ts(row.used_at)
        return row.password_hash, parse_ts(row.expires_at), used

    async def mark_used(self, msisdn: str, password_hash: str, at: datetime) -> bool:
        return await self._sql.run(_USE, {"p_msisdn": msisdn, "p_hash": password_hash, "p_at": ts(at)}) == 1
