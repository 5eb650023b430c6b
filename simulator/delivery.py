"""Store and forward of deliver_sm (MO parts and receipts) to receiver binds.

Jobs wait in a queue until some bound receiver/transceiver has room in its window; binds
are used round-robin (a receipt prefers the bind its submit came from). A job whose
response did not come in time, or whose session dropped, is redelivered at once (same
content, new sequence, possibly another bind); one answered with a non-zero status is
retried after `retry_delay`. After 1 + `max_redeliveries` sends it has failed.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass

from smpp import ShortMessage, SmscSession, Status

from .store import MoRecord

__all__ = ["DeliverJob", "Router"]


@dataclass(slots=True, eq=False)
class DeliverJob:
    message: ShortMessage
    message_id: str  # the simulator's own id for this deliver_sm
    mo: MoRecord | None  # None for a receipt
    preferred: int | None = None  # bind to try first
    attempts: int = 0
    bind: int | None = None  # where it was last sent
    stat: str = ""  # for a receipt: the outcome it reports


class Router:
    def __init__(self, max_redeliveries: int = 10, retry_delay: float = 5.0) -> None:
        self.max_redeliveries = max_redeliveries
        self.retry_delay = retry_delay
        self._receivers: dict[int, SmscSession] = {}
        self._order: list[int] = []
        self._rr = 0
        self._queue: deque[DeliverJob] = deque()
        self._later: list[tuple[float, int, DeliverJob]] = []
        self._tie = itertools.count()

    @property
    def queued(self) -> int:
        return len(self._queue) + len(self._later)

    @property
    def receivers(self) -> int:
        return len(self._order)

    def add_receiver(self, bind_id: int, session: SmscSession) -> None:
        if bind_id not in self._receivers:
            self._receivers[bind_id] = session
            self._order.append(bind_id)

    def remove_receiver(self, bind_id: int) -> None:
        if self._receivers.pop(bind_id, None) is not None:
            self._order.remove(bind_id)

    def enqueue(self, job: DeliverJob, front: bool = False) -> None:
        if front:
            self._queue.appendleft(job)
        else:
            self._queue.append(job)

    def dispatch(self, now: float) -> list[DeliverJob]:
        """Send queued jobs while some receiver has room; returns the jobs sent."""
        sent: list[DeliverJob] = []
        queue = self._queue
        while queue:
            job = queue[0]
            bind_id = self._pick(job.preferred)
            if bind_id is None:
                break
            queue.popleft()
            job.attempts += 1
            job.bind = bind_id
            self._receivers[bind_id].send_deliver(job.message, job, now)
            sent.append(job)
        return sent

    def responded(self, job: DeliverJob, status: int, now: float) -> str:
        """'delivered', 'retry' (queued again later) or 'failed'."""
        if status == Status.ESME_ROK:
            return "delivered"
        if job.attempts > self.max_redeliveries:
            return "failed"
        heapq.heappush(self._later, (now + self.retry_delay, next(self._tie), job))
        return "retry"

    def lost(self, job: DeliverJob) -> str:
        """No response (timeout or session closed): 'retry' (queued again now) or 'failed'."""
        if job.attempts > self.max_redeliveries:
            return "failed"
        self._queue.appendleft(job)
        return "retry"

    def tick(self, now: float) -> None:
        """Move retries whose time has come back into the queue."""
        later = self._later
        while later and later[0][0] <= now:
            self._queue.append(heapq.heappop(later)[2])

    def _pick(self, preferred: int | None) -> int | None:
        receivers = self._receivers
        if preferred is not None:
            session = receivers.get(preferred)
            if session is not None and session.can_deliver:
                return preferred
        order = self._order
        n = len(order)
        for i in range(n):
            index = (self._rr + i) % n
            if receivers[order[index]].can_deliver:
                self._rr = index + 1
                return order[index]
        return None
