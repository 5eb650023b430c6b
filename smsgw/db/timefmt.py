"""Instants as fixed-width UTC text (``2026-11-22T02:31:26.123456Z``) and money as cents.

Fixed width makes text comparison equal time comparison on every database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

__all__ = ["cents", "day", "euros", "parse_day", "parse_ts", "ts"]

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@lru_cache(maxsize=4096)
def ts(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC instant")
    u = instant.astimezone(UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


def day(value: date) -> str:
    return value.isoformat()


def parse_day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def cents(amount: Decimal) -> int:
    exact = amount * 100
    if exact != exact.to_integral_value():
        raise ValueError(f"{amount} has fractions of a cent")
    return int(exact)


def euros(value: int | None) -> Decimal:
    return (Decimal(value or 0) / 100).quantize(Decimal("0.01"))
