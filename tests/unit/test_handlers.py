"""Every handler through the in-memory unit of work at a fixed instant.

Each success and each refusal of SPEC §3–§4: the Reply's outcome, who the
messages go to and what they say (key facts, in the recipient's language), and
the effects left in the fakes (ledger rows, Karte balance and expiry, pending
requests, orders and their monthly runs, passwords, e-mail). Refusals are raised
as ``handlers.errors.Refusal`` subclasses before anything is written; the edge
turns them into replies with ``handlers.replies``, tested at the end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from grammar import (
    PASSWORD_SHORT_CODE,
    SOS_SHORT_CODE,
    CancelMonthly,
    Command,
    Confirm,
    Help,
    HelpTopic,
    ParseError,
    Problem,
    RequestMonthly,
    ResetPassword,
    Status,
    TopUp,
    parse,
)
from handlers import HANDLERS
from handlers.credentials import hash_password, verify_password
from handlers.errors import (
    AmountOutOfRange,
    DailyCapReached,
    KarteExpiredTooLong,
    KarteNotActive,
    MonthlyCapReached,
    NoPendingRequest,
    NotAKarte,
    NothingToCancel,
    PendingRequestExpired,
    Refusal,
    SenderNotEligible,
    Silence,
)
from handlers.model import (
    CustomerType,
    Language,
    MonthlyOrder,
    PendingRequest,
    Reply,
    Subscriber,
    SubscriberStatus,
    TopUpKind,
)
from handlers.monthly_run import execute
from handlers.password import check_temporary_password, verify_portal_password
from handlers.replies import reply_to_parse_error, reply_to_refusal
from tests.unit.fakes import (
    DECOY,
    FAST_SCRYPT_N,
    KARTE,
    KARTE_2,
    NOW,
    SENDER,
    FakeUnitOfWork,
    RecordingVerifier,
    ctx,
    karte,
    postpaid,
    transaction,
)

D = Decimal
LV, EN = Language.LV, Language.EN
KARTE_3 = "37129000003"
OTHER_SENDER = "37120000009"
#: 10:00 in Riga (EEST) on 31 March 2026: the configured time of the last-day run.
RUN_DATE = date(2026, 3, 31)
RUN_AT = datetime(2026, 3, 31, 7, 0, tzinfo=UTC)


def world(*extra: Subscriber, sender: Subscriber | None = None) -> FakeUnitOfWork:
    """A sender (private postpaid, lv) and one active Karte (lv, valid until 30.06.2026), plus ``extra``."""
    return FakeUnitOfWork.with_subscribers(sender or postpaid(), karte(), *extra)


async def send(uow: FakeUnitOfWork, cmd: Command, **context: Any) -> Reply:
    """Run ``cmd`` through the registered handler, as the service does."""
    return await HANDLERS[type(cmd)](cmd, ctx(uow, **context))


def texts_to(reply: Reply, msisdn: str) -> list[str]:
    return [message.text for message in reply.messages if message.to == msisdn]


def only_text(reply: Reply, msisdn: str = SENDER) -> str:
    assert [message.to for message in reply.messages] == [msisdn]
    return reply.messages[0].text


def balance(uow: FakeUnitOfWork, msisdn: str = KARTE) -> Decimal | None:
    subscriber = uow.subscribers.by_msisdn[msisdn]
    return subscriber.balance


def expiry(uow: FakeUnitOfWork, msisdn: str = KARTE) -> date | None:
    return uow.subscribers.by_msisdn[msisdn].karte_expires_on


async def refused(uow: FakeUnitOfWork, cmd: Command, refusal: type[Refusal], **context: Any) -> Refusal:
    """The command is refused with ``refusal`` and leaves every store as it was."""
    before = snapshot(uow)
    with pytest.raises(refusal) as caught:
        await send(uow, cmd, **context)
    assert snapshot(uow) == before
    return caught.value


def snapshot(uow: FakeUnitOfWork) -> tuple[object, ...]:
    return (
        dict(uow.subscribers.by_msisdn),
        list(uow.ledger.rows),
        dict(uow.pending.by_sender),
        [(r.id, r.sender, r.karte, r.amount, r.confirmed_at, r.last_month) for r in uow.orders.rows],
        dict(uow.orders.runs),
        list(uow.passwords.requests),
        dict(uow.passwords.temporaries),
        list(uow.emails.sent),
    )


# =============================================================================
# One-off top-up: V 2XXXXXXX LL / 2XXXXXXX LL
# =============================================================================


async def test_one_off_top_up_credits_the_karte_and_tells_both_in_their_languages() -> None:
    uow = world(sender=postpaid(language=EN))
    reply = await send(uow, TopUp(KARTE, D("5.00")))

    assert reply.outcome == "topup_applied"
    assert sorted(message.to for message in reply.messages) == sorted([SENDER, KARTE])
    assert not any(message.sensitive for message in reply.messages)
    [to_sender] = texts_to(reply, SENDER)
    assert "29123456" in to_sender and "5.00 EUR" in to_sender and "invoice" in to_sender
    [to_karte] = texts_to(reply, KARTE)  # the Karte user speaks Latvian
    assert "20000001" in to_karte and "5,00 EUR" in to_karte and "papildināta" in to_karte
    assert "371" not in to_sender + to_karte  # numbers shown in national form

    [row] = uow.ledger.rows
    assert (row.sender, row.karte, row.amount, row.kind, row.at, row.mo_id) == (
        SENDER,
        KARTE,
        D("5.00"),
        TopUpKind.ONE_OFF,
        NOW,
        "mo-1",
    )
    assert balance(uow) == D("5.00")
    assert expiry(uow) == date(2026, 6, 30)  # 5.00 gives 90 days (08.06.2026): a later expiry stays


async def test_top_up_messages_follow_each_recipients_language_the_other_way_round() -> None:
    uow = world(sender=postpaid(language=LV))
    uow.subscribers.add(karte(language=EN, balance=D("1.00")))
    reply = await send(uow, TopUp(KARTE, D("21.34")))
    [to_sender] = texts_to(reply, SENDER)
    [to_karte] = texts_to(reply, KARTE)
    assert "21,34 EUR" in to_sender and "rēķinā" in to_sender
    assert "21.34 EUR" in to_karte and "20000001" in to_karte and "topped up" in to_karte
    assert balance(uow) == D("22.34")
    assert expiry(uow) == date(2027, 3, 10)  # 21.34 gives 365 days from 10.03.2026


async def test_an_expired_karte_within_six_months_is_topped_up_and_usable_again() -> None:
    uow = world(karte(KARTE_2, expires_on=date(2025, 9, 10), balance=None))  # exactly 6 months ago
    reply = await send(uow, TopUp(KARTE_2, D("1.42")))
    assert reply.outcome == "topup_applied"
    assert balance(uow, KARTE_2) == D("1.42")
    assert expiry(uow, KARTE_2) == date(2026, 4, 9)  # 30 days from today


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        (None, "unknown"),
        (postpaid(status=SubscriberStatus.CANCELLED), "inactive"),
        (karte(SENDER), "not_postpaid"),
        (postpaid(customer_type=CustomerType.LEGAL), "legal"),
    ],
)
@pytest.mark.parametrize(
    "cmd",
    [
        TopUp(KARTE, D("5.00")),
        RequestMonthly(KARTE, D("5.00")),
        Confirm(),
        CancelMonthly(),
        CancelMonthly(KARTE),
        Status(),
        Status(KARTE),
    ],
    ids=repr,
)
async def test_only_eligible_senders_use_sos_sms(sender: Subscriber | None, reason: str, cmd: Command) -> None:
    uow = FakeUnitOfWork.with_subscribers(karte())
    if sender is not None:
        uow.subscribers.add(sender)
    await uow.pending.put(_pending(D("5.00")))
    await uow.orders.save(SENDER, KARTE, D("5.00"), NOW - timedelta(days=40))
    error = await refused(uow, cmd, SenderNotEligible)
    assert error.params == {"reason": reason}


async def test_a_legal_entity_with_sos_sms_allowed_may_top_up() -> None:
    uow = world(sender=postpaid(customer_type=CustomerType.LEGAL, sos_sms_allowed=True))
    assert (await send(uow, TopUp(KARTE, D("5.00")))).outcome == "topup_applied"


@pytest.mark.parametrize("amount", ["1.41", "21.35", "42.69"])
async def test_one_off_amount_out_of_range(amount: str) -> None:
    error = await refused(world(), TopUp(KARTE, D(amount)), AmountOutOfRange)
    assert error.params == {"amount": D(amount), "low": D("1.42"), "high": D("21.34"), "monthly": False}


@pytest.mark.parametrize("amount", ["1.42", "21.34"])
async def test_one_off_amount_at_the_limits(amount: str) -> None:
    uow = world()
    assert (await send(uow, TopUp(KARTE, D(amount)))).outcome == "topup_applied"
    assert balance(uow) == D(amount)


@pytest.mark.parametrize(
    ("target", "refusal", "params"),
    [
        (None, NotAKarte, {"karte": KARTE_2}),
        (postpaid(KARTE_2), NotAKarte, {"karte": KARTE_2}),
        (karte(KARTE_2, status=SubscriberStatus.CANCELLED), KarteNotActive, {"karte": KARTE_2}),
        (karte(KARTE_2, expires_on=date(2025, 9, 9)), KarteExpiredTooLong, {"karte": KARTE_2, "months": 6}),
    ],
)
@pytest.mark.parametrize("monthly", [False, True])
async def test_the_target_must_be_an_active_karte(
    target: Subscriber | None, refusal: type[Refusal], params: dict[str, object], monthly: bool
) -> None:
    uow = world() if target is None else world(target)
    cmd = RequestMonthly(KARTE_2, D("5.00")) if monthly else TopUp(KARTE_2, D("5.00"))
    error = await refused(uow, cmd, refusal)
    assert error.params == params


async def test_daily_cap_across_several_top_ups_and_the_riga_midnight() -> None:
    uow = world(karte(KARTE_2))
    # 10.03.2026 is EET (UTC+2): the Riga day runs 09.03 22:00 UTC – 10.03 22:00 UTC.
    await send(uow, TopUp(KARTE, D("10.00")), now=datetime(2026, 3, 9, 22, 0, tzinfo=UTC))
    await send(uow, TopUp(KARTE_2, D("11.34")), now=NOW)  # exactly 21.34 today
    error = await refused(uow, TopUp(KARTE, D("1.42")), DailyCapReached, now=datetime(2026, 3, 10, 21, 59, tzinfo=UTC))
    assert error.params == {"cap": D("21.34"), "left": D("0.00")}

    # 22:00 UTC is midnight in Riga: a new day, the same month
    reply = await send(uow, TopUp(KARTE, D("21.34")), now=datetime(2026, 3, 10, 22, 0, tzinfo=UTC))
    assert reply.outcome == "topup_applied"
    assert balance(uow) == D("31.34")
    assert len(uow.ledger.rows) == 3


async def test_daily_cap_says_what_is_left() -> None:
    uow = world()
    await send(uow, TopUp(KARTE, D("20.00")))
    error = await refused(uow, TopUp(KARTE, D("1.42")), DailyCapReached, now=NOW + timedelta(hours=1))
    assert error.params == {"cap": D("21.34"), "left": D("1.34")}


async def test_monthly_cap_across_days() -> None:
    uow = world()
    await send(uow, TopUp(KARTE, D("21.34")), now=NOW - timedelta(days=2))
    await send(uow, TopUp(KARTE, D("20.00")), now=NOW - timedelta(days=1))
    # 41.34 this month: 1.35 left
    error = await refused(uow, TopUp(KARTE, D("1.42")), MonthlyCapReached)
    assert error.params == {"cap": D("42.69"), "left": D("1.35")}
    # a top-up of another sender does not count
    uow.subscribers.add(postpaid(OTHER_SENDER))
    assert (await send(uow, TopUp(KARTE, D("5.00")), sender=OTHER_SENDER)).outcome == "topup_applied"
    # 31.03 21:00 UTC is midnight of 1 April in Riga: a new month
    april = await send(uow, TopUp(KARTE, D("21.34")), now=datetime(2026, 3, 31, 21, 0, tzinfo=UTC))
    assert april.outcome == "topup_applied"


async def test_monthly_cap_is_reached_exactly() -> None:
    uow = world()
    await send(uow, TopUp(KARTE, D("21.34")), now=NOW - timedelta(days=1))
    await send(uow, TopUp(KARTE, D("21.34")), now=NOW)  # 42.68
    error = await refused(uow, TopUp(KARTE, D("1.42")), MonthlyCapReached, now=NOW + timedelta(days=1))
    assert error.params == {"cap": D("42.69"), "left": D("0.01")}


async def test_a_monthly_execution_counts_toward_the_monthly_cap_but_not_the_daily_cap() -> None:
    uow = world()
    order_id, _ = await uow.orders.save(SENDER, KARTE, D("30.00"), NOW)
    executed = await execute(MonthlyOrder(order_id, SENDER, KARTE, D("30.00")), RUN_DATE, ctx(uow, now=RUN_AT))
    assert executed.outcome == "monthly_executed"

    # the same Riga day: 12.69 more is within the daily cap only if the 30.00 is not a one-off
    later = RUN_AT + timedelta(hours=2)
    assert (await send(uow, TopUp(KARTE, D("12.69")), now=later)).outcome == "topup_applied"  # 42.69 this month
    error = await refused(uow, TopUp(KARTE, D("1.42")), MonthlyCapReached, now=later)
    assert error.params == {"cap": D("42.69"), "left": D("0.00")}


# =============================================================================
# Monthly request and confirmation: M 2XXXXXXX LL, then JA
# =============================================================================


def _pending(amount: Decimal, karte_: str = KARTE, at: datetime = NOW) -> PendingRequest:
    return PendingRequest(SENDER, karte_, amount, at)


async def test_m_creates_a_pending_request_and_invites_to_confirm_with_ja() -> None:
    uow = world()
    reply = await send(uow, RequestMonthly(KARTE, D("42.69")))
    assert reply.outcome == "monthly_requested"
    text = only_text(reply)
    assert "29123456" in text and "42,69 EUR" in text and "JA" in text and "24" in text
    assert await uow.pending.get(SENDER) == _pending(D("42.69"))
    assert uow.orders.rows == []
    assert uow.ledger.rows == []


@pytest.mark.parametrize(("amount", "ok"), [("1.41", False), ("1.42", True), ("42.69", True), ("42.70", False)])
async def test_monthly_amount_range(amount: str, ok: bool) -> None:
    uow = world()
    if ok:
        assert (await send(uow, RequestMonthly(KARTE, D(amount)))).outcome == "monthly_requested"
        return
    error = await refused(uow, RequestMonthly(KARTE, D(amount)), AmountOutOfRange)
    assert error.params == {"amount": D(amount), "low": D("1.42"), "high": D("42.69"), "monthly": True}


async def test_m_then_ja_within_24_hours_creates_the_order() -> None:
    uow = world(sender=postpaid(language=EN))
    await send(uow, RequestMonthly(KARTE, D("5.00")))
    reply = await send(uow, Confirm(), now=NOW + timedelta(hours=24))  # exactly 24 hours later
    assert reply.outcome == "monthly_confirmed"
    text = only_text(reply)
    assert "29123456" in text and "5.00 EUR" in text and "31.03.2026" in text
    assert await uow.pending.get(SENDER) is None
    order = await uow.orders.get(SENDER, KARTE)
    assert order is not None and (order.amount, order.last_month) == (D("5.00"), None)
    # it runs on the last day of this month
    assert [o.id for o in await uow.orders.due("2026-03", datetime(2026, 3, 31, 22, tzinfo=UTC))] == [order.id]
    assert uow.ledger.rows == []  # nothing is charged before the run


async def test_ja_on_the_last_day_after_the_run_says_the_next_run_is_next_month() -> None:
    uow = world()
    await send(uow, RequestMonthly(KARTE, D("5.00")), now=RUN_AT)
    reply = await send(uow, Confirm(), now=RUN_AT + timedelta(hours=1))
    assert "30.04.2026" in only_text(reply)


async def test_ja_after_24_hours_is_expired_and_creates_nothing() -> None:
    uow = world()
    await send(uow, RequestMonthly(KARTE, D("5.00")))
    error = await refused(uow, Confirm(), PendingRequestExpired, now=NOW + timedelta(hours=24, seconds=1))
    assert error.params == {"karte": KARTE, "amount": D("5.00"), "hours": 24, "plain": "5,00"}
    assert uow.orders.rows == []


async def test_ja_with_nothing_pending() -> None:
    error = await refused(world(), Confirm(), NoPendingRequest)
    assert error.params == {}


async def test_ja_is_refused_when_the_karte_was_cancelled_meanwhile() -> None:
    uow = world()
    await send(uow, RequestMonthly(KARTE, D("5.00")))
    uow.subscribers.add(karte(status=SubscriberStatus.CANCELLED))
    await refused(uow, Confirm(), KarteNotActive, now=NOW + timedelta(hours=1))
    assert uow.orders.rows == []


async def test_a_newer_m_replaces_the_pending_request() -> None:
    uow = world(karte(KARTE_2))
    await send(uow, RequestMonthly(KARTE, D("5.00")))
    await send(uow, RequestMonthly(KARTE_2, D("7.00")), now=NOW + timedelta(hours=1))
    assert await uow.pending.get(SENDER) == _pending(D("7.00"), KARTE_2, NOW + timedelta(hours=1))
    await send(uow, Confirm(), now=NOW + timedelta(hours=2))
    assert await uow.orders.get(SENDER, KARTE) is None
    order = await uow.orders.get(SENDER, KARTE_2)
    assert order is not None and order.amount == D("7.00")
    # the window counts from the newer request
    await send(uow, RequestMonthly(KARTE, D("5.00")), now=NOW + timedelta(hours=3))
    await send(uow, RequestMonthly(KARTE, D("6.00")), now=NOW + timedelta(hours=20))
    assert (await send(uow, Confirm(), now=NOW + timedelta(hours=43))).outcome == "monthly_confirmed"


async def test_m_for_a_karte_with_an_order_changes_its_amount_once_confirmed() -> None:
    uow = world(sender=postpaid(language=EN))
    await send(uow, RequestMonthly(KARTE, D("5.00")))
    await send(uow, Confirm(), now=NOW + timedelta(minutes=1))
    [before] = uow.orders.rows

    await send(uow, RequestMonthly(KARTE, D("10.00")), now=NOW + timedelta(days=1))
    assert (await uow.orders.get(SENDER, KARTE)).amount == D("5.00")  # type: ignore[union-attr]
    reply = await send(uow, Confirm(), now=NOW + timedelta(days=1, minutes=1))
    assert reply.outcome == "monthly_confirmed"
    text = only_text(reply)
    assert "10.00 EUR" in text and "29123456" in text and "31.03.2026" in text
    assert "now" in text  # the "changed" wording, not a second order
    [after] = uow.orders.rows
    assert (after.id, after.amount) == (before.id, D("10.00"))


# =============================================================================
# STOP / STOP 2XXXXXXX
# =============================================================================


async def _confirmed(uow: FakeUnitOfWork, karte_: str, amount: str, at: datetime = NOW) -> None:
    await send(uow, RequestMonthly(karte_, D(amount)), now=at)
    await send(uow, Confirm(), now=at + timedelta(minutes=1))


async def test_stop_ends_every_order_after_this_month_and_drops_the_pending_request() -> None:
    uow = world(karte(KARTE_2), karte(KARTE_3))
    await _confirmed(uow, KARTE, "5.00", NOW - timedelta(days=40))  # since January
    await _confirmed(uow, KARTE_2, "7.00")
    await send(uow, RequestMonthly(KARTE_3, D("3.00")), now=NOW + timedelta(hours=1))

    reply = await send(uow, CancelMonthly(), now=NOW + timedelta(hours=2))
    assert reply.outcome == "monthly_cancelled"
    assert "31.03.2026" in only_text(reply)  # the last one is this month's
    assert await uow.pending.get(SENDER) is None
    assert [row.last_month for row in uow.orders.rows] == ["2026-03", "2026-03"]

    end_of_march = datetime(2026, 3, 31, 21, 0, tzinfo=UTC)
    assert len(await uow.orders.due("2026-03", end_of_march)) == 2  # this month's run still happens
    assert await uow.orders.due("2026-04", datetime(2026, 4, 30, 21, 0, tzinfo=UTC)) == []
    # next month there is nothing left to stop
    await refused(uow, CancelMonthly(), NothingToCancel, now=datetime(2026, 4, 2, tzinfo=UTC))


async def test_stop_one_karte_ends_only_that_order() -> None:
    uow = world(karte(KARTE_2), sender=postpaid(language=EN))
    await _confirmed(uow, KARTE, "5.00")
    await _confirmed(uow, KARTE_2, "7.00")
    reply = await send(uow, CancelMonthly(KARTE_2))
    assert reply.outcome == "monthly_cancelled"
    text = only_text(reply)
    assert "29000002" in text and "31.03.2026" in text
    last = {row.karte: row.last_month for row in uow.orders.rows}
    assert last == {KARTE: None, KARTE_2: "2026-03"}


async def test_stop_with_only_a_pending_request_drops_it() -> None:
    uow = world()
    await send(uow, RequestMonthly(KARTE, D("5.00")))
    reply = await send(uow, CancelMonthly(), now=NOW + timedelta(minutes=5))
    assert reply.outcome == "pending_cancelled"
    assert only_text(reply)
    assert await uow.pending.get(SENDER) is None
    await refused(uow, Confirm(), NoPendingRequest, now=NOW + timedelta(minutes=6))


@pytest.mark.parametrize("target", [None, KARTE])
async def test_stop_with_nothing_to_stop(target: str | None) -> None:
    error = await refused(world(), CancelMonthly(target), NothingToCancel)
    assert error.params == {"karte": target}


async def test_stop_for_a_karte_without_an_order_keeps_the_other_orders() -> None:
    uow = world(karte(KARTE_2))
    await _confirmed(uow, KARTE, "5.00")
    error = await refused(uow, CancelMonthly(KARTE_2), NothingToCancel)
    assert error.params == {"karte": KARTE_2}


async def test_a_stopped_order_is_revived_by_a_new_m_and_ja() -> None:
    uow = world()
    await _confirmed(uow, KARTE, "5.00")
    await send(uow, CancelMonthly())
    await _confirmed(uow, KARTE, "6.00", NOW + timedelta(days=1))
    [row] = uow.orders.rows
    assert (row.amount, row.last_month) == (D("6.00"), None)


# =============================================================================
# S / S 2XXXXXXX
# =============================================================================


async def test_status_with_nothing_this_month() -> None:
    uow = world(sender=postpaid(language=EN))
    await send(uow, TopUp(KARTE, D("9.00")), now=NOW - timedelta(days=20))  # February
    reply = await send(uow, Status())
    assert reply.outcome == "status"
    assert "42.69 EUR" in only_text(reply)
    assert "9.00" not in only_text(reply)


async def test_status_lists_every_karte_of_this_month_with_its_sum() -> None:
    uow = world(karte(KARTE_2))
    await send(uow, TopUp(KARTE, D("9.00")), now=NOW - timedelta(days=20))  # February: not listed
    await send(uow, TopUp(KARTE, D("2.00")), now=NOW - timedelta(days=2))
    await send(uow, TopUp(KARTE_2, D("7.50")), now=NOW - timedelta(days=1))
    await send(uow, TopUp(KARTE, D("3.00")))
    text = only_text(await send(uow, Status()))
    assert "29000002 7,50" in text and "29123456 5,00" in text
    assert text.index("29000002") < text.index("29123456")  # largest first
    assert "12,50 EUR" in text  # total
    assert "30,19 EUR" in text  # what is left of 42.69


async def test_status_of_one_karte() -> None:
    uow = world(karte(KARTE_2), sender=postpaid(language=EN))
    await send(uow, TopUp(KARTE, D("2.00")), now=NOW - timedelta(days=2))
    await send(uow, TopUp(KARTE, D("3.00")))
    await send(uow, TopUp(KARTE_2, D("7.00")))
    reply = await send(uow, Status(KARTE))
    assert reply.outcome == "status_karte"
    text = only_text(reply)
    assert "29123456" in text and "5.00 EUR" in text and "7.00" not in text
    assert "onthly" not in text


async def test_status_of_one_karte_with_a_monthly_order_and_no_top_up_yet() -> None:
    uow = world(karte(KARTE_2))
    await _confirmed(uow, KARTE_2, "4.13")
    text = only_text(await send(uow, Status(KARTE_2)))
    assert "29000002" in text and "0,00 EUR" in text and "4,13 EUR" in text


# =============================================================================
# HELP / ? and V? M? S? STOP?
# =============================================================================


@pytest.mark.parametrize(
    ("topic", "outcome", "facts_lv", "facts_en"),
    [
        (None, "help", ["2XXXXXXX", "M 2XXXXXXX", "STOP", "V?"], ["2XXXXXXX", "M 2XXXXXXX", "STOP", "V?"]),
        (HelpTopic.ONE_OFF, "help_one_off", ["1,42", "21,34", "42,69"], ["1.42", "21.34", "42.69"]),
        (HelpTopic.MONTHLY, "help_monthly", ["M 2XXXXXXX", "JA", "42,69"], ["M 2XXXXXXX", "JA", "42.69"]),
        (HelpTopic.STATUS, "help_status", ["S 2XXXXXXX"], ["S 2XXXXXXX"]),
        (HelpTopic.STOP, "help_stop", ["STOP 2XXXXXXX"], ["STOP 2XXXXXXX"]),
    ],
)
async def test_help_for_anyone(topic: HelpTopic | None, outcome: str, facts_lv: list[str], facts_en: list[str]) -> None:
    stranger = "37127777777"
    unknown = await send(FakeUnitOfWork(), Help(topic), sender=stranger)  # an unknown number: Latvian
    assert unknown.outcome == outcome
    lv_text = only_text(unknown, stranger)
    assert all(fact in lv_text for fact in facts_lv)

    english = await send(world(sender=postpaid(language=EN)), Help(topic))
    en_text = only_text(english)
    assert all(fact in en_text for fact in facts_en)
    assert en_text != lv_text


async def test_help_for_a_cancelled_number_too() -> None:
    uow = world(sender=postpaid(status=SubscriberStatus.CANCELLED, language=EN))
    assert "SOS-SMS" in only_text(await send(uow, Help()))


# =============================================================================
# 1640 P: temporary My LMT password
# =============================================================================

PLAIN = "Kp7wX3hZqa"


async def test_password_for_an_unknown_number_is_silence() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(Silence) as caught:
        await send(uow, ResetPassword(), sender="37127777777")
    assert caught.value.outcome == "password_unknown_number"
    assert uow.passwords.temporaries == {} and uow.emails.sent == []


async def test_password_for_a_cancelled_number_is_refused_with_a_reply() -> None:
    uow = world(sender=postpaid(status=SubscriberStatus.CANCELLED, email="anna@example.lv", language=EN))
    reply = await send(uow, ResetPassword(), password=PLAIN)
    assert reply.outcome == "password_not_active"
    text = only_text(reply)
    assert "active" in text and PLAIN not in text
    assert uow.passwords.temporaries == {} and uow.emails.sent == []


@pytest.mark.parametrize("subscriber", [postpaid(), karte(SENDER)], ids=["postpaid", "karte"])
async def test_password_is_sent_by_sms_and_only_its_hash_is_stored(subscriber: Subscriber) -> None:
    uow = FakeUnitOfWork.with_subscribers(subscriber)
    reply = await send(uow, ResetPassword(), password=PLAIN)
    assert reply.outcome == "password_issued"
    [message] = reply.messages
    assert (message.to, message.sensitive) == (SENDER, True)
    assert PLAIN in message.text and "24" in message.text

    stored = uow.passwords.temporaries[SENDER]
    assert PLAIN not in stored.password_hash
    assert verify_password(PLAIN, stored.password_hash)
    assert (stored.created_at, stored.expires_at, stored.used_at) == (NOW, NOW + timedelta(hours=24), None)
    assert uow.emails.sent == []  # no address, no e-mail


@pytest.mark.parametrize(("language", "word"), [(LV, "parole"), (EN, "password")])
async def test_password_change_is_e_mailed_without_the_password(language: Language, word: str) -> None:
    uow = FakeUnitOfWork.with_subscribers(postpaid(email="anna@example.lv", language=language))
    await send(uow, ResetPassword(), password=PLAIN)
    [email] = uow.emails.sent
    assert email.to == "anna@example.lv" and email.at == NOW
    assert word in (email.subject + email.body).lower()
    assert "20000001" in email.body and "10.03.2026 12:00" in email.body  # Riga time
    assert PLAIN not in email.subject and PLAIN not in email.body


async def test_password_rate_limit_then_try_later_then_silence_until_the_window_passes() -> None:
    uow = FakeUnitOfWork.with_subscribers(postpaid(language=EN))

    async def request(minutes: int) -> Reply:
        return await send(uow, ResetPassword(), now=NOW + timedelta(minutes=minutes), password=f"Pass{minutes:06d}")

    for minutes in (0, 10, 20):
        assert (await request(minutes)).outcome == "password_issued"
    fourth = await request(30)
    assert fourth.outcome == "password_rate_limited"
    assert "try again later" in only_text(fourth) and not fourth.messages[0].sensitive
    fifth = await request(40)
    assert fifth.outcome == "password_rate_limited_silent" and fifth.messages == ()
    assert (await request(50)).messages == ()
    # the blocked requests did not replace the third password
    assert verify_password("Pass000020", uow.passwords.temporaries[SENDER].password_hash)

    # an hour after the first, the hour has room again (4th and 5th of the day)
    assert (await request(61)).outcome == "password_issued"
    assert (await request(75)).outcome == "password_issued"
    # five in 24 hours: once "try later", then silence, even with an empty hour
    assert (await request(200)).outcome == "password_rate_limited"
    assert (await request(300)).outcome == "password_rate_limited_silent"
    assert (await request(24 * 60 - 1)).messages == ()
    # 24 hours after the first two, there is room again
    assert (await request(24 * 60 + 11)).outcome == "password_issued"


async def check(uow: FakeUnitOfWork, msisdn: str, password: str, *, now: datetime) -> bool:
    run = transaction(uow)
    return await check_temporary_password(
        msisdn, password, read=run, write=run, verify=RecordingVerifier(), decoy=DECOY, now=now
    )


async def portal(uow: FakeUnitOfWork, msisdn: str, password: str, *, now: datetime) -> bool:
    run = transaction(uow)
    return await verify_portal_password(
        msisdn, password, read=run, write=run, verify=RecordingVerifier(), decoy=DECOY, now=now
    )


async def _issue(uow: FakeUnitOfWork, plain: str, at: datetime = NOW) -> None:
    assert (await send(uow, ResetPassword(), now=at, password=plain)).outcome == "password_issued"


async def test_temporary_password_works_once() -> None:
    uow = world()
    await _issue(uow, PLAIN)
    later = NOW + timedelta(hours=1)
    assert await check(uow, SENDER, "Kp7wX3hZqb", now=later) is False
    assert await check(uow, SENDER, PLAIN.lower(), now=later) is False
    assert await check(uow, SENDER, PLAIN, now=later) is True  # a wrong try did not use it
    assert uow.passwords.temporaries[SENDER].used_at == later
    assert await check(uow, SENDER, PLAIN, now=later + timedelta(seconds=1)) is False


@pytest.mark.parametrize(
    ("after", "works"),
    [(timedelta(hours=23, minutes=59), True), (timedelta(hours=24), False), (timedelta(hours=24, seconds=1), False)],
)
async def test_temporary_password_is_valid_24_hours(after: timedelta, works: bool) -> None:
    uow = world()
    await _issue(uow, PLAIN)
    assert await check(uow, SENDER, PLAIN, now=NOW + after) is works


async def test_a_newer_temporary_password_replaces_the_earlier_one() -> None:
    uow = world()
    await _issue(uow, PLAIN)
    await _issue(uow, "Zz9yY8xX7w", NOW + timedelta(minutes=5))
    later = NOW + timedelta(minutes=6)
    assert await check(uow, SENDER, PLAIN, now=later) is False
    assert await check(uow, SENDER, "Zz9yY8xX7w", now=later) is True


async def test_no_temporary_password_for_another_number() -> None:
    uow = world(postpaid(OTHER_SENDER))
    await _issue(uow, PLAIN)
    assert await check(uow, OTHER_SENDER, PLAIN, now=NOW) is False
    assert await check(uow, "37127777777", PLAIN, now=NOW) is False


async def test_current_password_keeps_working_until_the_temporary_one_is_used() -> None:
    uow = world()
    await uow.subscribers.set_portal_password(SENDER, hash_password("Current-1", n=FAST_SCRYPT_N))
    await _issue(uow, PLAIN)  # perhaps a stranger's request: it changes nothing yet

    t = NOW + timedelta(minutes=1)
    assert await portal(uow, SENDER, "Current-1", now=t) is True
    assert await portal(uow, SENDER, "Current-1", now=t) is True
    assert uow.passwords.temporaries[SENDER].used_at is None
    assert await portal(uow, SENDER, "wrong", now=t) is False

    assert await portal(uow, SENDER, PLAIN, now=t) is True  # the SMS'd password, once
    assert await portal(uow, SENDER, "Current-1", now=t) is False  # replaced by it


async def test_the_smsd_password_logs_into_the_portal_exactly_once() -> None:
    """SPEC §3: valid 24 hours and single-use; the portal's check proves it works exactly once."""
    uow = world()
    await uow.subscribers.set_portal_password(SENDER, hash_password("Current-1", n=FAST_SCRYPT_N))
    await _issue(uow, PLAIN)
    t = NOW + timedelta(minutes=1)
    assert await portal(uow, SENDER, PLAIN, now=t) is True
    assert await portal(uow, SENDER, PLAIN, now=t + timedelta(minutes=1)) is False
    assert await portal(uow, SENDER, PLAIN, now=t + timedelta(hours=30)) is False


