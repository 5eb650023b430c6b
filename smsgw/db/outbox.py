"""The reply outbox as the SMPP edge drains it: claim, submit results, receipts, expiry.

States of a reply (``outbox.state``):

- ``queued``: waiting to be sent, from ``next_attempt_at``;
- ``sending``: claimed by a sender, whose lease ends at ``next_attempt_at`` (a
  sender that died lets its replies go back to ``queued`` when the lease ends);
- ``submitted``: every part was accepted by the SMSC (``mt_parts`` holds their
  SMSC message ids: the persisted correlator);
- ``delivered``, ``undeliverable``, ``rejected``, ``smsc_expired``: what the
  delivery receipts said;
- ``failed``: the SMSC refused it for good; ``expired``: not accepted before
  ``expires_at``.

Every reply ends in one of the last six; ``queued`` and ``sending`` are the only
states in between.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .schema import early_receipts, mt_parts, outbox
from .sql import Sql
from .timefmt import parse_ts, ts

__all__ = [
    "FINAL_STATES",
    "RECEIPT_STATES",
    "SMSC_MESSAGE_ID_MAX",
    "ClaimedReply",
    "PartAccepted",
    "SqlOutbox",
    "storable_message_id",
]

#: Receipt ``stat`` → the state of the part (and of the reply once every part has one).
RECEIPT_STATES = {
    "DELIVRD": "delivered",
    "UNDELIV": "undeliverable",
    "REJECTD": "rejected",
    "DELETED": "undeliverable",
    "EXPIRED": "smsc_expired",
}
FINAL_STATES = frozenset({"submitted", "failed", "expired", *RECEIPT_STATES.values()})

SMSC_MESSAGE_ID_MAX = 80  # mt_parts and early_receipts.smsc_message_id (SMPP 3.4 allows 64 characters)


def storable_message_id(message_id: str) -> str:
    """An SMSC message id as stored and matched: one longer than the column takes becomes its digest.

    An SMSC that sends longer ids than SMPP 3.4 allows must not make every batch that
    records one fail (PostgreSQL refuses the row); the same id always gives the same
    digest, so its receipts still find its part.
    """
    if len(message_id) <= SMSC_MESSAGE_ID_MAX:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class ClaimedReply:
    id: int
    mo_id: str | None
    source: str
    destination: str
    text: str
    sealed: str | None
    attempts: int
    expires_at: datetime
    done_parts: frozenset[int]  # parts already accepted before (a re-claim after a crash)
    maybe_sent: frozenset[int] = frozenset()  # parts that were on the wire when their sender died
    recorded: frozenset[int] = frozenset()  # parts recorded "submitting" by the batch that queued the reply


@dataclass(frozen=True, slots=True)
class PartAccepted:
    outbox_id: int
    part_no: int
    message_id: str  # "" when it was recorded before (a re-claimed reply whose parts were all accepted)
    total: int  # parts of the reply
    complete: bool  # the last part of its reply to be accepted


_unsent = or_(outbox.c.state == "queued", outbox.c.state == "sending")
_EXPIRE = (
    update(outbox)
    .where(_unsent, outbox.c.expires_at <= bindparam("p_now"))
    .values(state="expired", updated_at=bindparam("p_now"), sealed=None)
)
_CLAIMABLE = (
    select(
        outbox.c.id,
        outbox.c.mo_id,
        outbox.c.source,
        outbox.c.destination,
        outbox.c.text,
        outbox.c.sealed,
        outbox.c.attempts,
        outbox.c.expires_at,
    )
    .where(_unsent, outbox.c.next_attempt_at <= bindparam("p_now"))
    .order_by(outbox.c.next_attempt_at, outbox.c.id)
    .limit(bindparam("p_limit"))
    .with_for_update(skip_locked=True)
)
_MARK_SENDING = (
    update(outbox)
    .where(outbox.c.id == bindparam("p_id"))
    .values(
        state="sending",
        next_attempt_at=bindparam("p_lease"),
        attempts=outbox.c.attempts + 1,
        claimed_by=bindparam("p_owner"),
        updated_at=bindparam("p_now"),
    )
)
_DONE_PARTS = select(mt_parts.c.part_no).where(mt_parts.c.outbox_id == bindparam("p_id"))
_ADD_PART = insert(mt_parts)
_SUBMITTED = (
    update(outbox)
    .where(outbox.c.id == bindparam("p_id"), outbox.c.state == "sending")
    .values(state="submitted", sealed=None, parts=bindparam("p_parts"), updated_at=bindparam("p_now"))
)
_RELEASE = (
    update(outbox)
    .where(outbox.c.id == bindparam("p_id"), outbox.c.state == "sending")
    .values(
        state="queued",
        next_attempt_at=bindparam("p_at"),
        updated_at=bindparam("p_now"),
        last_error=bindparam("p_error"),
    )
)
_EXTEND = (
    update(outbox)
    .where(outbox.c.id == bindparam("p_id"), outbox.c.state == "sending")
    .values(next_attempt_at=bindparam("p_at"))
)
_FAIL = (
    update(outbox)
    .where(outbox.c.id == bindparam("p_id"))
    .values(state=bindparam("p_state"), sealed=None, updated_at=bindparam("p_now"), last_error=bindparam("p_error"))
)
_PART_RECEIPT = (
    update(mt_parts)
    .where(mt_parts.c.smsc_message_id == bindparam("p_mid"))
    .values(state=bindparam("p_state"), updated_at=bindparam("p_now"))
    .returning(mt_parts.c.outbox_id)
)
# A one-part reply takes its part's state at once (the common case: no reads needed).
_SINGLE_PART_STATE = (
    update(outbox)
    .where(
        outbox.c.id == bindparam("p_id"),
        outbox.c.parts == 1,
        or_(outbox.c.state == "submitted", outbox.c.state == "sending"),
    )
    .values(state=bindparam("p_state"), updated_at=bindparam("p_now"))
    .returning(outbox.c.mo_id)
)
_PART_STATES = select(mt_parts.c.state).where(mt_parts.c.outbox_id == bindparam("p_id"))
_REPLY_PARTS = select(outbox.c.parts, outbox.c.state, outbox.c.mo_id).where(outbox.c.id == bindparam("p_id"))
_SET_STATE = (
    update(outbox)
    .where(outbox.c.id == bindparam("p_id"), or_(outbox.c.state == "submitted", outbox.c.state == "sending"))
    .values(state=bindparam("p_state"), updated_at=bindparam("p_now"))
)
_EARLY = select(early_receipts.c.state).where(early_receipts.c.smsc_message_id == bindparam("p_mid"))
_DROP_EARLY = delete(early_receipts).where(early_receipts.c.smsc_message_id == bindparam("p_mid"))
_ALL_EARLY = select(early_receipts.c.smsc_message_id)
_PURGE_EARLY = delete(early_receipts).where(early_receipts.c.received_at < bindparam("p_before"))
_RESET_SENDING = (
    update(outbox)
    .where(outbox.c.state == "sending")
    .values(state="queued", next_attempt_at=bindparam("p_now"), updated_at=bindparam("p_now"))
)
_DEPTH = select(outbox.c.state, func.count().label("n")).where(_unsent).group_by(outbox.c.state)


class SqlOutbox:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def claim(self, *, now: datetime, lease_until: datetime, limit: int, owner: str) -> list[ClaimedReply]:
        """Expire what is too old, then take up to ``limit`` replies that are due."""
        when = ts(now)
        await self._sql.run(_EXPIRE, {"p_now": when})
        rows = await self._sql.rows(_CLAIMABLE, {"p_now": when, "p_limit": limit})
        if not rows:
            return []
        lease = ts(lease_until)
        await self._sql.run(
            _MARK_SENDING, [{"p_id": row.id, "p_lease": lease, "p_owner": owner, "p_now": when} for row in rows]
        )
        claimed = []
        for row in rows:
            done: frozenset[int] = frozenset()
            if row.attempts:  # claimed before: some parts may have been accepted already
                done = frozenset(r.part_no for r in await self._sql.rows(_DONE_PARTS, {"p_id": row.id}))
            claimed.append(
                ClaimedReply(
                    row.id,
                    row.mo_id,
                    row.source,
                    row.destination,
                    row.text,
                    row.sealed,
                    row.attempts + 1,
                    parse_ts(row.expires_at),
                    done,
                )
            )
        return claimed

    async def accepted(self, parts: Sequence[PartAccepted], now: datetime) -> None:
        """Record accepted parts (message id ↔ part); replies whose last part was accepted become submitted."""
        when = ts(now)
        recorded = [
            {
                "outbox_id": p.outbox_id,
                "part_no": p.part_no,
                "smsc_message_id": p.message_id,
                "state": "submitted",
                "updated_at": when,
            }
            for p in parts
            if p.message_id
        ]
        if recorded:
            await self._sql.run(_ADD_PART, recorded)
        complete = [{"p_id": p.outbox_id, "p_parts": p.total, "p_now": when} for p in parts if p.complete]
        if complete:
            await self._sql.run(_SUBMITTED, complete)

    async def release(self, outbox_id: int, at: datetime, now: datetime, error: str | None = None) -> None:
        """Give a claimed reply back to the queue, due again at ``at``."""
        await self._sql.run(_RELEASE, {"p_id": outbox_id, "p_at": ts(at), "p_now": ts(now), "p_error": error})

    async def extend(self, outbox_ids: Sequence[int], until: datetime) -> None:
        if outbox_ids:
            await self._sql.run(_EXTEND, [{"p_id": i, "p_at": ts(until)} for i in outbox_ids])

    async def fail(self, outbox_id: int, state: str, error: str, now: datetime) -> None:
        await self._sql.run(_FAIL, {"p_id": outbox_id, "p_state": state, "p_now": ts(now), "p_error": error[:200]})

    async def receipt(self, message_ids: Sequence[str], state: str, now: datetime) -> tuple[int, str | None] | None:
        """Apply a receipt to the part with one of ``message_ids``.

        Returns (reply id, MO id) of the reply it belongs to, or None if no part has that id.
        """
        when = ts(now)
        for message_id in message_ids:
            found = await self._sql.row(_PART_RECEIPT, {"p_mid": message_id, "p_state": state, "p_now": when})
            if found is not None:
                single = await self._sql.row(
                    _SINGLE_PART_STATE, {"p_id": found.outbox_id, "p_state": state, "p_now": when}
                )
                mo_id = single.mo_id if single is not None else await self._settle(found.outbox_id, when)
                return int(found.outbox_id), mo_id
        return None

    async def _settle(self, outbox_id: int, when: str) -> str | None:
        reply = await self._sql.row(_REPLY_PARTS, {"p_id": outbox_id})
        if reply is None:
            return None
        states = [row.state for row in await self._sql.rows(_PART_STATES, {"p_id": outbox_id})]
        if reply.parts is None or len(states) < reply.parts:
            return reply.mo_id  # type: ignore[no-any-return]
        failed = [s for s in states if s not in ("submitted", "delivered")]
        if failed:
            await self._sql.run(_SET_STATE, {"p_id": outbox_id, "p_state": failed[0], "p_now": when})
        elif all(s == "delivered" for s in states):
            await self._sql.run(_SET_STATE, {"p_id": outbox_id, "p_state": "delivered", "p_now": when})
        return reply.mo_id  # type: ignore[no-any-return]

    async def keep_early_receipt(self, message_id: str, state: str, now: datetime) -> None:
        dialect_insert = postgresql.insert if self._sql.dialect == "postgresql" else sqlite.insert
        stmt = dialect_insert(early_receipts).on_conflict_do_nothing(index_elements=[early_receipts.c.smsc_message_id])
        await self._sql.run(stmt, {"smsc_message_id": message_id, "state": state, "received_at": ts(now)})

    async def take_early_receipt(self, message_id: str) -> str | None:
        state = await self._sql.value(_EARLY, {"p_mid": message_id})
        if state is not None:
            await self._sql.run(_DROP_EARLY, {"p_mid": message_id})
        return None if state is None else str(state)

    async def early_receipt_ids(self) -> list[str]:
        return [row.smsc_message_id for row in await self._sql.rows(_ALL_EARLY)]

    async def purge_early_receipts(self, before: datetime) -> int:
        return await self._sql.run(_PURGE_EARLY, {"p_before": ts(before)})

    async def reset_claims(self, now: datetime) -> int:
        """At start-up of the only instance (SQLite): every claimed reply is due again now."""
        return await self._sql.run(_RESET_SENDING, {"p_now": ts(now)})

    async def depth(self) -> dict[str, int]:
        rows = await self._sql.rows(_DEPTH)
        return {str(row.state): int(row.n) for row in rows}
