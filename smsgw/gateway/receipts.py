"""Delivery receipts: each updates the state of the part and reply it reports on.

A receipt names the SMSC's message id, in the TLV or in its text, in hex or in
decimal; the part is found under any of those forms. Receipts are recorded by
the sender's batch (``Sender.record_receipt``), in the same transaction as the
message ids it learnt meanwhile, so a receipt that overtakes the recording of
its submit_sm_resp still finds its part; one that arrives before the
submit_sm_resp itself is kept (``early_receipts``) and applied when the id is
recorded. The deliver_sm_resp of a receipt goes out after that commit.

An SMSC sends a receipt again when our response was late for it; a copy of a
receipt recorded recently (the same message id and state) is answered at once,
from memory: it was committed already, and waiting for another commit would
only make the copy late again.
"""

from __future__ import annotations

from collections import OrderedDict

import structlog

from ..db.outbox import RECEIPT_STATES
from ..smpp import pdu as smpp
from .outbound import Sender

__all__ = ["Receipts"]

log = structlog.get_logger("smsgw.receipts")

_REMEMBERED = 10_000  # receipts recorded recently, whose copies need no commit


class Receipts:
    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        self.applied = 0
        self.early = 0
        self.unknown = 0
        self.repeated = 0
        self.by_stat: dict[str, int] = {}
        self._recorded: OrderedDict[tuple[str, str], None] = OrderedDict()

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
        key = (receipt.message_id, state)
        if key in self._recorded:
            self.repeated += 1
            log.debug("receipt_repeated", stat=stat)
            return
        found = await self._sender.record_receipt(smpp.message_id_variants(receipt.message_id), state)
        self._recorded[key] = None
        if len(self._recorded) > _REMEMBERED:
            self._recorded.popitem(last=False)
        if found is None:
            self.early += 1
            log.info("receipt_early", stat=stat)
        else:
            self.applied += 1
            log.debug("receipt_applied", outbox_id=found[0], mo_id=found[1], stat=stat)
