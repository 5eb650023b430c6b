"""The sender's side of a batch on a real database: claims, takeovers, intents, accepted parts, receipts.

Each instance of the gateway beats (``instances``) and claims in the same batch,
as its sender does; replies born claimed by an instance stay its own while it
beats, and are taken over once it has been silent for ``[outbox] takeover``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from handlers.credentials import new_temporary_password
from smpp.receipts import message_id_variants
from smsgw.batch.decide import Decider
from smsgw.batch.jobs import Batch, BatchResult, ClaimRequest, Heartbeat, ReceiptJob, ReplyFailed, Takeover
from smsgw.batch.runner import BatchRunner
from smsgw.db.outbox import PartAccepted
from smsgw.db.timefmt import ts

from .batch_support import fetch, job, ready_harness, run, value
from .conftest import NOON, Harness

SENDER = "37120000001"
TAKEOVER = 10.0


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    h = await ready_harness(database_url)
    try:
        yield h
    finally:
        await h.db.close()


class Instance:
    """One gateway's batches: replies born claimed by it, its heartbeat with every claim."""

    def __init__(self, h: Harness, name: str) -> None:
        service = h.service
        self.h = h
        self.name = name
        self.started_at = h.clock()
        decider = Decider(service.rules, service.sealer, reply_validity=service.reply_validity, claimed_by=name)
        self.runner = BatchRunner(
            service.runner.store,
            decider,
            variants=message_id_variants,
            redelivery_window=service.redelivery_window,
            clock=h.clock,
        )

    def beat(self) -> Heartbeat:
        return Heartbeat(self.name, os.getpid(), self.started_at)

    async def run(self, batch: Batch) -> BatchResult:
        return await self.runner.run(batch)

    async def mo(self, text: str, **fields: Any) -> BatchResult:
        return await self.run(Batch(mos=[job(self.h, SENDER, text, **fields)], heartbeat=self.beat()))

    async def claim(self, limit: int = 100) -> BatchResult:
        alive_since = self.h.clock() - timedelta(seconds=TAKEOVER)
        return await self.run(Batch(heartbeat=self.beat(), claim=ClaimRequest(self.name, limit, alive_since)))


async def _reply(h: Harness, outbox_id: int) -> tuple[Any, ...]:
    [(state, owner, attempts, sealed)] = await fetch(
        h, "SELECT state, claimed_by, attempts, sealed IS NOT NULL FROM outbox WHERE id = ?", outbox_id
    )
    return state, owner, attempts, bool(sealed)


async def _parts(h: Harness, outbox_id: int) -> list[tuple[Any, ...]]:
    return await fetch(
        h, "SELECT part_no, smsc_message_id, state FROM mt_parts WHERE outbox_id = ? ORDER BY part_no", outbox_id
    )


# --- claims -------------------------------------------------------------------------------------------------


async def test_due_replies_are_claimed_once_each(harness: Harness) -> None:
    await run(harness, job(harness, SENDER, "V 29000001 5"))  # two queued replies
    a, b, c = Instance(harness, "gw-a"), Instance(harness, "gw-b"), Instance(harness, "gw-c")
    [first] = (await a.claim(limit=1)).claimed
    [second] = (await b.claim()).claimed
    assert first.id != second.id and (first.attempts, second.attempts) == (1, 1)
    assert (await c.claim()).claimed == (), "held by live instances"
    assert await _reply(harness, first.id) == ("sending", "gw-a", 1, False)


async def test_a_claim_before_the_replies_are_due_takes_nothing(harness: Harness) -> None:
    await run(harness, job(harness, SENDER, "S"))
    harness.clock.advance(seconds=-1)
    assert (await Instance(harness, "gw-a").claim()).claimed == ()


async def test_replies_of_a_silent_instance_are_taken_over_only_after_the_takeover_time(harness: Harness) -> None:
    a, b = Instance(harness, "gw-a"), Instance(harness, "gw-b")
    result = await a.mo("V 29000001 5")  # its replies are born claimed by gw-a
    ids = set(result.reply_ids)
    assert {await _reply(harness, i) for i in ids} == {("sending", "gw-a", 1, False)}
    harness.clock.advance(seconds=5)
    assert (await b.claim()).claimed == ()
    harness.clock.advance(seconds=4)
    await a.run(Batch(heartbeat=a.beat()))  # gw-a is alive at +9 s
    harness.clock.advance(seconds=TAKEOVER - 0.5)
    assert (await b.claim()).claimed == (), "gw-a beat 9.5 s ago"
    harness.clock.advance(seconds=1)
    taken = await b.claim()
    assert {r.id for r in taken.claimed} == ids and {r.attempts for r in taken.claimed} == {2}
    assert taken.takeovers == (Takeover("gw-a", 2, TAKEOVER + 0.5),)
    assert {await _reply(harness, i) for i in ids} == {("sending", "gw-b", 2, False)}


