"""Loading a batch's snapshot: one query per table whatever the batch's size, the same SQL on both databases.

Called inside the batch's transaction after its locks (``Executor.lock``), so
what it reads cannot change before the commit: every sender's top-ups, pending
request, orders and password requests, every subscriber the MOs name (the
Karte of a pending request included), the MOs a copy could repeat, and the
stored parts of long MOs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.model import (
    CustomerType,
    Kind,
    Language,
    MonthlyOrder,
    PendingRequest,
    Subscriber,
    SubscriberStatus,
    TopUpKind,
)

from ..batch.snapshot import Keys, OrderRow, Snapshot, StoredPart, TopUpSum
from .executors import Executor
from .timefmt import euros, parse_day, parse_ts, ts

__all__ = ["load_parts", "load_snapshot", "subscriber_from_row"]

_SUBSCRIBER_COLUMNS = (
    "msisdn, kind, status, customer_type, sos_sms_allowed, language, email, karte_expires_on, balance_cents"
)


# The enums by their stored values: a dict lookup, where calling the enum costs a microsecond a row.
_KINDS = {member.value: member for member in Kind}
_STATUSES = {member.value: member for member in SubscriberStatus}
_CUSTOMER_TYPES = {member.value: member for member in CustomerType}
_LANGUAGES = {member.value: member for member in Language}


def subscriber_from_row(row: Sequence[Any]) -> Subscriber:
    """A subscriber from its row; a value no enum member has raises ValueError, as the enum would."""
    try:
        kind, status = _KINDS[row[1]], _STATUSES[row[2]]
        customer_type, language = _CUSTOMER_TYPES[row[3]], _LANGUAGES[row[5]]
    except KeyError as error:
        raise ValueError(f"subscriber {row[0]!r}: no such value {error}") from None
    return Subscriber(
        msisdn=row[0],
        kind=kind,
        status=status,
        customer_type=customer_type,
        sos_sms_allowed=bool(row[4]),
        language=language,
        email=row[6],
        karte_expires_on=parse_day(row[7]),
        balance=None if row[8] is None else euros(row[8]),
    )


async def load_snapshot(ex: Executor, keys: Keys, snap: Snapshot) -> None:
    if keys.senders:
        await _load_senders(ex, keys, snap)
    if keys.numbers:
        for number in keys.numbers:
            snap.subscribers[number] = None
        where, args = ex.any_of("msisdn", keys.numbers)
        for row in await ex.fetch(f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE {where}", *args):
            snap.subscribers[row[0]] = subscriber_from_row(row)
    if keys.password_senders:
        for msisdn in keys.password_senders:
            snap.password_history[msisdn] = []
        where, args = ex.any_of("msisdn", keys.password_senders)
        for msisdn, at, outcome in await ex.fetch(
            f"SELECT msisdn, requested_at, outcome FROM password_requests WHERE requested_at >= ? AND {where}"
            " ORDER BY requested_at, id",
            ts(snap.now - snap.password_window),
            *args,
        ):
            snap.password_history[msisdn].append((parse_ts(at), outcome))
    if keys.fingerprints:
        where, args = ex.any_of("fingerprint", keys.fingerprints)
        for fp, mo_id, outcome in await ex.fetch(
            f"SELECT fingerprint, id, outcome FROM mo_messages WHERE received_at >= ? AND acked = ? AND {where}"
            " ORDER BY received_at",
            ts(snap.redelivery_since),
            False,
            *args,
        ):
            snap.by_fingerprint[fp] = (mo_id, outcome)  # the newest wins
    if keys.smsc_refs:
        where, args = ex.any_of("smsc_ref", keys.smsc_refs)
        for ref, mo_id, outcome in await ex.fetch(
            f"SELECT smsc_ref, id, outcome FROM mo_messages WHERE {where}", *args
        ):
            snap.by_ref[ref] = (mo_id, outcome)
    await load_parts(ex, keys, snap)


async def load_parts(ex: Executor, keys: Keys, snap: Snapshot) -> None:
    """The stored parts of the long MOs the batch has parts of (rare: one query per message)."""
    for key in keys.parts:
        rows = await ex.fetch(
            "SELECT sequence, data_coding, text, received_at, mo_id FROM mo_parts"
            " WHERE source = ? AND destination = ? AND reference = ? AND total = ?",
            *key,
        )
        snap.parts[key] = {r[0]: StoredPart(r[0], r[1], r[2], parse_ts(r[3]), r[4]) for r in rows}


async def _load_senders(ex: Executor, keys: Keys, snap: Snapshot) -> None:
    for sender in keys.senders:
        snap.pending[sender] = None
        snap.orders[sender] = []
        snap.topups[sender] = []
    where, args = ex.any_of("sender", keys.senders)
    for sender, karte, amount, requested in await ex.fetch(
        f"SELECT sender, karte, amount_cents, requested_at FROM pending_requests WHERE {where}", *args
    ):
        snap.pending[sender] = PendingRequest(sender, karte, euros(amount), parse_ts(requested))
        keys.numbers.add(karte)  # JA checks the Karte of the pending request
    for row in await ex.fetch(
        "SELECT id, sender, karte, amount_cents, last_month, created_at, confirmed_at"
        f" FROM monthly_orders WHERE {where}",
        *args,
    ):
        order = MonthlyOrder(row[0], row[1], row[2], euros(row[3]), row[4])
        snap.orders[row[1]].append(OrderRow(order, parse_ts(row[5]), parse_ts(row[6])))
    for sender, karte, kind, today, month in await ex.fetch(
        "SELECT sender, karte, kind,"
        " SUM(CASE WHEN created_at >= ? AND created_at < ? THEN amount_cents ELSE 0 END), SUM(amount_cents)"
        f" FROM topups WHERE created_at >= ? AND created_at < ? AND {where} GROUP BY sender, karte, kind",
        ts(snap.day[0]),
        ts(snap.day[1]),
        ts(snap.month[0]),
        ts(snap.month[1]),
        *args,
    ):
        snap.topups[sender].append(TopUpSum(karte, TopUpKind(kind), int(today), int(month)))