# =============================================================================
# The last-day-of-month run of a monthly order
# =============================================================================


async def _order(uow: FakeUnitOfWork, amount: str, karte_: str = KARTE) -> MonthlyOrder:
    order_id, _ = await uow.orders.save(SENDER, karte_, D(amount), NOW)
    order = await uow.orders.get(SENDER, karte_)
    assert order is not None and order.id == order_id
    return order


async def test_monthly_run_tops_up_once_per_month() -> None:
    uow = world(sender=postpaid(language=EN))
    order = await _order(uow, "5.00")

    reply = await execute(order, RUN_DATE, ctx(uow, now=RUN_AT, sender=SENDER, mo_id=None))
    assert reply.outcome == "monthly_executed"
    [to_sender] = texts_to(reply, SENDER)
    [to_karte] = texts_to(reply, KARTE)
    assert "29123456" in to_sender and "5.00 EUR" in to_sender and "invoice" in to_sender
    assert "20000001" in to_karte and "5,00 EUR" in to_karte  # the Karte user speaks Latvian
    [row] = uow.ledger.rows
    assert (row.sender, row.karte, row.amount, row.kind, row.at, row.order_id, row.period) == (
        SENDER,
        KARTE,
        D("5.00"),
        TopUpKind.MONTHLY,
        RUN_AT,
        order.id,
        "2026-03",
    )
    assert balance(uow) == D("5.00")
    assert expiry(uow) == date(2026, 6, 30)  # 31.03 + 90 days = 29.06: the later expiry stays
    assert uow.orders.runs == {(order.id, "2026-03"): "monthly_executed"}

    again = await execute(order, RUN_DATE, ctx(uow, now=RUN_AT + timedelta(minutes=5)))
    assert again.outcome == "monthly_already_ran" and again.messages == ()
    assert len(uow.ledger.rows) == 1 and balance(uow) == D("5.00")

    april = await execute(order, date(2026, 4, 30), ctx(uow, now=datetime(2026, 4, 30, 7, 0, tzinfo=UTC)))
    assert april.outcome == "monthly_executed"
    assert [r.period for r in uow.ledger.rows] == ["2026-03", "2026-04"]
    assert balance(uow) == D("10.00")


