"""The batch unit of work on a real database (SQLite file and PostgreSQL): load, decide, write, commit.

A batch of many MOs leaves exactly what the same MOs leave one by one through
``Service.handle_mo``; caps hold when batches race; copies are recognised across
batches; a serialization failure or deadlock runs the batch again; one MO the
database refuses is split off alone.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from handlers.credentials import new_temporary_password
from smpp.receipts import message_id_variants
from smsgw.batch.jobs import PartOf
from smsgw.batch.runner import BatchRunner
from smsgw.db.batch_store import PostgresBatchStore, SqliteBatchStore
from smsgw.mo import InboundMo
from smsgw.sealing import SEALED_PLACEHOLDER

from .batch_support import HookedStore, fetch, job, ready_harness, run, second_url, value
from .conftest import Harness

SENDER = "37120000001"  # postpaid, private, Latvian
ANN = "37120000002"  # postpaid, English, has an e-mail address

# (source, text, destination, smsc_ref, outcome, a copy?): every command, refusals, caps, copies, both short codes.
SCRIPT: list[tuple[str, str, str, str | None, str, bool]] = [
    (SENDER, "V 29000003 3", "1643", "ref-1", "topup_applied", False),
    (SENDER, "V 29000003 3", "1643", "ref-1", "topup_applied", True),
    (SENDER, "V 29000001 10", "1643", None, "topup_applied", False),
    (SENDER, "V 29000002 5", "1643", None, "topup_applied", False),
    (SENDER, "V 29000001 5", "1643", None, "daily_cap", False),  # 18.00 + 5.00 > 21.34
    (SENDER, "V 29000003 1.42", "1643", "ref-2", "topup_applied", False),  # 19.42: still fits
    (SENDER, "S", "1643", None, "status", False),
    (SENDER, "S", "1643", None, "status", True),
    (SENDER, "S 29000001", "1643", None, "status_karte", False),
    (ANN, "M 29000001 7", "1643", None, "monthly_requested", False),
    (ANN, "JA", "1643", None, "monthly_confirmed", False),
    (ANN, "HELP", "1643", None, "help", False),
    (ANN, "STOP", "1643", None, "monthly_cancelled", False),
    (ANN, "V?", "1643", None, "help_one_off", False),
    (ANN, "P", "1640", None, "password_issued", False),  # held back, then issued with a prepared password
    ("37120000004", "V 29000003 21.34", "1643", None, "topup_applied", False),
    ("37120000004", "29000003 1.42", "1643", None, "daily_cap", False),
    ("37120000003", "V 29000001 5", "1643", None, "not_eligible_legal", False),
    ("37125555555", "S", "1643", None, "not_eligible_unknown", False),
    ("37125555555", "P", "1640", None, "password_unknown_number", False),  # silence
    (SENDER, "V 29000001 5.555", "1643", None, "not_understood_bad_amount", False),
    (SENDER, "XYZ", "1643", None, "not_understood_unknown_keyword", False),
    (SENDER, "HELLO", "1640", None, "not_understood_unknown_keyword", False),
    ("LMT", "HELP", "1643", None, "help", False),  # no submit_sm can answer it: no reply
]

_TABLES = {
    "mo": "SELECT id, source, destination, text, command, outcome, acked, smsc_ref FROM mo_messages",
    "topups": "SELECT sender, karte, amount_cents, kind, created_at, mo_id FROM topups",
    "charges": "SELECT sender, karte, amount_cents, kind, charged_at FROM charges",
    "replies": "SELECT mo_id, source, destination, text, state, claimed_by, expires_at FROM outbox",
    "subscribers": "SELECT msisdn, balance_cents, karte_expires_on FROM subscribers",
    "pending": "SELECT sender, karte, amount_cents, requested_at FROM pending_requests",
    "orders": "SELECT sender, karte, amount_cents, last_month FROM monthly_orders",
    "password_requests": "SELECT msisdn, requested_at, outcome FROM password_requests",
    "temporary_passwords": "SELECT msisdn, created_at, expires_at FROM temporary_passwords",
    "emails": "SELECT recipient, subject, body FROM email_outbox",
}


async def _state(h: Harness) -> dict[str, list[tuple[Any, ...]]]:
    return {name: sorted(await fetch(h, sql), key=repr) for name, sql in _TABLES.items()}


@pytest.fixture
async def pair(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[tuple[Harness, Harness]]:
    first = await ready_harness(database_url)
    second = await ready_harness(await second_url(request, database_url))
    try:
        yield first, second
    finally:
        await first.db.close()
        await second.db.close()


async def test_a_batch_of_many_mos_leaves_what_the_same_mos_leave_one_by_one(pair: tuple[Harness, Harness]) -> None:
    one_by_one, batched = pair
    mos = [InboundMo(src, dst, text, one_by_one.clock(), ref) for src, text, dst, ref, _, _ in SCRIPT]
    results = [await one_by_one.service.handle_mo(mo) for mo in mos]
    assert [(r.outcome, r.redelivery) for r in results] == [s[4:] for s in SCRIPT], "the script does what it says"

    jobs = [job(batched, mo.source, mo.text, mo.destination, smsc_ref=mo.smsc_ref, id=mo.id) for mo in mos]
    result = await run(batched, *jobs)
    decisions = list(result.decisions)
    held = [(i, j) for i, (j, d) in enumerate(zip(jobs, decisions, strict=True)) if d.needs_password]
    assert [jobs[i].text for i, _ in held] == ["P"], "only the eligible P waits for a password"
    for i, held_job in held:
        prepared = replace(held_job, password=new_temporary_password(n=2**10))
        again = await run(batched, prepared)
        decisions[i] = again.decisions[0]

    assert [(d.mo_id, d.outcome, d.copy_of is not None) for d in decisions] == [
        (r.mo_id, r.outcome, r.redelivery) for r in results
    ]
    assert [[m.to for m in d.replies] for d in decisions] == [[m.to for m in r.replies] for r in results]
    assert await _state(batched) == await _state(one_by_one)
    replies = sum(len(r.replies) for r in results)
    assert await value(batched, "SELECT COUNT(*) FROM outbox") == replies == 25


async def test_the_replies_of_a_batch_come_back_with_their_outbox_ids_in_order(harness: Harness) -> None:
    jobs = [job(harness, SENDER, f"V 2900000{1 + i % 3} 1.42", smsc_ref=f"r{i}") for i in range(12)]
    jobs += [job(harness, ANN, "HELP", smsc_ref="h"), job(harness, "37120000004", "S", smsc_ref="s")]
    result = await run(harness, *jobs)
    assert len(result.reply_ids) == len(set(result.reply_ids)) == 2 * 12 + 2
    for decision in result.decisions:
        for position, message in zip(decision.reply_positions, decision.replies, strict=True):
            row = await fetch(
                harness, "SELECT mo_id, destination, text FROM outbox WHERE id = ?", result.reply_ids[position]
            )
            assert row == [(decision.mo_id, message.to, message.text)]


# --- caps under concurrency ------------------------------------------------------------------------------


async def test_fifty_mos_of_one_sender_in_one_batch_keep_the_daily_cap(harness: Harness) -> None:
    jobs = [job(harness, SENDER, "V 29000001 1.42", smsc_ref=f"m{i}") for i in range(50)]
    result = await run(harness, *jobs)
    outcomes = [d.outcome for d in result.decisions]
    assert outcomes == ["topup_applied"] * 15 + ["daily_cap"] * 35  # 15 × 1.42 = 21.30 ≤ 21.34
    assert await value(harness, "SELECT SUM(amount_cents) FROM topups") == 2130
    assert await value(harness, "SELECT balance_cents FROM subscribers WHERE msisdn = '37129000001'") == 2130


async def test_batches_racing_over_several_connections_keep_the_caps(harness: Harness) -> None:
    """Ten batches of five MOs of one sender at once, through two stores (two instances) of several connections."""
    url = harness.db.url
    if url.startswith("sqlite"):
        stores: list[Any] = [SqliteBatchStore(harness.db.path)]  # type: ignore[attr-defined]
    else:
        stores = [PostgresBatchStore(url, pool_size=4), PostgresBatchStore(url, pool_size=4)]
    runners = [_runner(harness, store) for store in stores]
    amounts = ["7", "3.33", "10", "1.42", "21.34"]
    batches = [
        [job(harness, SENDER, f"29000002 {amounts[(b + i) % 5]}", smsc_ref=f"b{b}m{i}") for i in range(5)]
        for b in range(10)
    ]
    try:
        results = await asyncio.gather(
            *(run(harness, *jobs, runner=runners[b % len(runners)]) for b, jobs in enumerate(batches))
        )
    finally:
        for store in stores:
            await store.close()
    outcomes = [d.outcome for r in results for d in r.decisions]
    assert set(outcomes) <= {"topup_applied", "daily_cap"} and "daily_cap" in outcomes
    applied = await fetch(harness, "SELECT amount_cents FROM topups WHERE sender = ?", SENDER)
    assert len(applied) == outcomes.count("topup_applied")
    total = sum(cents for (cents,) in applied)
    assert 0 < total <= 2134
    assert await value(harness, "SELECT balance_cents FROM subscribers WHERE msisdn = '37129000002'") == total
    assert await value(harness, "SELECT COUNT(*) FROM mo_messages") == 50


def _runner(h: Harness, store: Any) -> BatchRunner:
    service = h.service
    return BatchRunner(
        store,
        service.decider,
        variants=message_id_variants,
        redelivery_window=service.redelivery_window,
        clock=h.clock,
    )


# --- copies across batches -------------------------------------------------------------------------------


async def test_a_copy_is_recognised_across_batches_until_the_smsc_read_our_response(harness: Harness) -> None:
    original = job(harness, SENDER, "V 29000001 5")
    [first] = (await run(harness, original)).decisions
    harness.clock.advance(seconds=40)
    [copy] = (await run(harness, job(harness, SENDER, "V 29000001 5"))).decisions
    assert (copy.copy_of, copy.mo_id, copy.outcome, copy.replies) == (first.mo_id, first.mo_id, "topup_applied", ())
    await run(harness, acks=[first.mo_id])  # the SMSC was seen to read our response
    [again] = (await run(harness, job(harness, SENDER, "V 29000001 5"))).decisions
    assert again.copy_of is None and again.outcome == "topup_applied"
    assert await value(harness, "SELECT COUNT(*) FROM topups") == 2
    assert await value(harness, "SELECT acked FROM mo_messages WHERE id = ?", first.mo_id) in (True, 1)


async def test_a_proof_of_reading_in_the_batch_that_finds_a_copy_confirms_nothing(harness: Harness) -> None:
    """The copy was sent before the SMSC read our response: that response came too late to count."""
    [first] = (await run(harness, job(harness, SENDER, "V 29000001 5"))).decisions
    [copy] = (await run(harness, job(harness, SENDER, "V 29000001 5"), acks=[first.mo_id])).decisions
    assert copy.copy_of == first.mo_id
    assert await value(harness, "SELECT acked FROM mo_messages WHERE id = ?", first.mo_id) in (False, 0)
    [again] = (await run(harness, job(harness, SENDER, "V 29000001 5"))).decisions
    assert again.copy_of == first.mo_id, "the next copy is still recognised"
    assert await value(harness, "SELECT COUNT(*) FROM topups") == 1


async def test_a_copy_by_smsc_id_is_recognised_whatever_its_text_and_after_the_window(harness: Harness) -> None:
    [first] = (await run(harness, job(harness, SENDER, "V 29000001 5", smsc_ref="smsc-77"))).decisions
    await run(harness, acks=[first.mo_id])
    harness.clock.advance(days=2)
    [copy] = (await run(harness, job(harness, SENDER, "V 29000001 6", smsc_ref="smsc-77"))).decisions
    assert copy.copy_of == first.mo_id and copy.outcome == "topup_applied"
    assert await value(harness, "SELECT COUNT(*) FROM topups") == 1


async def test_the_same_text_after_the_redelivery_window_is_a_new_message(harness: Harness) -> None:
    await run(harness, job(harness, SENDER, "S"))
    harness.clock.advance(seconds=harness.service.redelivery_window.total_seconds() + 1)
    [later] = (await run(harness, job(harness, SENDER, "S"))).decisions
    assert later.copy_of is None and later.replies


# --- retried, split ----------------------------------------------------------------------------------------


def _server_raises(sqlstate: str) -> Any:
    async def fail(ex: Any) -> None:  # PostgreSQL itself raises it, as it would for a real conflict
        await ex.execute(f"DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{sqlstate}'; END $$")

    return fail


async def _sqlite_busy(ex: Any) -> None:
    raise sqlite3.OperationalError("database is locked")


def _first_attempt(fail: Any) -> Any:
    """A hook that makes the first attempt fail as ``fail(executor)`` does, after the batch loaded and decided."""

    async def before_record(ex: Any, attempt: int) -> None:
        if attempt == 1:
            await fail(ex)

    return before_record


async def _retried_once(h: Harness, fail: Any) -> None:
    store = HookedStore(h.service.runner.store, before_record=_first_attempt(fail))
    runner = _runner(h, store)
    result = await run(h, job(h, SENDER, "V 29000001 5"), job(h, ANN, "HELP"), runner=runner)
    assert [d.outcome for d in result.decisions] == ["topup_applied", "help"]
    assert (store.attempts, runner.retries, runner.commits) == (2, 1, 1)
    assert await value(h, "SELECT COUNT(*) FROM topups") == 1, "the first attempt left nothing behind"
    assert await value(h, "SELECT COUNT(*) FROM mo_messages") == 2
    assert await value(h, "SELECT balance_cents FROM subscribers WHERE msisdn = '37129000001'") == 500


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])  # serialization_failure, deadlock_detected
async def test_a_serialization_failure_or_deadlock_runs_the_batch_again_once(postgres_url: str, sqlstate: str) -> None:
    h = await ready_harness(postgres_url)
    try:
        await _retried_once(h, _server_raises(sqlstate))
    finally:
        await h.db.close()


async def test_sqlite_busy_inside_a_batch_runs_it_again_once(sqlite_url: str) -> None:
    h = await ready_harness(sqlite_url)
    try:
        await _retried_once(h, _sqlite_busy)
    finally:
        await h.db.close()


async def test_an_error_that_is_no_conflict_is_not_retried(postgres_url: str) -> None:
    h = await ready_harness(postgres_url)
    try:
        store = HookedStore(h.service.runner.store, before_record=_first_attempt(_server_raises("22012")))
        runner = _runner(h, store)
        with pytest.raises(Exception, match="injected"):
            await run(h, job(h, SENDER, "V 29000001 5"), runner=runner)
        assert (store.attempts, runner.retries, runner.commits) == (1, 0, 0)
        assert await value(h, "SELECT COUNT(*) FROM topups") == 0
    finally:
        await h.db.close()


async def test_an_mo_the_database_refuses_is_split_off_and_the_others_are_kept(harness: Harness) -> None:
    [recorded] = (await run(harness, job(harness, SENDER, "S"))).decisions
    # An MO whose id is taken: its row is refused (a unique violation, not worth a retry).
    clash = job(harness, ANN, "HELP", id=recorded.mo_id)
    jobs = [job(harness, SENDER, "V 29000001 5"), clash, job(harness, "37120000004", "V 29000002 2")]
    commits = harness.service.runner.commits
    result = await run(harness, *jobs, acks=[recorded.mo_id])
    assert [(d.outcome, d.failed) for d in result.decisions] == [
        ("topup_applied", False),
        ("failed", True),
        ("topup_applied", False),
    ]
    assert harness.service.runner.commits == commits + 3, "each good MO alone, then the rest of the work"
    for decision in (result.decisions[0], result.decisions[2]):
        for position, message in zip(decision.reply_positions, decision.replies, strict=True):
            row = await fetch(harness, "SELECT mo_id, destination FROM outbox WHERE id = ?", result.reply_ids[position])
            assert row == [(decision.mo_id, message.to)]
    assert await value(harness, "SELECT COUNT(*) FROM topups") == 2
    assert await value(harness, "SELECT acked FROM mo_messages WHERE id = ?", recorded.mo_id) in (True, 1)


async def test_a_batch_of_one_the_database_refuses_fails_to_its_caller(harness: Harness) -> None:
    [recorded] = (await run(harness, job(harness, SENDER, "S"))).decisions
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await run(harness, job(harness, ANN, "HELP", id=recorded.mo_id))


async def test_sqlite_waits_for_another_writer_on_the_event_loop_then_commits(tmp_path: Any) -> None:
    """A writer holding SQLite's lock (an import, a backup) does not stop the loop; past busy_timeout, retried."""
    h = await ready_harness(f"sqlite+aiosqlite:///{tmp_path / 'smsgw.db'}")
    store = SqliteBatchStore(h.db.path, busy_timeout=0.05)  # type: ignore[attr-defined]
    runner = _runner(h, store)
    blocker = sqlite3.connect(h.db.path, isolation_level=None)  # type: ignore[attr-defined]
    try:
        blocker.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        ticking = asyncio.create_task(ticker())
        batch = asyncio.create_task(run(h, job(h, SENDER, "V 29000001 5"), runner=runner))
        await asyncio.sleep(0.3)
        assert not batch.done() and ticks > 20, "the batch waits; the loop runs on"
        blocker.execute("COMMIT")
        result = await asyncio.wait_for(batch, 5)
        ticking.cancel()
        assert result.decisions[0].outcome == "topup_applied"
        assert runner.retries >= 1, "waiting longer than busy_timeout failed an attempt, which was retried"
        assert runner.commits == 1
    finally:
        blocker.close()
        await store.close()
        await h.db.close()