async def test_an_instance_restarting_takes_its_own_replies_back_at_once(harness: Harness) -> None:
    a = Instance(harness, "gw-a")
    result = await a.mo("V 29000001 5")
    assert (await a.claim()).claimed == (), "its own replies are held, not claimed again"
    restarted = await a.run(Batch(reclaim_own="gw-a"))
    assert restarted.reclaimed == 2
    claimed = (await a.claim()).claimed
    assert {r.id for r in claimed} == set(result.reply_ids) and {r.attempts for r in claimed} == {2}
    assert (await Instance(harness, "gw-b").run(Batch(reclaim_own="gw-b"))).reclaimed == 0


async def test_replies_past_their_expiry_end_expired_unsent(harness: Harness) -> None:
    await run(harness, job(harness, SENDER, "S"))
    await Instance(harness, "gw-a").mo("HELP")
    harness.clock.advance(seconds=harness.service.reply_validity.total_seconds())
    result = await Instance(harness, "gw-b").claim()
    assert (result.claimed, result.expired) == ((), 2)
    assert await fetch(harness, "SELECT DISTINCT state FROM outbox") == [("expired",)]


async def test_a_claim_with_no_room_only_expires(harness: Harness) -> None:
    await run(harness, job(harness, SENDER, "S"))
    result = await Instance(harness, "gw-a").claim(limit=0)
    assert (result.claimed, result.expired) == ((), 0)
    assert await value(harness, "SELECT state FROM outbox") == "queued"


# --- intents, accepted parts, failures -----------------------------------------------------------------------


async def test_parts_on_the_wire_when_their_instance_died_are_handed_over_as_maybe_sent(harness: Harness) -> None:
    a, b, c = Instance(harness, "gw-a"), Instance(harness, "gw-b"), Instance(harness, "gw-c")
    [reply_id] = (await a.mo("HELP")).reply_ids
    await a.run(Batch(intents=[(reply_id, 1), (reply_id, 2)]))  # about to write two parts
    assert await _parts(harness, reply_id) == [(1, None, "submitting"), (2, None, "submitting")]
    await a.run(Batch(intents=[(reply_id, 1)]))  # a resubmission: still one row
    assert len(await _parts(harness, reply_id)) == 2

    harness.clock.advance(seconds=TAKEOVER + 1)  # gw-a died
    [taken] = (await b.claim()).claimed
    assert (taken.id, taken.done_parts, taken.maybe_sent) == (reply_id, frozenset(), frozenset({1, 2}))
    await b.run(Batch(accepted=[PartAccepted(reply_id, 1, "M1", 2, False)]))
    assert await _parts(harness, reply_id) == [(1, "M1", "submitted"), (2, None, "submitting")]
    assert (await _reply(harness, reply_id))[0] == "sending"

    harness.clock.advance(seconds=TAKEOVER + 1)  # gw-b died too
    [again] = (await c.claim()).claimed
    assert (again.done_parts, again.maybe_sent, again.attempts) == (frozenset({1}), frozenset({2}), 3)
    await c.run(Batch(accepted=[PartAccepted(reply_id, 2, "M2", 2, True)]))
    assert await _parts(harness, reply_id) == [(1, "M1", "submitted"), (2, "M2", "submitted")]
    assert await fetch(harness, "SELECT state, parts FROM outbox WHERE id = ?", reply_id) == [("submitted", 2)]


async def test_replies_born_claimed_have_their_first_part_recorded_in_the_same_batch_within_the_room(
    harness: Harness,
) -> None:
    a = Instance(harness, "gw-a")
    jobs = [job(harness, SENDER, "V 29000001 5"), job(harness, "37120000002", "S")]  # three replies
    result = await a.run(Batch(mos=jobs, heartbeat=a.beat(), intent_room=2))
    first, second, third = result.reply_ids
    assert result.first_parts_recorded == frozenset({first, second}), "the room was two"
    assert await _parts(harness, first) == [(1, None, "submitting")]
    assert await _parts(harness, second) == [(1, None, "submitting")]
    assert await _parts(harness, third) == [], "no room: its intent waits for a later batch"

    queued = await run(harness, job(harness, "37120000003", "S"), intent_room=5)  # replies queued, not claimed
    assert queued.first_parts_recorded == frozenset()
    assert await _parts(harness, queued.reply_ids[0]) == []

    harness.clock.advance(seconds=TAKEOVER + 1)  # gw-a died: recorded parts may have been on the wire
    taken = {r.id: r.maybe_sent for r in (await Instance(harness, "gw-b").claim()).claimed}
    assert taken[first] == taken[second] == frozenset({1}) and taken[third] == frozenset()