async def test_monthly_run_is_skipped_when_it_would_pass_the_monthly_cap() -> None:
    uow = world()
    await send(uow, TopUp(KARTE, D("21.34")), now=NOW)
    await send(uow, TopUp(KARTE, D("21.34")), now=NOW + timedelta(days=1))  # 42.68 this month
    order = await _order(uow, "1.42")

    reply = await execute(order, RUN_DATE, ctx(uow, now=RUN_AT))
    assert reply.outcome == "monthly_skipped_cap"
    text = only_text(reply)  # the sender is told; the Karte user hears nothing
    assert "29123456" in text and "1,42 EUR" in text and "42,69 EUR" in text
    assert len(uow.ledger.rows) == 2 and balance(uow) == D("42.68")
    assert uow.orders.runs == {(order.id, "2026-03"): "monthly_skipped_cap"}
    # skipped for this month only: it is not due again in March, but is in April
    assert await uow.orders.due("2026-03", datetime(2026, 3, 31, 21, tzinfo=UTC)) == []
    assert [o.id for o in await uow.orders.due("2026-04", datetime(2026, 4, 30, 21, tzinfo=UTC))] == [order.id]


async def test_monthly_run_up_to_exactly_the_monthly_cap() -> None:
    uow = world()
    await send(uow, TopUp(KARTE, D("21.34")), now=NOW)
    await send(uow, TopUp(KARTE, D("19.93")), now=NOW + timedelta(days=1))  # 41.27
    reply = await execute(await _order(uow, "1.42"), RUN_DATE, ctx(uow, now=RUN_AT))
    assert reply.outcome == "monthly_executed"


