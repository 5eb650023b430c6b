"""Helpers for the batch unit tests: a snapshot loaded from the handler fakes, jobs, a decider.

``snapshot_from`` loads a :class:`~smsgw.batch.snapshot.Snapshot` from a
:class:`~tests.unit.fakes.FakeUnitOfWork` the way ``smsgw.db.batch_load`` loads
one from the database: top-ups of the current month summed per Karte and kind,
password requests of the last 24 hours, and every asked-for key present (None or
empty when nothing was found).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cryptography.fernet import Fernet

from handlers.rules import Rules, day_bounds, month_bounds
from smsgw.batch.decide import Decider
from smsgw.batch.jobs import MoJob
from smsgw.batch.snapshot import OrderRow, Snapshot, TopUpSum
from smsgw.db.timefmt import cents
from smsgw.mo import InboundMo, mo_job
from smsgw.sealing import Sealer
from tests.unit.fakes import NOW, RULES, FakeUnitOfWork

__all__ = ["KEY", "REDELIVERY", "VALIDITY", "decider", "empty_snapshot", "job", "snapshot_from"]

KEY = Fernet.generate_key()
VALIDITY = timedelta(hours=24)
REDELIVERY = timedelta(hours=24)


def empty_snapshot(now: datetime = NOW, rules: Rules = RULES) -> Snapshot:
    return Snapshot(now, day_bounds(now, rules.tz), month_bounds(now, rules.tz), now - REDELIVERY)


def _within(at: datetime, bounds: tuple[datetime, datetime]) -> bool:
    return bounds[0] <= at < bounds[1]


def snapshot_from(
    uow: FakeUnitOfWork,
    *,
    numbers: Iterable[str] = (),
    senders: Iterable[str] = (),
    password_senders: Iterable[str] = (),
    now: datetime = NOW,
    rules: Rules = RULES,
) -> Snapshot:
    snap = empty_snapshot(now, rules)
    for number in numbers:
        snap.subscribers[number] = uow.subscribers.by_msisdn.get(number)
    for sender in senders:
        snap.pending[sender] = uow.pending.by_sender.get(sender)
        snap.orders[sender] = [
            OrderRow(row.order(), row.confirmed_at, row.confirmed_at) for row in uow.orders.rows if row.sender == sender
        ]
        sums: dict[tuple[str, object], list[int]] = {}
        for row in uow.ledger.rows:
            if row.sender == sender and _within(row.at, snap.month):
                totals = sums.setdefault((row.karte, row.kind), [0, 0])
                totals[0] += cents(row.amount) if _within(row.at, snap.day) else 0
                totals[1] += cents(row.amount)
        snap.topups[sender] = [TopUpSum(k, kind, t, m) for (k, kind), (t, m) in sums.items()]  # type: ignore[arg-type]
    for msisdn in password_senders:
        since = now - snap.password_window
        snap.password_history[msisdn] = sorted(
            (at, outcome) for who, at, outcome in uow.passwords.requests if who == msisdn and at >= since
        )
    return snap


def job(source: str, text: str, destination: str = "1643", **fields: object) -> MoJob:
    """The job of an MO as ``smsgw mo`` and the gateway build it (parsed, fingerprinted) at ``NOW``."""
    received_at = fields.pop("received_at", NOW)
    return mo_job(InboundMo(source, destination, text, received_at, **fields))  # type: ignore[arg-type]


def decider(*, claimed_by: str | None = None, rules: Rules = RULES, sealer: Sealer | None = None) -> Decider:
    return Decider(rules, sealer or Sealer(KEY), reply_validity=VALIDITY, claimed_by=claimed_by)
