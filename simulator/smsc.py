"""The SMSC core, sans-IO: binds, MT intake, MO store-and-forward, receipts, faults.

The asyncio layer (`server.py`) feeds it bytes and time, and collects the bytes to write
with `take_output`; `on_output` tells it when there is something to collect. Nothing
here reads a clock or touches a socket.
"""

from __future__ import annotations

import heapq
import hmac
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import cast

import structlog

from smpp import (
    CAN_RECEIVE,
    DeliverAnswered,
    DeliverTimedOut,
    EsmeBound,
    PduObserver,
    Reassembler,
    SessionClosed,
    SmscConfig,
    SmscEvent,
    SmscSession,
    Status,
    SubmitReceived,
    UnbindComplete,
)

from .config import SimulatorConfig
from .delivery import DeliverJob, Router
from .faults import Faults
from .inject import MoFactory
from .intake import MtIntake, MtPart
from .load import LoadEntry, LoadRun
from .receipts import MessageIds, ReceiptRule, ReceiptRules
from .store import MoRecord, Store, iso

__all__ = ["Bind", "Smsc"]

log = structlog.get_logger(__name__)


@dataclass(slots=True, eq=False)
class Bind:
    id: int
    peer: str
    session: SmscSession
    opened_at: float
    bound_at: float | None = None
    submits: int = 0
    delivers: int = 0

    def to_json(self) -> dict[str, object]:
        session = self.session
        return {
            "id": self.id,
            "peer": self.peer,
            "state": session.state.value,
            "system_id": session.system_id,
            "opened_at": iso(self.opened_at),
            "bound_at": iso(self.bound_at),
            "submits": self.submits,
            "delivers": self.delivers,
            "outstanding_delivers": session.outstanding_delivers,
            "pending_submits": session.pending_submits,
        }


