"""The demo subscribers: every role the testers' page offers, true whatever the month (issue 13)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from simulator.phonebook import parse_phonebook
from smsgw.demo import DEMO_DATA_AS_OF, demo_csv_as_of

DEMO_CSV = Path(__file__).resolve().parents[2] / "smsgw" / "data" / "demo_subscribers.csv"
ROLES = {  # the roles issue 13 names, and the README's demo numbers
    "37120000001": "Latvian postpaid",
    "37120000002": "English postpaid",
    "37120000003": "company number without SOS-SMS",
    "37120000004": "company number with SOS-SMS",
    "37120000005": "cancelled postpaid number",
    "37129000001": "LMT Karte, valid until",
    "37129000004": "LMT Karte, expired 3 months ago (can still be topped up)",
    "37129000005": "LMT Karte, long expired (",  # 8 or 9 months, as the months fall
}


@pytest.mark.parametrize(
    "today", [date(2026, 12, 4), date(2027, 3, 1), date(2027, 8, 31), date(2028, 2, 29), date(2031, 12, 31)]
)
def test_the_demo_keeps_every_role_as_months_pass(today: date) -> None:
    text = demo_csv_as_of(DEMO_CSV.read_text(encoding="utf-8"), today)
    roles = {e.msisdn: e.role for e in parse_phonebook(text, today)}
    for number, role in ROLES.items():
        assert roles[number].startswith(role), (number, roles[number])


def test_in_the_month_it_was_written_the_file_is_imported_as_it_is() -> None:
    text = DEMO_CSV.read_text(encoding="utf-8")
    assert demo_csv_as_of(text, DEMO_DATA_AS_OF) == text


def test_dates_move_by_the_days_passed() -> None:
    header = "msisdn,kind,status,customer_type,sos_sms_allowed,language,email,karte_expires_on,balance\n"
    row = "37129000009,karte,active,private,false,lv,,2026-08-15,0.00\n"
    moved = demo_csv_as_of(header + row, date(2027, 3, 1))  # 90 days after 2026-12-01
    assert moved == header + "37129000009,karte,active,private,false,lv,,2026-11-13,0.00\n"
