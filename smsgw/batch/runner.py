"""Running a batch: one transaction — lock, load, decide, write, commit — on either database.

1. the keys the batch's MOs can touch are worked out from their parsed commands;
2. in one transaction: its numbers are locked in one global order (PostgreSQL),
   the snapshot is loaded, every MO is decided in order against the in-memory
   view, the view's final state and the new rows are written, the sender's work
   (message ids, receipts, acknowledgements, claims) recorded; then COMMIT;
3. a handler that asked for something not loaded (:class:`Miss`) or a
   serialization failure runs the batch again (a Miss adds the key first);
4. a batch the database refuses for any other reason is split: each MO, and
   then the sender's work, runs alone, so one bad MO cannot undo the others.

The result comes back after the commit; nothing of it is visible to the SMSC
before (the caller writes the deliver_sm_resp after ``run`` returns).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from handlers.rules import day_bounds, month_bounds

from ..db.batch_sender import sweep_early_receipts
from ..db.batch_store import BatchStore, jitter
from ..db.batch_write import write_plan
from ..logs import log_failure
from ..sealing import SealingError
from .decide import Decider
from .jobs import Batch, BatchResult, Decision
from .snapshot import Keys, Miss, Snapshot

__all__ = ["BatchRunner"]

log = structlog.get_logger("smsgw.batch")

_MAX_ATTEMPTS = 12


class BatchRunner:
    def __init__(
        self,
        store: BatchStore,
        decider: Decider,
        *,
        variants: Callable[[str], tuple[str, ...]],
        redelivery_window: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.decider = decider
        self._variants = variants
        self._redelivery_window = redelivery_window
        self._clock = clock
        self.commits = 0
        self.retries = 0

    async def run(self, batch: Batch) -> BatchResult:
        """Run ``batch`` in one transaction (split if the database refuses it); returns after the commit."""
        try:
            return await self._attempt(batch)
        except SealingError:
            raise  # no key: splitting cannot help
        except Exception as error:
            if len(batch.mos) + (1 if _has_sender_work(batch) else 0) <= 1:
                raise
            log_failure(log, "batch_split", error, mos=len(batch.mos))
            return await self._split(batch)

    async def _split(self, batch: Batch) -> BatchResult:
        decisions: list[Decision] = []
        reply_ids: list[int] = []
        for job in batch.mos:
            try:
                alone = await self._attempt(Batch(mos=[job]))
            except Exception as error:
                log_failure(log, "mo_not_recorded", error, mo_id=job.id)
                decisions.append(Decision(job.id, "failed", failed=True))
                continue
            offset = len(reply_ids)
            reply_ids += alone.reply_ids
            decisions += [
                replace(d, reply_positions=tuple(p + offset for p in d.reply_positions)) for d in alone.decisions
            ]
        rest = _without_copied_acks(replace(batch, mos=[]), decisions)
        result = BatchResult(tuple(decisions), tuple(reply_ids), (), (), self.commits)
        if _has_sender_work(rest):
            done = await self._attempt(rest)  # its failure is the caller's (it keeps that work for later)
            result = replace(done, decisions=result.decisions, reply_ids=result.reply_ids)
        return result

    async def _attempt(self, batch: Batch) -> BatchResult:
        keys = self.decider.keys(batch.mos)
        for attempt in range(_MAX_ATTEMPTS):
            now = self._clock()
            try:
                return await self._transaction(batch, keys, now)
            except Miss:
                continue  # the missing key was added: load it too
            except Exception as error:
                if not self.store.retryable(error) or attempt == _MAX_ATTEMPTS - 1:
                    raise
                self.retries += 1
                await asyncio.sleep(jitter(attempt))
        raise RuntimeError("a batch kept asking for keys it had loaded")

    async def _transaction(self, batch: Batch, keys: Keys, now: datetime) -> BatchResult:
        tz = self.decider.rules.tz
        snap = Snapshot(now, day_bounds(now, tz), month_bounds(now, tz), now - self._redelivery_window)
        store = self.store
        alone = not batch.mos and batch.claim is None  # on PostgreSQL one statement, atomic by itself
        async with store.transaction(keys.lock_keys() if batch.mos else (), alone=alone) as ex:
            decisions: list[Decision] = []
            plan = None
            if batch.mos:
                await store.load(ex, keys, snap)
                view, records, decisions = self.decider.decide(snap, batch.mos, keys)
                plan = write_plan(view, records, intent_room=batch.intent_room)
                batch = _without_copied_acks(batch, decisions)
            reply_ids, work = await store.record(ex, plan, batch, now, self._variants)
        self.commits += 1
        return BatchResult(
            tuple(decisions),
            tuple(reply_ids),
            tuple(work.receipts),
            tuple(work.claimed),
            self.commits,
            tuple(work.takeovers),
            work.reclaimed,
            now,
            work.expired,
            frozenset(reply_ids[i] for i in plan.first_parts) if plan is not None else frozenset(),
        )

    async def sweep(self) -> int:
        """Settle early receipts whose message id was recorded meanwhile (see ``sweep_early_receipts``)."""
        async with self.store.transaction() as ex:
            return await sweep_early_receipts(ex, self._clock(), self._variants)


def _without_copied_acks(batch: Batch, decisions: list[Decision]) -> Batch:
    """The batch without the acknowledgements of MOs it found copied.

    A copy shows the SMSC had not taken any response to the original when it sent
    it again: a proof that it read one, arriving in the same batch, came too late
    to count (its MO stays unconfirmed, so the next copy is recognised too).
    """
    if not batch.acks:
        return batch
    copied = {d.copy_of for d in decisions if d.copy_of}
    if not copied.intersection(batch.acks):
        return batch
    return replace(batch, acks=[mo_id for mo_id in batch.acks if mo_id not in copied])


def _has_sender_work(batch: Batch) -> bool:
    return bool(
        batch.accepted
        or batch.receipts
        or batch.acks
        or batch.failed
        or batch.released
        or batch.intents
        or batch.heartbeat
        or batch.reclaim_own
        or batch.claim
    )
