"""The whole unit of work on a real database, SQLite file and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from smsgw.db import schema
from smsgw.sealing import SEALED_PLACEHOLDER

from .conftest import Harness


async def _count(h: Harness, table: object, *where: object) -> int:
    stmt = select(func.count()).select_from(table)  # type: ignore[arg-type]
    for condition in where:
        stmt = stmt.where(condition)  # type: ignore[arg-type]
    return int(await h.db.read(lambda uow: uow.sql.value(stmt)))


async def _balance(h: Harness, msisdn: str) -> Decimal | None:
    sub = await h.db.read(lambda uow: uow.subscribers.get(msisdn))
    return sub.balance


async def test_one_off_top_up_is_recorded_charged_credited_and_answered(harness: Harness) -> None:
    result = await harness.mo("37120000001", "V 29000001 5")
    assert result.outcome == "topup_applied"
    assert [m.to for m in result.replies] == ["37120000001", "37129000001"]
    assert "29000001" in result.replies[0].text and "5,00" in result.replies[0].text
    assert await _balance(harness, "37129000001") == Decimal("5.00")
    assert await _count(harness, schema.topups) == 1
    assert await _count(harness, schema.charges) == 1
    assert await _count(harness, schema.mo_messages) == 1
    assert await _count(harness, schema.outbox, schema.outbox.c.state == "queued") == 2
    topup_mo = await harness.db.read(lambda uow: uow.sql.value(select(schema.topups.c.mo_id)))
    assert topup_mo == result.mo_id


async def test_refusals_are_recorded_and_answered_without_effects(harness: Harness) -> None:
    cases = [
        ("37120000001", "V 29000001 25", "amount_out_of_range"),
        ("37120000001", "V 20000002 5", "not_a_karte"),
        ("37120000003", "V 29000001 5", "not_eligible_legal"),
        ("37129000001", "V 29000002 5", "not_eligible_not_postpaid"),
        ("37125555555", "V 29000001 5", "not_eligible_unknown"),
        ("37120000001", "V 29000001 5.555", "not_understood_bad_amount"),
        ("37120000001", "JA", "no_pending"),
        ("37120000001", "STOP", "nothing_to_cancel"),
    ]
    for sender, text, outcome in cases:
        result = await harness.mo(sender, text)
        assert result.outcome == outcome, text
        assert len(result.replies) == 1 and result.replies[0].to == sender
    assert await _count(harness, schema.topups) == 0
    assert await _count(harness, schema.mo_messages) == len(cases)
    assert await _count(harness, schema.outbox) == len(cases)


async def test_daily_and_monthly_caps_across_days(harness: Harness) -> None:
    assert (await harness.mo("37120000001", "29000001 21.34")).outcome == "topup_applied"
    assert (await harness.mo("37120000001", "29000002 1.42")).outcome == "daily_cap"
    harness.clock.advance(days=1)
    assert (await harness.mo("37120000001", "29000002 21.34")).outcome == "topup_applied"
    harness.clock.advance(days=1)
    # 42.68 spent this month: 0.01 left, below the minimum amount, so any top-up passes the cap.
    assert (await harness.mo("37120000001", "29000002 1.42")).outcome == "monthly_cap"
    harness.clock.advance(days=14)  # December in Riga: a new month
    assert (await harness.mo("37120000001", "29000002 5")).outcome == "topup_applied"


async def test_a_redelivery_by_smsc_id_is_answered_from_the_record(harness: Harness) -> None:
    first = await harness.mo("37120000001", "V 29000001 5", smsc_ref="abc-1")
    again = await harness.mo("37120000001", "V 29000001 5", smsc_ref="abc-1")
    assert again.redelivery and again.mo_id == first.mo_id and again.outcome == "topup_applied"
    assert again.replies == ()
    later = await harness.mo("37120000001", "V 29000001 5", smsc_ref="abc-2")
    assert not later.redelivery and later.outcome == "topup_applied"
    assert await _count(harness, schema.topups) == 2
    assert await _count(harness, schema.outbox) == 4


async def test_a_redelivery_without_id_is_recognised_within_the_window_only(harness: Harness) -> None:
    await harness.mo("37120000001", "V 29000001 5")
    harness.clock.advance(seconds=30)
    again = await harness.mo("37120000001", "V 29000001 5")
    assert again.redelivery
    assert await _count(harness, schema.topups) == 1
    harness.clock.advance(seconds=harness.service.redelivery_window.total_seconds())
    repeat = await harness.mo("37120000001", "V 29000001 5")
    assert not repeat.redelivery and repeat.outcome == "topup_applied"
    assert await _count(harness, schema.topups) == 2


async def test_a_repeat_after_the_smsc_confirmed_our_ack_is_a_new_message(harness: Harness) -> None:
    first = await harness.mo("37120000001", "V 29000001 5")
    unconfirmed = await harness.mo("37120000001", "V 29000001 5")
    assert unconfirmed.redelivery and unconfirmed.replies == ()
    await harness.db.write(lambda uow: uow.messages.confirm_acks([first.mo_id]))
    again = await harness.mo("37120000001", "V 29000001 5")
    assert not again.redelivery and again.outcome == "topup_applied" and again.replies
    assert await _count(harness, schema.topups) == 2


async def test_read_only_commands_are_answered_from_the_record_too(harness: Harness) -> None:
    first = await harness.mo("37120000001", "S")
    second = await harness.mo("37120000001", "S")
    assert second.redelivery and second.mo_id == first.mo_id
    await harness.db.write(lambda uow: uow.messages.confirm_acks([first.mo_id]))
    third = await harness.mo("37120000001", "S")
    assert not third.redelivery and third.replies and third.mo_id != first.mo_id


async def test_monthly_order_runs_once_on_the_last_day_even_when_run_twice(harness: Harness) -> None:
    assert (await harness.mo("37120000002", "M 29000001 10")).outcome == "monthly_requested"
    assert (await harness.mo("37120000002", "JA")).outcome == "monthly_confirmed"
    from datetime import date

    assert await harness.service.run_monthly(date(2026, 11, 29)) == {}
    assert await harness.service.run_monthly(date(2026, 11, 30)) == {"monthly_executed": 1}
    assert await harness.service.run_monthly(date(2026, 11, 30)) == {}
    assert await _count(harness, schema.charges, schema.charges.c.kind == "monthly") == 1
    assert await _balance(harness, "37129000001") == Decimal("10.00")
    # STOP in December: December's run still happens, January's does not.
    harness.clock.advance(days=20)
    assert (await harness.mo("37120000002", "STOP")).outcome == "monthly_cancelled"
    assert await harness.service.run_monthly(date(2026, 12, 31)) == {"monthly_executed": 1}
    assert await harness.service.run_monthly(date(2027, 1, 31)) == {}


async def test_password_is_sealed_in_the_outbox_and_works_once(harness: Harness) -> None:
    result = await harness.mo("37120000002", "P", destination="1640")
    assert result.outcome == "password_issued"
    reply = result.replies[0]
    password = reply.text.split(": ")[1].split(" ")[0]
    assert len(password) == 10
    row = await harness.db.read(lambda uow: uow.sql.row(select(schema.outbox.c.text, schema.outbox.c.sealed)))
    assert row.text == SEALED_PLACEHOLDER and password not in row.sealed
    assert harness.service.sealer.unseal(row.sealed) == reply.text
    hashes = await harness.db.read(lambda uow: uow.sql.value(select(schema.temporary_passwords.c.password_hash)))
    assert password not in hashes and hashes.startswith("scrypt$")
    assert await _count(harness, schema.email_outbox) == 1
    assert await harness.service.check_password("37120000002", "wrong-pass") is False
    assert await harness.service.check_password("37120000002", password) is True
    assert await harness.service.check_password("37120000002", password) is False


async def test_password_expires_after_24_hours(harness: Harness) -> None:
    result = await harness.mo("37120000001", "P", destination="1640")
    password = result.replies[0].text.split(": ")[1].split(" ")[0]
    harness.clock.advance(hours=24, seconds=1)
    assert await harness.service.check_password("37120000001", password) is False


async def test_unknown_number_gets_no_password_and_no_reply(harness: Harness) -> None:
    result = await harness.mo("37125555555", "P", destination="1640")
    assert result.outcome == "password_unknown_number" and result.replies == ()
    assert await _count(harness, schema.temporary_passwords) == 0


async def test_mo_to_an_unknown_short_code_is_recorded_and_not_answered(harness: Harness) -> None:
    result = await harness.mo("37120000001", "V 29000001 5", destination="9999")
    assert result.outcome == "unknown_service" and result.replies == ()
    assert await _count(harness, schema.mo_messages) == 1


async def test_expired_pending_request_is_refused(harness: Harness) -> None:
    await harness.mo("37120000001", "M 29000001 5")
    harness.clock.advance(hours=24, seconds=1)
    result = await harness.mo("37120000001", "JA")
    assert result.outcome == "pending_expired"
    assert "M 29000001 5,00" in result.replies[0].text
    assert await _count(harness, schema.monthly_orders) == 0


async def test_top_up_and_charge_rows_pair_one_to_one(harness: Harness) -> None:
    for text in ("V 29000001 5", "29000002 3,50", "29000001 1.42"):
        await harness.mo("37120000001", text)
    pairs = await harness.db.read(
        lambda uow: uow.sql.rows(
            select(schema.topups.c.id, schema.topups.c.amount_cents, schema.charges.c.amount_cents).join(
                schema.charges, schema.charges.c.topup_id == schema.topups.c.id
            )
        )
    )
    assert len(pairs) == 3 and all(row[1] == row[2] for row in pairs)
    assert sorted(row[1] for row in pairs) == [142, 350, 500]


async def test_time_window_helpers_use_riga_days(harness: Harness) -> None:
    # 21:30 UTC on 18 Nov is 23:30 in Riga; 22:30 UTC is already 19 Nov there.
    harness.clock.now = harness.clock.now.replace(hour=21, minute=30)
    assert (await harness.mo("37120000001", "29000001 21.34")).outcome == "topup_applied"
    harness.clock.advance(hours=1)
    assert (await harness.mo("37120000001", "29000001 21.34")).outcome == "topup_applied"
    assert harness.clock.now - timedelta(hours=1) < harness.clock.now
