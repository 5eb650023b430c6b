"""The outbox on a real database: claims, leases, results, receipts, expiry, two senders at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from smsgw.db import schema
from smsgw.db.outbox import PartAccepted

from .conftest import NOON, Harness


async def _states(h: Harness) -> dict[int, str]:
    rows = await h.db.read(lambda uow: uow.sql.rows(select(schema.outbox.c.id, schema.outbox.c.state)))
    return {row.id: row.state for row in rows}


async def _claim(h: Harness, limit: int = 10, *, at=NOON, owner: str = "a"):  # type: ignore[no-untyped-def]
    return await h.db.write(
        lambda uow: uow.outbox.claim(now=at, lease_until=at + timedelta(seconds=60), limit=limit, owner=owner)
    )


async def test_claim_accept_and_receipts_walk_a_reply_through_its_states(harness: Harness) -> None:
    await harness.mo("37120000001", "V 29000001 5")  # two replies
    claimed = await _claim(harness)
    assert len(claimed) == 2 and all(c.attempts == 1 for c in claimed)
    assert set((await _states(harness)).values()) == {"sending"}
    assert await _claim(harness) == []  # leased: nobody else takes them
    first, second = claimed
    accepted = [PartAccepted(first.id, 1, "a1", 1, True), PartAccepted(second.id, 1, "0B", 1, True)]
    await harness.db.write(lambda uow: uow.outbox.accepted(accepted, NOON))
    assert set((await _states(harness)).values()) == {"submitted"}
    found = await harness.db.write(lambda uow: uow.outbox.receipt(("a1",), "delivered", NOON))
    assert found == (first.id, first.mo_id)
    missing = await harness.db.write(lambda uow: uow.outbox.receipt(("zz",), "delivered", NOON))
    assert missing is None
    await harness.db.write(lambda uow: uow.outbox.receipt(("0B", "b", "11"), "undeliverable", NOON))
    assert await _states(harness) == {first.id: "delivered", second.id: "undeliverable"}


async def test_a_lease_that_ends_makes_the_reply_claimable_again(harness: Harness) -> None:
    await harness.mo("37120000001", "S")
    [claimed] = await _claim(harness)
    later = NOON + timedelta(seconds=61)
    [again] = await _claim(harness, at=later, owner="b")
    assert again.id == claimed.id and again.attempts == 2


async def test_replies_past_their_expiry_end_expired_and_are_not_claimed(harness: Harness) -> None:
    await harness.mo("37120000001", "S")
    late = NOON + harness.service.reply_validity + timedelta(seconds=1)
    assert await _claim(harness, at=late) == []
    assert set((await _states(harness)).values()) == {"expired"}


async def test_a_sealed_password_is_erased_once_submitted(harness: Harness) -> None:
    await harness.mo("37120000002", "P", destination="1640")
    [claimed] = await _claim(harness)
    assert claimed.sealed is not None
    await harness.db.write(lambda uow: uow.outbox.accepted([PartAccepted(claimed.id, 1, "x", 1, True)], NOON))
    sealed = await harness.db.read(lambda uow: uow.sql.value(select(schema.outbox.c.sealed)))
    assert sealed is None


async def test_an_early_receipt_is_kept_and_taken_once(harness: Harness) -> None:
    await harness.db.write(lambda uow: uow.outbox.keep_early_receipt("77", "delivered", NOON))
    await harness.db.write(lambda uow: uow.outbox.keep_early_receipt("77", "delivered", NOON))  # repeated: once
    assert await harness.db.read(lambda uow: uow.outbox.early_receipt_ids()) == ["77"]
    assert await harness.db.write(lambda uow: uow.outbox.take_early_receipt("77")) == "delivered"
    assert await harness.db.write(lambda uow: uow.outbox.take_early_receipt("77")) is None


async def test_two_senders_claiming_at_once_never_take_the_same_reply(harness: Harness) -> None:
    for i in range(30):
        await harness.mo("37120000001", "S", smsc_ref=f"s{i}")
    results = await asyncio.gather(*(_claim(harness, limit=7, owner=f"o{i}") for i in range(6)))
    ids = [c.id for batch in results for c in batch]
    assert len(ids) == len(set(ids)) == 30


async def test_start_up_of_the_only_instance_resumes_claimed_replies(harness: Harness) -> None:
    await harness.mo("37120000001", "S")
    await _claim(harness)
    released = await harness.db.write(lambda uow: uow.outbox.reset_claims(NOON))
    assert released == 1 and set((await _states(harness)).values()) == {"queued"}
