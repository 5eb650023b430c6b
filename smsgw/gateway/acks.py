"""Knowing which deliver_sm_resp the SMSC has received, so that only those MOs count as done.

An SMSC redelivers an MO whose deliver_sm_resp it did not get. SMPP 3.4 MOs
carry no id, so a redelivery looks exactly like the subscriber sending the
same text again. The difference is whether the SMSC received our response to
the first one, and TCP tells us: the SMSC reads our stream in order, so once it
answers a request we wrote *after* a deliver_sm_resp, it has read that
deliver_sm_resp. Each response we write is tagged with the sequence number of
the next request we will write; a response to a request at or past that number
confirms it. When the link is idle an enquire_link is sent to get that answer.
Confirmed MOs are marked ``acked`` in the database (in batches); an MO equal
to an unconfirmed one is the SMSC's redelivery, an MO equal to a confirmed one
is the subscriber's new message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

import structlog

from ..db.database import Database
from ..logs import log_failure

__all__ = ["AckTracker"]

log = structlog.get_logger("smsgw.acks")


class AckTracker:
    def __init__(
        self, db: Database, *, flush_interval: float = 0.05, probe_after: float = 0.5, batch: int = 512
    ) -> None:
        self._db = db
        self._flush_interval = flush_interval
        self._probe_after = probe_after
        self._batch = batch
        self._waiting: deque[tuple[int, str]] = deque()  # (first request sequence that proves it, mo id)
        self._confirmed: list[str] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self.confirmed_total = 0
        # Told the MO ids whose response the SMSC read (True) or may never have (link lost: False);
        # returns those to confirm (Inbound.settled: not an MO the SMSC sent again meanwhile).
        self.on_settled: Callable[[list[str], bool], list[str]] | None = None

    def responded(self, mo_id: str, next_request: int, probe: Callable[[], None]) -> None:
        """We wrote the deliver_sm_resp of ``mo_id``; ``next_request`` is the next request's sequence."""
        self._waiting.append((next_request, mo_id))
        if self._probe_task is None or self._probe_task.done():
            self._probe_task = asyncio.get_running_loop().create_task(self._probe_later(probe))

    async def _probe_later(self, probe: Callable[[], None]) -> None:
        await asyncio.sleep(self._probe_after)
        if self._waiting:
            probe()  # an enquire_link: its response confirms everything before it

    def answered(self, sequence: int) -> None:
        """The SMSC answered our request ``sequence``."""
        settled = []
        while self._waiting and self._waiting[0][0] <= sequence:
            settled.append(self._waiting.popleft()[1])
        if settled:
            self._confirmed.extend(settled if self.on_settled is None else self.on_settled(settled, True))
        if self._confirmed:
            if len(self._confirmed) >= self._batch:
                self._schedule(0.0)
            else:
                self._schedule(self._flush_interval)

    def link_lost(self) -> None:
        """Responses not yet confirmed may never have arrived: those MOs stay unconfirmed."""
        if self._waiting:
            log.info("acks_unconfirmed_at_link_loss", count=len(self._waiting))
            if self.on_settled is not None:
                self.on_settled([mo_id for _, mo_id in self._waiting], False)
        self._waiting.clear()

    def _schedule(self, delay: float) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_after(delay))

    async def _flush_after(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await self.flush()

    async def flush(self) -> None:
        while self._confirmed:
            batch, self._confirmed = self._confirmed, []

            try:
                await self._db.call("confirm_acks", batch)
            except Exception as error:
                log_failure(log, "ack_confirmations_not_recorded", error, count=len(batch))
                return
            self.confirmed_total += len(batch)

    async def close(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
        await self.flush()
