"""Timed work inside ``smsgw run``: the monthly top-ups, and clearing what has expired.

Every ``interval`` seconds: on the last day of a Riga month, from
``[sos] monthly_run_at``, the month's monthly orders are executed (each order at
most once per month, whichever instance or restart gets there first: the
per-order claim in the database decides); pending ``M`` requests past their
confirmation window (plus a day, so a late ``JA`` still gets the "expired"
reply) are dropped; long-MO parts that never completed and stale early receipts
are forgotten; early receipts whose message id another instance recorded
meanwhile are settled. Every ``analyze_every`` seconds the database refreshes
its statistics of the hot tables (PostgreSQL plans its prepared statements on
them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from handlers.rules import is_last_day_of_month

from ..batch.runner import BatchRunner
from ..db.uow import SqlUnitOfWork
from ..service import Service

__all__ = ["Scheduler"]

log = structlog.get_logger("smsgw.scheduler")


class Scheduler:
    def __init__(
        self,
        service: Service,
        *,
        runner: BatchRunner | None = None,
        interval: float = 30.0,
        analyze_every: float = 600.0,
        parts_timeout: timedelta = timedelta(hours=24),
        on_monthly: Callable[[dict[str, int]], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._service = service
        self._runner = runner
        self._interval = interval
        self._analyze_every = analyze_every
        self._analyzed = 0.0
        self._parts_timeout = parts_timeout
        self._on_monthly = on_monthly
        self._now = now
        self.ticks = 0

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler_tick_failed")
            await asyncio.sleep(self._interval)

    async def tick(self) -> None:
        self.ticks += 1
        now = self._now()
        rules = self._service.rules
        local = now.astimezone(rules.tz)
        if is_last_day_of_month(local.date()) and local.time() >= rules.monthly_run_at:
            counts = await self._service.run_monthly(local.date())
            if counts:
                log.info("monthly_run", date=local.date().isoformat(), **counts)
                if self._on_monthly is not None:
                    self._on_monthly(counts)
        cutoff = now - rules.confirm_window - timedelta(days=1)
        parts_before = now - self._parts_timeout

        async def unit(uow: SqlUnitOfWork) -> tuple[int, int]:
            dropped = await uow.pending.delete_older_than(cutoff)
            purged = await uow.mo_parts.purge(parts_before)
            await uow.outbox.purge_early_receipts(parts_before)
            return dropped, purged

        dropped, purged = await self._service.db.write(unit)
        if dropped or purged:
            log.info("expired_cleared", pending_requests=dropped, mo_parts=purged)
        if self._runner is not None:
            settled = await self._runner.sweep()
            if settled:
                log.info("early_receipts_settled", count=settled)
            clock = asyncio.get_running_loop().time()
            if clock - self._analyzed >= self._analyze_every:
                self._analyzed = clock
                await self._runner.store.analyze()