async def test_the_password_of_a_held_p_is_issued_by_a_second_batch(harness: Harness) -> None:
    p = job(harness, ANN, "P", "1640")
    [held] = (await run(harness, p)).decisions
    assert held.needs_password
    assert await value(harness, "SELECT COUNT(*) FROM password_requests") == 0
    [issued] = (await run(harness, replace(p, password=new_temporary_password(n=2**10)))).decisions
    assert issued.outcome == "password_issued"
    assert await value(harness, "SELECT COUNT(*) FROM temporary_passwords WHERE msisdn = ?", ANN) == 1
    assert await fetch(harness, "SELECT text, sealed IS NOT NULL FROM outbox") == [(SEALED_PLACEHOLDER, True)]


async def test_a_long_mo_completes_across_batches(harness: Harness) -> None:
    def part(text: str, sequence: int) -> Any:
        return replace(job(harness, SENDER, text), part=PartOf(5, 3, sequence), command=None)

    [first] = (await run(harness, part("V 2900", 1))).decisions
    assert first.part_stored
    [second] = (await run(harness, part("0001", 2))).decisions
    assert second.part_stored
    last = part(" 5", 3)
    [done] = (await run(harness, last)).decisions
    assert (done.outcome, done.text, done.mo_id) == ("topup_applied", "V 29000001 5", last.id)
    assert await fetch(harness, "SELECT DISTINCT mo_id FROM mo_parts") == [(last.id,)]
    [again] = (await run(harness, part("0001", 2))).decisions
    assert again.outcome == "redelivered_part"
    assert await value(harness, "SELECT COUNT(*) FROM topups") == 1
