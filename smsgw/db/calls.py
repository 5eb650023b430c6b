"""Named units of work: what the gateway's hot path asks the database to do, as data.

``Database.call(name, *args)`` runs ``CALLS[name](uow, *args)`` in one
transaction. Names and plain-data arguments (rather than closures) let the
SQLite database run them in its worker process (``smsgw.db.worker``), away from
the event loop's interpreter lock; on PostgreSQL, or in-process SQLite, they run
like any other unit of work. ``"mo"`` (the MO unit, which needs the rules and the
sealing key) is added by ``smsgw.bootstrap.catalog``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from .mo_parts import MoPart, PartSet
from .outbox import ClaimedReply, PartAccepted
from .uow import SqlUnitOfWork

__all__ = ["CALLS", "Catalog"]

Catalog = dict[str, Callable[..., Awaitable[Any]]]


async def mo_part(uow: SqlUnitOfWork, part: MoPart) -> tuple[bool, PartSet | None]:
    return await uow.mo_parts.add(part)


async def claim(uow: SqlUnitOfWork, now: datetime, lease_until: datetime, limit: int, owner: str) -> list[ClaimedReply]:
    return await uow.outbox.claim(now=now, lease_until=lease_until, limit=limit, owner=owner)


async def fail(uow: SqlUnitOfWork, outbox_id: int, state: str, error: str, now: datetime) -> None:
    await uow.outbox.fail(outbox_id, state, error, now)


async def extend(uow: SqlUnitOfWork, outbox_ids: Sequence[int], until: datetime) -> None:
    await uow.outbox.extend(outbox_ids, until)


async def release(uow: SqlUnitOfWork, outbox_ids: Sequence[int], now: datetime) -> None:
    for outbox_id in outbox_ids:
        await uow.outbox.release(outbox_id, now, now)


async def reset_claims(uow: SqlUnitOfWork, now: datetime) -> int:
    return await uow.outbox.reset_claims(now)


async def confirm_acks(uow: SqlUnitOfWork, mo_ids: Sequence[str]) -> None:
    await uow.messages.confirm_acks(mo_ids)


async def record_results(
    uow: SqlUnitOfWork,
    accepted: Sequence[PartAccepted],
    early: Sequence[PartAccepted],
    receipts: Sequence[tuple[tuple[str, ...], str]],
    now: datetime,
) -> list[tuple[int, str | None] | None]:
    """The sender's batch: accepted parts (with receipts that came before them), then receipts.

    Returns, per receipt, (reply id, MO id) of what it updated, or None when no
    part has that message id yet (it is kept as an early receipt).
    """
    from ..smpp.pdu import message_id_variants

    await uow.outbox.accepted(accepted, now)
    for part in early:
        for variant in message_id_variants(part.message_id):
            state = await uow.outbox.take_early_receipt(variant)
            if state is not None:
                await uow.outbox.receipt((part.message_id,), state, now)
                break
    found: list[tuple[int, str | None] | None] = []
    for variants, state in receipts:
        hit = await uow.outbox.receipt(variants, state, now)
        if hit is None:
            for variant in variants:
                await uow.outbox.keep_early_receipt(variant, state, now)
        found.append(hit)
    return found


CALLS: Catalog = {
    "mo_part": mo_part,
    "claim": claim,
    "fail": fail,
    "extend": extend,
    "release": release,
    "reset_claims": reset_claims,
    "confirm_acks": confirm_acks,
    "record_results": record_results,
}


def standard_catalog(config: Any = None) -> Catalog:
    """The calls above alone (a worker that does not process MOs)."""
    return dict(CALLS)
