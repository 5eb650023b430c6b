"""Delivery receipts: each updates the state of the part and reply it reports on.

A receipt names the SMSC's message id, in the TLV or in its text, in hex or in
decimal; the part is found under any of those forms. A receipt can arrive
before its submit_sm_resp was stored: if the sender still holds that id in its
unflushed batch, the batch is flushed first; if the id is unknown, the receipt
is kept (``early_receipts``) and applied when the id is recorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

from ..db.database import Database
from ..db.outbox import RECEIPT_STATES
from ..db.uow import SqlUnitOfWork
from ..smpp import pdu as smpp

__all__ = ["Receipts"]

log = structlog.get_logger("smsgw.receipts")


class Receipts:
    def __init__(
        self,
        db: Database,
        *,
        flush_pending: Callable[[tuple[str, ...]], Awaitable[None]] | None = None,
        on_early: Callable[[tuple[str, ...], str], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._flush_pending = flush_pending
        self._on_early = on_early
        self._clock = clock
        self.applied = 0
        self.early = 0
        self.unknown = 0
        self.by_stat: dict[str, int] = {}

    async def handle(self, pdu: smpp.DeliverSm) -> None:
        receipt = smpp.parse_receipt(pdu)
        if receipt is None:
            log.warning("receipt_without_message_id")
            self.unknown += 1
            return
        stat = receipt.state.upper()
        self.by_stat[stat] = self.by_stat.get(stat, 0) + 1
        state = RECEIPT_STATES.get(stat)
        if state is None:  # ENROUTE, ACCEPTD, UNKNOWN: not final, nothing to record
            log.info("receipt_not_final", stat=receipt.state, message_id=receipt.message_id)
            return
        variants = smpp.message_id_variants(receipt.message_id)
        if self._flush_pending is not None:
            await self._flush_pending(variants)
        now = self._clock()

        async def unit(uow: SqlUnitOfWork) -> tuple[int, str | None] | None:
            found = await uow.outbox.receipt(variants, state, now)
            if found is None:
                for variant in variants:
                    await uow.outbox.keep_early_receipt(variant, state, now)
            return found

        found = await self._db.write(unit)
        if found is None:
            self.early += 1
            if self._on_early is not None:
                self._on_early(variants, state)
            log.info("receipt_early", message_id=receipt.message_id, stat=receipt.state)
        else:
            self.applied += 1
            log.info("receipt_applied", outbox_id=found[0], mo_id=found[1], stat=receipt.state)
