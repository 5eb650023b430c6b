"""The e-mail queue: notices written in the same transaction as their cause, sent later.

States: ``queued`` (due at ``next_attempt_at``), ``sending`` (claimed; the lease
ends at ``next_attempt_at``), ``sent``, ``failed`` (gave up after the configured
attempts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, or_, select, update

from .schema import email_outbox as t
from .sql import Sql
from .timefmt import ts

__all__ = ["Email", "SqlEmailQueue"]


@dataclass(frozen=True, slots=True)
class Email:
    id: int
    recipient: str
    subject: str
    body: str
    attempts: int


_QUEUE = insert(t)
_DUE = (
    select(t.c.id, t.c.recipient, t.c.subject, t.c.body, t.c.attempts)
    .where(or_(t.c.state == "queued", t.c.state == "sending"), t.c.next_attempt_at <= bindparam("p_now"))
    .order_by(t.c.next_attempt_at, t.c.id)
    .limit(bindparam("p_limit"))
    .with_for_update(skip_locked=True)
)
_CLAIM = (
    update(t)
    .where(t.c.id == bindparam("p_id"))
    .values(state="sending", next_attempt_at=bindparam("p_lease"), attempts=t.c.attempts + 1)
)
_SENT = update(t).where(t.c.id == bindparam("p_id")).values(state="sent", last_error=None)
_RETRY = (
    update(t)
    .where(t.c.id == bindparam("p_id"))
    .values(state=bindparam("p_state"), next_attempt_at=bindparam("p_at"), last_error=bindparam("p_error"))
)


class SqlEmailQueue:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def queue(self, to: str, subject: str, body: str, at: datetime) -> None:
        when = ts(at)
        await self._sql.run(
            _QUEUE,
            {
                "recipient": to,
                "subject": subject,
                "body": body,
                "state": "queued",
                "attempts": 0,
                "next_attempt_at": when,
                "created_at": when,
            },
        )

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[Email]:
        rows = await self._sql.rows(_DUE, {"p_now": ts(now), "p_limit": limit})
        if rows:
            await self._sql.run(_CLAIM, [{"p_id": row.id, "p_lease": ts(lease_until)} for row in rows])
        return [Email(row.id, row.recipient, row.subject, row.body, row.attempts + 1) for row in rows]

    async def sent(self, email_id: int) -> None:
        await self._sql.run(_SENT, {"p_id": email_id})

    async def retry(self, email_id: int, at: datetime, error: str, *, give_up: bool) -> None:
        await self._sql.run(
            _RETRY,
            {"p_id": email_id, "p_state": "failed" if give_up else "queued", "p_at": ts(at), "p_error": error[:200]},
        )
