"""The scheduler: monthly top-ups on the last day from the configured time, once, and clean-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from smsgw.db import schema
from smsgw.gateway.scheduler import Scheduler

from .conftest import DIRECTORY, Harness, _App, make_harness


async def _monthly_charges(h: Harness) -> int:
    stmt = select(func.count()).select_from(schema.charges).where(schema.charges.c.kind == "monthly")
    return int(await h.db.read(lambda uow: uow.sql.value(stmt)))


async def _order(h: Harness, sender: str, karte: str) -> None:
    await h.mo(sender, f"M {karte} 3")
    await h.mo(sender, "JA")


async def test_runs_on_the_last_day_from_the_run_time_and_only_once(harness: Harness) -> None:
    await _order(harness, "37120000001", "29000001")
    clock = {"now": datetime(2026, 11, 30, 7, 59, tzinfo=UTC)}  # 09:59 in Riga: not yet
    scheduler = Scheduler(harness.service, now=lambda: clock["now"])
    await scheduler.tick()
    assert await _monthly_charges(harness) == 0
    clock["now"] = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 10:00 in Riga
    await scheduler.tick()
    await scheduler.tick()
    restarted = Scheduler(harness.service, now=lambda: clock["now"] + timedelta(hours=3))
    await restarted.tick()
    assert await _monthly_charges(harness) == 1


async def test_two_instances_on_one_database_run_each_order_once(database_url: str) -> None:
    first = await make_harness(database_url)
    second = await make_harness(database_url, migrate=False)
    from smsgw.subscriber_import import import_subscribers

    await import_subscribers(_App(first.db), DIRECTORY)
    try:
        for sender, karte in (("37120000001", "29000001"), ("37120000002", "29000002"), ("37120000004", "29000001")):
            await _order(first, sender, karte)
        at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
        a = Scheduler(first.service, now=lambda: at)
        b = Scheduler(second.service, now=lambda: at)
        import asyncio

        await asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick())
        assert await _monthly_charges(first) == 3
    finally:
        await first.db.close()
        await second.db.close()


async def test_old_pending_requests_are_cleared_after_the_window_and_a_day(harness: Harness) -> None:
    await harness.mo("37120000001", "M 29000001 5")
    at = harness.clock() + timedelta(hours=47)
    await Scheduler(harness.service, now=lambda: at).tick()
    assert await harness.db.read(lambda uow: uow.pending.count()) == 1
    later = harness.clock() + timedelta(hours=49)
    await Scheduler(harness.service, now=lambda: later).tick()
    assert await harness.db.read(lambda uow: uow.pending.count()) == 0
