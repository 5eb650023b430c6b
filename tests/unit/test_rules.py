"""The pure rules of ``handlers.rules`` as tables.

Every expected value comes from SPEC §2–§4 (and the validity table of
``config.toml``), worked out by hand: amounts and caps in euros, Europe/Riga
calendar days and months (EET UTC+2 in winter, EEST UTC+3 from the last Sunday
of March to the last Sunday of October), the 24-hour confirmation window, the
6-month grace of an expired Karte and the password rate limit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from handlers.errors import (
    AmountOutOfRange,
    DailyCapReached,
    KarteExpiredTooLong,
    KarteNotActive,
    MonthlyCapReached,
    NotAKarte,
    Refusal,
    SenderNotEligible,
)
from handlers.model import CustomerType, LedgerTotals, Subscriber, SubscriberStatus
from handlers.rules import (
    Rules,
    add_months,
    check_amount,
    check_caps,
    check_karte,
    check_sender,
    confirmation_expired,
    day_bounds,
    is_last_day_of_month,
    last_day_of_month,
    local_date,
    month_bounds,
    month_key,
    monthly_cap_allows,
    new_expiry,
    next_monthly_run,
    password_decision,
    validity_days,
)
from tests.unit.fakes import KARTE, karte, postpaid

RULES = Rules()
RIGA = ZoneInfo("Europe/Riga")
D = Decimal


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- the numbers of the SPEC are the defaults ---------------------------------------


def test_defaults_are_the_numbers_of_the_spec() -> None:
    assert (RULES.one_off_min, RULES.one_off_max) == (D("1.42"), D("21.34"))
    assert (RULES.monthly_min, RULES.monthly_max) == (D("1.42"), D("42.69"))
    assert (RULES.daily_cap, RULES.monthly_cap) == (D("21.34"), D("42.69"))
    assert RULES.confirm_window == timedelta(hours=24)
    assert RULES.expired_grace_months == 6
    assert RULES.tz.key == "Europe/Riga"
    assert (RULES.password_per_hour, RULES.password_per_day) == (3, 5)
    assert RULES.password_valid == timedelta(hours=24)
    assert RULES.password_length == 10


# --- amounts (SPEC §4 rules 1 and 4) ----------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "monthly", "ok"),
    [
        ("0.00", False, False),
        ("1.41", False, False),
        ("1.42", False, True),
        ("5.00", False, True),
        ("21.34", False, True),
        ("21.35", False, False),
        ("42.69", False, False),
        ("0.00", True, False),
        ("1.41", True, False),
        ("1.42", True, True),
        ("21.35", True, True),
        ("42.69", True, True),
        ("42.70", True, False),
        ("1000000.00", True, False),
    ],
)
def test_amount_range(amount: str, monthly: bool, ok: bool) -> None:
    if ok:
        check_amount(D(amount), RULES, monthly=monthly)
        return
    with pytest.raises(AmountOutOfRange) as caught:
        check_amount(D(amount), RULES, monthly=monthly)
    high = D("42.69") if monthly else D("21.34")
    assert caught.value.params == {"amount": D(amount), "low": D("1.42"), "high": high, "monthly": monthly}


# --- caps (SPEC §4 rules 2 and 3) --------------------------------------------------------

# (one-off today, all this month, amount, expected: None = allowed, else (refusal, left))
CAPS: list[tuple[str, str, str, tuple[type[Refusal], str] | None]] = [
    ("0.00", "0.00", "21.34", None),
    ("0.00", "0.00", "21.35", (DailyCapReached, "21.34")),
    ("10.00", "10.00", "11.34", None),  # exactly the daily cap
    ("10.00", "10.00", "11.35", (DailyCapReached, "11.34")),
    ("21.34", "21.34", "1.42", (DailyCapReached, "0.00")),
    ("20.00", "20.00", "1.42", (DailyCapReached, "1.34")),
    # earlier days of the month count toward the monthly cap only
    ("0.00", "40.00", "2.69", None),  # exactly the monthly cap
    ("0.00", "40.00", "2.70", (MonthlyCapReached, "2.69")),
    ("0.00", "42.69", "1.42", (MonthlyCapReached, "0.00")),
    ("0.00", "21.34", "21.34", None),
    ("0.00", "21.36", "21.34", (MonthlyCapReached, "21.33")),
    # a monthly execution of 30.00 today: in the month's total, not in today's one-off sum
    ("0.00", "30.00", "12.69", None),
    ("0.00", "30.00", "12.70", (MonthlyCapReached, "12.69")),
    ("5.00", "35.00", "7.69", None),
]


@pytest.mark.parametrize(("today", "month", "amount", "expected"), CAPS)
def test_caps(today: str, month: str, amount: str, expected: tuple[type[Refusal], str] | None) -> None:
    totals = LedgerTotals(one_off_today=D(today), this_month=D(month))
    if expected is None:
        check_caps(D(amount), totals, RULES)
        return
    refusal, left = expected
    with pytest.raises(refusal) as caught:
        check_caps(D(amount), totals, RULES)
    cap = D("21.34") if refusal is DailyCapReached else D("42.69")
    assert caught.value.params == {"cap": cap, "left": D(left)}


@pytest.mark.parametrize(
    ("amount", "month_total", "allowed"),
    [
        ("42.69", "0.00", True),
        ("42.70", "0.00", False),
        ("2.69", "40.00", True),
        ("2.70", "40.00", False),
        ("1.42", "42.69", False),
        ("21.34", "21.35", True),
        ("21.34", "21.36", False),
    ],
)
def test_monthly_execution_within_monthly_cap(amount: str, month_total: str, allowed: bool) -> None:
    assert monthly_cap_allows(D(amount), D(month_total), RULES) is allowed


# --- Europe/Riga days and months (SPEC §4 "Time") ------------------------------------


@pytest.mark.parametrize(
    ("instant", "riga_date"),
    [
        (utc(2026, 1, 15, 21, 59), date(2026, 1, 15)),  # 23:59 EET
        (utc(2026, 1, 15, 22, 0), date(2026, 1, 16)),  # 00:00 EET
        (utc(2026, 1, 15, 23, 30), date(2026, 1, 16)),  # 01:30 EET: already the next Riga day
        (utc(2026, 7, 15, 20, 59), date(2026, 7, 15)),  # 23:59 EEST
        (utc(2026, 7, 15, 21, 0), date(2026, 7, 16)),  # 00:00 EEST
        (utc(2026, 12, 31, 22, 0), date(2027, 1, 1)),  # new year in Riga, not yet in UTC
    ],
)
def test_local_date(instant: datetime, riga_date: date) -> None:
    assert local_date(instant, RIGA) == riga_date


@pytest.mark.parametrize(
    ("instant", "start", "end"),
    [
        (utc(2026, 1, 15, 12, 0), utc(2026, 1, 14, 22, 0), utc(2026, 1, 15, 22, 0)),
        (utc(2026, 1, 15, 23, 30), utc(2026, 1, 15, 22, 0), utc(2026, 1, 16, 22, 0)),
        (utc(2026, 7, 15, 23, 30), utc(2026, 7, 15, 21, 0), utc(2026, 7, 16, 21, 0)),
        # 2026-03-29: clocks go 03:00 EET → 04:00 EEST, a 23-hour day
        (utc(2026, 3, 29, 0, 30), utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 21, 0)),
        (utc(2026, 3, 29, 12, 0), utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 21, 0)),
        # 2026-10-25: clocks go 04:00 EEST → 03:00 EET, a 25-hour day
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 24, 21, 0), utc(2026, 10, 25, 22, 0)),
        (utc(2026, 10, 25, 21, 59), utc(2026, 10, 24, 21, 0), utc(2026, 10, 25, 22, 0)),
        # the instant a day starts belongs to it (half-open)
        (utc(2026, 1, 14, 22, 0), utc(2026, 1, 14, 22, 0), utc(2026, 1, 15, 22, 0)),
    ],
)
def test_day_bounds(instant: datetime, start: datetime, end: datetime) -> None:
    assert day_bounds(instant, RIGA) == (start, end)


@pytest.mark.parametrize(
    ("instant", "start", "end"),
    [
        (utc(2026, 1, 15, 12, 0), utc(2025, 12, 31, 22, 0), utc(2026, 1, 31, 22, 0)),
        # March 2026 starts in EET and ends in EEST
        (utc(2026, 3, 10, 10, 0), utc(2026, 2, 28, 22, 0), utc(2026, 3, 31, 21, 0)),
        # 00:30 on 1 April in Riga is still 31 March in UTC
        (utc(2026, 3, 31, 21, 30), utc(2026, 3, 31, 21, 0), utc(2026, 4, 30, 21, 0)),
        # October 2026 starts in EEST and ends in EET
        (utc(2026, 10, 25, 12, 0), utc(2026, 9, 30, 21, 0), utc(2026, 10, 31, 22, 0)),
        (utc(2026, 12, 31, 22, 30), utc(2026, 12, 31, 22, 0), utc(2027, 1, 31, 22, 0)),
        (utc(2024, 2, 29, 12, 0), utc(2024, 1, 31, 22, 0), utc(2024, 2, 29, 22, 0)),
    ],
)
def test_month_bounds(instant: datetime, start: datetime, end: datetime) -> None:
    assert month_bounds(instant, RIGA) == (start, end)


@pytest.mark.parametrize(("day", "key"), [(date(2026, 3, 1), "2026-03"), (date(999, 12, 31), "0999-12")])
def test_month_key(day: date, key: str) -> None:
    assert month_key(day) == key


@pytest.mark.parametrize(
    ("day", "last"),
    [
        (date(2024, 2, 1), date(2024, 2, 29)),  # leap year
        (date(2026, 2, 14), date(2026, 2, 28)),
        (date(2000, 2, 1), date(2000, 2, 29)),  # divisible by 400
        (date(2100, 2, 1), date(2100, 2, 28)),  # divisible by 100 only
        (date(2026, 4, 30), date(2026, 4, 30)),
        (date(2026, 4, 1), date(2026, 4, 30)),
        (date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 12, 31), date(2026, 12, 31)),
    ],
)
def test_last_day_of_month(day: date, last: date) -> None:
    assert last_day_of_month(day) == last


@pytest.mark.parametrize(
    ("day", "is_last"),
    [
        (date(2024, 2, 28), False),
        (date(2024, 2, 29), True),
        (date(2026, 2, 28), True),
        (date(2026, 4, 30), True),
        (date(2026, 3, 30), False),
        (date(2026, 3, 31), True),
        (date(2026, 1, 1), False),
    ],
)
def test_is_last_day_of_month(day: date, is_last: bool) -> None:
    assert is_last_day_of_month(day) is is_last


@pytest.mark.parametrize(
    ("day", "months", "result"),
    [
        (date(2025, 8, 31), 6, date(2026, 2, 28)),  # clamped to the end of February
        (date(2023, 8, 31), 6, date(2024, 2, 29)),  # leap February
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 10, 31), 1, date(2026, 11, 30)),
        (date(2026, 9, 10), 6, date(2027, 3, 10)),  # across the year
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 5, 5), 0, date(2026, 5, 5)),
        (date(2026, 5, 5), 24, date(2028, 5, 5)),
    ],
)
def test_add_months(day: date, months: int, result: date) -> None:
    assert add_months(day, months) == result


# The run is at 10:00 Riga time on the last day (config default).
@pytest.mark.parametrize(
    ("instant", "run"),
    [
        (utc(2026, 3, 10, 10, 0), date(2026, 3, 31)),  # mid-month
        (utc(2026, 3, 1, 0, 0), date(2026, 3, 31)),
        (utc(2026, 3, 31, 6, 59), date(2026, 3, 31)),  # 09:59 EEST on the last day: today's run is still ahead
        (utc(2026, 3, 31, 7, 0), date(2026, 4, 30)),  # 10:00 EEST: today's run has started
        (utc(2026, 3, 31, 20, 59), date(2026, 4, 30)),  # 23:59 EEST
        (utc(2026, 3, 31, 21, 0), date(2026, 4, 30)),  # 00:00 on 1 April in Riga
        (utc(2026, 2, 28, 7, 59), date(2026, 2, 28)),  # 09:59 EET
        (utc(2026, 2, 28, 8, 0), date(2026, 3, 31)),  # 10:00 EET
        (utc(2024, 2, 10, 12, 0), date(2024, 2, 29)),
        (utc(2026, 12, 31, 7, 59), date(2026, 12, 31)),
        (utc(2026, 12, 31, 8, 0), date(2027, 1, 31)),  # December → January
        (utc(2026, 12, 15, 12, 0), date(2026, 12, 31)),
    ],
)
def test_next_monthly_run(instant: datetime, run: date) -> None:
    assert next_monthly_run(instant, RULES) == run


def test_next_monthly_run_follows_the_configured_time() -> None:
    early = Rules(monthly_run_at=time(0, 5))
    assert next_monthly_run(utc(2026, 3, 30, 21, 4), early) == date(2026, 3, 31)  # 00:04 EEST on 31.03
    assert next_monthly_run(utc(2026, 3, 30, 21, 5), early) == date(2026, 4, 30)


# --- who may use SOS-SMS (SPEC §4 "Who may use it") -----------------------------------


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        (None, "unknown"),
        (postpaid(status=SubscriberStatus.CANCELLED), "inactive"),
        (karte("37120000001"), "not_postpaid"),
        (postpaid(customer_type=CustomerType.LEGAL), "legal"),
        (postpaid(), None),
        (postpaid(sos_sms_allowed=True), None),
        (postpaid(customer_type=CustomerType.LEGAL, sos_sms_allowed=True), None),
        (
            postpaid(customer_type=CustomerType.LEGAL, sos_sms_allowed=True, status=SubscriberStatus.CANCELLED),
            "inactive",
        ),
    ],
)
def test_check_sender(sender: Subscriber | None, reason: str | None) -> None:
    if reason is None:
        assert sender is not None
        assert check_sender(sender) is sender
        return
    with pytest.raises(SenderNotEligible) as caught:
        check_sender(sender)
    assert caught.value.params == {"reason": reason}
    assert caught.value.outcome == f"not_eligible_{reason}"


# --- the target Karte (SPEC §4 rule 8) ---------------------------------------------------

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        (None, NotAKarte),
        (postpaid(KARTE), NotAKarte),
        (postpaid(KARTE, status=SubscriberStatus.CANCELLED), NotAKarte),
        (karte(status=SubscriberStatus.CANCELLED), KarteNotActive),
        (karte(expires_on=None), None),
        (karte(expires_on=date(2026, 12, 31)), None),  # still valid
        (karte(expires_on=TODAY), None),
        (karte(expires_on=date(2025, 12, 10)), None),  # expired 3 months ago
        (karte(expires_on=date(2025, 9, 10)), None),  # expired exactly 6 months ago
        (karte(expires_on=date(2025, 9, 9)), KarteExpiredTooLong),  # 6 months and 1 day
        (karte(expires_on=date(2024, 1, 1)), KarteExpiredTooLong),
    ],
)
def test_check_karte(target: Subscriber | None, refusal: type[Refusal] | None) -> None:
    if refusal is None:
        assert target is not None
        assert check_karte(KARTE, target, TODAY, RULES) is target
        return
    with pytest.raises(refusal) as caught:
        check_karte(KARTE, target, TODAY, RULES)
    expected: dict[str, object] = {"karte": KARTE}
    if refusal is KarteExpiredTooLong:
        expected["months"] = 6
    assert caught.value.params == expected


@pytest.mark.parametrize(
    ("expired", "today", "ok"),
    [
        (date(2025, 8, 31), date(2026, 2, 28), True),
        (date(2025, 8, 31), date(2026, 3, 1), False),
    ],
)
def test_expired_grace_at_month_ends(expired: date, today: date, ok: bool) -> None:
    target = karte(expires_on=expired)
    if ok:
        check_karte(KARTE, target, today, RULES)
    else:
        with pytest.raises(KarteExpiredTooLong):
            check_karte(KARTE, target, today, RULES)


# --- validity of a topped-up Karte (config.toml [sos] validity) ---------------------------


@pytest.mark.parametrize(
    ("amount", "days"),
    [
        ("1.42", 30),
        ("4.99", 30),
        ("5.00", 90),
        ("9.99", 90),
        ("10.00", 180),
        ("19.99", 180),
        ("20.00", 365),
        ("21.34", 365),
        ("42.69", 365),
    ],
)
def test_validity_days(amount: str, days: int) -> None:
    assert validity_days(D(amount), RULES) == days


@pytest.mark.parametrize(
    ("current", "amount", "expected"),
    [
        (None, "1.42", date(2026, 4, 9)),  # today + 30
        (None, "5.00", date(2026, 6, 8)),  # today + 90
        (date(2026, 3, 20), "1.42", date(2026, 4, 9)),  # extended
        (date(2025, 12, 1), "10.00", date(2026, 9, 6)),  # expired: usable again, from today
        (date(2027, 1, 1), "1.42", date(2027, 1, 1)),  # a later expiry is never shortened
        (date(2026, 6, 8), "5.00", date(2026, 6, 8)),
        (date(2026, 6, 9), "5.00", date(2026, 6, 9)),
        (date(2026, 6, 7), "5.00", date(2026, 6, 8)),
        (date(2026, 12, 31), "20.00", date(2027, 3, 10)),
    ],
)
def test_new_expiry(current: date | None, amount: str, expected: date) -> None:
    assert new_expiry(current, TODAY, D(amount), RULES) == expected


# --- the JA window (SPEC §4 rule 5) -------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expired"),
    [
        (timedelta(0), False),
        (timedelta(seconds=1), False),
        (timedelta(hours=23, minutes=59, seconds=59), False),
        (timedelta(hours=24), False),  # exactly 24 hours: still within
        (timedelta(hours=24, seconds=1), True),
        (timedelta(days=3), True),
    ],
)
def test_confirmation_window(after: timedelta, expired: bool) -> None:
    requested = utc(2026, 3, 10, 10, 0)
    assert confirmation_expired(requested, requested + after, RULES) is expired


def test_confirmation_window_across_dst_is_24_real_hours() -> None:
    requested = utc(2026, 3, 28, 12, 0)  # 14:00 EET; 24 h later it is 15:00 EEST
    assert confirmation_expired(requested, utc(2026, 3, 29, 12, 0), RULES) is False
    assert confirmation_expired(requested, utc(2026, 3, 29, 12, 0, 1), RULES) is True


# --- the password rate limit (SPEC §3 Decision (security)) ---------------------------------

T = utc(2026, 3, 10, 12, 0)


def ago(**kwargs: int) -> datetime:
    return T - timedelta(**kwargs)


# history (oldest first) → decision at T
PASSWORD: list[tuple[str, list[tuple[datetime, str]], str]] = [
    ("nothing yet", [], "issue"),
    ("two this hour", [(ago(minutes=30), "issued"), (ago(minutes=10), "issued")], "issue"),
    (
        "three this hour",
        [(ago(minutes=50), "issued"), (ago(minutes=30), "issued"), (ago(minutes=10), "issued")],
        "try_later",
    ),
    (
        "three this hour, told to try later",
        [
            (ago(minutes=50), "issued"),
            (ago(minutes=30), "issued"),
            (ago(minutes=10), "issued"),
            (ago(minutes=5), "try_later"),
        ],
        "silent",
    ),
    (
        "three this hour, told, then silent",
        [
            (ago(minutes=50), "issued"),
            (ago(minutes=30), "issued"),
            (ago(minutes=10), "issued"),
            (ago(minutes=5), "try_later"),
            (ago(minutes=2), "silent"),
        ],
        "silent",
    ),
    (
        "the hour has passed for the oldest of three",
        [
            (ago(minutes=61), "issued"),
            (ago(minutes=30), "issued"),
            (ago(minutes=10), "issued"),
            (ago(minutes=5), "try_later"),
        ],
        "issue",
    ),
    (
        "five in 24 hours, none this hour",
        [(ago(hours=h), "issued") for h in (23, 20, 15, 10, 5)],
        "try_later",
    ),
    (
        "five in 24 hours, told",
        [(ago(hours=h), "issued") for h in (23, 20, 15, 10, 5)] + [(ago(hours=2), "try_later")],
        "silent",
    ),
    (
        "five, the oldest just outside the rolling 24 hours",
        [(ago(hours=24, minutes=1), "issued")] + [(ago(hours=h), "issued") for h in (20, 15, 10, 5)],
        "issue",
    ),
    (
        "four in 24 hours",
        [(ago(hours=h), "issued") for h in (20, 15, 10, 5)],
        "issue",
    ),
    (
        "a new blocked stretch gets its own try-later",
        [
            (ago(minutes=119), "issued"),
            (ago(minutes=118), "issued"),
            (ago(minutes=117), "issued"),
            (ago(minutes=116), "try_later"),
            (ago(minutes=50), "issued"),
            (ago(minutes=40), "issued"),
        ],
        "try_later",
    ),
    (
        "told at the very time of the last password (one batch, one time)",
        [(ago(minutes=1), "issued")] * 3 + [(ago(minutes=1), "try_later")],
        "silent",
    ),
    (
        "told in the same batch as the last password, asked again in that batch",
        [(T, "issued")] * 3 + [(T, "try_later")],
        "silent",
    ),
    (
        "refusals (cancelled number) do not count",
        [(ago(minutes=m), "refused") for m in (50, 40, 30, 20)],
        "issue",
    ),
]


@pytest.mark.parametrize(("history", "decision"), [(h, d) for _, h, d in PASSWORD], ids=[n for n, _, _ in PASSWORD])
def test_password_decision(history: list[tuple[datetime, str]], decision: str) -> None:
    assert password_decision(history, T, RULES) == decision