async def test_monthly_run_is_skipped_for_a_cancelled_karte() -> None:
    uow = world(sender=postpaid(language=EN))
    order = await _order(uow, "5.00")
    uow.subscribers.add(karte(status=SubscriberStatus.CANCELLED))
    reply = await execute(order, RUN_DATE, ctx(uow, now=RUN_AT))
    assert reply.outcome == "monthly_skipped_karte"
    assert "29123456" in only_text(reply)
    assert uow.ledger.rows == [] and balance(uow) == D("0.00")
    assert uow.orders.runs == {(order.id, "2026-03"): "monthly_skipped_karte"}


async def test_monthly_run_is_skipped_for_a_karte_expired_too_long() -> None:
    uow = world()
    order = await _order(uow, "5.00")
    uow.subscribers.add(karte(expires_on=date(2025, 10, 15)))  # five and a half months before the run
    assert (await execute(order, RUN_DATE, ctx(uow, now=RUN_AT))).outcome == "monthly_executed"
    uow2 = world()
    order2 = await _order(uow2, "5.00")
    uow2.subscribers.add(karte(expires_on=date(2025, 9, 15)))  # six and a half months
    assert (await execute(order2, RUN_DATE, ctx(uow2, now=RUN_AT))).outcome == "monthly_skipped_karte"


