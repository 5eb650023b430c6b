"""A model of the SOS-SMS rules: Hypothesis drives the real service on SQLite against plain Python.

``RulesMachine`` is a :class:`~hypothesis.stateful.RuleBasedStateMachine`. Each
run gets a fresh SQLite file (a copy of one migrated template), the real
:class:`~smsgw.service.Service` with a settable clock (``make_harness``), and a
directory of senders and LMT Kartes, some of them not eligible. The rules send
MOs to 1643 exactly as a subscriber types them (one-off top-ups with and
without ``V``, ``M``, ``JA``, ``STOP``, ``STOP 2XXXXXXX``, ``S``,
``S 2XXXXXXX``; amounts in and out of range, numbers in all four typed forms,
from senders in all four forms), move the clock across Riga midnights (the
start dates sit just before the DST changes, month ends, a year end and a leap
February), past the 24-hour confirmation window to the second, run the monthly
execution (on the last day, twice, on a day that is not the last, and as a
late catch-up run for the previous month), and cancel subscribers as the
operator would.

The model (``Model``: dicts, lists and Decimals, no code of the gateway) predicts
each ``MoResult.outcome``, who gets replies and what the status replies say, and
what ``run_monthly`` returns. After every step the invariants read the SQLite
file directly (``sqlite3``, not the gateway's repositories) and compare it with
the model: every top-up and its charge, the pending requests, the standing
orders with their ``last_month``, the monthly runs and their outcomes, and
every Karte's balance and expiry date. Independently of the model, the caps are
checked on the database itself: one-off top-ups per sender and Riga day at most
21.34 EUR, all top-ups per sender and Riga month at most 42.69 EUR.

Runtime: about 15 s with the defaults (60 runs of up to 60 steps). ``RELIABILITY_EXAMPLES=1000``
(say) scales the number of runs up for a long run, ``RELIABILITY_STEPS`` sets the steps per run,
and ``RELIABILITY_NO_SHRINK=1`` reports a failure as found instead of shrinking it first (which
can take minutes: every shrinking attempt replays a run on the database).
"""

from __future__ import annotations

import asyncio
import calendar
import itertools
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import update

from handlers.model import CustomerType, Kind, Language, Subscriber, SubscriberStatus
from smsgw.db import schema
from smsgw.db.migrate import upgrade
from smsgw.service import InboundMo, MoResult
from smsgw.subscriber_import import import_subscribers
from tests.integration.conftest import Harness, _App, make_harness

RIGA = ZoneInfo("Europe/Riga")
ZERO = Decimal("0.00")
ONE_OFF_MIN, ONE_OFF_MAX = Decimal("1.42"), Decimal("21.34")
MONTHLY_MIN, MONTHLY_MAX = Decimal("1.42"), Decimal("42.69")
DAILY_CAP, MONTHLY_CAP = Decimal("21.34"), Decimal("42.69")
CONFIRM_WINDOW = timedelta(hours=24)
GRACE_MONTHS = 6
RUN_AT = time(10, 0)

EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "60"))
STEPS = int(os.environ.get("RELIABILITY_STEPS", "60"))

# ---- who is who ----------------------------------------------------------------------

ANNA, BERT, CORP = "37120000001", "37120000002", "37120000004"  # eligible: private lv, private en, legal allowed
LEGAL, GONE = "37120000003", "37120000005"  # legal without SOS-SMS, cancelled postpaid
STRANGER = "37121111111"  # not in the directory
K_OK, K_EN, K_NODATE = "37129000001", "37129000002", "37129000006"  # active Kartes
K_CANCELLED = "37129000003"
K_RECENT, K_EDGE, K_LATE, K_OLD = "37129000004", "37129000005", "37129000008", "37129000007"  # expired
POSTPAID_TARGET = BERT
UNKNOWN_TARGET = "37129999999"

