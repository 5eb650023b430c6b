"""The outbox sender: claims queued replies, submits their parts, records what the SMSC said.

- At most ``window`` submit_sm are outstanding; parts are encoded by our own
  encoder (``smsgw.sms``: GSM 03.38 septets or UCS-2, UDH concatenation).
- Correlation by sequence number is an O(1) dict in memory; SMSC message ids go
  to the database (``mt_parts``: the persisted correlator the receipts use),
  written in small batches.
- ESME_RTHROTTLED / ESME_RMSGQFUL: the part is resubmitted after a jittered,
  doubling backoff (capped at a few seconds, so nothing stalls for minutes) and
  new submits pause for that long.
- No response within ``submit_timeout``, or the link dropped with submits
  outstanding: the part is submitted again. **Duplicate risk:** if the SMSC had
  accepted it and only the response was lost, the subscriber gets that part
  twice. Losing a reply is worse than a rare duplicate, so we resubmit.
- A reply not accepted before its ``expires_at`` ends ``expired``; one the SMSC
  refuses for good ends ``failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from ..db.database import Database
from ..db.outbox import ClaimedReply, PartAccepted
from ..logs import log_failure, subscriber_fields
from ..sealing import Sealer, SealingError
from ..smpp import pdu as smpp
from ..sms.encode import Part, encode_for_sms

__all__ = ["Link", "Sender"]

log = structlog.get_logger("smsgw.outbound")

_RETRY_LATER = frozenset({smpp.ESME_RTHROTTLED, smpp.ESME_RMSGQFUL})
_TEMPORARY = frozenset({smpp.ESME_RSYSERR, smpp.ESME_RX_T_APPN, 0x00000045, 0x00000061})  # RSUBMITFAIL, RX_T_APPN
_MAX_TEMPORARY_ATTEMPTS = 5


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("outbox_update_failed", error=repr(task.exception()))


class Link(Protocol):
    def write_pdu(self, data: bytes) -> bool: ...
    def next_sequence(self) -> int: ...


@dataclass(eq=False)
class _Reply:
    claimed: ClaimedReply
    parts: list[Part]
    pending: set[int]
    temporary_errors: int = 0
    dead: bool = False

    @property
    def id(self) -> int:
        return self.claimed.id


@dataclass(eq=False)
class _Part:
    reply: _Reply
    number: int  # 1-based
    attempts: int = 0


@dataclass(eq=False)
class _InFlight:
    part: _Part
    sent_at: float


@dataclass
class SenderStats:
    submitted: int = 0
    accepted: int = 0
    throttled: int = 0
    timeouts: int = 0
    resubmitted: int = 0
    failed: int = 0
    expired: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class Sender:
    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        *,
        window: int = 10,
        submit_timeout: float = 15.0,
        registered_delivery: bool = True,
        throttle_backoff: float = 1.0,
        throttle_cap: float = 8.0,
        lease: float = 120.0,
        owner: str = "smsgw",
        poll_interval: float = 0.5,
        flush_interval: float = 0.002,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_accepted: Callable[[ClaimedReply], None] | None = None,
    ) -> None:
        self._db = db
        self._sealer = sealer
        self._window = window
        self._submit_timeout = submit_timeout
        self._registered_delivery = registered_delivery
        self._throttle_backoff = throttle_backoff
        self._throttle_cap = throttle_cap
        self._lease = lease
        self._owner = owner
        self._poll_interval = poll_interval
        self._flush_interval = flush_interval
        self._now = now
        self._on_accepted = on_accepted
        self._max_held = max(16 * window, 256)
        self._claim_task: asyncio.Task[None] | None = None
        self._ready: deque[_Part] = deque()
        self._delayed: list[tuple[float, int, _Part]] = []
        self._counter = itertools.count()
        self._inflight: dict[int, _InFlight] = {}
        self._replies: dict[int, _Reply] = {}
        self._buffer: list[PartAccepted] = []
        self._receipts: list[tuple[tuple[str, ...], str, asyncio.Future[tuple[int, str | None] | None]]] = []
        self._early: dict[str, str] = {}
        self._flush_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._want_claim = True
        self._next_poll = 0.0
        self._next_lease = 0.0
        self._paused_until = 0.0
        self._throttle_streak = 0
        self._stopping = False
        self._rng = random.Random()
        self.stats = SenderStats()

    # --- signals from the rest of the gateway ------------------------------------------

    def claim_for(self) -> tuple[str, timedelta] | None:
        """(owner, lease) under which new replies may be born claimed for this sender, unless it is stopping."""
        return None if self._stopping else (self._owner, timedelta(seconds=self._lease))

    def take(self, replies: Sequence[ClaimedReply]) -> None:
        """Replies born claimed for us (``claim_for``): send them without claiming them first."""
        for row in replies:
            self._hold(row)
        self._wake.set()

    def notify(self) -> None:
        """New replies were committed: claim them now rather than at the next poll."""
        self._want_claim = True
        self._wake.set()

    async def record_receipt(self, variants: tuple[str, ...], state: str) -> tuple[int, str | None] | None:
        """Record a receipt with the next batch; returns (reply id, MO id), or None if kept as early.

        Returns after the commit (the receipt's deliver_sm_resp may then go out).
        """
        future: asyncio.Future[tuple[int, str | None] | None] = asyncio.get_running_loop().create_future()
        self._receipts.append((variants, state, future))
        self._start_flush(self._flush_interval)
        return await future

    async def load_early_receipts(self) -> None:
        for message_id in await self._db.read(lambda uow: uow.outbox.early_receipt_ids()):
            self._early[message_id] = "?"

    @property
    def outstanding(self) -> int:
        return len(self._inflight)

    @property
    def held(self) -> int:
        return len(self._replies)

    # --- the per-connection loop -------------------------------------------------------

    async def serve(self, link: Link) -> None:
        """Submit while the link lasts (the ESME runs this per connection and cancels it)."""
        try:
            while True:
                await self._step(link)
        finally:
            self._connection_lost()

    async def _step(self, link: Link) -> None:
        clock = time.monotonic()
        self._check_timeouts(clock)
        self._release_delayed(clock)
        if clock >= self._next_poll:
            self._want_claim = True
            self._next_poll = clock + self._poll_interval
        if clock >= self._next_lease and self._replies:
            self._next_lease = clock + self._lease / 3
            await self._extend_leases()
        if (
            self._want_claim
            and not self._stopping
            and len(self._replies) < self._max_held
            and (self._claim_task is None or self._claim_task.done())
        ):
            self._want_claim = False
            self._claim_task = asyncio.get_running_loop().create_task(self._claim())
        sent = 0
        while self._ready and len(self._inflight) < self._window and not self._stopping:
            if time.monotonic() < self._paused_until:
                break
            part = self._ready.popleft()
            if part.reply.dead:
                continue
            if not self._send(link, part):
                self._ready.appendleft(part)
                break
            sent += 1
        if sent:
            await asyncio.sleep(0)
            return
        await self._sleep(clock)

    async def _sleep(self, clock: float) -> None:
        deadlines = [self._next_poll]
        if self._delayed:
            deadlines.append(self._delayed[0][0])
        if self._inflight:
            deadlines.append(min(f.sent_at for f in self._inflight.values()) + self._submit_timeout)
        if self._paused_until > clock and self._ready:
            deadlines.append(self._paused_until)
        timeout = max(0.0, min(deadlines) - clock)
        self._wake.clear()
        if timeout > 0:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def _send(self, link: Link, part: _Part) -> bool:
        reply = part.reply
        if reply.claimed.expires_at <= self._now():
            self._finish(reply, "expired", "not accepted before it expired")
            return True
        sequence = link.next_sequence()
        try:
            data = smpp.submit_sm(
                sequence,
                source_addr=reply.claimed.source,
                destination_addr=reply.claimed.destination,
                part=reply.parts[part.number - 1],
                registered_delivery=self._registered_delivery,
            )
        except ValueError as error:  # an address no submit_sm can carry: it never will be sent
            self._finish(reply, "failed", f"cannot submit: {error}")
            return True
        if not link.write_pdu(data):
            return False
        part.attempts += 1
        self._inflight[sequence] = _InFlight(part, time.monotonic())
        self.stats.submitted += 1
        if part.attempts > 1:
            self.stats.resubmitted += 1
        return True

    # --- responses ----------------------------------------------------------------------

    def on_response(self, header: smpp.Header, body: bytes) -> bool:
        """A submit_sm_resp (or generic_nack) arrived; False if it answers nothing we sent."""
        status = header.status
        entry = self._inflight.pop(header.sequence, None)
        if entry is None:
            return False
        part, reply = entry.part, entry.part.reply
        name = smpp.status_name(status)
        self.stats.by_status[name] = self.stats.by_status.get(name, 0) + 1
        self._wake.set()
        if reply.dead:
            return True
        if status == smpp.ESME_ROK:
            self._accepted(part, smpp.decode_submit_sm_resp(header, body))
        elif status in _RETRY_LATER:
            self.stats.throttled += 1
            self._throttle_streak += 1
            step = min(self._throttle_cap, self._throttle_backoff * 2 ** (self._throttle_streak - 1))
            delay = step / 2 + self._rng.uniform(0, step / 2)
            self._paused_until = time.monotonic() + delay
            self._delay(part, delay)
            log.info(
                "submit_throttled", status=name, retry_in=round(delay, 3), outbox_id=reply.id, mo_id=reply.claimed.mo_id
            )
        elif status in _TEMPORARY and reply.temporary_errors < _MAX_TEMPORARY_ATTEMPTS:
            reply.temporary_errors += 1
            self._delay(part, min(30.0, 2.0**reply.temporary_errors))
            log.warning("submit_temporary_error", status=name, outbox_id=reply.id, mo_id=reply.claimed.mo_id)
        else:
            self._finish(reply, "failed", f"SMSC refused part {part.number}: {name}")
        return True

    def _accepted(self, part: _Part, message_id: str) -> None:
        reply = part.reply
        self._throttle_streak = 0
        self.stats.accepted += 1
        reply.pending.discard(part.number)
        complete = not reply.pending
        self._buffer.append(PartAccepted(reply.id, part.number, message_id, len(reply.parts), complete))
        if complete:
            self._replies.pop(reply.id, None)
            if self._on_accepted is not None:
                self._on_accepted(reply.claimed)
            log.debug("reply_submitted", outbox_id=reply.id, mo_id=reply.claimed.mo_id, parts=len(reply.parts))
        if len(self._buffer) >= 256:
            self._start_flush(0.0)
        else:
            self._start_flush(self._flush_interval)

    def _delay(self, part: _Part, seconds: float) -> None:
        heapq.heappush(self._delayed, (time.monotonic() + seconds, next(self._counter), part))

    def _release_delayed(self, clock: float) -> None:
        while self._delayed and self._delayed[0][0] <= clock:
            _, _, part = heapq.heappop(self._delayed)
            if not part.reply.dead:
                self._ready.append(part)

    def _check_timeouts(self, clock: float) -> None:
        late = [seq for seq, f in self._inflight.items() if clock - f.sent_at > self._submit_timeout]
        for sequence in late:
            part = self._inflight.pop(sequence).part
            self.stats.timeouts += 1
            log.warning(
                "submit_timeout",
                outbox_id=part.reply.id,
                mo_id=part.reply.claimed.mo_id,
                part=part.number,
                action="resubmit (a duplicate is possible if only the response was lost)",
            )
            self._ready.appendleft(part)

    def _connection_lost(self) -> None:
        if self._inflight:
            log.warning("link_lost_with_submits_outstanding", count=len(self._inflight), action="resubmit")
        for flight in sorted(self._inflight.values(), key=lambda f: f.sent_at, reverse=True):
            self._ready.appendleft(flight.part)
        self._inflight.clear()

    # --- the database side --------------------------------------------------------------

    async def _claim(self) -> None:
        now = self._now()
        limit = self._max_held - len(self._replies)
        try:
            claimed = await self._db.call("claim", now, now + timedelta(seconds=self._lease), limit, self._owner)
        except Exception as error:
            log_failure(log, "outbox_claim_failed", error)
            return
        if len(claimed) == limit:
            self._want_claim = True  # there is more
        for row in claimed:
            self._hold(row)
        self._wake.set()

    def _hold(self, row: ClaimedReply) -> None:
        try:
            text = self._sealer.unseal(row.sealed) if row.sealed else row.text
            parts = encode_for_sms(text, reference=row.id & 0xFF)
        except (SealingError, ValueError) as error:
            reply = _Reply(row, [], set())
            self._finish(reply, "failed", f"cannot encode: {error}")
            return
        pending = set(range(1, len(parts) + 1)) - set(row.done_parts)
        reply = _Reply(row, parts, pending)
        if not pending:  # every part was accepted before a crash: only the state is missing
            self._buffer.append(PartAccepted(row.id, max(row.done_parts), "", len(parts), True))
            self._start_flush(0.0)
            return
        self._replies[row.id] = reply
        for number in sorted(pending):
            self._ready.append(_Part(reply, number))

    def _finish(self, reply: _Reply, state: str, error: str) -> None:
        reply.dead = True
        self._replies.pop(reply.id, None)
        if state == "expired":
            self.stats.expired += 1
        else:
            self.stats.failed += 1
        recipient = subscriber_fields(reply.claimed.destination, "recipient")
        log.warning("reply_" + state, outbox_id=reply.id, mo_id=reply.claimed.mo_id, error=error, **recipient)
        now = self._now()
        task = asyncio.get_running_loop().create_task(self._db.call("fail", reply.id, state, error, now))
        task.add_done_callback(_log_failure)

    async def _extend_leases(self) -> None:
        ids = list(self._replies)
        until = self._now() + timedelta(seconds=self._lease)
        try:
            await self._db.call("extend", ids, until)
        except Exception:
            log.exception("outbox_lease_extension_failed")

    def _start_flush(self, delay: float) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_after(delay))

    async def _flush_after(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await self.flush()

    async def flush(self) -> None:
        """Write the accepted parts and the receipts gathered so far, in one transaction."""
        while self._buffer or self._receipts:
            batch, self._buffer = self._buffer, []
            receipts, self._receipts = self._receipts, []
            early = [p for p in batch if p.message_id and self._early.pop(p.message_id, None) is not None]
            now = self._now()

            try:
                results = await self._db.call(
                    "record_results", batch, early, [(variants, state) for variants, state, _ in receipts], now
                )
            except Exception as error:
                log_failure(log, "outbox_record_failed", error, parts=len(batch), receipts=len(receipts))
                self._buffer[:0] = batch
                for _, _, future in receipts:
                    if not future.done():
                        future.set_exception(error)
                await asyncio.sleep(0.5)
                continue
            for (variants, state, future), hit in zip(receipts, results, strict=True):
                if hit is None:
                    for variant in variants:
                        self._early[variant] = state
                if not future.done():
                    future.set_result(hit)

    # --- shutdown -----------------------------------------------------------------------

    async def drain(self, timeout: float) -> None:
        """Send nothing new; wait for outstanding responses; record them; give back the rest."""
        self._stopping = True
        self._wake.set()
        deadline = time.monotonic() + timeout
        while self._inflight and time.monotonic() < deadline:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.05)
        await self.flush()
        # The claim and the flush under way finish before the database closes (bounded).
        busy = [t for t in (self._claim_task, self._flush_task) if t is not None and not t.done()]
        if busy:
            _, late = await asyncio.wait(busy, timeout=max(1.0, deadline - time.monotonic()))
            for task in late:
                task.cancel()
            await self.flush()
        held = list(self._replies.values())
        self._replies.clear()
        self._ready.clear()
        self._delayed.clear()
        now = self._now()
        if held:
            await self._db.call("release", [reply.id for reply in held], now)
        log.info("outbound_drained", released=len(held), unanswered=len(self._inflight))

    def describe(self) -> dict[str, Any]:
        return {"outstanding": self.outstanding, "held": self.held, "ready": len(self._ready)}
