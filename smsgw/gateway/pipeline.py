"""The gateway's one database loop: everything read since the last commit goes into the next batch.

One task, one batch at a time: while a batch commits, what the link reads
accumulates (MOs, receipts, accepted submits, read confirmations, the sender's
parts about to be written), and becomes the next batch. Batches therefore grow
with the load and shrink to one MO when it is light — group commit without a
timer. After each commit the parts are settled in order: responses written,
replies handed to the sender, the sender pumped.

A batch the database did not commit is handed back to its parts (``failed``):
MOs and receipts are answered ESME_RX_T_APPN (the SMSC delivers them again),
the sender's work goes into the next batch; the loop then waits a little, so a
database that is down is not hammered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from ..batch.jobs import Batch, BatchResult
from ..batch.runner import BatchRunner
from ..logs import log_failure
from .confirmations import Confirmations
from .inbound import Inbound
from .link import SmppLink
from .sender import Sender

__all__ = ["Pipeline"]

log = structlog.get_logger("smsgw.pipeline")

_AFTER_FAILURE = 0.5


class Pipeline:
    def __init__(
        self,
        runner: BatchRunner,
        link: SmppLink,
        inbound: Inbound,
        sender: Sender,
        confirmations: Confirmations,
        *,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_batch: Callable[[Batch, BatchResult, float], None] | None = None,
    ) -> None:
        self.runner = runner
        self._link = link
        self._inbound = inbound
        self._sender = sender
        self._confirmations = confirmations
        self._wall = wall
        self._on_batch = on_batch
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.stopping = False
        self.batches = 0
        inbound.wake = self.wake

    def wake(self) -> None:
        self._wake.set()

    def _has_work(self, now: float) -> bool:
        return self._inbound.busy or self._sender.busy or self._sender.due(now) or self._confirmations.due(now)

    def _next_due(self, now: float) -> float:
        return min(self._sender.next_due(now), self._confirmations.next_due(now))

    async def run(self) -> None:
        """Batches until ``stop``; each one after the previous committed."""
        while True:
            now = self._link.now()
            if not self._has_work(now):
                if self.stopping:
                    return
                self._wake.clear()
                try:  # not wait_for: on 3.11 it swallows a cancel that comes with a wake (the shutdown's)
                    async with asyncio.timeout(self._next_due(now)):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._sender.pump(self._link.now(), self._wall())  # parts whose backoff ended
                continue
            await self.run_once()
            await asyncio.sleep(0)  # let the link read what arrived meanwhile

    async def run_once(self) -> None:
        now, wall = self._link.now(), self._wall()
        batch = Batch()
        self._inbound.fill(batch)
        self._sender.fill(batch, now, wall)
        self._confirmations.fill(batch)
        self._idle.clear()
        started = time.perf_counter()
        try:
            result = await self.runner.run(batch)
        except Exception as error:
            log_failure(log, "batch_failed", error, mos=len(batch.mos), receipts=len(batch.receipts))
            self._inbound.failed()
            self._sender.failed(batch)
            self._confirmations.failed(self._link.now())
            self._idle.set()
            await asyncio.sleep(_AFTER_FAILURE)
            return
        finally:
            self._idle.set()
        self.batches += 1
        self._inbound.settle(result)
        self._sender.settle(batch, result)
        self._confirmations.settle()
        self._sender.pump(self._link.now(), self._wall())
        if self._on_batch is not None:
            self._on_batch(batch, result, time.perf_counter() - started)

    async def drain(self, timeout: float) -> None:
        """Finish the batch in flight and one more for what it left (answers, accepted parts)."""
        self.stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return
        if self._inbound.busy or self._sender.holding or self._confirmations.holding:
            await self.run_once()