async def test_a_sealed_password_is_erased_once_accepted(harness: Harness) -> None:
    a = Instance(harness, "gw-a")
    p = job(harness, "37120000002", "P", "1640")
    [held] = (await a.run(Batch(mos=[p]))).decisions
    assert held.needs_password
    result = await a.run(Batch(mos=[replace(p, password=new_temporary_password(n=2**10))]))
    [reply_id] = result.reply_ids
    assert (await _reply(harness, reply_id))[3], "sealed while unsent"
    await a.run(Batch(accepted=[PartAccepted(reply_id, 1, "P1", 1, True)]))
    assert await _reply(harness, reply_id) == ("submitted", "gw-a", 1, False)


async def test_replies_failed_expired_or_released(harness: Harness) -> None:
    a = Instance(harness, "gw-a")
    ids = (await a.mo("V 29000001 5")).reply_ids + (await a.mo("S")).reply_ids
    await a.run(
        Batch(
            failed=[
                ReplyFailed(ids[0], "failed", "SMSC refused part 1: ESME_RINVDSTADR"),
                ReplyFailed(ids[1], "expired", "late"),
            ],
            released=[ids[2]],
        )
    )
    assert await fetch(harness, "SELECT id, state, last_error FROM outbox ORDER BY id") == [
        (ids[0], "failed", "SMSC refused part 1: ESME_RINVDSTADR"),
        (ids[1], "expired", "late"),
        (ids[2], "queued", None),
    ]
    [claimed] = (await Instance(harness, "gw-b").claim()).claimed
    assert claimed.id == ids[2], "a released reply is anyone's at once"


async def test_acknowledgements_the_smsc_read_are_recorded(harness: Harness) -> None:
    result = await run(harness, job(harness, SENDER, "S"), job(harness, SENDER, "HELP"))
    first, second = (d.mo_id for d in result.decisions)
    await run(harness, acks=[first])
    assert sorted(await fetch(harness, "SELECT id, acked FROM mo_messages")) == sorted(
        [(first, _true(harness)), (second, _false(harness))]
    )


def _true(h: Harness) -> Any:
    return True if h.db.dialect == "postgresql" else 1


def _false(h: Harness) -> Any:
    return False if h.db.dialect == "postgresql" else 0


# --- receipts --------------------------------------------------------------------------------------------------


async def _accepted_reply(h: Harness, message_ids: list[str]) -> tuple[int, str]:
    """A reply born claimed by gw-a, its parts accepted with these SMSC message ids."""
    a = Instance(h, "gw-a")
    result = await a.mo("S")
    [reply_id] = result.reply_ids
    total = len(message_ids)
    parts = [PartAccepted(reply_id, n, mid, total, n == total) for n, mid in enumerate(message_ids, 1)]
    await a.run(Batch(accepted=parts))
    return reply_id, result.decisions[0].mo_id


def _receipt(message_id: str, state: str = "delivered") -> ReceiptJob:
    return ReceiptJob(message_id_variants(message_id), state)


async def test_a_receipt_quoting_the_message_id_in_another_form_settles_its_reply(harness: Harness) -> None:
    reply_id, mo_id = await _accepted_reply(harness, ["1A2B"])
    result = await run(harness, receipts=[_receipt("6699"), _receipt("FFFF")])  # 0x1A2B in decimal; unknown
    assert result.receipts == ((reply_id, mo_id), None)
    assert (await _reply(harness, reply_id))[0] == "delivered"
    assert await _parts(harness, reply_id) == [(1, "1A2B", "delivered")]


async def test_a_receipt_in_the_same_batch_as_its_accepted_part_settles_the_reply(harness: Harness) -> None:
    a = Instance(harness, "gw-a")
    [one] = (await a.mo("HELP")).reply_ids
    [two] = (await a.mo("S")).reply_ids
    await a.run(
        Batch(
            accepted=[
                PartAccepted(one, 1, "1A2B", 1, True),
                PartAccepted(two, 1, "c1", 2, False),
                PartAccepted(two, 2, "c2", 2, True),
            ],
            receipts=[_receipt("6699", "undeliverable"), _receipt("c1"), _receipt("c2")],
        )
    )
    assert (await _reply(harness, one))[0] == "undeliverable"
    assert await _parts(harness, two) == [(1, "c1", "delivered"), (2, "c2", "delivered")]
    assert (await _reply(harness, two))[0] == "delivered"
    assert await value(harness, "SELECT COUNT(*) FROM early_receipts") == 0


