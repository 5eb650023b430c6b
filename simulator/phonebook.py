"""Suggested numbers for the testers' page, from a subscribers CSV (`[simulator] phonebook`).

The file has the gateway's stable import format (SPEC §9): `msisdn,kind,status,
customer_type,sos_sms_allowed,language,email,karte_expires_on,balance`. The simulator
never imports the gateway: it reads the columns itself and says in words what each number
is for a tester — "Latvian postpaid", "company with SOS-SMS", "LMT Karte, expired 3 months
ago (can still be topped up)", … A row it cannot read is skipped; the numbers are only
suggestions, any number can be typed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

__all__ = ["Entry", "PhonebookError", "load_phonebook", "parse_phonebook", "role_of"]

GRACE_MONTHS = 6  # SPEC §4 rule 8: an expired Karte can be topped up for 6 months
_LANGUAGES = {"lv": "Latvian", "en": "English"}
_COLUMNS = ("msisdn", "kind", "status", "customer_type", "sos_sms_allowed", "language")


class PhonebookError(ValueError):
    """The phonebook cannot be read at all (one line)."""


@dataclass(frozen=True, slots=True)
class Entry:
    msisdn: str
    role: str  # what the number is, in words
    group: str  # "senders", "kartes" or "others": how the page lists it
    language: str
    email: bool

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month - (later.day < earlier.day)


def _karte_role(expires: str, today: date) -> str:
    try:
        until = date.fromisoformat(expires)
    except ValueError:
        return "LMT Karte"
    if until >= today:
        return f"LMT Karte, valid until {until.isoformat()}"
    months = _months_between(until, today)
    ago = "less than a month ago" if months < 1 else f"{months} month{'s' if months != 1 else ''} ago"
    if months >= GRACE_MONTHS:
        return f"LMT Karte, long expired ({ago}: cannot be topped up)"
    return f"LMT Karte, expired {ago} (can still be topped up)"


def role_of(row: dict[str, str], today: date) -> tuple[str, str]:
    """(role in words, group) of one CSV row."""
    kind, status = row["kind"].strip().lower(), row["status"].strip().lower()
    language = _LANGUAGES.get(row["language"].strip().lower() or "lv", row["language"].strip())
    if kind == "karte":
        role = _karte_role(row.get("karte_expires_on", "").strip(), today)
        if status != "active":
            return f"{role}, cancelled", "kartes"
        return role, "kartes"
    if status != "active":
        return f"cancelled {kind} number", "others"
    if row["customer_type"].strip().lower() == "legal":
        allowed = row["sos_sms_allowed"].strip().lower() in ("true", "1", "yes")
        return ("company number with SOS-SMS" if allowed else "company number without SOS-SMS"), "senders"
    return f"{language} postpaid", "senders"


def parse_phonebook(text: str, today: date) -> list[Entry]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise PhonebookError(f"not a subscribers CSV: no column {', '.join(missing)}")
    entries: list[Entry] = []
    for row in reader:
        msisdn = (row.get("msisdn") or "").strip()
        if not msisdn.isdigit() or any(row.get(c) is None for c in _COLUMNS):
            continue
        role, group = role_of(row, today)
        language = (row["language"] or "lv").strip().lower()
        entries.append(Entry(msisdn, role, group, language, bool((row.get("email") or "").strip())))
    return entries


def load_phonebook(path: str | Path, today: date) -> list[Entry]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise PhonebookError(f"{path}: cannot read: {err}") from None
    try:
        return parse_phonebook(text, today)
    except (PhonebookError, csv.Error) as err:
        raise PhonebookError(f"{path}: {err}") from None
