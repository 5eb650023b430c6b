"""The batch's in-memory unit of work against the handler fakes: the same answers to the same calls.

``BatchView`` implements ``handlers.ports.UnitOfWork`` on a loaded snapshot;
``tests/unit/fakes.py`` implements it the obvious way on lists. Random sequences
of port calls go to both, started from the same state, and every answer must be
the same (order ids aside: the view's are temporary until written). Beyond that:
a key that was not loaded is a ``Miss`` naming what to load, what no MO handler
may need is ``NotInBatch``, and the journal undoes every change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.model import MonthlyOrder, PendingRequest, TopUpKind
from smsgw.batch.decide import drive
from smsgw.batch.journal import Journal
from smsgw.batch.snapshot import Keys, Miss, NotInBatch
from smsgw.batch.view import BatchView
from tests.unit.batch_support import snapshot_from
from tests.unit.fakes import KARTE, KARTE_2, NOW, FakeUnitOfWork, LedgerRow, karte, postpaid

SENDER_1 = "37120000001"
SENDER_2 = "37120000002"
UNKNOWN = "37120009999"
NUMBERS = (SENDER_1, SENDER_2, KARTE, KARTE_2, UNKNOWN)
SENDERS = (SENDER_1, SENDER_2)


def _seeded() -> FakeUnitOfWork:
    """Some of everything: top-ups today, earlier this month and last month, requests, orders, history."""
    uow = FakeUnitOfWork.with_subscribers(
        postpaid(SENDER_1), postpaid(SENDER_2), karte(KARTE, balance=Decimal("1.00")), karte(KARTE_2, balance=None)
    )
    rows = [
        (SENDER_1, KARTE, "5.00", TopUpKind.ONE_OFF, NOW - timedelta(hours=1)),
        (SENDER_1, KARTE, "3.10", TopUpKind.ONE_OFF, NOW - timedelta(days=3)),
        (SENDER_1, KARTE_2, "10.00", TopUpKind.MONTHLY, NOW - timedelta(minutes=5)),
        (SENDER_1, KARTE_2, "7.77", TopUpKind.ONE_OFF, NOW - timedelta(days=20)),  # February
        (SENDER_2, KARTE, "2.00", TopUpKind.ONE_OFF, NOW - timedelta(hours=2)),
    ]
    for i, (sender, k, amount, kind, at) in enumerate(rows, 1):
        uow.ledger.rows.append(LedgerRow(i, sender, k, Decimal(amount), kind, at, None, None, None))
    uow.pending.by_sender[SENDER_2] = PendingRequest(SENDER_2, KARTE, Decimal("4.00"), NOW - timedelta(hours=3))
    for sender, k, amount in ((SENDER_1, KARTE, "5"), (SENDER_1, KARTE_2, "6"), (SENDER_2, KARTE_2, "7")):
        drive(uow.orders.save(sender, k, Decimal(amount), NOW - timedelta(days=40)))
    drive(uow.orders.end_after(2, "2026-02"))  # ran for the last time in February
    drive(uow.orders.end_after(3, "2026-03"))  # runs this month for the last time
    for at, outcome in ((NOW - timedelta(hours=2), "issued"), (NOW - timedelta(hours=30), "issued")):
        uow.passwords.requests.append((SENDER_1, at, outcome))
    return uow


def _view(uow: FakeUnitOfWork) -> BatchView:
    snap = snapshot_from(uow, numbers=NUMBERS, senders=SENDERS, password_senders=SENDERS)
    return BatchView(snap, Journal())


def _order(order: MonthlyOrder | None) -> tuple[object, ...] | None:
    return None if order is None else (order.sender, order.karte, order.amount, order.last_month)


_sender = st.sampled_from(SENDERS)
_karte = st.sampled_from((KARTE, KARTE_2))
_amount = st.decimals(Decimal("0.01"), Decimal("30.00"), places=2)
# Minutes before NOW (12:00 in Riga on 10 March): today, the edges of today (it began 720 minutes ago),
# earlier this month, the edges of the month (it began 13,680 minutes ago) and February.
_minutes_ago = st.sampled_from((0, 1, 60, 719, 720, 721, 3 * 1440, 13_679, 13_680, 13_681, 20_000))
_op = st.one_of(
    st.tuples(st.just("get"), st.sampled_from(NUMBERS)),
    st.tuples(st.just("credit"), _karte, _amount, st.one_of(st.none(), st.dates(date(2026, 1, 1), date(2027, 1, 1)))),
    st.tuples(st.just("totals"), _sender),
    st.tuples(st.just("add"), _sender, _karte, _amount, st.sampled_from(TopUpKind), _minutes_ago),
    st.tuples(st.just("by_karte"), _sender),
    st.tuples(st.just("pending_get"), _sender),
    st.tuples(st.just("pending_put"), _sender, _karte, _amount, _minutes_ago),
    st.tuples(st.just("pending_delete"), _sender),
    st.tuples(st.just("for_sender"), _sender, st.sampled_from(("2026-02", "2026-03", "2026-04"))),
    st.tuples(st.just("order_get"), _sender, _karte),
    st.tuples(st.just("order_save"), _sender, _karte, _amount),
    st.tuples(st.just("end_after"), st.integers(0, 5), st.sampled_from(("2026-02", "2026-03"))),
    st.tuples(st.just("recent"), _sender, st.sampled_from((0, 1, 60, 119, 120, 121, 24 * 60))),
    st.tuples(st.just("record"), _sender, st.sampled_from(("issued", "try_later", "silent"))),
    st.tuples(st.just("email"), st.sampled_from(("a@example.com", "b@example.com"))),
)


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(_op, max_size=30))
def test_every_port_answers_as_the_fakes_do(ops: list[tuple[Any, ...]]) -> None:
    fake = _seeded()
    view = _view(fake)
    day, month = view.snapshot.day, view.snapshot.month
    # Order ids: the view's new orders have temporary (negative) ids; pair them by creation.
    order_ids: list[tuple[int, int]] = [(row.id, row.id) for row in fake.orders.rows]

    def both(method: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """``uow.<port>.<name>(*args, **kwargs)`` on the fakes and on the view."""
        port, name = method.split(".")
        return tuple(drive(getattr(getattr(u, port), name)(*args, **kwargs)) for u in (fake, view))  # type: ignore[return-value]

    for op, *args in ops:
        if op == "get":
            found, seen = both("subscribers.get", args[0])
            assert seen == found, op
        elif op == "credit":
            both("subscribers.credit_karte", *args)
        elif op == "totals":
            found, seen = both("ledger.totals", args[0], day, month)
            assert seen == found, op
        elif op == "add":
            at = NOW - timedelta(minutes=args[4])
            kwargs = {"sender": args[0], "karte": args[1], "amount": args[2], "kind": args[3], "at": at}
            both("ledger.add", **kwargs)
        elif op == "by_karte":
            found, seen = both("ledger.by_karte", args[0], month)
            assert seen == found, op
        elif op == "pending_get":
            found, seen = both("pending.get", args[0])
            assert seen == found, op
        elif op == "pending_put":
            request = PendingRequest(args[0], args[1], args[2], NOW - timedelta(minutes=args[3]))
            both("pending.put", request)
        elif op == "pending_delete":
            found, seen = both("pending.delete", args[0])
            assert seen == found, op
        elif op == "for_sender":
            found, seen = both("orders.for_sender", args[0], args[1])
            assert [_order(o) for o in seen] == [_order(o) for o in found], op
        elif op == "order_get":
            found, seen = both("orders.get", args[0], args[1])
            assert _order(seen) == _order(found), op
        elif op == "order_save":
            (fake_id, fake_existed), (view_id, view_existed) = both("orders.save", args[0], args[1], args[2], NOW)
            assert view_existed == fake_existed, op
            if not fake_existed:
                order_ids.append((fake_id, view_id))
        elif op == "end_after":
            fake_id, view_id = order_ids[args[0] % len(order_ids)]
            drive(fake.orders.end_after(fake_id, args[1]))
            drive(view.orders.end_after(view_id, args[1]))
        elif op == "recent":
            since = NOW - timedelta(minutes=args[1])
            found, seen = both("passwords.recent_requests", args[0], since)
            assert seen == found, op
        elif op == "record":
            both("passwords.record_request", args[0], NOW, args[1])
        elif op == "email":
            both("emails.queue", args[0], "subject", "body", NOW)

    # What the view leaves for the database to write is the fakes' final state.
    for msisdn, subscriber in view.dirty_subscribers.items():
        assert fake.subscribers.by_msisdn[msisdn] == subscriber
    untouched = set(NUMBERS) - set(view.dirty_subscribers) - {UNKNOWN}
    assert all(fake.subscribers.by_msisdn[m] == _seeded().subscribers.by_msisdn[m] for m in untouched)
    for sender, request in view.dirty_pending.items():
        assert fake.pending.by_sender.get(sender) == request
    for (sender, k), row in view.dirty_orders.items():
        assert _order(row.order) == _order(drive(fake.orders.get(sender, k)))
    assert [(t.sender, t.karte, t.amount_cents, t.kind, t.at) for t in view.new_topups] == [
        (r.sender, r.karte, int(r.amount * 100), r.kind, r.at) for r in fake.ledger.rows[5:]
    ]
    assert view.new_password_requests == fake.passwords.requests[2:]
    assert [(to, subject, body, at) for to, subject, body, at in view.new_emails] == [
        (e.to, e.subject, e.body, e.at) for e in fake.emails.sent
    ]


def test_the_writes_that_have_no_reader_in_a_batch_are_left_for_the_database() -> None:
    view = _view(_seeded())
    drive(view.subscribers.set_portal_password(SENDER_1, None))
    drive(view.passwords.put_temporary(SENDER_1, "hash", NOW, NOW + timedelta(hours=24)))
    assert view.dirty_portal_hashes == {SENDER_1: None}
    assert view.dirty_temporary == {SENDER_1: ("hash", NOW, NOW + timedelta(hours=24))}


def test_a_top_up_today_counts_for_the_day_and_the_month_and_a_monthly_one_only_for_the_month() -> None:
    uow = FakeUnitOfWork.with_subscribers(postpaid(SENDER_1), karte(KARTE))
    view = _view(uow)
    day, month = view.snapshot.day, view.snapshot.month
    drive(view.ledger.add(sender=SENDER_1, karte=KARTE, amount=Decimal("2.50"), kind=TopUpKind.ONE_OFF, at=NOW))
    drive(view.ledger.add(sender=SENDER_1, karte=KARTE, amount=Decimal("4.00"), kind=TopUpKind.MONTHLY, at=NOW))
    totals = drive(view.ledger.totals(SENDER_1, day, month))
    assert (totals.one_off_today, totals.this_month) == (Decimal("2.50"), Decimal("6.50"))
    assert drive(view.ledger.by_karte(SENDER_1, month)) == [(KARTE, Decimal("6.50"))]


def test_totals_over_the_month_alone_count_only_one_off_top_ups_as_the_port_says() -> None:
    """``totals(sender, month, month)``: one-off top-ups within the month, as the fakes (and SQL) count."""
    view = _view(_seeded())
    month = view.snapshot.month
    found = drive(_seeded().ledger.totals(SENDER_1, month, month))
    seen = drive(view.ledger.totals(SENDER_1, month, month))
    assert seen == found
    assert seen.one_off_today == Decimal("8.10") and seen.this_month == Decimal("18.10")


@pytest.mark.parametrize(
    ("kind", "call"),
    [
        ("subscriber", lambda v: v.subscribers.get(UNKNOWN)),
        ("subscriber", lambda v: v.subscribers.credit_karte(UNKNOWN, Decimal("1"), None)),
        ("top-ups of", lambda v: v.ledger.totals(UNKNOWN, v.snapshot.day, v.snapshot.month)),
        ("top-ups of", lambda v: v.ledger.by_karte(UNKNOWN, v.snapshot.month)),
        (
            "top-ups of",
            lambda v: v.ledger.add(sender=UNKNOWN, karte=KARTE, amount=Decimal(1), kind=TopUpKind.ONE_OFF, at=NOW),
        ),
        ("pending request of", lambda v: v.pending.get(UNKNOWN)),
        ("pending request of", lambda v: v.pending.put(PendingRequest(UNKNOWN, KARTE, Decimal(2), NOW))),
        ("pending request of", lambda v: v.pending.delete(UNKNOWN)),
        ("monthly orders of", lambda v: v.orders.for_sender(UNKNOWN, "2026-03")),
        ("monthly orders of", lambda v: v.orders.get(UNKNOWN, KARTE)),
        ("monthly orders of", lambda v: v.orders.save(UNKNOWN, KARTE, Decimal(2), NOW)),
        ("password requests of", lambda v: v.passwords.recent_requests(UNKNOWN, NOW)),
        ("password requests of", lambda v: v.passwords.record_request(UNKNOWN, NOW, "issued")),
    ],
)
def test_a_key_not_loaded_is_a_miss_that_names_what_to_load(kind: str, call: Callable[[BatchView], Any]) -> None:
    uow = FakeUnitOfWork.with_subscribers(postpaid(SENDER_1), karte(KARTE))
    view = BatchView(snapshot_from(uow, numbers=[SENDER_1, KARTE], senders=[SENDER_1]), Journal())
    with pytest.raises(Miss) as raised:
        drive(call(view))
    assert raised.value.kind == kind and raised.value.key == UNKNOWN
    keys = Keys()
    assert raised.value.add_to(keys)
    assert not raised.value.add_to(keys), "a key already asked for: loading again would not help"
    assert UNKNOWN in {*keys.numbers, *keys.senders, *keys.password_senders}


@pytest.mark.parametrize(
    "call",
    [
        lambda v: v.subscribers.portal_password(SENDER_1),
        lambda v: v.pending.delete_older_than(NOW),
        lambda v: v.orders.due("2026-03", NOW),
        lambda v: v.orders.claim_run(1, "2026-03", NOW),
        lambda v: v.orders.finish_run(1, "2026-03", "monthly_executed"),
        lambda v: v.orders.end_after(999, "2026-03"),
        lambda v: v.passwords.temporary(SENDER_1),
        lambda v: v.passwords.mark_used(SENDER_1, "hash", NOW),
        lambda v: v.passwords.recent_requests(SENDER_1, NOW - timedelta(hours=25)),
        lambda v: v.ledger.totals(SENDER_1, (NOW - timedelta(days=1), NOW), v.snapshot.month),
        lambda v: v.ledger.totals(SENDER_1, v.snapshot.day, (NOW - timedelta(days=30), NOW)),
        lambda v: v.ledger.by_karte(SENDER_1, (NOW - timedelta(days=30), NOW)),
    ],
)
def test_what_no_mo_handler_needs_is_refused(call: Callable[[BatchView], Any]) -> None:
    with pytest.raises(NotInBatch):
        drive(call(_view(_seeded())))


def test_the_journal_undoes_every_change_of_the_view() -> None:
    fake = _seeded()
    view = _view(fake)
    snap = view.snapshot
    before = (
        dict(snap.subscribers),
        {k: list(v) for k, v in snap.topups.items()},
        dict(snap.pending),
        {k: list(v) for k, v in snap.orders.items()},
        {k: list(v) for k, v in snap.password_history.items()},
    )
    mark = view.journal.mark()
    drive(view.subscribers.credit_karte(KARTE, Decimal("5"), date(2026, 12, 31)))
    drive(view.subscribers.set_portal_password(SENDER_1, None))
    drive(view.ledger.add(sender=SENDER_1, karte=KARTE, amount=Decimal("5"), kind=TopUpKind.ONE_OFF, at=NOW))
    drive(view.pending.put(PendingRequest(SENDER_1, KARTE, Decimal("3"), NOW)))
    drive(view.pending.delete(SENDER_2))
    drive(view.orders.save(SENDER_1, KARTE, Decimal("9"), NOW))
    drive(view.orders.save(SENDER_2, KARTE, Decimal("9"), NOW))
    drive(view.orders.end_after(1, "2026-03"))
    drive(view.passwords.record_request(SENDER_1, NOW, "issued"))
    drive(view.passwords.put_temporary(SENDER_1, "hash", NOW, NOW))
    drive(view.emails.queue("a@example.com", "s", "b", NOW))
    view.journal.rollback(mark)
    after = (
        dict(snap.subscribers),
        {k: list(v) for k, v in snap.topups.items()},
        dict(snap.pending),
        {k: list(v) for k, v in snap.orders.items()},
        {k: list(v) for k, v in snap.password_history.items()},
    )
    assert after == before
    assert not (view.dirty_subscribers or view.dirty_portal_hashes or view.dirty_pending or view.dirty_orders)
    assert not (view.dirty_temporary or view.new_topups or view.new_password_requests or view.new_emails)


def test_no_port_method_of_the_view_ever_suspends() -> None:
    """The decider runs handlers with ``drive``: a coroutine that awaited anything else would be an error."""

    async def suspends() -> None:
        import asyncio

        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="not the batch's view"):
        drive(suspends())
