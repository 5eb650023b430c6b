"""``smsgw subscribers import``: the operator's CSV, validated whole before anything is written.

Header (SPEC §9): ``msisdn,kind,status,customer_type,sos_sms_allowed,language,
email,karte_expires_on,balance`` (any order; unknown columns are reported and
ignored). An empty cell means none; dates are ``YYYY-MM-DD``; numbers may be
written in any of the accepted forms and are stored as ``371XXXXXXXX``. Every
bad row is reported with its line number and then nothing is imported.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from grammar import normalize_msisdn
from handlers.model import CustomerType, Kind, Language, Subscriber, SubscriberStatus

__all__ = ["COLUMNS", "ImportReport", "read_subscribers"]

COLUMNS = (
    "msisdn",
    "kind",
    "status",
    "customer_type",
    "sos_sms_allowed",
    "language",
    "email",
    "karte_expires_on",
    "balance",
)
_TRUE, _FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n", ""}
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_MAX_ERRORS = 50


@dataclass
class ImportReport:
    subscribers: list[Subscriber] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error_count: int = 0

    def error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < _MAX_ERRORS:
            self.errors.append(f"line {line}: {message}")


def _choice(value: str, kind: type[enum.StrEnum], name: str, default: str | None = None) -> object:
    text = value.strip().lower() or (default or "")
    try:
        return kind(text)
    except ValueError:
        allowed = " or ".join(member.value for member in kind)
        raise ValueError(f"{name} must be {allowed} (got {value.strip()!r})") from None


def _row(cells: dict[str, str]) -> Subscriber:
    raw_number = cells["msisdn"].strip()
    msisdn = normalize_msisdn(raw_number)
    if msisdn is None:
        raise ValueError(f"msisdn {raw_number!r} is not a Latvian mobile number (e.g. 37129123456)")
    kind = _choice(cells["kind"], Kind, "kind")
    status = _choice(cells["status"], SubscriberStatus, "status")
    customer = _choice(cells["customer_type"], CustomerType, "customer_type", default="private")
    allowed_text = cells["sos_sms_allowed"].strip().lower()
    if allowed_text not in _TRUE | _FALSE:
        raise ValueError(f"sos_sms_allowed must be true or false (got {cells['sos_sms_allowed'].strip()!r})")
    language = _choice(cells["language"], Language, "language", default="lv")
    email = cells["email"].strip() or None
    if email is not None and not _EMAIL.match(email):
        raise ValueError(f"email {email!r} is not an e-mail address")
    expires_text = cells["karte_expires_on"].strip()
    try:
        expires = date.fromisoformat(expires_text) if expires_text else None
        if expires_text and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", expires_text):
            raise ValueError
    except ValueError:
        raise ValueError(f"karte_expires_on must be a date YYYY-MM-DD (got {expires_text!r})") from None
    balance_text = cells["balance"].strip()
    balance = None
    if balance_text:
        try:
            balance = Decimal(balance_text)
        except InvalidOperation:
            balance = None
        if balance is None or not balance.is_finite() or balance < 0 or balance != balance.quantize(Decimal("0.01")):
            raise ValueError(f"balance must be euros with at most two decimals, e.g. 5.00 (got {balance_text!r})")
        if balance >= Decimal("1e9"):
            raise ValueError(f"balance {balance_text!r} is too large")
        balance = balance.quantize(Decimal("0.01"))
    return Subscriber(
        msisdn=msisdn,
        kind=kind,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        customer_type=customer,  # type: ignore[arg-type]
        sos_sms_allowed=allowed_text in _TRUE,
        language=language,  # type: ignore[arg-type]
        email=email,
        karte_expires_on=expires,
        balance=balance,
    )


def read_subscribers(lines: Iterable[str], *, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Validate every row; the report holds either all subscribers or the errors.

    ``progress`` is called with the number of rows read, every 10,000 rows.
    """
    report = ImportReport()
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        report.error(1, "the file is empty (expected the header " + ",".join(COLUMNS) + ")")
        return report
    except csv.Error as exc:
        report.error(1, f"not a CSV file: {exc}")
        return report
    names = [name.strip().lower().lstrip("\ufeff") for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        report.error(1, f"the header lacks {', '.join(missing)} (expected {','.join(COLUMNS)})")
        return report
    extra = [name for name in names if name not in COLUMNS]
    if extra:
        report.warnings.append(f"line 1: ignoring unknown column(s) {', '.join(extra)}")
    seen: dict[str, int] = {}
    try:
        for count, cells_list in enumerate(reader, start=1):
            if progress is not None and count % 10_000 == 0:
                progress(count)
            line = reader.line_num
            if not any(cell.strip() for cell in cells_list):
                continue
            if len(cells_list) != len(names):
                report.error(line, f"expected {len(names)} cells, found {len(cells_list)}")
                continue
            cells = dict(zip(names, cells_list, strict=True))
            try:
                subscriber = _row(cells)
            except ValueError as exc:
                report.error(line, str(exc))
                continue
            if subscriber.msisdn in seen:
                report.error(line, f"msisdn {subscriber.msisdn} is already on line {seen[subscriber.msisdn]}")
                continue
            seen[subscriber.msisdn] = line
            report.subscribers.append(subscriber)
    except csv.Error as exc:
        report.error(reader.line_num, f"not valid CSV: {exc}")
    return report


def read_subscribers_file(data: bytes, *, progress: Callable[[int], None] | None = None) -> ImportReport:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report = ImportReport()
        report.error(text_line(data, exc.start), "not UTF-8 text")
        return report
    return read_subscribers(io.StringIO(text, newline=""), progress=progress)


def text_line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