async def test_monthly_run_is_skipped_when_the_sender_may_no_longer_use_the_service() -> None:
    uow = world(sender=postpaid(customer_type=CustomerType.LEGAL))  # the company withdrew the permission
    order = await _order(uow, "5.00")
    reply = await execute(order, RUN_DATE, ctx(uow, now=RUN_AT))
    assert reply.outcome == "monthly_skipped_sender"
    assert "29123456" in only_text(reply)
    assert uow.ledger.rows == []


async def test_a_stopped_order_runs_for_the_last_time_this_month() -> None:
    uow = world()
    await _confirmed(uow, KARTE, "5.00")
    await send(uow, CancelMonthly(), now=NOW + timedelta(days=1))
    [order] = await uow.orders.due("2026-03", datetime(2026, 3, 31, 21, tzinfo=UTC))
    assert (await execute(order, RUN_DATE, ctx(uow, now=RUN_AT))).outcome == "monthly_executed"
    assert await uow.orders.due("2026-04", datetime(2026, 4, 30, 21, tzinfo=UTC)) == []


# =============================================================================
# Replies to refusals and to texts that are not commands (the edge)
# =============================================================================

REFUSALS: list[tuple[Refusal, list[str], list[str]]] = [
    (SenderNotEligible("unknown"), ["pēcapmaksas"], ["postpaid"]),
    (SenderNotEligible("inactive"), ["nav aktīvs"], ["not active"]),
    (SenderNotEligible("not_postpaid"), ["LMT Kartes"], ["LMT Karte"]),
    (SenderNotEligible("legal"), ["Mans LMT"], ["My LMT"]),
    (
        AmountOutOfRange(D("21.35"), D("1.42"), D("21.34"), monthly=False),
        ["1,42 EUR", "21,34 EUR", "29123456 5", "HELP"],
        ["1.42 EUR", "21.34 EUR", "29123456 5", "HELP"],
    ),
    (
        AmountOutOfRange(D("50"), D("1.42"), D("42.69"), monthly=True),
        ["1,42 EUR", "42,69 EUR", "M 29123456 4,13"],
        ["1.42 EUR", "42.69 EUR", "M 29123456 4.13"],
    ),
    (DailyCapReached(D("21.34"), D("1.34")), ["21,34 EUR", "1,34 EUR"], ["21.34 EUR", "1.34 EUR"]),
    (MonthlyCapReached(D("42.69"), D("0.00")), ["42,69 EUR", "0,00 EUR"], ["42.69 EUR", "0.00 EUR"]),
    (NotAKarte(KARTE_2), ["29000002", "HELP"], ["29000002", "HELP"]),
    (KarteNotActive(KARTE_2), ["29000002"], ["29000002"]),
    (KarteExpiredTooLong(KARTE_2, 6), ["29000002", "6"], ["29000002", "6"]),
    (NoPendingRequest(), ["M 2XXXXXXX"], ["M 2XXXXXXX"]),
    (
        PendingRequestExpired(KARTE_2, D("5.00"), 24, plain="5,00"),
        ["M 29000002 5,00", "24", "JA"],
        ["M 29000002 5,00", "24", "JA"],
    ),
    (NothingToCancel(None), ["ikmēneša"], ["monthly"]),
    (NothingToCancel(KARTE_2), ["29000002"], ["29000002"]),
]


