"""Caps and once-only effects under concurrent messages, on both databases."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from smsgw.db import schema

from .conftest import DIRECTORY, Harness, _App, make_harness


async def _sum_cents(h: Harness, sender: str) -> int:
    stmt = select(func.coalesce(func.sum(schema.topups.c.amount_cents), 0)).where(schema.topups.c.sender == sender)
    return int(await h.db.read(lambda uow: uow.sql.value(stmt)))


async def test_fifty_simultaneous_top_ups_never_pass_the_daily_cap(harness: Harness) -> None:
    # Distinct SMSC message ids: fifty real messages, not redeliveries of one.
    results = await asyncio.gather(*(harness.mo("37120000001", "V 29000001 5", smsc_ref=f"m{i}") for i in range(50)))
    applied = [r for r in results if r.outcome == "topup_applied"]
    assert len(applied) == 4  # 4 × 5.00 = 20.00 ≤ 21.34 < 25.00
    assert {r.outcome for r in results} == {"topup_applied", "daily_cap"}
    assert await _sum_cents(harness, "37120000001") == 2000


async def test_fifty_simultaneous_top_ups_from_two_processes_worth_of_connections(database_url: str) -> None:
    """Two independent database handles (like two gateway processes) racing on one sender."""
    first = await make_harness(database_url)
    second = await make_harness(database_url, migrate=False)
    from smsgw.subscriber_import import import_subscribers

    await import_subscribers(_App(first.db), DIRECTORY)
    try:
        amounts = ["7", "3.33", "10", "1.42", "21.34"] * 10
        tasks = [
            (first if i % 2 else second).mo("37120000001", f"29000001 {amount}", smsc_ref=f"m{i}")
            for i, amount in enumerate(amounts)
        ]
        await asyncio.gather(*tasks)
        total = await _sum_cents(first, "37120000001")
        assert 0 < total <= 2134
    finally:
        await first.db.close()
        await second.db.close()


async def test_monthly_cap_holds_across_days_under_concurrency(harness: Harness) -> None:
    for day in range(3):
        await asyncio.gather(*(harness.mo("37120000001", "29000002 4.99", smsc_ref=f"d{day}m{i}") for i in range(20)))
        harness.clock.advance(days=1)
    assert await _sum_cents(harness, "37120000001") <= 4269


async def test_two_runners_execute_each_monthly_order_once(database_url: str) -> None:
    first = await make_harness(database_url)
    second = await make_harness(database_url, migrate=False)
    from smsgw.subscriber_import import import_subscribers

    await import_subscribers(_App(first.db), DIRECTORY)
    try:
        for sender, karte in (("37120000001", "29000001"), ("37120000002", "29000002"), ("37120000004", "29000001")):
            await first.mo(sender, f"M {karte} 3")
            await first.mo(sender, "JA")
        counts = await asyncio.gather(
            first.service.run_monthly(date(2026, 11, 30)), second.service.run_monthly(date(2026, 11, 30))
        )
        executed = sum(c.get("monthly_executed", 0) for c in counts)
        assert executed == 3
        stmt = select(func.count()).select_from(schema.charges).where(schema.charges.c.kind == "monthly")
        assert await first.db.read(lambda uow: uow.sql.value(stmt)) == 3
        balance = (await first.db.read(lambda uow: uow.subscribers.get("37129000001"))).balance
        assert balance == Decimal("6.00")
    finally:
        await first.db.close()
        await second.db.close()
