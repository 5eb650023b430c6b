"""Inbound deliver_sm: MOs (whole or in parts) and delivery receipts, answered after their batch commits.

It consumes the session's ``MoReceived`` and ``ReceiptReceived`` events, turns
each into a job of the next batch (an MO is decoded, its parts found, its text
parsed here, before any transaction), and after the batch's commit writes each
deliver_sm_resp on the connection its deliver_sm came on. An MO that failed is
answered ESME_RX_T_APPN, so the SMSC keeps it and delivers it again; a ``P``
that may be issued a password is answered only once its password — prepared
in a thread, outside any transaction — has been through a second batch.

An MO answered within ``confirm_within`` seconds of being read is tagged with
its id, so that the session reports when the SMSC has read the response
(:mod:`~smsgw.gateway.confirmations`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog

from grammar import ParseError, normalize_msisdn, parse
from handlers.credentials import TemporaryPassword
from smpp.coding import decode_text
from smpp.concat import user_data
from smpp.constants import Status
from smpp.errors import UndecodableText
from smpp.esme_events import MoReceived, ReceiptReceived
from smpp.receipts import message_id_variants
from smpp.tlv import tlv_text

from ..batch.jobs import Batch, BatchResult, Decision, MoJob, PartOf, ReceiptJob
from ..db.messages import fingerprint
from ..db.outbox import RECEIPT_STATES, storable_message_id
from ..db.schema import SMSC_REF_MAX
from ..logs import bind_mo, clear_mo
from ..mo import new_mo_id
from .confirmations import Confirmations
from .copies import AnsweredCopies
from .link import SmppLink
from .recent import Recent

__all__ = ["Inbound", "Owed"]

log = structlog.get_logger("smsgw.inbound")

_REMEMBERED_RECEIPTS = 10_000  # receipts recorded recently: a copy of one is answered at once
_REMEMBERED_ANSWERS = 60_000  # MOs answered recently (at least this many, at most twice): 30 s or more at 2,000/s
#: What a copy answered from memory (:mod:`~smsgw.gateway.copies`) reports in place of a batch: no commit.
FROM_MEMORY = BatchResult((), (), (), (), 0)


@dataclass(frozen=True, slots=True)
class Owed:
    """A deliver_sm waiting for its response: on which connection, which sequence, read when."""

    generation: int
    sequence: int
    read_at: float


def _typed_in_binary(data: bytes, error: UndecodableText) -> tuple[str, str | None]:
    """Octets of a binary data_coding are no text (SMPP 3.4 §5.2.19); but some phones and SMSCs send a
    typed message so. If every octet is printable Latin-1 (or a line break or tab), it is read as such."""
    if error.reason == "binary" and all((b >= 0x20 and not 0x7F <= b < 0xA0) or b in b"\t\r\n" for b in data):
        return data.decode("latin-1"), None
    return "", error.reason


class Inbound:
    def __init__(
        self,
        link: SmppLink,
        confirmations: Confirmations,
        *,
        mo_id_tag: int = 0,
        confirm_within: float = 0.5,
        window: int = 32,
        prepare_password: Callable[[], Any],
        on_decided: Callable[[MoJob, Decision, BatchResult, float], None],
        on_part: Callable[[], None] = lambda: None,
    ) -> None:
        self._link = link
        self._confirmations = confirmations
        self._mo_id_tag = mo_id_tag
        self._confirm_within = confirm_within
        self._window = window
        self._prepare_password = prepare_password
        self._on_decided = on_decided
        self._on_part = on_part  # a part of a long MO was stored (smsgw_mo_parts_total)
        self._mos: list[tuple[MoJob, Owed]] = []
        self._receipts: list[tuple[ReceiptJob, Owed]] = []
        self._in_batch_mos: list[tuple[MoJob, Owed]] = []
        self._in_batch_receipts: list[tuple[ReceiptJob, Owed]] = []
        self._preparing = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.wake: Callable[[], None] = lambda: None  # the pipeline: there is work for a batch
        self._recorded: Recent[tuple[str, str], None] = Recent(_REMEMBERED_RECEIPTS)
        self._answered_on: Recent[str, int] = Recent(_REMEMBERED_ANSWERS)  # MO id -> connection of its response
        self._copies = AnsweredCopies()
        self.draining = False
        self.receipts_by_stat: dict[str, int] = {}
        self.room = asyncio.Event()  # set while fewer than ``window`` MOs are in flight: the link reads on
        self.room.set()

    @property
    def in_flight(self) -> int:
        return len(self._mos) + len(self._in_batch_mos) + self._preparing

    @property
    def busy(self) -> bool:
        return bool(self._mos or self._receipts)

    # --- events from the session -------------------------------------------------------------------

    def on_mo(self, event: MoReceived, wall: datetime) -> None:
        link = self._link
        owed = Owed(link.generation, event.sequence, link.now())
        if self.draining:  # the SMSC keeps it and delivers it again
            link.respond(owed.generation, owed.sequence, Status.ESME_RX_T_APPN)
            return
        job = self._job(event, wall)
        copy_of = self._copies.find(job, owed.generation)
        if copy_of is not None:
            self._answer_copy(job, owed, *copy_of)
            return
        self._mos.append((job, owed))
        if self.in_flight >= self._window:
            self.room.clear()  # the link stops reading until a batch answered some

    def on_read(self, tags: Sequence[object], now: float) -> None:
        """The session saw the SMSC read the responses tagged ``tags`` (MO ids)."""
        self._copies.read([tag for tag in tags if not self._confirmations.is_never(tag)])
        self._confirmations.read(tags, now)

    def _answer_copy(self, job: MoJob, owed: Owed, mo_id: str, outcome: str) -> None:
        """A copy of an MO answered on this connection, not seen read: the SMSC's redelivery, answered now.

        Its record is committed (it was answered), so no transaction is needed. Like
        any copy on the same connection, it means the original is never confirmed.
        """
        self._confirmations.never(mo_id)
        self._link.respond(owed.generation, owed.sequence)
        self._on_decided(job, Decision(mo_id, outcome, copy_of=mo_id), FROM_MEMORY, self._link.now() - owed.read_at)

    def on_receipt(self, event: ReceiptReceived) -> None:
        link = self._link
        owed = Owed(link.generation, event.sequence, link.now())
        receipt = event.receipt
        if receipt is None:
            log.warning("receipt_without_message_id")
            link.respond(owed.generation, owed.sequence)
            return
        stat = receipt.state.upper()
        self.receipts_by_stat[stat] = self.receipts_by_stat.get(stat, 0) + 1
        state = RECEIPT_STATES.get(stat)
        message_id = storable_message_id(receipt.message_id)
        if state is None or (message_id, state) in self._recorded:  # not final, or recorded already
            link.respond(owed.generation, owed.sequence)
            return
        if self.draining:
            link.respond(owed.generation, owed.sequence, Status.ESME_RX_T_APPN)
            return
        self._receipts.append((ReceiptJob(message_id_variants(message_id), state), owed))

    def _job(self, event: MoReceived, wall: datetime) -> MoJob:
        message = event.message
        data, concat = user_data(message)
        unreadable = None
        try:
            text = decode_text(data, message.data_coding)
        except UndecodableText as error:
            text, unreadable = _typed_in_binary(data, error)
        if "\0" in text:  # no database text column takes NUL: it becomes U+FFFD, copies alike
            text = text.replace("\0", "\ufffd")
        source, destination = message.source_addr, message.destination_addr
        part = command = problem = None
        if concat is not None and concat.total > 1:  # parsed once its batch completes the set
            part = PartOf(concat.reference, concat.total, concat.sequence)
        elif unreadable is None:
            try:
                command = parse(text, destination)
            except ParseError as error:
                problem = error
        return MoJob(
            new_mo_id(),
            source,
            destination,
            text,
            message.data_coding,
            wall,
            normalize_msisdn(source) or source,
            fingerprint(source, destination, message.data_coding, text),
            smsc_ref=self._smsc_ref(message.tlvs),
            command=command,
            problem=problem,
            part=part,
            unreadable=unreadable,
        )

    def _smsc_ref(self, tlvs: Any) -> str | None:
        """The SMSC's own id of the MO, if it sends one; an overlong one as its digest (same id, same digest)."""
        ref = tlv_text(tlvs, self._mo_id_tag) if self._mo_id_tag and tlvs else None
        if not ref:
            return None
        if len(ref) > SMSC_REF_MAX:
            return "sha256:" + hashlib.sha256(ref.encode("latin-1")).hexdigest()
        return ref

    # --- the batch ---------------------------------------------------------------------------------

    def fill(self, batch: Batch) -> None:
        self._in_batch_mos, self._mos = self._mos, []
        self._in_batch_receipts, self._receipts = self._receipts, []
        batch.mos = [job for job, _ in self._in_batch_mos]
        batch.receipts = [job for job, _ in self._in_batch_receipts]

    def settle(self, result: BatchResult) -> None:
        link = self._link
        now = link.now()
        for (job, owed), decision in zip(self._in_batch_mos, result.decisions, strict=True):
            if decision.needs_password:
                self._prepare(job, owed)
                continue
            if decision.failed:
                link.respond(owed.generation, owed.sequence, Status.ESME_RX_T_APPN)
                continue
            if link.respond(owed.generation, owed.sequence, tag=self._tag(decision, owed, now)):
                self._answered(decision.mo_id, owed.generation)
                if not decision.part_stored:
                    self._copies.answered(job, decision.mo_id, decision.outcome, owed.generation)
            else:
                log.warning("deliver_sm_resp_not_sent", reason="link closed", sequence=owed.sequence, mo_id=job.id)
            if job.part is not None and decision.outcome != "redelivered_part":
                self._on_part()
            if decision.part_stored:
                assert job.part is not None
                bind_mo(job.id, short_code=job.destination, sender=job.source)
                log.debug("mo_part_stored", part=job.part.sequence, total=job.part.total)
                clear_mo()
            if not decision.part_stored:
                self._on_decided(job, decision, result, now - owed.read_at)
        for (receipt, owed), hit in zip(self._in_batch_receipts, result.receipts, strict=True):
            link.respond(owed.generation, owed.sequence)
            self._recorded[(receipt.variants[0], receipt.state)] = None
            if hit is None:
                log.info("receipt_early", state=receipt.state)
        self._in_batch_mos, self._in_batch_receipts = [], []
        self._check_room()

    def _check_room(self) -> None:
        if self.in_flight < self._window:
            self.room.set()

    def _tag(self, decision: Decision, owed: Owed, now: float) -> str | None:
        """The MO id whose read response would confirm it, or None (a late response proves nothing).

        A copy of an MO answered on this same connection means the SMSC did not take our
        response in time: that MO is never confirmed. A copy after the link was lost is
        the SMSC's ordinary redelivery: once it reads this response, it will not send it again.
        """
        if decision.copy_of and self._answered_on.get(decision.copy_of) == owed.generation:
            self._confirmations.never(decision.copy_of)  # however late this copy's own response
            return None
        if decision.part_stored or now - owed.read_at > self._confirm_within:
            return None
        return decision.copy_of or decision.mo_id

    def _answered(self, mo_id: str, generation: int) -> None:
        self._answered_on[mo_id] = generation

    def failed(self) -> None:
        """The batch was not committed: the SMSC keeps these and delivers them again."""
        link = self._link
        for _, owed in (*self._in_batch_mos, *self._in_batch_receipts):
            link.respond(owed.generation, owed.sequence, Status.ESME_RX_T_APPN)
        self._in_batch_mos, self._in_batch_receipts = [], []
        self._check_room()

    def _prepare(self, job: MoJob, owed: Owed) -> None:
        self._preparing += 1

        async def prepare() -> None:
            try:
                password: TemporaryPassword = await self._prepare_password()
            except Exception:
                log.exception("password_not_prepared", mo_id=job.id)
                self._link.respond(owed.generation, owed.sequence, Status.ESME_RX_T_APPN)
                return
            finally:
                self._preparing -= 1
                self._check_room()
            self._mos.append((replace(job, password=password), owed))
            self.wake()

        task = asyncio.get_running_loop().create_task(prepare())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