@pytest.mark.parametrize(("error", "facts_lv", "facts_en"), REFUSALS, ids=lambda v: repr(v)[:40])
@pytest.mark.parametrize("language", [LV, EN])
def test_reply_to_refusal(error: Refusal, facts_lv: list[str], facts_en: list[str], language: Language) -> None:
    reply = reply_to_refusal(error, SENDER, language)
    assert reply.outcome == error.outcome
    text = only_text(reply)
    for fact in facts_lv if language is LV else facts_en:
        assert fact in text, (fact, text)
    assert "371" not in text


def test_every_refusal_has_a_reply() -> None:
    covered = {type(error) for error, _, _ in REFUSALS}
    assert set(Refusal.__subclasses__()) == covered


async def test_a_refused_expired_request_in_english_quotes_the_amount_as_typed_in_english() -> None:
    uow = world(sender=postpaid(language=EN))
    await send(uow, RequestMonthly(KARTE, D("4.13")))
    error = await refused(uow, Confirm(), PendingRequestExpired, now=NOW + timedelta(days=2))
    assert "M 29123456 4.13" in only_text(reply_to_refusal(error, SENDER, EN))


# (text, problem, fact in the lv reply, fact in the en reply)
NOT_COMMANDS: list[tuple[str, Problem, str, str]] = [
    ("   ", Problem.EMPTY, "HELP", "HELP"),
    ("PAPILDINI 29123456 5", Problem.UNKNOWN_KEYWORD, '"PAPILDINI"', '"PAPILDINI"'),
    ("M", Problem.MISSING_NUMBER, "M 29123456 4,13", "M 29123456 4.13"),
    ("V 39123456 5", Problem.BAD_NUMBER, '"39123456"', '"39123456"'),
    ("V 29123456", Problem.MISSING_AMOUNT, "29123456 5", "29123456 5"),
    ("M 29123456 5.123", Problem.BAD_AMOUNT, '"5.123"', '"5.123"'),
    ("STOP 29123456 29123457", Problem.EXTRA_WORDS, '"29123457"', '"29123457"'),
]


