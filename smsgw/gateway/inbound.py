"""Inbound deliver_sm: MOs (whole or in parts) and delivery receipts, acknowledged after commit.

Several deliver_sm are processed at once (``[smpp] mo_window``), so their units of
work share group commits; each deliver_sm_resp is written only after its own unit
committed (SMPP allows responses in any order). MOs from one sender are processed
in arrival order. Nothing escapes: a PDU we cannot decode is answered with
ESME_RX_P_APPN (retrying cannot help); an unexpected error is logged and answered
with ESME_RX_T_APPN, so the SMSC keeps the MO and delivers it again later.

**Copies.** An SMSC sends an MO again when our response did not reach it in
time, and SMPP 3.4 gives the copy no id; only an MO whose response the SMSC was
seen to read (``acks.AckTracker``; ``acked`` in the database) will not come
again. Some SMSCs ignore a response that comes after their timeout, and while a
slow commit holds the original their copies pile up. So a whole MO is *open*
from the moment it is read until its response is confirmed (or, when it cannot
be confirmed, ``linger`` seconds longer), and:

- an MO read while an equal one (same source, destination, data_coding, text
  and SMSC id) is open is a copy of it — the SMSC sent it before it read our
  response — and is answered from the original as soon as the original is
  done: nothing is applied again, it takes no ``mo_window`` slot and does not
  wait behind the sender's other MOs (that is what lets a copy be answered
  before the SMSC's next timeout); only if the original failed is it processed;
- an MO of which such a copy came on the same link is never confirmed by this
  process (the SMSC has shown it does not take our responses in time): the
  database keeps it unacknowledged, so any later copy within ``[smpp]
  redelivery_window`` is answered from the record;
- nor is a response written more than ``confirm_within`` seconds after its
  deliver_sm was read (it may have missed the SMSC's timeout).

The price: a subscriber who sends the very same text again while such an MO
is unconfirmed is taken for a redelivery — as any MO is before its confirmation.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from ..db.mo_parts import MoPart
from ..db.schema import SMSC_REF_MAX
from ..logs import bind_mo, log_failure
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


_NEVER_CONFIRM_KEPT = 100_000


class _Open:
    """A whole MO read whose response is not known to have reached the SMSC."""

    __slots__ = ("done", "key", "late", "linger", "result")

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key = key
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.result: MoResult | None = None  # once processed (None: it failed)
        self.late = False  # the SMSC may not take our response: copies of it must not confirm it
        self.linger: asyncio.TimerHandle | None = None


class Inbound:
    def __init__(
        self,
        service: Service,
        receipts: Receipts,
        acks: AckTracker,
        *,
        window: int = 32,
        mo_id_tag: int = 0,
        confirm_within: float = 0.5,
        linger: float = 30.0,
        on_result: Callable[[MoResult, float], None] | None = None,
        on_part: Callable[[], None] | None = None,
        claim_for: Callable[[], tuple[str, timedelta] | None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._service = service
        self._receipts = receipts
        self._acks = acks
        self._slots = asyncio.Semaphore(window)
        self._receipts_open = 0  # receipts being recorded (they take no MO slot)
        self._receipt_limit = max(256, 16 * window)
        self._window = window
        self._mo_id_tag = mo_id_tag
        self._confirm_within = confirm_within
        self._linger = linger
        self._on_result = on_result
        self._on_part = on_part  # a part of a long MO was stored (the smsgw_mo_parts_total metric)
        self._claim_for = claim_for
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._tails: dict[str, asyncio.Future[None]] = {}
        self._open: dict[tuple[Any, ...], list[_Open]] = {}  # whole MOs by content, oldest first
        self._awaiting: dict[str, list[_Open]] = {}  # by MO id: those whose response AckTracker may confirm
        self._never_confirm: dict[str, None] = {}  # MO ids the SMSC sent again before reading our response
        self.draining = False

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def accept(self, link: Link, header: smpp.Header, body: bytes) -> None:
        """Take one deliver_sm; waits while ``window`` are in flight (that is the backpressure)."""
        if self.draining:  # shutting down: the SMSC keeps it and delivers it again
            link.write_pdu(smpp.deliver_sm_resp(header.sequence, smpp.ESME_RX_T_APPN))
            return
        read_at = time.monotonic()
        try:
            pdu: smpp.DeliverSm | smpp.PduError = smpp.decode_deliver_sm(header, body)
        except smpp.PduError as error:
            pdu = error
        key = self._key(pdu)
        entry = None
        if key is not None:
            same = self._open.get(key)
            if same:  # a copy of an MO still open: answered from it, without a slot
                self._start(self._answer_copy(link, header, pdu, read_at, same[0]))
                return
            entry = self._register(key)
        elif isinstance(pdu, smpp.DeliverSm) and pdu.is_receipt:
            # Receipts take no MO slot: waiting for one would stop this read loop, and the
            # submit_sm_resp behind them in the stream would time out (then resubmits and
            # their receipts feed the jam). Past their own bound, the SMSC keeps them for later.
            if self._receipts_open >= self._receipt_limit:
                link.write_pdu(smpp.deliver_sm_resp(header.sequence, smpp.ESME_RX_T_APPN))
                return
            self._receipts_open += 1
            self._start(self._answer(link, header, pdu, read_at, None, receipt=True))
            return
        await self._slots.acquire()
        self._start(self._answer(link, header, pdu, read_at, entry))

    def _start(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _key(self, pdu: smpp.DeliverSm | smpp.PduError) -> tuple[Any, ...] | None:
        """What a copy of a whole MO has in common with it (parts of long MOs are matched in ``mo_parts``)."""
        if isinstance(pdu, smpp.PduError) or pdu.is_receipt or (pdu.concat is not None and pdu.concat.total > 1):
            return None
        return (pdu.source_addr, pdu.destination_addr, pdu.data_coding, pdu.text, self._smsc_ref(pdu))

    def _smsc_ref(self, pdu: smpp.DeliverSm) -> str | None:
        """The SMSC's own id of the MO, if it sends one; an overlong one as its digest (same id, same digest)."""
        ref = pdu.tlv_text(self._mo_id_tag) if self._mo_id_tag else None
        if not ref:
            return None
        if len(ref) > SMSC_REF_MAX:
            return "sha256:" + hashlib.sha256(ref.encode("latin-1")).hexdigest()
        return ref

    def _register(self, key: tuple[Any, ...]) -> _Open:
        entry = _Open(key)
        self._open.setdefault(key, []).append(entry)
        return entry

    async def _answer(
        self,
        link: Link,
        header: smpp.Header,
        pdu: smpp.DeliverSm | smpp.PduError,
        read_at: float,
        entry: _Open | None,
        *,
        receipt: bool = False,
    ) -> None:
        started = time.perf_counter()
        result: MoResult | None = None
        status = smpp.ESME_RX_T_APPN
        try:
            status, result = await self._process(header, pdu, started)
        finally:
            if receipt:
                self._receipts_open -= 1
            else:
                self._slots.release()
            if entry is not None:
                entry.result = result
                entry.done.set_result(None)
        self._respond(link, header.sequence, status, result, read_at, entry)

    async def _answer_copy(
        self, link: Link, header: smpp.Header, pdu: smpp.DeliverSm | smpp.PduError, read_at: float, original: _Open
    ) -> None:
        started = time.perf_counter()
        if not original.done.done():
            await asyncio.shield(original.done)
        done = original.result
        if done is None:  # the original failed: this one is processed as the MO
            entry = self._register(original.key)
            await self._slots.acquire()
            await self._answer(link, header, pdu, read_at, entry)
            return
        if original.late or original.linger is None:  # sent again on the link that had our response
            self._never_confirm[done.mo_id] = None
            if len(self._never_confirm) > _NEVER_CONFIRM_KEPT:
                del self._never_confirm[next(iter(self._never_confirm))]
        result = MoResult(done.mo_id, done.outcome, done.command, source=done.source, redelivery=True)
        if isinstance(pdu, smpp.DeliverSm):
            bind_mo(done.mo_id, short_code=pdu.destination_addr, sender=pdu.source_addr)
        else:
            bind_mo(done.mo_id)
        if self._on_result is not None:
            self._on_result(result, time.perf_counter() - started)
        self._respond(link, header.sequence, smpp.ESME_ROK, result, read_at, original)

    def _respond(
        self, link: Link, sequence: int, status: int, result: MoResult | None, read_at: float, entry: _Open | None
    ) -> None:
        mo_id = None if result is None else result.mo_id
        written = link.write_pdu(smpp.deliver_sm_resp(sequence, status))
        if not written:
            log.warning("deliver_sm_resp_not_sent", reason="link closed", sequence=sequence, mo_id=mo_id)
        confirmable = (
            written
            and result is not None
            and result.mo_id not in self._never_confirm
            and time.monotonic() - read_at <= self._confirm_within  # not possibly too late for the SMSC
        )
        if confirmable:
            assert result is not None
            self._acks.responded(result.mo_id, link.peek_sequence(), link.probe)
        if entry is None:
            return
        if result is None:  # it failed: a copy is processed as the MO
            self._close(entry)
        elif confirmable:
            self._keep_until_settled(result.mo_id, entry)
        elif entry not in self._awaiting.get(result.mo_id, ()):
            entry.late = written
            self._keep_lingering(entry)

    def _keep_until_settled(self, mo_id: str, entry: _Open) -> None:
        if entry.linger is not None:
            entry.linger.cancel()
            entry.linger = None
        waiting = self._awaiting.setdefault(mo_id, [])
        if entry not in waiting:
            waiting.append(entry)

    def _keep_lingering(self, entry: _Open) -> None:
        """Copies are answered from it for ``linger`` seconds more (the database would do, slower)."""
        if entry.linger is None:
            entry.linger = asyncio.get_running_loop().call_later(self._linger, self._close, entry)

    def settled(self, mo_ids: list[str], confirmed: bool) -> list[str]:
        """AckTracker: the SMSC read these responses (``confirmed``) or their link is lost; returns those to confirm."""
        confirm = []
        for mo_id in mo_ids:
            entries = self._awaiting.pop(mo_id, [])
            if confirmed and mo_id not in self._never_confirm:
                confirm.append(mo_id)
                for entry in entries:
                    self._close(entry)
            else:
                for entry in entries:
                    entry.late = confirmed
                    self._keep_lingering(entry)
        return confirm

    def _close(self, entry: _Open) -> None:
        if entry.linger is not None:
            entry.linger.cancel()
            entry.linger = None
        same = self._open.get(entry.key)
        if same is not None:
            with contextlib.suppress(ValueError):
                same.remove(entry)
            if not same:
                del self._open[entry.key]

    async def _process(
        self, header: smpp.Header, pdu: smpp.DeliverSm | smpp.PduError, started: float
    ) -> tuple[int, MoResult | None]:
        if isinstance(pdu, smpp.PduError):
            log.warning("deliver_sm_malformed", reason=str(pdu), length=header.length)
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
                result = await self._mo(pdu, started)
            finally:
                mine.set_result(None)
                if self._tails.get(source) is mine:
                    del self._tails[source]
            return smpp.ESME_ROK, result
        except Exception as error:
            log_failure(log, "deliver_sm_failed", error, sequence=header.sequence)
            return smpp.ESME_RX_T_APPN, None

    async def _mo(self, pdu: smpp.DeliverSm, started: float) -> MoResult | None:
        now = self._clock()
        mo_id = new_mo_id()
        # this task's context: every line about this MO carries its id, short code and (masked) sender
        bind_mo(mo_id, short_code=pdu.destination_addr, sender=pdu.source_addr)
        concat = pdu.concat
        # No database text column takes NUL (PostgreSQL refuses it): it becomes U+FFFD, copies alike.
        text = pdu.text.replace("\0", "\ufffd") if "\0" in pdu.text else pdu.text
        result: MoResult | None
        if concat is not None and concat.total > 1:
            part = MoPart(
                pdu.source_addr,
                pdu.destination_addr,
                concat.reference,
                concat.total,
                concat.sequence,
                pdu.data_coding,
                text,
                now,
            )
            result = await self._service.handle_mo_part(part, mo_id=mo_id, claim_for=self._claim_for())
            if self._on_part is not None:
                self._on_part()
            if result is None:
                log.debug("mo_part_stored", part=concat.sequence, total=concat.total)
                return None
        else:
            mo = InboundMo(
                pdu.source_addr, pdu.destination_addr, text, now, self._smsc_ref(pdu), pdu.data_coding, mo_id
            )
            result = await self._service.handle_mo(mo, claim_for=self._claim_for())
        if self._on_result is not None:
            self._on_result(result, time.perf_counter() - started)
        return result

    async def drain(self, timeout: float) -> None:
        """Take no new MOs; wait (up to ``timeout``) for those in flight to be committed and answered."""
        self.draining = True
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            if pending:
                log.warning("inbound_drain_timeout", in_flight=len(pending))

    def describe(self) -> dict[str, Any]:
        return {"in_flight": self.in_flight, "window": self._window}
