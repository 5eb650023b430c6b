"""Delivery receipts: each updates the state of the part and reply it reports on.

A receipt names the SMSC's message id, in the TLV or in its text, in hex or in
decimal; the part is found under any of those forms. Receipts are recorded by
the sender's batch (``Sender.record_receipt``), in the same transaction as the
message ids it learnt meanwhile, so a receipt that overtakes the recording of
its submit_sm_resp still finds its part; one that arrives before the
submit_sm_resp itself is kept (``early_receipts``) and applied when the id is
recorded. The deliver_sm_resp of a receipt goes out after that commit.
"""

from __future__ import annotations

import structlog

from ..db.outbox import RECEIPT_STATES
from ..smpp import pdu as smpp
from .outbound import Sender

__all__ = ["Receipts"]

log = structlog.get_logger("smsgw.receipts")


class Receipts:
    def __init__(self, sender: Sender) -> None:
        self._sender = sender
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
            log.debug("receipt_not_final", stat=stat)
            return
        found = await self._sender.record_receipt(smpp.message_id_variants(receipt.message_id), state)
        if found is None:
            self.early += 1
            log.info("receipt_early", stat=stat)
        else:
            self.applied += 1
            log.debug("receipt_applied", outbox_id=found[0], mo_id=found[1], stat=stat)
