"""``smsgw billing export``: one CSV row per invoice charge in a Riga calendar month.

Header (SPEC §9): ``charged_at,sender,karte,amount,kind``; ``charged_at`` is
ISO 8601 in Riga time with its offset, numbers in international form, the
amount with two decimals and a period, kind ``one_off`` or ``monthly``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.rules import last_day_of_month

from .db.timefmt import euros, parse_ts

__all__ = ["HEADER", "csv_lines", "month_range"]

HEADER = ("charged_at", "sender", "karte", "amount", "kind")


def month_range(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    first = date(year, month, 1)
    after = last_day_of_month(first) + timedelta(days=1)
    return (
        datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC),
        datetime.combine(after, time(0), tzinfo=tz).astimezone(UTC),
    )


def csv_lines(rows: Sequence[Any], tz: ZoneInfo) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        charged = parse_ts(row.charged_at).astimezone(tz).isoformat(timespec="seconds")
        writer.writerow((charged, row.sender, row.karte, f"{euros(row.amount_cents):.2f}", row.kind))
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
