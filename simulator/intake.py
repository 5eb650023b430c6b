"""MT intake: what an admitted submit_sm gets — a fault, or a message id, its place in a
concatenated message, a record, and perhaps a receipt. It decides; the core acts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from smpp import Concat, Reassembler, ShortMessage, Status, user_data

from .delivery import DeliverJob
from .display import shown_text
from .faults import Faults
from .receipts import MessageIds, ReceiptRule, ReceiptRules, receipt_message
from .store import MtRecord, Store

__all__ = ["MtIntake", "MtPart", "Verdict"]


@dataclass(slots=True)
class MtPart:
    """One accepted submit_sm, as far as recording is concerned."""

    bind: int
    system_id: str
    source: str
    destination: str
    data_coding: int
    registered_delivery: int
    message_id: str
    payload: bytes
    concat: Concat | None
    at: float
    status: str = "accepted"


@dataclass(frozen=True, slots=True)
class Verdict:
    status: int  # ESME_ROK, or the fault's status (then nothing else applies)
    message_id: str = ""
    respond_after: float | None = 0.0  # seconds; None = never (withheld)
    receipt: DeliverJob | None = None
    receipt_first: bool = False  # send the receipt before the response
    receipt_delay: float = 0.0


class MtIntake:
    def __init__(
        self,
        store: Store,
        ids: MessageIds,
        faults: Faults,
        rules: ReceiptRules,
        reassembler: Reassembler[MtPart],
        counters: Counter[str],
        secret_sources: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.ids = ids
        self.faults = faults
        self.rules = rules
        self.reassembler = reassembler
        self.counters = counters
        self.secret_sources = secret_sources  # their receipts quote no text (redact.py)

    def accept(self, bind_id: int, system_id: str, sm: ShortMessage, now: float) -> Verdict:
        self.counters["submits"] += 1
        decision = self.faults.decide(now)
        if decision.status != Status.ESME_ROK:
            self.counters["submits_rejected"] += 1
            return Verdict(decision.status)
        number, message_id = self.ids.next()
        payload, concat = user_data(sm)
        label = "withheld" if decision.withhold else "delayed" if decision.delay else "accepted"
        self.counters[f"submits_{label}"] += 1
        part = MtPart(
            bind_id,
            system_id,
            sm.source_addr,
            sm.destination_addr,
            sm.data_coding,
            sm.registered_delivery,
            message_id,
            payload,
            concat,
            now,
            label,
        )
        if concat is None:
            whole: list[MtPart] | None = [part]
        else:
            key = (system_id, sm.source_addr, sm.destination_addr)
            whole = self.reassembler.add(key, concat, part, now)
        if whole is not None:
            self._record(whole, complete=True)
        rule = self.rules.match(sm.destination_addr)
        wanted = sm.registered_delivery & 0x03  # 1: always, 2: on failure only
        receipt = None
        if wanted == 1 or (wanted == 2 and rule.status != "DELIVRD"):
            receipt = self._receipt(part, number, rule, now)
        return Verdict(
            Status.ESME_ROK,
            message_id,
            respond_after=None if decision.withhold else decision.delay,
            receipt=receipt,
            receipt_first=decision.receipt_first,
            receipt_delay=0.0 if decision.receipt_first else rule.delay,
        )

    def expire(self, now: float) -> None:
        """Record concatenated MTs that will never complete."""
        for parts in self.reassembler.expire(now):
            self._record(parts, complete=False)

    def _receipt(self, part: MtPart, number: int, rule: ReceiptRule, now: float) -> DeliverJob:
        message = receipt_message(
            mt_source=part.source,
            mt_destination=part.destination,
            receipt_id=self.ids.for_receipt(number),
            stat=rule.status,
            submitted_at=part.at,
            done_at=now + rule.delay,
            text="" if part.source in self.secret_sources else shown_text(part.payload, part.data_coding),
        )
        return DeliverJob(message, part.message_id, None, preferred=part.bind, stat=rule.status)

    def _record(self, parts: list[MtPart], complete: bool) -> None:
        first = parts[0]
        text = shown_text(b"".join(p.payload for p in parts), first.data_coding)
        status = next((p.status for p in parts if p.status != "accepted"), "accepted")
        mt = MtRecord(
            id=first.message_id,
            message_ids=[p.message_id for p in parts],
            bind=first.bind,
            system_id=first.system_id,
            source=first.source,
            destination=first.destination,
            text=text,
            data_coding=first.data_coding,
            parts=first.concat.total if first.concat else 1,
            complete=complete,
            submitted_at=first.at,
            registered_delivery=first.registered_delivery,
            status=status,
        )
        self.store.add_mt(mt)
        self.counters["mts"] += 1
