"""The SOS-SMS and password rules as pure functions: no I/O, time passed in.

Every function here is tested as a table in ``tests/unit/test_rules.py``.
Calendar days and months are those of ``Rules.tz`` (Europe/Riga); instants are
aware UTC datetimes; money is Decimal with two places.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from .errors import (
    AmountOutOfRange,
    DailyCapReached,
    KarteExpiredTooLong,
    KarteNotActive,
    MonthlyCapReached,
    NotAKarte,
    SenderNotEligible,
)
from .model import CustomerType, Kind, LedgerTotals, Subscriber

__all__ = [
    "Rules",
    "add_months",
    "check_amount",
    "check_caps",
    "check_karte",
    "check_sender",
    "confirmation_expired",
    "day_bounds",
    "is_last_day_of_month",
    "last_day_of_month",
    "local_date",
    "month_bounds",
    "month_key",
    "monthly_cap_allows",
    "new_expiry",
    "next_monthly_run",
    "password_decision",
    "validity_days",
]

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Rules:
    """The numbers of SPEC §3–§4 (defaults) as configured in ``[sos]`` and ``[password]``."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Riga"))
    one_off_min: Decimal = Decimal("1.42")
    one_off_max: Decimal = Decimal("21.34")
    daily_cap: Decimal = Decimal("21.34")
    monthly_cap: Decimal = Decimal("42.69")
    monthly_min: Decimal = Decimal("1.42")
    monthly_max: Decimal = Decimal("42.69")
    confirm_window: timedelta = timedelta(hours=24)
    expired_grace_months: int = 6
    #: (minimum amount, days of validity from today), ascending by amount.
    validity: tuple[tuple[Decimal, int], ...] = (
        (Decimal("1.42"), 30),
        (Decimal("5.00"), 90),
        (Decimal("10.00"), 180),
        (Decimal("20.00"), 365),
    )
    monthly_run_at: time = time(10, 0)
    password_length: int = 10
    password_valid: timedelta = timedelta(hours=24)
    password_per_hour: int = 3
    password_per_day: int = 5


# --- calendar -----------------------------------------------------------------


def local_date(now: datetime, tz: ZoneInfo) -> date:
    """The calendar date in ``tz`` at the instant ``now``."""
    return now.astimezone(tz).date()


def _utc_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Half-open UTC range of the local calendar day containing ``now``."""
    today = local_date(now, tz)
    return _utc_midnight(today, tz), _utc_midnight(today + timedelta(days=1), tz)


def month_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Half-open UTC range of the local calendar month containing ``now``."""
    today = local_date(now, tz)
    first = today.replace(day=1)
    return _utc_midnight(first, tz), _utc_midnight(last_day_of_month(today) + timedelta(days=1), tz)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def last_day_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def is_last_day_of_month(day: date) -> bool:
    return day == last_day_of_month(day)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's last day (31.08 + 6 → 28/29.02)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def next_monthly_run(now: datetime, rules: Rules) -> date:
    """The date of the next last-day-of-month run that has not started yet."""
    local = now.astimezone(rules.tz)
    today = local.date()
    last = last_day_of_month(today)
    if today < last or local.time() < rules.monthly_run_at:
        return last
    return last_day_of_month(last + timedelta(days=1))


# --- who may do what ----------------------------------------------------------


def check_sender(sender: Subscriber | None) -> Subscriber:
    """SOS-SMS is for active postpaid numbers of private customers or allowed legal entities."""
    if sender is None:
        raise SenderNotEligible("unknown")
    if not sender.active:
        raise SenderNotEligible("inactive")
    if sender.kind is not Kind.POSTPAID:
        raise SenderNotEligible("not_postpaid")
    if sender.customer_type is CustomerType.LEGAL and not sender.sos_sms_allowed:
        raise SenderNotEligible("legal")
    return sender


def check_karte(msisdn: str, karte: Subscriber | None, today: date, rules: Rules) -> Subscriber:
    """The target must be an active LMT Karte, expired no more than the grace period ago."""
    if karte is None or karte.kind is not Kind.KARTE:
        raise NotAKarte(msisdn)
    if not karte.active:
        raise KarteNotActive(msisdn)
    expires = karte.karte_expires_on
    if expires is not None and today > add_months(expires, rules.expired_grace_months):
        raise KarteExpiredTooLong(msisdn, rules.expired_grace_months)
    return karte


# --- money ---------------------------------------------------------------------


def check_amount(amount: Decimal, rules: Rules, *, monthly: bool) -> None:
    low, high = (rules.monthly_min, rules.monthly_max) if monthly else (rules.one_off_min, rules.one_off_max)
    if not low <= amount <= high:
        raise AmountOutOfRange(amount, low, high, monthly)


def check_caps(amount: Decimal, totals: LedgerTotals, rules: Rules) -> None:
    """A one-off top-up must keep the day's one-off sum and the month's total within the caps."""
    if totals.one_off_today + amount > rules.daily_cap:
        raise DailyCapReached(rules.daily_cap, max(rules.daily_cap - totals.one_off_today, Decimal("0.00")))
    if totals.this_month + amount > rules.monthly_cap:
        raise MonthlyCapReached(rules.monthly_cap, max(rules.monthly_cap - totals.this_month, Decimal("0.00")))


def monthly_cap_allows(amount: Decimal, month_total: Decimal, rules: Rules) -> bool:
    """A monthly execution that would pass the monthly cap is skipped for that month."""
    return month_total + amount <= rules.monthly_cap


def validity_days(amount: Decimal, rules: Rules) -> int:
    """Days of validity a top-up of ``amount`` gives (the config table; below it, the first step)."""
    days = rules.validity[0][1]
    for threshold, step_days in rules.validity:
        if amount >= threshold:
            days = step_days
    return days


def new_expiry(current: date | None, today: date, amount: Decimal, rules: Rules) -> date:
    """Valid for the table's days from today, never shortening a later expiry."""
    extended = today + timedelta(days=validity_days(amount, rules))
    if current is not None and current > extended:
        return current
    return extended


# --- time windows --------------------------------------------------------------


def confirmation_expired(requested_at: datetime, now: datetime, rules: Rules) -> bool:
    return now - requested_at > rules.confirm_window


def password_decision(history: list[tuple[datetime, str]], now: datetime, rules: Rules) -> str:
    """``issue``, ``try_later`` (once per blocked stretch) or ``silent``.

    ``history`` is the (time, outcome) of requests in the last 24 hours in the
    order they were recorded; outcomes are ``issued``, ``try_later`` and
    ``silent``. At most ``password_per_hour`` passwords in any hour and
    ``password_per_day`` in any 24 hours; past that one reply says to try later,
    then silence until a window has room again. "Told" goes by that order, not by
    time: the requests of one batch share one time, and a "try later" recorded at
    the very time of the last password still counts.
    """
    day_ago, hour_ago = now - timedelta(hours=24), now - timedelta(hours=1)
    issued = [at for at, outcome in history if outcome == "issued" and at > day_ago]
    in_hour = sum(1 for at in issued if at > hour_ago)
    if in_hour < rules.password_per_hour and len(issued) < rules.password_per_day:
        return "issue"
    last = max((i for i, (at, outcome) in enumerate(history) if outcome == "issued" and at > day_ago), default=-1)
    told = any(outcome == "try_later" for _, outcome in history[last + 1 :])
    return "silent" if told else "try_later"
