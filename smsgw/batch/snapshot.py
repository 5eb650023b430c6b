"""What a batch loads before it decides: the keys it asks for and the state that comes back.

A batch first works out every number and key its MOs can touch (:class:`Keys`),
then the database loads them all in a few queries whatever the batch's size
(:class:`Snapshot`), under the locks that order each sender's effects. If a
handler asks for something that was not loaded (:class:`Miss`), the batch is
run again with that key added: the set of keys only ever grows, so this ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from handlers.model import MonthlyOrder, PendingRequest, Subscriber, TopUpKind

__all__ = ["Keys", "Miss", "NotInBatch", "OrderRow", "PartKey", "Snapshot", "StoredPart", "TopUpSum"]

PartKey = tuple[str, str, int, int]
"""(source, destination, reference, total): the parts of one long MO."""


class Miss(Exception):
    """A handler asked for state the batch did not load; ``kind`` and ``key`` say which."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} was not loaded")
        self.kind = kind
        self.key = key

    def add_to(self, keys: Keys) -> bool:
        """Add the missing key; False if it was there already (loading again would not help)."""
        tables: dict[str, set[Any]] = {
            "subscriber": keys.numbers,
            "top-ups of": keys.senders,
            "pending request of": keys.senders,
            "monthly orders of": keys.senders,
            "password requests of": keys.password_senders,
            "parts of": keys.parts,
        }
        target = tables[self.kind]
        if self.key in target:
            return False
        target.add(self.key)
        return True


class NotInBatch(Exception):
    """Something no MO handler should need (the portal's check, the monthly run): a programming error."""


@dataclass
class Keys:
    """Everything a batch may read: numbers (subscribers, their top-ups, requests, orders)."""

    numbers: set[str] = field(default_factory=set)  # subscribers to load (and lock)
    senders: set[str] = field(default_factory=set)  # whose top-ups, pending requests and orders to load
    password_senders: set[str] = field(default_factory=set)  # whose password requests to load
    sources: set[str] = field(default_factory=set)  # raw source addresses (locked: orders copies of one MO)
    fingerprints: set[str] = field(default_factory=set)
    smsc_refs: set[str] = field(default_factory=set)
    parts: set[PartKey] = field(default_factory=set)

    def lock_keys(self) -> list[str]:
        """The keys a batch locks, in one global order (no deadlock between instances)."""
        return sorted(self.numbers | self.sources)


@dataclass(frozen=True, slots=True)
class TopUpSum:
    """A sender's top-ups of one Karte and kind: today's and this month's total, in cents."""

    karte: str
    kind: TopUpKind
    today_cents: int
    month_cents: int


@dataclass(frozen=True, slots=True)
class OrderRow:
    order: MonthlyOrder
    created_at: datetime
    confirmed_at: datetime


@dataclass(frozen=True, slots=True)
class StoredPart:
    sequence: int
    data_coding: int
    text: str
    received_at: datetime
    mo_id: str | None  # set once the long MO was processed


@dataclass
class Snapshot:
    """The loaded state; a key of ``Keys`` that found nothing maps to None or an empty list."""

    now: datetime
    day: tuple[datetime, datetime]
    month: tuple[datetime, datetime]
    redelivery_since: datetime
    password_window: timedelta = timedelta(hours=24)  # how far back password requests are loaded
    subscribers: dict[str, Subscriber | None] = field(default_factory=dict)
    topups: dict[str, list[TopUpSum]] = field(default_factory=dict)
    pending: dict[str, PendingRequest | None] = field(default_factory=dict)
    orders: dict[str, list[OrderRow]] = field(default_factory=dict)
    password_history: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    by_ref: dict[str, tuple[str, str]] = field(default_factory=dict)  # SMSC MO id -> (MO id, outcome)
    by_fingerprint: dict[str, tuple[str, str]] = field(default_factory=dict)  # newest unconfirmed MO
    parts: dict[PartKey, dict[int, StoredPart]] = field(default_factory=dict)
