"""The outbox sender: holds claimed replies and writes their parts through the session's submit window.

It consumes the session's events (``SubmitAnswered``, ``SubmitTimedOut``,
``LinkLost``) and adds its database work to the next batch (``fill``): parts
about to go on the wire, accepted parts with their SMSC message ids, replies
that failed or expired, claims, the instance's heartbeat. It reads no clock:
the monotonic ``now`` and the wall-clock ``wall`` come with every call.

- A part is written only after a batch recorded it ``submitting``; at most
  ``window`` parts are recorded and unanswered at once, so a takeover after a
  kill resubmits at most that many parts the SMSC may already have.
- ESME_RTHROTTLED / ESME_RMSGQFUL: the part is written again after a jittered,
  doubling backoff (capped), and new submits pause that long.
- No response within the submit timeout, or the link lost: written again
  (a duplicate if only the response was lost: losing a reply is worse).
- A reply not accepted before it expires ends ``expired``; one the SMSC
  refuses for good ends ``failed``.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from smpp.constants import Status, status_name

from ..batch.jobs import Batch, BatchResult, ClaimRequest, Heartbeat, ReplyFailed
from ..db.outbox import ClaimedReply, PartAccepted, storable_message_id
from ..logs import subscriber_fields
from ..sealing import Sealer, SealingError
from .link import SmppLink
from .parts import HeldPart, HeldReply, hold, submit_sm

__all__ = ["Sender", "SenderStats"]

log = structlog.get_logger("smsgw.outbound")

_RETRY_LATER = frozenset({Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL})
_TEMPORARY = frozenset({Status.ESME_RSYSERR, Status.ESME_RX_T_APPN, Status.ESME_RSUBMITFAIL, Status.ESME_RINVSCHED})
_MAX_TEMPORARY = 5
LAZY = 0.05  # seconds accepted parts and failures may wait for a batch that runs anyway


@dataclass
class SenderStats:
    submitted: int = 0
    accepted: int = 0
    throttled: int = 0
    timeouts: int = 0
    resubmitted: int = 0
    maybe_duplicates: int = 0
    failed: int = 0
    expired: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class Sender:
    def __init__(
        self,
        link: SmppLink,
        sealer: Sealer,
        *,
        owner: str,
        registered_delivery: bool = True,
        throttle_backoff: float = 1.0,
        throttle_cap: float = 8.0,
        takeover: float = 10.0,
        poll_interval: float = 0.5,
        max_held: int = 512,
        on_event: Callable[[str, object], None] = lambda name, value: None,
        rng: random.Random | None = None,
    ) -> None:
        self._link = link
        self._sealer = sealer
        self.owner = owner
        self._registered_delivery = registered_delivery
        self._throttle_backoff = throttle_backoff
        self._throttle_cap = throttle_cap
        self._takeover = takeover
        self._poll_interval = poll_interval
        self._max_held = max_held
        self._on_event = on_event
        self._rng = rng or random.Random()
        self._replies: dict[int, HeldReply] = {}
        self._ready: deque[HeldPart] = deque()
        self._delayed: list[tuple[float, int, HeldPart]] = []
        self._tie = itertools.count()
        self._unrecorded: list[HeldPart] = []  # to record "submitting" in the next batch
        self._recording: list[HeldPart] = []  # in the batch in flight
        self._accepted: list[PartAccepted] = []
        self._failed: list[ReplyFailed] = []
        self._lazy_since: float | None = None  # when the oldest accepted or failed part waiting for a batch came
        self._paused_until = 0.0
        self._throttle_streak = 0
        self._want_claim = True
        self._next_poll = 0.0
        self._next_beat = 0.0
        self._started_at: datetime | None = None
        self.stopping = False
        self.stats = SenderStats()

    # --- what the gateway tells it ---------------------------------------------------------------

    @property
    def held(self) -> int:
        return len(self._replies)

    @property
    def outstanding(self) -> int:
        session = self._link.session
        return 0 if session is None else session.in_flight

    @property
    def busy(self) -> bool:
        """Work that cannot wait: parts to record before they go on the wire."""
        return bool(self._unrecorded)

    @property
    def holding(self) -> bool:
        """Anything at all a batch should record (shutting down: nothing may be left behind)."""
        return bool(self._unrecorded or self._accepted or self._failed)

    def due(self, now: float) -> bool:
        """A heartbeat, a claim, or results that waited long enough are due (the next batch carries them).

        What the SMSC said about our submits is only bookkeeping: it rides in batches that run
        anyway, and gets one of its own only after ``LAZY`` seconds (or when a lot has gathered).
        """
        if self._lazy_since is not None and (now - self._lazy_since >= LAZY or len(self._accepted) >= 256):
            return True
        if self.stopping:
            return False
        return now >= self._next_beat or (self._link.bound and (self._want_claim or now >= self._next_poll))

    def next_due(self, now: float) -> float:
        """Seconds until something is due: a heartbeat, a claim poll, a delayed part."""
        due = [self._next_beat]
        if self._lazy_since is not None:
            due.append(self._lazy_since + LAZY)
        if self._link.bound:
            due.append(self._next_poll)
        if self._delayed:
            due.append(self._delayed[0][0])
        if self._ready and self._paused_until > now:
            due.append(self._paused_until)
        return max(0.001, min(due) - now)

    def notify(self) -> None:
        """Replies were queued: claim them at the next batch."""
        self._want_claim = True

    def take(self, replies: Sequence[ClaimedReply], texts: Sequence[str] | None = None) -> None:
        """Replies to send (born claimed for us, or claimed); ``texts`` in clear when the caller has them."""
        for i, claimed in enumerate(replies):
            if claimed.id in self._replies:
                continue
            try:
                text = (
                    texts[i]
                    if texts is not None
                    else self._sealer.unseal(claimed.sealed)
                    if claimed.sealed
                    else claimed.text
                )
                reply, parts = hold(claimed, text)
            except (SealingError, ValueError) as error:
                self._finish_id(claimed, "failed", f"cannot encode: {error}")
                continue
            if not reply.pending:  # every part was accepted before: only its state is missing
                self._accepted.append(PartAccepted(reply.id, max(claimed.done_parts), "", len(reply.parts), True))
                self._lazy(self._link.now())
                continue
            self._replies[reply.id] = reply
            for part in parts:
                if part.maybe_sent:
                    self.stats.maybe_duplicates += 1
                    self._on_event("maybe_duplicate", reply.id)
            self._ready.extend(parts)

    def on_answered(self, part: HeldPart, status: int, message_id: str, now: float) -> None:
        reply = part.reply
        name = status_name(status)
        self.stats.by_status[name] = self.stats.by_status.get(name, 0) + 1
        if reply.dead:
            return
        if status == Status.ESME_ROK:
            self._throttle_streak = 0
            self.stats.accepted += 1
            reply.pending.discard(part.number)
            complete = not reply.pending
            stored_id = storable_message_id(message_id)
            self._accepted.append(PartAccepted(reply.id, part.number, stored_id, len(reply.parts), complete))
            self._lazy(now)
            if complete:
                self._replies.pop(reply.id, None)
                self._on_event("reply_accepted", reply.claimed)
                log.debug("reply_submitted", outbox_id=reply.id, mo_id=reply.claimed.mo_id, parts=len(reply.parts))
        elif status in _RETRY_LATER:
            self.stats.throttled += 1
            self._throttle_streak += 1
            step = min(self._throttle_cap, self._throttle_backoff * 2 ** (self._throttle_streak - 1))
            delay = step / 2 + self._rng.uniform(0, step / 2)
            self._paused_until = now + delay
            self._delay(part, now + delay)
            log.info(
                "submit_throttled", status=name, retry_in=round(delay, 3), outbox_id=reply.id, mo_id=reply.claimed.mo_id
            )
        elif status in _TEMPORARY and reply.temporary_errors < _MAX_TEMPORARY:
            reply.temporary_errors += 1
            self._delay(part, now + min(30.0, 2.0**reply.temporary_errors))
            log.warning("submit_temporary_error", status=name, outbox_id=reply.id, mo_id=reply.claimed.mo_id)
        else:
            self._finish(reply, "failed", f"SMSC refused part {part.number}: {name}")

    def on_timed_out(self, part: HeldPart) -> None:
        self.stats.timeouts += 1
        log.warning(
            "submit_timeout",
            outbox_id=part.reply.id,
            mo_id=part.reply.claimed.mo_id,
            part=part.number,
            action="resubmit (a duplicate is possible if only the response was lost)",
        )
        self._ready.appendleft(part)

    def on_link_lost(self, unanswered: Sequence[object]) -> None:
        if unanswered:
            log.warning("link_lost_with_submits_outstanding", count=len(unanswered), action="resubmit")
        for part in reversed(unanswered):
            assert isinstance(part, HeldPart)
            self._ready.appendleft(part)

    # --- sending -----------------------------------------------------------------------------------

    def pump(self, now: float, wall: datetime) -> None:
        """Write what the window allows; parts not yet recorded wait for the next batch."""
        while self._delayed and self._delayed[0][0] <= now:
            part = heapq.heappop(self._delayed)[2]
            if not part.reply.dead:
                self._ready.append(part)
        link = self._link
        if self.stopping or now < self._paused_until:
            return
        room = self._room()
        while self._ready and room > 0:
            part = self._ready.popleft()
            reply = part.reply
            if reply.dead:
                continue
            if reply.claimed.expires_at <= wall:
                self._finish(reply, "expired", "not accepted before it expired")
                continue
            if not part.recorded:
                self._unrecorded.append(part)
                room -= 1
                continue
            if not link.can_submit:
                self._ready.appendleft(part)
                return
            try:
                link.submit(submit_sm(part, self._registered_delivery), part)
            except ValueError as error:  # the codec refused it (its addresses were checked when held)
                self._finish(reply, "failed", f"cannot submit: {error}")
                continue
            part.attempts += 1
            part.sent_at = now
            self.stats.submitted += 1
            if part.attempts > 1:
                self.stats.resubmitted += 1
            room -= 1

    def _room(self) -> int:
        session = self._link.session
        if session is None:
            return 0
        return session.config.window - session.in_flight - len(self._unrecorded) - len(self._recording)

    # --- the batch ---------------------------------------------------------------------------------

    def fill(self, batch: Batch, now: float, wall: datetime) -> None:
        if self._started_at is None:
            self._started_at = wall
        self._recording, self._unrecorded = self._unrecorded, []
        batch.intents = [(p.reply.id, p.number) for p in self._recording]
        # What the window can take at once beyond what waits already: replies born in this batch may have
        # their first part recorded by it (written right after its commit instead of a batch later).
        bound = self._link.bound and not self.stopping
        batch.intent_room = max(0, self._room() - len(self._ready)) if bound else 0
        batch.accepted, self._accepted = self._accepted, []
        batch.failed, self._failed = self._failed, []
        self._lazy_since = None
        if now >= self._next_beat:
            self._next_beat = now + self._takeover / 4
            batch.heartbeat = Heartbeat(self.owner, _pid(), self._started_at)
        room = self._max_held - len(self._replies)
        claiming = not self.stopping and room > 0 and self._link.bound  # unbound: replies wait in the queue
        if (self._want_claim or now >= self._next_poll) and claiming:
            self._want_claim, self._next_poll = False, now + self._poll_interval
            batch.claim = ClaimRequest(self.owner, room, wall - timedelta(seconds=self._takeover))

    def settle(self, batch: Batch, result: BatchResult) -> None:
        for part in self._recording:
            part.recorded = True
        self._ready.extendleft(reversed(self._recording))  # first in the queue: their room is reserved
        self._recording = []
        if batch.claim is not None and len(result.claimed) >= batch.claim.limit:
            self._want_claim = True  # there is more
        self.take(result.claimed)
        if result.expired:  # expired in the database before any sender held them (counted apart from ours)
            self._on_event("replies_expired", result.expired)
        for takeover in result.takeovers:
            log.warning(
                "outbox_takeover",
                instance=takeover.instance,
                replies=takeover.replies,
                silent_for=None if takeover.silent_for is None else round(takeover.silent_for, 2),
            )
            self._on_event("takeover", takeover)

    def failed(self, batch: Batch) -> None:
        """The batch was not committed: its work goes into the next one."""
        self._unrecorded[:0] = self._recording
        self._recording = []
        self._accepted[:0] = batch.accepted
        self._failed[:0] = batch.failed
        if batch.accepted or batch.failed:
            self._lazy(self._link.now())
        if batch.claim is not None:
            self._want_claim = True

    # --- ending ------------------------------------------------------------------------------------

    def release_all(self) -> list[int]:
        """Shutting down: the replies held and not fully accepted go back to the queue."""
        held = [reply.id for reply in self._replies.values() if not reply.dead]
        self._replies.clear()
        self._ready.clear()
        self._delayed.clear()
        self._unrecorded.clear()
        return held

    def _lazy(self, now: float) -> None:
        if self._lazy_since is None:
            self._lazy_since = now

    def _delay(self, part: HeldPart, due: float) -> None:
        heapq.heappush(self._delayed, (due, next(self._tie), part))

    def _finish(self, reply: HeldReply, state: str, error: str) -> None:
        reply.dead = True
        self._replies.pop(reply.id, None)
        self._finish_id(reply.claimed, state, error)

    def _finish_id(self, claimed: ClaimedReply, state: str, error: str) -> None:
        if state == "expired":
            self.stats.expired += 1
        else:
            self.stats.failed += 1
        recipient = subscriber_fields(claimed.destination, "recipient")
        log.warning("reply_" + state, outbox_id=claimed.id, mo_id=claimed.mo_id, error=error, **recipient)
        self._failed.append(ReplyFailed(claimed.id, state, error))
        self._lazy(self._link.now())
        self._on_event("reply_" + state, claimed)


def _pid() -> int:
    import os

    return os.getpid()
