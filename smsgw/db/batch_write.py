"""What a batch writes, as rows per table (:class:`WritePlan`), and writing them one statement per table.

The view holds the final state of every key the batch changed — written as
absolute values, which is safe because the batch holds its numbers' locks —
and the new rows of the insert-only tables. :func:`write_plan` turns that into
plain tuples; :func:`write_decisions` writes them with one ``executemany`` per
table (SQLite; per row only where it needs the new id), and
``smsgw.db.pg_batch`` with one statement in all (PostgreSQL, where a statement
costs a round trip). Replies are inserted last; their outbox ids come back in
the order they were queued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..batch.records import Records
from ..batch.view import BatchView
from .executors import Executor
from .timefmt import cents, day, ts

__all__ = ["MO_COLUMNS", "REPLY_COLUMNS", "TOPUP_COLUMNS", "WritePlan", "write_decisions", "write_plan"]

Row = tuple[Any, ...]

MO_COLUMNS = (
    ("id", "text"),
    ("source", "text"),
    ("destination", "text"),
    ("text", "text"),
    ("data_coding", "int"),
    ("smsc_ref", "text"),
    ("fingerprint", "text"),
    ("received_at", "text"),
    ("processed_at", "text"),
    ("command", "text"),
    ("outcome", "text"),
    ("acked", "bool"),
)
TOPUP_COLUMNS = (
    ("sender", "text"),
    ("karte", "text"),
    ("amount_cents", "bigint"),
    ("kind", "text"),
    ("created_at", "text"),
    ("mo_id", "text"),
    ("order_id", "int"),
    ("period", "text"),
)
REPLY_COLUMNS = (
    ("mo_id", "text"),
    ("source", "text"),
    ("destination", "text"),
    ("text", "text"),
    ("sealed", "text"),
    ("state", "text"),
    ("attempts", "int"),
    ("next_attempt_at", "text"),
    ("expires_at", "text"),
    ("created_at", "text"),
    ("updated_at", "text"),
    ("claimed_by", "text"),
)


@dataclass
class WritePlan:
    """A batch's writes as rows, table by table (the column orders are the SQL's below)."""

    mos: list[Row] = field(default_factory=list)  # MO_COLUMNS
    topups: list[Row] = field(default_factory=list)  # TOPUP_COLUMNS (each gets its charge)
    subscribers: list[Row] = field(default_factory=list)  # (msisdn, balance_cents, karte_expires_on)
    portal_hashes: list[Row] = field(default_factory=list)  # (msisdn, hash)
    pending_gone: list[str] = field(default_factory=list)  # senders whose pending request was dropped
    pending_put: list[Row] = field(default_factory=list)  # (sender, karte, amount_cents, requested_at)
    orders_changed: list[Row] = field(default_factory=list)  # (id, amount_cents, confirmed_at, last_month)
    orders_new: list[Row] = field(default_factory=list)  # (sender, karte, cents, created_at, confirmed_at, last_month)
    temporary: list[Row] = field(default_factory=list)  # (msisdn, hash, created_at, expires_at): replaces
    password_requests: list[Row] = field(default_factory=list)  # (msisdn, requested_at, outcome)
    emails: list[Row] = field(default_factory=list)  # (recipient, subject, body, at)
    parts_new: list[Row] = field(default_factory=list)  # (source, destination, reference, total, seq, dc, text, at)
    parts_processed: list[Row] = field(default_factory=list)  # (mo_id, source, destination, reference, total)
    replies: list[Row] = field(default_factory=list)  # REPLY_COLUMNS
    first_parts: list[int] = field(default_factory=list)  # positions of replies whose part 1 is recorded submitting


def write_plan(view: BatchView, records: Records, *, intent_room: int = 0) -> WritePlan:
    """The batch's rows; the first ``intent_room`` replies born claimed get their part 1 recorded
    ``submitting`` too, so the sender may write them as soon as the batch commits."""
    plan = WritePlan()
    plan.mos = [
        (
            m.id,
            m.source,
            m.destination,
            m.text,
            m.data_coding,
            m.smsc_ref,
            m.fingerprint,
            ts(m.received_at),
            ts(m.processed_at),
            m.command,
            m.outcome,
            m.acked,
        )
        for m in records.new_mos
    ]
    plan.topups = [
        (t.sender, t.karte, t.amount_cents, t.kind.value, ts(t.at), t.mo_id, t.order_id, t.period)
        for t in view.new_topups
    ]
    plan.subscribers = [
        (s.msisdn, None if s.balance is None else cents(s.balance), _day(s.karte_expires_on))
        for s in view.dirty_subscribers.values()
    ]
    plan.portal_hashes = list(view.dirty_portal_hashes.items())
    plan.pending_gone = [sender for sender, request in view.dirty_pending.items() if request is None]
    plan.pending_put = [
        (p.sender, p.karte, cents(p.amount), ts(p.requested_at)) for p in view.dirty_pending.values() if p
    ]
    for row in view.dirty_orders.values():
        o = row.order
        if o.id > 0:
            plan.orders_changed.append((o.id, cents(o.amount), ts(row.confirmed_at), o.last_month))
        else:
            plan.orders_new.append(
                (o.sender, o.karte, cents(o.amount), ts(row.created_at), ts(row.confirmed_at), o.last_month)
            )
    plan.temporary = [(m, h, ts(at), ts(exp)) for m, (h, at, exp) in view.dirty_temporary.items()]
    plan.password_requests = [(m, ts(at), outcome) for m, at, outcome in view.new_password_requests]
    plan.emails = [(to, subject, body, ts(at)) for to, subject, body, at in view.new_emails]
    plan.parts_new = [(*p.key, p.sequence, p.data_coding, p.text, ts(p.received_at)) for p in records.new_parts]
    plan.parts_processed = [(mo_id, *key) for key, mo_id in records.processed_parts]
    plan.replies = [
        (
            r.mo_id,
            r.source,
            r.destination,
            r.text,
            r.sealed,
            "queued" if r.claimed_by is None else "sending",
            0 if r.claimed_by is None else 1,
            ts(r.at),
            ts(r.expires_at),
            ts(r.at),
            ts(r.at),
            r.claimed_by,
        )
        for r in records.new_replies
    ]
    born = [i for i, r in enumerate(records.new_replies) if r.claimed_by is not None]
    plan.first_parts = born[: max(0, intent_room)]
    return plan


def _insert(table: str, columns: tuple[tuple[str, str], ...]) -> str:
    names = ", ".join(name for name, _ in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"


async def write_decisions(ex: Executor, plan: WritePlan) -> list[int]:
    """Write the batch's effects, one statement per table; returns the replies' outbox ids, by position."""
    await ex.many(_insert("mo_messages", MO_COLUMNS), plan.mos)
    if plan.topups:
        topup_ids = await ex.insert_ids("topups", TOPUP_COLUMNS, plan.topups)
        await ex.many(
            "INSERT INTO charges (topup_id, sender, karte, amount_cents, kind, charged_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(i, *r[:5]) for i, r in zip(topup_ids, plan.topups, strict=True)],
        )
    await write_rare(ex, plan)
    await ex.many(
        "UPDATE subscribers SET balance_cents = ?, karte_expires_on = ? WHERE msisdn = ?",
        [(balance, expires, msisdn) for msisdn, balance, expires in plan.subscribers],
    )
    await ex.many(
        "DELETE FROM pending_requests WHERE sender = ?",
        [(s,) for s in [*plan.pending_gone, *(p[0] for p in plan.pending_put)]],
    )
    await ex.many(
        "INSERT INTO pending_requests (sender, karte, amount_cents, requested_at) VALUES (?, ?, ?, ?)", plan.pending_put
    )
    await ex.many(
        "UPDATE monthly_orders SET amount_cents = ?, confirmed_at = ?, last_month = ? WHERE id = ?",
        [(*r[1:], r[0]) for r in plan.orders_changed],
    )
    await ex.many(
        "INSERT INTO monthly_orders (sender, karte, amount_cents, created_at, confirmed_at, last_month)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        plan.orders_new,
    )
    await ex.many("DELETE FROM temporary_passwords WHERE msisdn = ?", [(r[0],) for r in plan.temporary])
    await ex.many(
        "INSERT INTO temporary_passwords (msisdn, password_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
        plan.temporary,
    )
    await ex.many(
        "INSERT INTO password_requests (msisdn, requested_at, outcome) VALUES (?, ?, ?)", plan.password_requests
    )
    await ex.many(
        "INSERT INTO email_outbox (recipient, subject, body, state, attempts, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, 'queued', 0, ?, ?)",
        [(*r, r[3]) for r in plan.emails],
    )
    reply_ids = await ex.insert_ids("outbox", REPLY_COLUMNS, plan.replies)
    await ex.many(
        "INSERT INTO mt_parts (outbox_id, part_no, smsc_message_id, state, updated_at)"
        " VALUES (?, 1, NULL, 'submitting', ?)",
        [(reply_ids[i], plan.replies[i][9]) for i in plan.first_parts],
    )
    return reply_ids


async def write_rare(ex: Executor, plan: WritePlan) -> None:
    """The writes few batches have: portal passwords and parts of long MOs (a part stored and its set
    processed in one batch must be written in that order, which one statement could not do)."""
    await ex.many(
        "UPDATE subscribers SET portal_password_hash = ? WHERE msisdn = ?", [(h, m) for m, h in plan.portal_hashes]
    )
    await ex.many(
        "INSERT INTO mo_parts (source, destination, reference, total, sequence, data_coding, text, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        plan.parts_new,
    )
    await ex.many(
        "UPDATE mo_parts SET mo_id = ? WHERE source = ? AND destination = ? AND reference = ? AND total = ?"
        " AND mo_id IS NULL",
        plan.parts_processed,
    )


def _day(value: Any) -> str | None:
    return None if value is None else day(value)