class Smsc:
    def __init__(
        self,
        config: SimulatorConfig,
        now: float,
        observer_factory: Callable[[int], PduObserver | None] | None = None,
    ) -> None:
        self.config = config
        self.session_config = SmscConfig(
            smsc_system_id=config.smsc_system_id,
            max_pdu_size=config.max_pdu_size,
            mo_window=config.mo_window,
            submit_window=config.submit_window,
            response_timeout=config.mo_redelivery_timeout,
            enquire_link_interval=config.enquire_link_interval,
            idle_timeout=config.idle_timeout,
            bind_timeout=config.bind_timeout,
        )
        self.store = Store(config.history_limit)
        self.router = Router(config.mo_redelivery_attempts, config.mo_retry_delay)
        self.faults = Faults()
        self.rules = ReceiptRules(ReceiptRule(**r.model_dump()) for r in config.receipts)
        self.ids = MessageIds(int(now * 1000), config.message_id_format, config.receipt_id_format)
        self.mos = MoFactory(self.ids, config.mo_message_id_tag)
        self.binds: dict[int, Bind] = {}
        self.counters: Counter[str] = Counter()
        self.intake = MtIntake(
            self.store,
            self.ids,
            self.faults,
            self.rules,
            Reassembler[MtPart](config.concat_timeout),
            self.counters,
            frozenset(config.secret_sources),
        )
        self.load: LoadRun | None = None
        self._load_timer = False
        self.on_output: Callable[[], None] | None = None
        self._observer_factory = observer_factory
        self._next_bind = itertools.count(1)
        self._timers: list[tuple[float, int, Callable[[float], None]]] = []
        self._tie = itertools.count()
        self._dirty: set[int] = set()
        self._aborts: set[int] = set()

    # ---- connections -----------------------------------------------------------------

    def open_session(self, peer: str, now: float) -> int:
        bind_id = next(self._next_bind)
        observer = self._observer_factory(bind_id) if self._observer_factory else None
        session = SmscSession(self.session_config, self._authenticate, now, observer)
        self.binds[bind_id] = Bind(bind_id, peer, session, now)
        self.counters["connections"] += 1
        return bind_id

    def receive(self, bind_id: int, data: bytes, now: float) -> None:
        bind = self.binds.get(bind_id)
        if bind is not None:
            self._handle(bind, bind.session.receive_data(data, now), now)

    def connection_lost(self, bind_id: int, now: float) -> None:
        bind = self.binds.pop(bind_id, None)
        self._dirty.discard(bind_id)
        self._aborts.discard(bind_id)
        if bind is not None:
            self._handle(bind, bind.session.connection_lost(), now)

    def take_output(self) -> list[tuple[int, bytes, str]]:
        """(bind id, bytes to write, then "" | "close" | "abort") for every dirty session."""
        out: list[tuple[int, bytes, str]] = []
        for bind_id in self._dirty:
            bind = self.binds.get(bind_id)
            if bind is None:
                continue
            action = "close" if bind.session.wants_close else ""
            if bind_id in self._aborts:
                action = "abort"
            out.append((bind_id, bind.session.data_to_send(), action))
        self._dirty.clear()
        self._aborts.clear()
        return out

    def drop(self, bind_id: int | None, now: float) -> list[int]:
        """Fault: cut one connection (or all, when `bind_id` is None) without unbinding."""
        targets = list(self.binds) if bind_id is None else [bind_id]
        dropped = [b for b in targets if b in self.binds]
        for target in dropped:
            bind = self.binds[target]
            self._aborts.add(target)
            self._handle(bind, bind.session.close("dropped by fault"), now)
            self._mark(target)
        self.counters["drops"] += len(dropped)
        return dropped

    def unbind_all(self, now: float) -> None:
        for bind in self.binds.values():
            if bind.session.start_unbind(now):
                self._mark(bind.id)

    def tick(self, now: float) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            heapq.heappop(timers)[2](now)
        self.router.tick(now)
        self.intake.expire(now)
        for bind in list(self.binds.values()):
            self._handle(bind, bind.session.tick(now), now)
        self._dispatch(now)

    def schedule(self, when: float, action: Callable[[float], None]) -> None:
        heapq.heappush(self._timers, (when, next(self._tie), action))

    # ---- MOs ---------------------------------------------------------------------------

    def inject_mo(
        self,
        source: str,
        destination: str,
        text: str,
        now: float,
        *,
        encoding: str = "auto",
        split: str = "udh8",
        dispatch: bool = True,
    ) -> MoRecord:
        """Queue an MO (raises TextError for an impossible text or address)."""
        mo, jobs = self.mos.build(source, destination, text, encoding, split, now)
        for job in jobs:
            self.router.enqueue(job)
        self.store.add_mo(mo)
        self.counters["mos_injected"] += 1
        if dispatch:
            self._dispatch(now)
        return mo

    def redeliver(self, mo_id: str, now: float) -> MoRecord | None:
        """Fault: deliver an MO once more, as an SMSC does when it missed the response (None: unknown id)."""
        mo = self.store.get_mo(mo_id)
        if mo is None:
            return None
        for job in self.mos.again(mo):
            self.router.enqueue(job)
        self.counters["mos_redelivered_on_demand"] += 1
        self._dispatch(now)
        return mo

    def start_load(
        self, messages: list[tuple[str, str, str]], window: int, now: float, rate: float | None = None
    ) -> None:
        for source, destination, text in messages:
            self.mos.check(source, destination, text)
        self.load = LoadRun(messages, window, now, rate)
        self._feed_load(now)

    def _feed_load(self, now: float) -> None:
        run = self.load
        if run is None:
            return
        for entry in run.take(now):
            mo = self.inject_mo(entry.source, entry.destination, entry.text, now, dispatch=False)
            mo.load = entry
            run.injected(entry, now)
        self._dispatch(now)
        if run.rate is not None and run.rate_limited and not self._load_timer:
            self._load_timer = True
            self.schedule(now + 1.0 / run.rate, self._load_timer_fired)

    def _load_timer_fired(self, now: float) -> None:
        self._load_timer = False
        self._feed_load(now)

    # ---- internals ---------------------------------------------------------------------

    def _authenticate(self, system_id: str, password: str) -> int:
        if system_id != self.config.system_id:
            return Status.ESME_RINVSYSID
        if not hmac.compare_digest(password.encode(), self.config.password.encode()):
            return Status.ESME_RINVPASWD
        return Status.ESME_ROK

    def _mark(self, bind_id: int) -> None:
        if not self._dirty and self.on_output is not None:
            self.on_output()
        self._dirty.add(bind_id)

    def _handle(self, bind: Bind, events: list[SmscEvent], now: float) -> None:
        for event in events:
            if isinstance(event, SubmitReceived):
                bind.submits += 1
                self._on_submit(bind, event, now)
            elif isinstance(event, DeliverAnswered):
                job = cast(DeliverJob, event.ref)
                self._settle(job, self.router.responded(job, event.status, now), now)
            elif isinstance(event, DeliverTimedOut):
                self.counters["deliver_timeouts"] += 1
                job = cast(DeliverJob, event.ref)
                self._settle(job, self.router.lost(job), now)
            elif isinstance(event, EsmeBound):
                bind.bound_at = now
                self.counters["binds"] += 1
                log.info("smpp_bound", bind=bind.id, mode=event.mode.value, peer=bind.peer)
                if event.mode in CAN_RECEIVE:
                    self.router.add_receiver(bind.id, bind.session)
            elif isinstance(event, UnbindComplete):
                self.router.remove_receiver(bind.id)
            elif isinstance(event, SessionClosed):
                self.router.remove_receiver(bind.id)
                log.info("smpp_closed", bind=bind.id, peer=bind.peer, reason=event.reason)
                for ref in reversed(event.undelivered):
                    job = cast(DeliverJob, ref)
                    self._settle(job, self.router.lost(job), now)
        if bind.session.has_output or bind.session.wants_close:
            self._mark(bind.id)
        self._dispatch(now)

    def _dispatch(self, now: float) -> None:
        for job in self.router.dispatch(now):
            bind = self.binds[cast(int, job.bind)]
            bind.delivers += 1
            self.counters["deliver_sm_sent"] += 1
            if job.attempts > 1:
                self.counters["redeliveries"] += 1
            if job.mo is not None:
                job.mo.attempts += 1
                if job.mo.state == "queued":
                    job.mo.state = "sent"
                self.store.touch(job.mo)
            self._mark(bind.id)

    def _settle(self, job: DeliverJob, outcome: str, now: float) -> None:
        mo = job.mo
        if outcome == "retry":
            return
        self.counters[f"deliver_sm_{outcome}"] += 1
        if mo is None or mo.state in ("delivered", "failed"):
            return
        if outcome == "delivered":
            mo.acked_parts += 1
            if mo.acked_parts < len(mo.part_ids):
                return
            mo.state, mo.delivered_at = "delivered", now
        else:
            mo.state = "failed"
            log.warning("mo_failed", mo_id=mo.id, attempts=mo.attempts)
        self.counters[f"mos_{mo.state}"] += 1
        self.store.touch(mo)
        if self.load is not None and mo.load is not None:
            self.load.settled(cast(LoadEntry, mo.load), now, mo.state == "delivered")
            self._feed_load(now)

    def _on_submit(self, bind: Bind, event: SubmitReceived, now: float) -> None:
        sm, session, seq = event.message, bind.session, event.sequence
        if self.load is not None:
            self.load.on_submit(sm.source_addr, sm.destination_addr, now)
        verdict = self.intake.accept(bind.id, session.system_id, sm, now)
        if verdict.status != Status.ESME_ROK:
            session.respond_submit(seq, verdict.status)
            return
        receipt = verdict.receipt
        if receipt is not None and verdict.receipt_first:
            self._send_receipt(receipt, True, now)
        if verdict.respond_after == 0:
            session.respond_submit(seq, Status.ESME_ROK, verdict.message_id)
        elif verdict.respond_after is not None:
            late = partial(self._respond_late, bind.id, seq, verdict.message_id)
            self.schedule(now + verdict.respond_after, late)
        if receipt is not None and not verdict.receipt_first:
            if verdict.receipt_delay:
                send = partial(self._send_receipt, receipt, False)
                self.schedule(now + verdict.receipt_delay, send)
            else:
                self._send_receipt(receipt, False, now)

    def _respond_late(self, bind_id: int, seq: int, message_id: str, now: float) -> None:
        bind = self.binds.get(bind_id)
        if bind is not None and bind.session.respond_submit(seq, Status.ESME_ROK, message_id):
            self._mark(bind_id)

    def _send_receipt(self, job: DeliverJob, front: bool, now: float) -> None:
        self.router.enqueue(job, front=front)
        self.store.note_receipt(job.message_id, job.stat)
        self.counters["receipts"] += 1
        self._dispatch(now)