async def test_a_reply_of_several_parts_takes_its_state_once_every_part_has_one(harness: Harness) -> None:
    reply_id, _ = await _accepted_reply(harness, ["p1", "p2", "p3"])
    await run(harness, receipts=[_receipt("p1")])
    assert (await _reply(harness, reply_id))[0] == "submitted"
    await run(harness, receipts=[_receipt("p3", "undeliverable"), _receipt("p2")])
    assert (await _reply(harness, reply_id))[0] == "undeliverable", "the first failure is the reply's"


async def test_an_early_receipt_is_kept_and_applied_when_its_message_id_is_recorded(harness: Harness) -> None:
    a = Instance(harness, "gw-a")
    [reply_id] = (await a.mo("S")).reply_ids
    early = await run(harness, receipts=[_receipt("6699", "undeliverable")])  # before the submit_sm_resp
    assert early.receipts == (None,)
    assert await value(harness, "SELECT COUNT(*) FROM early_receipts") > 0
    await a.run(Batch(accepted=[PartAccepted(reply_id, 1, "1A2B", 1, True)]))
    assert (await _reply(harness, reply_id))[0] == "undeliverable"
    assert await value(harness, "SELECT COUNT(*) FROM early_receipts") == 0, "every form of its id is settled"


async def test_the_sweep_settles_an_early_receipt_another_instance_raced_past(harness: Harness) -> None:
    """The receipt was kept early while the other instance's batch recorded the message id (neither saw the other)."""
    a = Instance(harness, "gw-a")
    [reply_id] = (await a.mo("S")).reply_ids
    await run(harness, receipts=[_receipt("6699")])
    when = ts(harness.clock())
    async with harness.service.runner.store.transaction() as ex:  # what the racing batch wrote
        await ex.execute(
            "INSERT INTO mt_parts (outbox_id, part_no, smsc_message_id, state, updated_at)"
            " VALUES (?, 1, '1A2B', 'submitted', ?)",
            reply_id,
            when,
        )
        await ex.execute("UPDATE outbox SET state = 'submitted', parts = 1 WHERE id = ?", reply_id)
    assert await harness.service.runner.sweep() == 1
    assert (await _reply(harness, reply_id))[0] == "delivered"
    assert await value(harness, "SELECT COUNT(*) FROM early_receipts") == 0, "every form of its id is settled"
    assert await harness.service.runner.sweep() == 0


async def test_a_swept_receipt_leaves_no_form_of_its_id_to_settle_a_later_message(harness: Harness) -> None:
    """Receipt "10" is kept as "10", "a" and "A" (it may be hex quoted as decimal); swept, none may remain:
    an SMSC that numbers in hex later accepts another message as "A", which no receipt has named yet."""
    a = Instance(harness, "gw-a")
    [first] = (await a.mo("S")).reply_ids
    [second] = (await a.mo("HELP")).reply_ids
    await run(harness, receipts=[_receipt("10", "undeliverable")])
    async with harness.service.runner.store.transaction() as ex:  # the racing batch recorded "10"
        await ex.execute(
            "INSERT INTO mt_parts (outbox_id, part_no, smsc_message_id, state, updated_at)"
            " VALUES (?, 1, '10', 'submitted', ?)",
            first,
            ts(harness.clock()),
        )
        await ex.execute("UPDATE outbox SET state = 'submitted', parts = 1 WHERE id = ?", first)
    assert await harness.service.runner.sweep() == 1
    await a.run(Batch(accepted=[PartAccepted(second, 1, "A", 1, True)]))
    assert (await _reply(harness, first))[0] == "undeliverable"
    assert (await _reply(harness, second))[0] == "submitted", "no receipt named it yet"


async def test_a_receipt_repeated_after_its_reply_settled_changes_nothing(harness: Harness) -> None:
    reply_id, mo_id = await _accepted_reply(harness, ["77"])
    await run(harness, receipts=[_receipt("77")])
    again = await run(harness, receipts=[_receipt("77", "undeliverable")])
    assert again.receipts == ((reply_id, mo_id),)
    assert (await _reply(harness, reply_id))[0] == "delivered"


async def test_the_heartbeat_is_one_row_per_instance(harness: Harness) -> None:
    a = Instance(harness, "gw-a")
    await a.run(Batch(heartbeat=a.beat()))
    harness.clock.advance(seconds=3)
    await a.run(Batch(heartbeat=a.beat()))
    assert await fetch(harness, "SELECT name, heartbeat_at FROM instances") == [
        ("gw-a", ts(NOON + timedelta(seconds=3)))
    ]
