"""Inbound deliver_sm: MOs (whole or in parts) and delivery receipts, acknowledged after commit.

Several deliver_sm are processed at once (``[smpp] mo_window``), so their units of
work share group commits; each deliver_sm_resp is written only after its own unit
committed (SMPP allows responses in any order). MOs from one sender are processed
in arrival order. Nothing escapes: a PDU we cannot decode is answered with
ESME_RX_P_APPN (retrying cannot help); an unexpected error is logged and answered
with ESME_RX_T_APPN, so the SMSC keeps the MO and delivers it again later.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from ..db.mo_parts import MoPart
from ..logs import bind_mo
from ..service import InboundMo, MoResult, Service, new_mo_id
from ..smpp import pdu as smpp
from .acks import AckTracker
from .receipts import Receipts

__all__ = ["Inbound"]

log = structlog.get_logger("smsgw.inbound")


class Link(Protocol):
    def write_pdu(self, data: bytes) -> bool: ...
    def peek_sequence(self) -> int: ...
    def probe(self) -> None: ...


class Inbound:
    def __init__(
        self,
        service: Service,
        receipts: Receipts,
        acks: AckTracker,
        *,
        window: int = 32,
        mo_id_tag: int = 0,
        on_result: Callable[[MoResult, float], None] | None = None,
        claim_for: Callable[[], tuple[str, timedelta] | None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._service = service
        self._receipts = receipts
        self._acks = acks
        self._slots = asyncio.Semaphore(window)
        self._window = window
        self._mo_id_tag = mo_id_tag
        self._on_result = on_result
        self._claim_for = claim_for
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._tails: dict[str, asyncio.Future[None]] = {}
        self.draining = False

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def accept(self, link: Link, header: smpp.Header, body: bytes) -> None:
        """Take one deliver_sm; waits while ``window`` are in flight (that is the backpressure)."""
        if self.draining:  # shutting down: the SMSC keeps it and delivers it again
            link.write_pdu(smpp.deliver_sm_resp(header.sequence, smpp.ESME_RX_T_APPN))
            return
        await self._slots.acquire()
        task = asyncio.create_task(self._answer(link, header, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, link: Link, header: smpp.Header, body: bytes) -> None:
        started = time.perf_counter()
        try:
            status, mo_id = await self._process(header, body, started)
        finally:
            self._slots.release()
        if not link.write_pdu(smpp.deliver_sm_resp(header.sequence, status)):
            log.warning("deliver_sm_resp_not_sent", reason="link closed", sequence=header.sequence, mo_id=mo_id)
        elif mo_id is not None:
            self._acks.responded(mo_id, link.peek_sequence(), link.probe)

    async def _process(self, header: smpp.Header, body: bytes, started: float) -> tuple[int, str | None]:
        try:
            pdu = smpp.decode_deliver_sm(header, body)
        except smpp.PduError as error:
            log.warning("deliver_sm_malformed", reason=str(error), length=header.length)
            return smpp.ESME_RX_P_APPN, None
        try:
            if pdu.is_receipt:
                await self._receipts.handle(pdu)
                return smpp.ESME_ROK, None
            source = pdu.source_addr
            previous = self._tails.get(source)
            mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._tails[source] = mine
            try:
                if previous is not None:
                    await asyncio.shield(previous)
                mo_id = await self._mo(pdu, started)
            finally:
                mine.set_result(None)
                if self._tails.get(source) is mine:
                    del self._tails[source]
            return smpp.ESME_ROK, mo_id
        except Exception:
            log.exception("deliver_sm_failed", sequence=header.sequence)
            return smpp.ESME_RX_T_APPN, None

    async def _mo(self, pdu: smpp.DeliverSm, started: float) -> str | None:
        now = self._clock()
        mo_id = new_mo_id()
        bind_mo(mo_id)  # this task's context: every line about this MO carries its id
        concat = pdu.concat
        smsc_ref = pdu.tlv_text(self._mo_id_tag) if self._mo_id_tag else None
        result: MoResult | None
        if concat is not None and concat.total > 1:
            part = MoPart(
                pdu.source_addr,
                pdu.destination_addr,
                concat.reference,
                concat.total,
                concat.sequence,
                pdu.data_coding,
                pdu.text,
                now,
            )
            result = await self._service.handle_mo_part(part, mo_id=mo_id, claim_for=self._claim_for())
            if result is None:
                log.debug("mo_part_stored", part=concat.sequence, total=concat.total)
                return None
        else:
            mo = InboundMo(
                pdu.source_addr, pdu.destination_addr, pdu.text, now, smsc_ref or None, pdu.data_coding, mo_id
            )
            result = await self._service.handle_mo(mo, claim_for=self._claim_for())
        if self._on_result is not None:
            self._on_result(result, time.perf_counter() - started)
        return result.mo_id

    async def drain(self, timeout: float) -> None:
        """Take no new MOs; wait (up to ``timeout``) for those in flight to be committed and answered."""
        self.draining = True
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            if pending:
                log.warning("inbound_drain_timeout", in_flight=len(pending))

    def describe(self) -> dict[str, Any]:
        return {"in_flight": self.in_flight, "window": self._window}
