"""Writing what a batch decided: one statement per table (per row only where SQLite needs the new id).

The view holds the final state of every key the batch changed — written as
absolute values, which is safe because the batch holds its numbers' locks —
and the new rows of the insert-only tables. Replies are inserted last; their
outbox ids come back in the order they were queued.
"""

from __future__ import annotations

from typing import Any

from ..batch.records import Records
from ..batch.view import BatchView
from .executors import Executor
from .timefmt import cents, day, ts

__all__ = ["write_decisions"]

_MO_COLUMNS = (
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
_TOPUP_COLUMNS = (
    ("sender", "text"),
    ("karte", "text"),
    ("amount_cents", "bigint"),
    ("kind", "text"),
    ("created_at", "text"),
    ("mo_id", "text"),
    ("order_id", "int"),
    ("period", "text"),
)
_REPLY_COLUMNS = (
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


def _insert(table: str, columns: tuple[tuple[str, str], ...]) -> str:
    names = ", ".join(name for name, _ in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"


_INSERT_MO = _insert("mo_messages", _MO_COLUMNS)


async def write_decisions(ex: Executor, view: BatchView, records: Records) -> list[int]:
    """Write the batch's effects; returns the outbox ids of its replies, by position."""
    if records.new_mos:
        await ex.many(
            _INSERT_MO,
            [
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
            ],
        )
    if view.new_topups:
        rows = [
            (t.sender, t.karte, t.amount_cents, t.kind.value, ts(t.at), t.mo_id, t.order_id, t.period)
            for t in view.new_topups
        ]
        topup_ids = await ex.insert_ids("topups", _TOPUP_COLUMNS, rows)
        await ex.many(
            "INSERT INTO charges (topup_id, sender, karte, amount_cents, kind, charged_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(i, r[0], r[1], r[2], r[3], r[4]) for i, r in zip(topup_ids, rows, strict=True)],
        )
    await _write_keyed(ex, view)
    if view.new_password_requests:
        await ex.many(
            "INSERT INTO password_requests (msisdn, requested_at, outcome) VALUES (?, ?, ?)",
            [(m, ts(at), outcome) for m, at, outcome in view.new_password_requests],
        )
    if view.new_emails:
        await ex.many(
            "INSERT INTO email_outbox (recipient, subject, body, state, attempts, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, 'queued', 0, ?, ?)",
            [(to, subject, body, ts(at), ts(at)) for to, subject, body, at in view.new_emails],
        )
    await _write_parts(ex, records)
    replies = [
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
    return await ex.insert_ids("outbox", _REPLY_COLUMNS, replies)


async def _write_keyed(ex: Executor, view: BatchView) -> None:
    if view.dirty_subscribers:
        await ex.many(
            "UPDATE subscribers SET balance_cents = ?, karte_expires_on = ? WHERE msisdn = ?",
            [
                (None if s.balance is None else cents(s.balance), _day(s.karte_expires_on), s.msisdn)
                for s in view.dirty_subscribers.values()
            ],
        )
    if view.dirty_portal_hashes:
        await ex.many(
            "UPDATE subscribers SET portal_password_hash = ? WHERE msisdn = ?",
            [(h, m) for m, h in view.dirty_portal_hashes.items()],
        )
    if view.dirty_pending:
        await ex.many("DELETE FROM pending_requests WHERE sender = ?", [(s,) for s in view.dirty_pending])
        await ex.many(
            "INSERT INTO pending_requests (sender, karte, amount_cents, requested_at) VALUES (?, ?, ?, ?)",
            [(p.sender, p.karte, cents(p.amount), ts(p.requested_at)) for p in view.dirty_pending.values() if p],
        )
    if view.dirty_orders:
        rows = [r for r in view.dirty_orders.values()]
        await ex.many(
            "UPDATE monthly_orders SET amount_cents = ?, confirmed_at = ?, last_month = ? WHERE id = ?",
            [
                (cents(r.order.amount), ts(r.confirmed_at), r.order.last_month, r.order.id)
                for r in rows
                if r.order.id > 0
            ],
        )
        await ex.many(
            "INSERT INTO monthly_orders (sender, karte, amount_cents, created_at, confirmed_at, last_month)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (o.sender, o.karte, cents(o.amount), ts(r.created_at), ts(r.confirmed_at), o.last_month)
                for r in rows
                if (o := r.order).id < 0
            ],
        )
    if view.dirty_temporary:
        await ex.many("DELETE FROM temporary_passwords WHERE msisdn = ?", [(m,) for m in view.dirty_temporary])
        await ex.many(
            "INSERT INTO temporary_passwords (msisdn, password_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
            [(m, h, ts(at), ts(exp)) for m, (h, at, exp) in view.dirty_temporary.items()],
        )


async def _write_parts(ex: Executor, records: Records) -> None:
    if records.new_parts:
        await ex.many(
            "INSERT INTO mo_parts (source, destination, reference, total, sequence, data_coding, text, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(*p.key, p.sequence, p.data_coding, p.text, ts(p.received_at)) for p in records.new_parts],
        )
    if records.processed_parts:
        await ex.many(
            "UPDATE mo_parts SET mo_id = ? WHERE source = ? AND destination = ? AND reference = ? AND total = ?"
            " AND mo_id IS NULL",
            [(mo_id, *key) for key, mo_id in records.processed_parts],
        )


def _day(value: Any) -> str | None:
    return None if value is None else day(value)
