"""A batch and the monthly run (the cold path, on SQLAlchemy) at the same moment, on both databases.

The batch computes a Karte's balance and a sender's totals in memory and writes
them back; the monthly run credits and checks the same rows in its own
transaction. Whichever commits second must see the other: no credit lost, no cap
passed. The monthly run is started while the batch is between its load and its
commit, and given time to finish if nothing holds it back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

from smpp.receipts import message_id_variants
from smsgw.batch.runner import BatchRunner

from .batch_support import HookedStore, job, ready_harness, run, value
from .conftest import Harness

SENDER = "37120000001"
ANN = "37120000002"
RUN_DAY = date(2026, 11, 30)
RUN_AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 11:00 in Riga, after the monthly run's 10:00


class _MonthlyRunMidBatch:
    """Once the batch has loaded and decided, the monthly run starts and is waited for a while."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.monthly: asyncio.Task[dict[str, int]] | None = None
        self.finished_inside = False

    async def __call__(self, ex: Any, attempt: int) -> None:
        if self.monthly is None:
            self.monthly = asyncio.create_task(self.h.service.run_monthly(RUN_DAY))
            done, _ = await asyncio.wait({self.monthly}, timeout=0.5)
            self.finished_inside = bool(done)


async def _race(h: Harness, *jobs: Any) -> _MonthlyRunMidBatch:
    race = _MonthlyRunMidBatch(h)
    service = h.service
    runner = BatchRunner(
        HookedStore(service.runner.store, before_record=race),  # type: ignore[arg-type]
        service.decider,
        variants=message_id_variants,
        redelivery_window=service.redelivery_window,
        clock=h.clock,
    )
    await run(h, *jobs, runner=runner)
    assert race.monthly is not None
    await asyncio.wait_for(race.monthly, 10)
    return race


async def _cents(h: Harness, sql: str, *args: Any) -> int:
    return int(await value(h, sql, *args) or 0)


async def test_a_monthly_credit_and_a_top_up_of_one_karte_at_once_are_both_kept(database_url: str) -> None:
    h = await ready_harness(database_url)
    try:
        await h.mo(ANN, "M 29000001 10")
        await h.mo(ANN, "JA")
        h.clock.now = RUN_AT
        store = await _race(h, job(h, SENDER, "V 29000001 5"))
        assert store.monthly is not None and store.monthly.result() == {"monthly_executed": 1}
        assert await _cents(h, "SELECT SUM(amount_cents) FROM topups WHERE karte = '37129000001'") == 1500
        balance = await _cents(h, "SELECT balance_cents FROM subscribers WHERE msisdn = '37129000001'")
        assert balance == 1500, "a credit was lost: one transaction overwrote the other's balance"
    finally:
        await h.db.close()


async def test_the_monthly_cap_holds_between_a_batch_and_the_monthly_run(database_url: str) -> None:
    h = await ready_harness(database_url)
    try:
        await h.mo(SENDER, "M 29000002 10")
        await h.mo(SENDER, "JA")
        await h.mo(SENDER, "V 29000001 21.34", smsc_ref="a")
        h.clock.advance(days=1)
        await h.mo(SENDER, "V 29000001 8.66", smsc_ref="b")  # 30.00 this month: 12.69 left
        h.clock.now = RUN_AT
        await _race(h, job(h, SENDER, "V 29000003 5"))  # 35.00 alone; 45.00 with the monthly 10.00
        total = await _cents(h, "SELECT SUM(amount_cents) FROM topups WHERE sender = ?", SENDER)
        assert total <= 4269, f"the monthly cap was passed: {total / 100:.2f}"
    finally:
        await h.db.close()