def test_every_problem_is_exercised() -> None:
    assert {problem for _, problem, _, _ in NOT_COMMANDS} == set(Problem) - {Problem.UNKNOWN_SERVICE}


@pytest.mark.parametrize(("text", "problem", "fact_lv", "fact_en"), NOT_COMMANDS)
@pytest.mark.parametrize("language", [LV, EN])
def test_reply_to_parse_error_on_1643(
    text: str, problem: Problem, fact_lv: str, fact_en: str, language: Language
) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text, SOS_SHORT_CODE)
    assert caught.value.problem is problem
    reply = reply_to_parse_error(caught.value, SOS_SHORT_CODE, SENDER, language)
    assert reply.outcome == f"not_understood_{problem.value}"
    reply_text = only_text(reply)
    assert (fact_lv if language is LV else fact_en) in reply_text
    assert "HELP" in reply_text  # SPEC §4 rule 11: every such reply points to HELP


@pytest.mark.parametrize("text", ["", "PAROLE", "P P", "hello"])
@pytest.mark.parametrize(("language", "fact"), [(LV, "P uz 1640"), (EN, "text P to 1640")])
def test_any_other_text_to_1640_gets_the_hint(text: str, language: Language, fact: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text, PASSWORD_SHORT_CODE)
    reply = reply_to_parse_error(caught.value, PASSWORD_SHORT_CODE, SENDER, language)
    assert fact in only_text(reply)
