"""MO records (with redelivery recognition) and the reply outbox rows queued with them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from .schema import mo_messages, outbox
from .sql import Sql
from .timefmt import ts

__all__ = ["MoRecord", "QueuedMessage", "SqlMessages", "fingerprint"]


def fingerprint(source: str, destination: str, data_coding: int, text: str) -> str:
    """What a redelivery without an SMSC message id has in common with the original."""
    material = "\x00".join((source, destination, str(data_coding), text))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class MoRecord:
    id: str
    source: str
    destination: str
    text: str
    data_coding: int
    smsc_ref: str | None
    fingerprint: str
    received_at: datetime
    processed_at: datetime
    command: str | None
    outcome: str
    acked: bool = False


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    source: str
    destination: str
    text: str  # redacted when sealed
    sealed: str | None


_BY_REF = select(mo_messages.c.id, mo_messages.c.outcome).where(mo_messages.c.smsc_ref == bindparam("p_ref"))
_BY_FINGERPRINT = (
    select(mo_messages.c.id, mo_messages.c.outcome)
    .where(
        mo_messages.c.fingerprint == bindparam("p_fp"),
        mo_messages.c.received_at >= bindparam("p_since"),
        mo_messages.c.acked == bindparam("p_false"),
    )
    .order_by(mo_messages.c.received_at.desc())
    .limit(1)
)
_ADD_MO = insert(mo_messages)
_CONFIRM = update(mo_messages).where(mo_messages.c.id == bindparam("p_id")).values(acked=True)
_QUEUE = insert(outbox)
_REPLIES = (
    select(outbox.c.destination, outbox.c.source, outbox.c.text, outbox.c.sealed)
    .where(outbox.c.mo_id == bindparam("p_mo"))
    .order_by(outbox.c.id)
)


class SqlMessages:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def find_redelivery(self, smsc_ref: str | None, fp: str, since: datetime) -> tuple[str, str] | None:
        """(id, outcome) of the MO this one repeats: the same SMSC id, or else the same
        fingerprint since ``since`` on an MO whose acknowledgement the SMSC never confirmed."""
        if smsc_ref:
            row = await self._sql.row(_BY_REF, {"p_ref": smsc_ref})
        else:
            row = await self._sql.row(_BY_FINGERPRINT, {"p_fp": fp, "p_since": ts(since), "p_false": False})
        return None if row is None else (row.id, row.outcome)

    async def add(self, mo: MoRecord) -> None:
        await self._sql.run(
            _ADD_MO,
            {
                "id": mo.id,
                "source": mo.source,
                "destination": mo.destination,
                "text": mo.text,
                "data_coding": mo.data_coding,
                "smsc_ref": mo.smsc_ref,
                "fingerprint": mo.fingerprint,
                "received_at": ts(mo.received_at),
                "processed_at": ts(mo.processed_at),
                "command": mo.command,
                "outcome": mo.outcome,
                "acked": mo.acked,
            },
        )

    async def confirm_acks(self, mo_ids: Sequence[str]) -> None:
        """The SMSC received our deliver_sm_resp for these MOs: it will not redeliver them."""
        if mo_ids:
            await self._sql.run(_CONFIRM, [{"p_id": mo_id} for mo_id in mo_ids])

    async def queue(
        self,
        messages: Sequence[QueuedMessage],
        *,
        mo_id: str | None,
        at: datetime,
        expires_at: datetime,
        claim: tuple[str, datetime] | None = None,
    ) -> list[int]:
        """Queue replies; returns their outbox ids.

        With ``claim`` = (owner, lease end), the rows are born claimed by that
        sender (``sending``), which then sends them without claiming them first;
        should it die, the lease ends and they are sent by whoever claims next.
        """
        if not messages:
            return []
        now, expires = ts(at), ts(expires_at)
        state, owner, due, attempts = (
            ("queued", None, now, 0) if claim is None else ("sending", claim[0], ts(claim[1]), 1)
        )
        rows: list[dict[str, Any]] = [
            {
                "mo_id": mo_id,
                "source": m.source,
                "destination": m.destination,
                "text": m.text,
                "sealed": m.sealed,
                "state": state,
                "attempts": attempts,
                "next_attempt_at": due,
                "expires_at": expires,
                "created_at": now,
                "updated_at": now,
                "claimed_by": owner,
            }
            for m in messages
        ]
        return [await self._sql.insert(_QUEUE, row) for row in rows]

    async def replies(self, mo_id: str) -> list[QueuedMessage]:
        rows = await self._sql.rows(_REPLIES, {"p_mo": mo_id})
        return [QueuedMessage(row.source, row.destination, row.text, row.sealed) for row in rows]