ELIGIBLE = (ANNA, BERT, CORP)
# Mostly eligible senders and valid Kartes, so that the caps and the monthly runs are reached.
SENDERS = ELIGIBLE * 4 + (LEGAL, GONE, K_OK, STRANGER)
TARGETS = (K_OK, K_EN, K_NODATE, K_RECENT) * 3 + (K_EDGE, K_EDGE, K_LATE, K_OLD, K_CANCELLED)
TARGETS += (POSTPAID_TARGET, UNKNOWN_TARGET)


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (the model's own arithmetic)."""
    year = day.year + (day.month - 1 + months) // 12
    month = (day.month - 1 + months) % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _last_day(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _local(instant: datetime) -> datetime:
    return instant.astimezone(RIGA)


def _at_local(day: date, wall: time) -> datetime:
    """The UTC instant of a Riga wall-clock time (never one inside a DST change: 00:00-00:01, 10:00, 23:59)."""
    return datetime.combine(day, wall, tzinfo=RIGA).astimezone(UTC)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def directory(start: datetime) -> list[Subscriber]:
    """The run's subscribers; expiry dates are relative to the start day, so every start is alike."""
    today = _local(start).date()

    def postpaid(msisdn: str, **kw: object) -> Subscriber:
        return Subscriber(msisdn, Kind.POSTPAID, SubscriberStatus.ACTIVE, **kw)  # type: ignore[arg-type]

    def karte(msisdn: str, expires: date | None, **kw: object) -> Subscriber:
        return Subscriber(
            msisdn,
            Kind.KARTE,
            SubscriberStatus.ACTIVE,
            karte_expires_on=expires,
            balance=ZERO,
            **kw,  # type: ignore[arg-type]
        )

    return [
        postpaid(ANNA),
        postpaid(BERT, language=Language.EN),
        postpaid(CORP, customer_type=CustomerType.LEGAL, sos_sms_allowed=True),
        postpaid(LEGAL, customer_type=CustomerType.LEGAL),
        replace(postpaid(GONE), status=SubscriberStatus.CANCELLED),
        karte(K_OK, today + timedelta(days=200)),
        karte(K_EN, today + timedelta(days=3), language=Language.EN),
        karte(K_NODATE, None),
        replace(karte(K_CANCELLED, today + timedelta(days=200)), status=SubscriberStatus.CANCELLED),
        karte(K_RECENT, today - timedelta(days=30)),
        # Expired exactly 6 months ago tomorrow: usable today and tomorrow, refused from the day after.
        karte(K_EDGE, _add_months(today + timedelta(days=1), -GRACE_MONTHS)),
        # Expired 6 months and 2 weeks ago: refused, and would not be under a 7-month grace.
        karte(K_LATE, _add_months(today, -GRACE_MONTHS) - timedelta(days=14)),
        karte(K_OLD, _add_months(today, -8)),
    ]


# ---- the model -------------------------------------------------------------------------


@dataclass
class Sub:
    kind: Kind
    active: bool
    legal: bool
    allowed: bool
    lang: Language
    expires: date | None = None
    balance: Decimal | None = None


@dataclass(frozen=True)
class Entry:
    sender: str
    karte: str
    amount: Decimal
    kind: str  # one_off | monthly
    at: datetime


@dataclass
class Order:
    seq: int  # creation order: the database's id order
    amount: Decimal
    confirmed_at: datetime
    last_month: str | None = None


@dataclass
class Model:
    subs: dict[str, Sub] = field(default_factory=dict)
    ledger: list[Entry] = field(default_factory=list)
    pending: dict[str, tuple[str, Decimal, datetime]] = field(default_factory=dict)
    orders: dict[tuple[str, str], Order] = field(default_factory=dict)
    runs: dict[tuple[str, str, str], str] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    # -- rules, written from SPEC §4 --

    def sender_refusal(self, msisdn: str) -> str | None:
        sub = self.subs.get(msisdn)
        if sub is None:
            return "not_eligible_unknown"
        if not sub.active:
            return "not_eligible_inactive"
        if sub.kind is not Kind.POSTPAID:
            return "not_eligible_not_postpaid"
        if sub.legal and not sub.allowed:
            return "not_eligible_legal"
        return None

    def karte_refusal(self, msisdn: str, today: date) -> str | None:
        sub = self.subs.get(msisdn)
        if sub is None or sub.kind is not Kind.KARTE:
            return "not_a_karte"
        if not sub.active:
            return "karte_not_active"
        if sub.expires is not None and today > _add_months(sub.expires, GRACE_MONTHS):
            return "karte_expired"
        return None

    def one_off_on(self, sender: str, day: date) -> Decimal:
        entries = (e for e in self.ledger if e.sender == sender and e.kind == "one_off")
        return sum((e.amount for e in entries if _local(e.at).date() == day), ZERO)

    def spent_in(self, sender: str, month: str, karte: str | None = None) -> Decimal:
        return sum(
            (
                e.amount
                for e in self.ledger
                if e.sender == sender and _month(_local(e.at).date()) == month and karte in (None, e.karte)
            ),
            ZERO,
        )

    def credit(self, karte: str, amount: Decimal, today: date) -> None:
        sub = self.subs[karte]
        days = 365 if amount >= 20 else 180 if amount >= 10 else 90 if amount >= 5 else 30
        extended = today + timedelta(days=days)
        sub.expires = extended if sub.expires is None or sub.expires < extended else sub.expires
        sub.balance = (sub.balance or ZERO) + amount

    # -- commands --

    def top_up(self, sender: str, karte: str, amount: Decimal, now: datetime) -> str:
        today = _local(now).date()
        refusal = self.sender_refusal(sender)
        if refusal:
            return refusal
        if not ONE_OFF_MIN <= amount <= ONE_OFF_MAX:
            return "amount_out_of_range"
        refusal = self.karte_refusal(karte, today)
        if refusal:
            return refusal
        if self.one_off_on(sender, today) + amount > DAILY_CAP:
            return "daily_cap"
        if self.spent_in(sender, _month(today)) + amount > MONTHLY_CAP:
            return "monthly_cap"
        self.ledger.append(Entry(sender, karte, amount, "one_off", now))
        self.credit(karte, amount, today)
        return "topup_applied"

    def request_monthly(self, sender: str, karte: str, amount: Decimal, now: datetime) -> str:
        refusal = self.sender_refusal(sender)
        if refusal:
            return refusal
        if not MONTHLY_MIN <= amount <= MONTHLY_MAX:
            return "amount_out_of_range"
        refusal = self.karte_refusal(karte, _local(now).date())
        if refusal:
            return refusal
        self.pending[sender] = (karte, amount, now)
        return "monthly_requested"

    def confirm(self, sender: str, now: datetime) -> str:
        refusal = self.sender_refusal(sender)
        if refusal:
            return refusal
        if sender not in self.pending:
            return "no_pending"
        karte, amount, requested_at = self.pending[sender]
        if now - requested_at > CONFIRM_WINDOW:
            return "pending_expired"  # and the request stays (a newer M replaces it)
        refusal = self.karte_refusal(karte, _local(now).date())
        if refusal:
            return refusal
        del self.pending[sender]
        order = self.orders.get((sender, karte))
        if order is None:
            self.orders[(sender, karte)] = Order(next(self._seq), amount, now)
        else:
            order.amount, order.confirmed_at, order.last_month = amount, now, None
        return "monthly_confirmed"

    def stop(self, sender: str, karte: str | None, now: datetime) -> str:
        refusal = self.sender_refusal(sender)
        if refusal:
            return refusal
        month = _month(_local(now).date())
        running = [
            order
            for (s, k), order in self.orders.items()
            if s == sender and karte in (None, k) and (order.last_month is None or order.last_month >= month)
        ]
        dropped = False
        if sender in self.pending and karte in (None, self.pending[sender][0]):
            del self.pending[sender]
            dropped = True
        for order in running:
            order.last_month = month  # this month's last-day run still happens
        if running:
            return "monthly_cancelled"
        return "pending_cancelled" if dropped else "nothing_to_cancel"

    def run_monthly(self, run_date: date) -> dict[str, int]:
        if run_date != _last_day(run_date):
            return {}
        month = _month(run_date)
        charge_at = _at_local(run_date, RUN_AT)
        confirmed_before = _at_local(run_date + timedelta(days=1), time(0))
        due = sorted(
            (
                (order.seq, sender, karte, order)
                for (sender, karte), order in self.orders.items()
                if (order.last_month is None or order.last_month >= month)
                and order.confirmed_at < confirmed_before
                and (sender, karte, month) not in self.runs
            ),
            key=lambda item: item[0],
        )
        counts: Counter[str] = Counter()
        for _, sender, karte, order in due:
            if self.sender_refusal(sender):
                outcome = "monthly_skipped_sender"
            elif self.karte_refusal(karte, run_date):
                outcome = "monthly_skipped_karte"
            elif self.spent_in(sender, month) + order.amount > MONTHLY_CAP:
                outcome = "monthly_skipped_cap"
            else:
                outcome = "monthly_executed"
                self.ledger.append(Entry(sender, karte, order.amount, "monthly", charge_at))
                self.credit(karte, order.amount, run_date)
            self.runs[(sender, karte, month)] = outcome
            counts[outcome] += 1
        return dict(counts)


# ---- how subscribers type things -------------------------------------------------------

_BOUNDARY_CENTS = [0, 1, 141, 142, 143, 499, 500, 999, 1000, 1999, 2000, 2133, 2134, 2135, 4268, 4269, 4270, 9999]
_IN_RANGE = st.integers(142, 2134)
cents_st = st.one_of(_IN_RANGE, _IN_RANGE, st.sampled_from(_BOUNDARY_CENTS), st.integers(0, 5000))


@st.composite
def amount_text(draw: st.DrawFn) -> tuple[Decimal, str]:
    cents = draw(cents_st)
    euros, rest = divmod(cents, 100)
    forms = [f"{euros}.{rest:02d}", f"{euros},{rest:02d}"]
    if rest == 0:
        forms.append(str(euros))
    if rest % 10 == 0:
        forms += [f"{euros}.{rest // 10}", f"{euros},{rest // 10}"]
    text = draw(st.sampled_from(forms)) + draw(st.sampled_from(["", "", " EUR", "€", " eur"]))
    return (Decimal(cents) / 100).quantize(Decimal("0.01")), text


def number_forms(msisdn: str) -> list[str]:
    national = msisdn[3:]
    return [national, msisdn, "+" + msisdn, "00" + msisdn]


@st.composite
def typed_number(draw: st.DrawFn, msisdns: tuple[str, ...]) -> tuple[str, str]:
    msisdn = draw(st.sampled_from(msisdns))
    return msisdn, draw(st.sampled_from(number_forms(msisdn)))


senders_st = typed_number(SENDERS)
targets_st = typed_number(TARGETS)


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _format(amount: Decimal, lang: Language) -> str:
    text = f"{amount:.2f}"
    return (text.replace(".", ",") if lang is Language.LV else text) + " EUR"


# ---- the machine -----------------------------------------------------------------------

#: Start instants (UTC): just before the autumn and spring DST changes, a month end,
#: the year end, the end of a common and of a leap February.
STARTS = [
    datetime(2026, 10, 24, 19, 30, tzinfo=UTC),  # Sat 22:30 in Riga; DST ends Sun 25 Oct 04:00 → 03:00
    datetime(2027, 3, 27, 20, 0, tzinfo=UTC),  # Sat 22:00; DST starts Sun 28 Mar 03:00 → 04:00
    datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    datetime(2026, 12, 30, 21, 45, tzinfo=UTC),
    datetime(2027, 2, 26, 12, 0, tzinfo=UTC),
    datetime(2028, 2, 27, 12, 0, tzinfo=UTC),
]

_STEPS = [
    timedelta(seconds=1),
    timedelta(minutes=59),
    timedelta(hours=1),
    timedelta(hours=23, minutes=59, seconds=59),
    timedelta(hours=24),
    timedelta(hours=24, seconds=1),
    timedelta(hours=25),
    timedelta(days=7),
]
# Mostly less than a day (caps fill up within a month), sometimes weeks.
DURATIONS = st.one_of(
    st.sampled_from(_STEPS),
    st.integers(1, 86400).map(lambda s: timedelta(seconds=s)),
    st.integers(1, 86400).map(lambda s: timedelta(seconds=s)),
    st.integers(1, 40 * 86400).map(lambda s: timedelta(seconds=s)),
)

# Riga wall-clock targets the clock jumps forward to.
JUMPS = ["before_midnight", "after_midnight", "month_end_morning", "month_end_run", "month_end_night", "next_month"]


class RulesMachine(RuleBasedStateMachine):
    template: Path  # a migrated, empty database, set by the test

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="rules-", dir=self.template.parent))
        self.path = self.folder / "smsgw.db"
        shutil.copyfile(self.template, self.path)
        self.h: Harness | None = None
        self.con: sqlite3.Connection | None = None
        self.model = Model()
        self.retired = False

    # -- plumbing --

    def run(self, coro: object) -> object:
        return self.loop.run_until_complete(coro)  # type: ignore[arg-type]

    @property
    def harness(self) -> Harness:
        assert self.h is not None
        return self.h

    @property
    def now(self) -> datetime:
        return self.harness.clock.now

    def send(self, source: str, text: str) -> MoResult:
        mo = InboundMo(source, "1643", text, self.now)
        # Each MO is a new message (the ``smsgw mo`` path): redeliveries are another suite's concern.
        return self.run(self.harness.service.handle_mo(mo, recognise_redelivery=False))  # type: ignore[return-value]

    def expect(self, result: MoResult, outcome: str, text: str, sender: str) -> None:
        event(outcome)  # --hypothesis-show-statistics shows how often each outcome was reached
        assert result.outcome == outcome, (text, sender, self.now, result.outcome, outcome)
        recipients = [m.to for m in result.replies]
        if outcome in ("topup_applied",):
            assert len(recipients) == 2 and recipients[0] == sender, recipients
        else:
            assert recipients == [sender], (outcome, recipients)

    def teardown(self) -> None:
        if self.con is not None:
            self.con.close()
        if self.h is not None:
            self.run(self.h.db.close())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- set-up --

    @initialize(start=st.sampled_from(STARTS))
    def start(self, start: datetime) -> None:
        url = f"sqlite+aiosqlite:///{self.path}"
        self.h = self.run(make_harness(url, now=start, migrate=False))  # type: ignore[assignment]
        rows = directory(start)
        self.run(import_subscribers(_App(self.harness.db), rows))
        for s in rows:
            self.model.subs[s.msisdn] = Sub(
                s.kind,
                s.active,
                s.customer_type is CustomerType.LEGAL,
                s.sos_sms_allowed,
                s.language,
                s.karte_expires_on,
                s.balance,
            )
        self.con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    # -- MOs --

    @rule(sender=senders_st, karte=targets_st, amount=amount_text(), keyword=st.sampled_from(["V ", "v ", ""]))
    def one_off(
        self, sender: tuple[str, str], karte: tuple[str, str], amount: tuple[Decimal, str], keyword: str
    ) -> None:
        text = f"{keyword}{karte[1]} {amount[1]}"
        outcome = self.model.top_up(sender[0], karte[0], amount[0], self.now)
        self.expect(self.send(sender[1], text), outcome, text, sender[0])

    @rule(
        sender=typed_number((ANNA, ANNA, ANNA, BERT, CORP)),
        karte=typed_number((K_OK, K_EN, K_NODATE)),
        cents=st.sampled_from([2134, 2134, 2000, 1067]) | st.integers(1000, 2134),
    )
    def big_one_off(self, sender: tuple[str, str], karte: tuple[str, str], cents: int) -> None:
        """A large top-up by an eligible sender: fills the daily and the monthly cap within a run."""
        amount = Decimal(cents) / 100
        text = f"{karte[1]} {amount:.2f}"
        outcome = self.model.top_up(sender[0], karte[0], amount, self.now)
        self.expect(self.send(sender[1], text), outcome, text, sender[0])

    @rule(
        sender=typed_number(ELIGIBLE),
        karte=typed_number((K_OK, K_EN, K_NODATE)),
        edge=st.sampled_from(["day", "month", "month_run"]),
        cents=st.sampled_from([-1, 0, 1]),
    )
    def to_the_cap(self, sender: tuple[str, str], karte: tuple[str, str], edge: str, cents: int) -> None:
        """Top up to a cap's edge, give or take a cent: random amounts rarely land there.

        ``day``: the rest of the daily cap; ``month``: the rest of the monthly cap;
        ``month_run``: leave exactly the room the sender's first monthly order still to
        run this month needs. On the way there it tops up all but 5 EUR of what is left,
        and when today is full it goes on tomorrow (while that is the same month).
        """
        msisdn = sender[0]
        for _ in range(6):
            today = _local(self.now).date()
            left_day = DAILY_CAP - self.model.one_off_on(msisdn, today)
            left_month = MONTHLY_CAP - self.model.spent_in(msisdn, _month(today))
            if edge == "day":
                left, room = left_day, left_day + Decimal("0.01")  # the daily check is the one overshot
            elif edge == "month":
                left, room = left_month, left_day
            else:
                due = [
                    order
                    for (s, _), order in sorted(self.model.orders.items(), key=lambda item: item[1].seq)
                    if s == msisdn and (order.last_month is None or order.last_month >= _month(today))
                ]
                if not due:
                    return
                left, room = left_month - due[0].amount, left_day
            amount = left + Decimal(cents) / 100
            if ONE_OFF_MIN <= amount <= min(ONE_OFF_MAX, room):
                self._one_off(sender, karte, amount)
                return
            step = min(left - 5, left_day, ONE_OFF_MAX)
            if step >= ONE_OFF_MIN:
                self._one_off(sender, karte, step)
                continue
            tomorrow = self.now + timedelta(days=1)
            if edge == "day" or _month(_local(tomorrow).date()) != _month(today):
                return
            self.harness.clock.now = tomorrow

    def _one_off(self, sender: tuple[str, str], karte: tuple[str, str], amount: Decimal) -> None:
        text = f"{karte[1]} {amount:.2f}".replace(".", ",")
        outcome = self.model.top_up(sender[0], karte[0], amount, self.now)
        self.expect(self.send(sender[1], text), outcome, text, sender[0])

    @rule(sender=senders_st, karte=targets_st, amount=amount_text(), keyword=st.sampled_from(["M ", "m "]))
    def monthly(
        self, sender: tuple[str, str], karte: tuple[str, str], amount: tuple[Decimal, str], keyword: str
    ) -> None:
        text = f"{keyword}{karte[1]} {amount[1]}"
        outcome = self.model.request_monthly(sender[0], karte[0], amount[0], self.now)
        self.expect(self.send(sender[1], text), outcome, text, sender[0])

    @rule(sender=senders_st, word=st.sampled_from(["JA", "ja", "Jā", "YES"]))
    def confirm(self, sender: tuple[str, str], word: str) -> None:
        outcome = self.model.confirm(sender[0], self.now)
        self.expect(self.send(sender[1], word), outcome, word, sender[0])

    @precondition(lambda self: bool(self.model.pending))
    @rule(pick=st.integers(0, 2), form=st.integers(0, 3))
    def confirm_pending(self, pick: int, form: int) -> None:
        """JA from a sender who has a request waiting (a random sender rarely has one)."""
        sender = sorted(self.model.pending)[pick % len(self.model.pending)]
        outcome = self.model.confirm(sender, self.now)
        self.expect(self.send(number_forms(sender)[form], "JA"), outcome, "JA", sender)

    @rule(sender=senders_st, karte=st.none() | targets_st)
    def stop(self, sender: tuple[str, str], karte: tuple[str, str] | None) -> None:
        text = "STOP" if karte is None else f"STOP {karte[1]}"
        outcome = self.model.stop(sender[0], None if karte is None else karte[0], self.now)
        self.expect(self.send(sender[1], text), outcome, text, sender[0])

    @rule(sender=senders_st, karte=st.none() | targets_st)
    def status(self, sender: tuple[str, str], karte: tuple[str, str] | None) -> None:
        text = "S" if karte is None else f"S {karte[1]}"
        msisdn = sender[0]
        refusal = self.model.sender_refusal(msisdn)
        result = self.send(sender[1], text)
        if refusal:
            self.expect(result, refusal, text, msisdn)
            return
        month = _month(_local(self.now).date())
        lang = self.model.subs[msisdn].lang
        if karte is None:
            total = self.model.spent_in(msisdn, month)
            self.expect(result, "status", text, msisdn)
            if total:
                assert _format(total, lang) in result.replies[0].text, (total, result.replies[0].text)
            else:
                assert _format(MONTHLY_CAP, lang) in result.replies[0].text  # "nothing yet; the limit is …"
        else:
            spent = self.model.spent_in(msisdn, month, karte[0])
            self.expect(result, "status_karte", text, msisdn)
            assert _format(spent, lang) in result.replies[0].text, (spent, result.replies[0].text)

    # -- time --

    @rule(delta=DURATIONS)
    def advance(self, delta: timedelta) -> None:
        self.harness.clock.advance(seconds=delta.total_seconds())

    @rule(jump=st.sampled_from(JUMPS))
    def jump(self, jump: str) -> None:
        today = _local(self.now).date()
        last = _last_day(today)
        target = {
            "before_midnight": _at_local(today, time(23, 59, 59)),
            "after_midnight": _at_local(today + timedelta(days=1), time(0, 0, 1)),
            "month_end_morning": _at_local(last, time(9, 59, 59)),
            "month_end_run": _at_local(last, RUN_AT),
            "month_end_night": _at_local(last, time(23, 59, 59)),
            "next_month": _at_local(last + timedelta(days=1), time(0)),
        }[jump]
        if target > self.now:
            self.harness.clock.now = target

    @rule(which=st.sampled_from(["today", "today", "previous_month_end", "yesterday"]))
    def run_monthly(self, which: str) -> None:
        today = _local(self.now).date()
        run_date = {
            "today": today,
            "previous_month_end": today.replace(day=1) - timedelta(days=1),
            "yesterday": today - timedelta(days=1),
        }[which]
        expected = self.model.run_monthly(run_date)
        counts = self.run(self.harness.service.run_monthly(run_date))
        for outcome in expected:
            event(outcome)
        assert counts == expected, (run_date, counts, expected)

    @rule(
        wall=st.sampled_from([time(0, 0, 1), time(9, 59, 59), RUN_AT, time(23, 59, 59)]),
        fill=st.none() | st.tuples(typed_number(ELIGIBLE), st.sampled_from([-1, 0, 1])),
    )
    def month_end(self, wall: time, fill: tuple[tuple[str, str], int] | None) -> None:
        """Jump to this month's last day (if that is not in the past) and run the monthly top-ups.

        With ``fill``, that sender first tops up until the month has room for their first
        monthly order give or take a cent: the run then lands on the cap's edge.
        """
        if fill is not None:
            self.to_the_cap(fill[0], (K_OK, K_OK[3:]), "month_run", fill[1])
        last = _last_day(_local(self.now).date())
        target = _at_local(last, wall)
        if target > self.now:
            self.harness.clock.now = target
        self.run_monthly("today")

    # -- the operator --

    @precondition(lambda self: not self.retired)
    @rule(msisdn=st.sampled_from([CORP, K_EN, K_OK]), roll=st.integers(0, 9))
    def retire(self, msisdn: str, roll: int) -> None:
        """Now and then (once per run at most) a number is cancelled in the directory (the operator's import)."""
        if roll != 7:
            return
        self.retired = True
        stmt = update(schema.subscribers).where(schema.subscribers.c.msisdn == msisdn).values(status="cancelled")
        self.run(self.harness.db.write(lambda uow: uow.sql.run(stmt)))
        self.model.subs[msisdn].active = False

    # -- invariants: the database against the model --

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        assert self.con is not None
        return self.con.execute(sql).fetchall()

    @invariant()
    def ledger_matches(self) -> None:
        if self.con is None:
            return
        db = sorted(self.rows("SELECT sender, karte, amount_cents, kind, created_at FROM topups"))  # type: ignore[type-var]
        model = sorted(
            (e.sender, e.karte, _cents(e.amount), e.kind, e.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
            for e in self.model.ledger
        )
        assert db == model
        unpaired = self.rows(
            "SELECT COUNT(*) FROM topups t LEFT JOIN charges c ON c.topup_id = t.id AND c.sender = t.sender"
            " AND c.karte = t.karte AND c.amount_cents = t.amount_cents AND c.kind = t.kind"
            " AND c.charged_at = t.created_at WHERE c.id IS NULL"
        )
        charges = self.rows("SELECT COUNT(*) FROM charges")
        assert unpaired == [(0,)] and charges == [(len(db),)]

    @invariant()
    def caps_hold_in_the_database(self) -> None:
        if self.con is None:
            return
        days: Counter[tuple[object, date]] = Counter()
        months: Counter[tuple[object, str]] = Counter()
        for sender, cents, kind, at in self.rows("SELECT sender, amount_cents, kind, charged_at FROM charges"):
            local = _local(datetime.strptime(str(at), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)).date()
            if kind == "one_off":
                days[(sender, local)] += int(str(cents))
            months[(sender, _month(local))] += int(str(cents))
        assert all(total <= 2134 for total in days.values()), days
        assert all(total <= 4269 for total in months.values()), months

    @invariant()
    def pending_matches(self) -> None:
        if self.con is None:
            return
        db = sorted(self.rows("SELECT sender, karte, amount_cents, requested_at FROM pending_requests"))  # type: ignore[type-var]
        model = sorted(
            (s, k, _cents(a), at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")) for s, (k, a, at) in self.model.pending.items()
        )
        assert db == model

    @invariant()
    def orders_and_runs_match(self) -> None:
        if self.con is None:
            return
        db = sorted(self.rows("SELECT sender, karte, amount_cents, last_month FROM monthly_orders ORDER BY id"))  # type: ignore[type-var]
        model = sorted((s, k, _cents(o.amount), o.last_month) for (s, k), o in self.model.orders.items())
        assert db == model
        runs = sorted(
            self.rows(  # type: ignore[type-var]
                "SELECT o.sender, o.karte, r.month, r.outcome FROM monthly_runs r"
                " JOIN monthly_orders o ON o.id = r.order_id"
            )
        )
        assert runs == sorted((s, k, m, outcome) for (s, k, m), outcome in self.model.runs.items())

    @invariant()
    def kartes_match(self) -> None:
        if self.con is None:
            return
        db = {
            msisdn: (balance, expires)
            for msisdn, balance, expires in self.rows(
                "SELECT msisdn, balance_cents, karte_expires_on FROM subscribers WHERE kind = 'karte'"
            )
        }
        model = {
            msisdn: (_cents(s.balance or ZERO), None if s.expires is None else s.expires.isoformat())
            for msisdn, s in self.model.subs.items()
            if s.kind is Kind.KARTE
        }
        assert db == model


SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    # Shrinking a failure replays many runs on the database (minutes); RELIABILITY_NO_SHRINK=1 skips it.
    phases=[p for p in Phase if not (p is Phase.shrink and os.environ.get("RELIABILITY_NO_SHRINK"))],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_rules_against_the_model(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{template}"))
    RulesMachine.template = template
    run_state_machine_as_test(RulesMachine, settings=SETTINGS)


def test_the_model_knows_the_calendar() -> None:
    """The model's own date arithmetic, on the cases the machine's starts rely on."""
    assert _add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert _add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert _add_months(date(2026, 11, 28), -8) == date(2026, 3, 28)
    # 25 Oct 2026 has 25 hours in Riga, 28 Mar 2027 has 23.
    assert _at_local(date(2026, 10, 26), time(0)) - _at_local(date(2026, 10, 25), time(0)) == timedelta(hours=25)
    assert _at_local(date(2027, 3, 29), time(0)) - _at_local(date(2027, 3, 28), time(0)) == timedelta(hours=23)
