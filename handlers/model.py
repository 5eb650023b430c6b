"""The domain's data: subscribers, requests, orders and the messages a handler answers with.

Plain frozen dataclasses; no database rows and no SMPP objects cross into the handlers.
Money is :class:`~decimal.Decimal` with two places; times are timezone-aware UTC
datetimes; calendar dates are Europe/Riga dates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

__all__ = [
    "CustomerType",
    "Kind",
    "Language",
    "LedgerTotals",
    "MonthlyOrder",
    "Outgoing",
    "PendingRequest",
    "Reply",
    "Subscriber",
    "SubscriberStatus",
    "TopUpKind",
]


class Kind(enum.StrEnum):
    POSTPAID = "postpaid"
    KARTE = "karte"


class SubscriberStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class CustomerType(enum.StrEnum):
    PRIVATE = "private"
    LEGAL = "legal"


class Language(enum.StrEnum):
    LV = "lv"
    EN = "en"


class TopUpKind(enum.StrEnum):
    ONE_OFF = "one_off"
    MONTHLY = "monthly"


@dataclass(frozen=True, slots=True)
class Subscriber:
    msisdn: str
    kind: Kind
    status: SubscriberStatus
    customer_type: CustomerType = CustomerType.PRIVATE
    sos_sms_allowed: bool = False
    language: Language = Language.LV
    email: str | None = None
    karte_expires_on: date | None = None
    balance: Decimal | None = None

    @property
    def active(self) -> bool:
        return self.status is SubscriberStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """An ``M`` request waiting for ``JA``; at most one per sender."""

    sender: str
    karte: str
    amount: Decimal
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class MonthlyOrder:
    """A confirmed monthly top-up. ``last_month`` (``YYYY-MM``) is set by STOP."""

    id: int
    sender: str
    karte: str
    amount: Decimal
    last_month: str | None = None


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """What a sender has topped up: one-off today and everything this month."""

    one_off_today: Decimal
    this_month: Decimal


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One SMS to send. ``sensitive`` texts (passwords) are sealed in the outbox and never logged."""

    to: str
    text: str
    sensitive: bool = False

    def __reduce__(self) -> tuple[object, ...]:  # fast pickling across the database process boundary
        return (Outgoing, (self.to, self.text, self.sensitive))


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler decided: an outcome name (for logs and metrics) and the SMS to send."""

    outcome: str
    messages: tuple[Outgoing, ...] = field(default=())
