"""``smsgw trace MSISDN``: what support needs on the phone about one subscriber.

It prints the subscriber's log pseudonym (``subscriber`` in every log line about
their messages, ``smsgw.log_context``) under each configured ``[security]`` key,
their directory entry, their recent MOs with each outcome and the replies each
produced with their delivery states, and the other replies sent to the number
(top-up notices to a Karte, monthly-run notices). Everything is read in one
read-only transaction (SQLite opened read-only, PostgreSQL ``READ ONLY``), so it
is safe beside a running gateway and never creates a database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from grammar import normalize_msisdn
from grammar.numbers import COUNTRY_CODE

from .config import Config
from .db.schema import mo_messages, mt_parts, outbox, subscribers
from .db.timefmt import parse_ts
from .log_context import log_keys, subscriber_key

__all__ = ["Reply", "Trace", "TraceError", "TracedMo", "number_forms", "read_trace", "render", "trace_lines"]

_TEXT_SHOWN = 60


class TraceError(Exception):
    """The trace cannot be read (no database file); one line for the command line."""


@dataclass(frozen=True, slots=True)
class Reply:
    created_at: datetime
    source: str
    destination: str
    state: str
    part_states: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class TracedMo:
    id: str
    received_at: datetime
    destination: str
    text: str
    command: str | None
    outcome: str
    acked: bool
    replies: tuple[Reply, ...]


@dataclass(frozen=True, slots=True)
class Trace:
    number: str
    directory: str | None  # one line about the directory entry; None: not a subscriber
    mos: tuple[TracedMo, ...]
    other_replies: tuple[Reply, ...]


def number_forms(msisdn: str) -> tuple[str, ...]:
    """Every form the number may have been stored in (MOs keep the sender as the SMSC wrote it)."""
    raw = msisdn.strip()
    normal = normalize_msisdn(raw)
    if normal is None:
        return (raw,)
    national = normal[len(COUNTRY_CODE) :]
    return tuple(dict.fromkeys((normal, "+" + normal, "00" + normal, national, raw)))


def _read_only_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return url
    database = parsed.database or ""
    if not database or database == ":memory:" or not Path(database).exists():
        raise TraceError(f"no database at {database or '(memory)'}: nothing recorded yet")
    return f"sqlite+aiosqlite:///file:{Path(database).resolve()}?mode=ro&uri=true"


async def read_trace(url: str, msisdn: str, *, limit: int = 20) -> Trace:
    """The subscriber's directory entry, last *limit* MOs with their replies, last *limit* other replies."""
    engine = create_async_engine(_read_only_url(url))
    try:
        async with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                await conn.execute(text("SET TRANSACTION READ ONLY"))
            return await _read(conn, number_forms(msisdn), limit)
    finally:
        await engine.dispose()


async def _read(conn: AsyncConnection, forms: Sequence[str], limit: int) -> Trace:
    entry = (await conn.execute(select(subscribers).where(subscribers.c.msisdn.in_(forms)))).first()
    directory = None
    if entry is not None:
        email = "e-mail on file" if entry.email else "no e-mail"
        directory = f"{entry.kind}, {entry.customer_type}, {entry.status}, language {entry.language}, {email}"
        if entry.kind == "karte":
            directory += f", valid until {entry.karte_expires_on or '?'}"
    mo_rows = (
        await conn.execute(
            select(mo_messages)
            .where(mo_messages.c.source.in_(forms))
            .order_by(mo_messages.c.received_at.desc())
            .limit(limit)
        )
    ).all()
    ids = [row.id for row in mo_rows]
    caused = await _replies(conn, outbox.c.mo_id.in_(ids)) if ids else []
    others = await _replies(
        conn,
        outbox.c.destination.in_(forms) & (outbox.c.mo_id.is_(None) | outbox.c.mo_id.not_in(ids or [""])),
        limit=limit,
    )
    mos = []
    for row in mo_rows:
        replies = tuple(reply for mo_id, reply in caused if mo_id == row.id)
        mos.append(
            TracedMo(
                row.id,
                parse_ts(row.received_at),
                row.destination,
                row.text,
                row.command,
                row.outcome,
                bool(row.acked),
                replies,
            )
        )
    return Trace(forms[0], directory, tuple(mos), tuple(reply for _, reply in others))


async def _replies(conn: AsyncConnection, where: object, *, limit: int | None = None) -> list[tuple[str | None, Reply]]:
    stmt = select(outbox).where(where).order_by(outbox.c.created_at.desc(), outbox.c.id.desc())  # type: ignore[arg-type]
    rows = (await conn.execute(stmt if limit is None else stmt.limit(limit))).all()
    states: dict[int, list[str]] = {}
    if rows:
        parts = select(mt_parts.c.outbox_id, mt_parts.c.state).where(mt_parts.c.outbox_id.in_([r.id for r in rows]))
        for part in (await conn.execute(parts.order_by(mt_parts.c.outbox_id, mt_parts.c.part_no))).all():
            states.setdefault(part.outbox_id, []).append(part.state)
    return [
        (
            row.mo_id,
            Reply(
                parse_ts(row.created_at),
                row.source,
                row.destination,
                row.state,
                tuple(states.get(row.id, ())),
                row.text,
            ),
        )
        for row in rows
    ]


def _shown(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return '"' + (escaped if len(escaped) <= _TEXT_SHOWN else escaped[: _TEXT_SHOWN - 1] + "…") + '"'


def _when(instant: datetime, tz: tzinfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %z")


def _state(reply: Reply) -> str:
    parts = reply.part_states
    if len(parts) > 1 and len(set(parts)) > 1:
        return f"{reply.state} (parts: {', '.join(parts)})"
    return reply.state


def render(trace: Trace, keys: Sequence[str], tz: tzinfo) -> list[str]:
    """The lines ``smsgw trace`` prints: *keys* are the pseudonyms under each configured key, current first."""
    lines = [f"subscriber  {trace.number}"]
    if keys:
        lines.append(f"log key     {keys[0]}  (subscriber=… in the logs; current [security] key)")
        lines += [f"            {key}  (older key {n})" for n, key in enumerate(keys[1:], start=2)]
    else:
        lines.append("log key     none: no [security] key configured yet (log lines carry no subscriber key)")
    lines.append(f"directory   {trace.directory or 'not in the subscriber directory'}")
    lines.append(f"MOs         {len(trace.mos)} most recent, newest first")
    for mo in trace.mos:
        verdict = f"{mo.command or '-'} → {mo.outcome}"
        acked = "" if mo.acked else "  (SMSC receipt of our ack not confirmed)"
        lines.append(f"  {_when(mo.received_at, tz)}  to {mo.destination}  {_shown(mo.text)}  {verdict}{acked}")
        lines.append(f"      mo_id={mo.id}")
        for reply in mo.replies:
            lines.append(f"      reply to {reply.destination}: {_state(reply)}  {_shown(reply.text)}")
        if not mo.replies:
            lines.append("      no reply")
    lines.append(f"other replies to this number  {len(trace.other_replies)} most recent")
    for reply in trace.other_replies:
        lines.append(f"  {_when(reply.created_at, tz)}  from {reply.source}: {_state(reply)}  {_shown(reply.text)}")
    return lines


def trace_lines(config: Config, msisdn: str, *, limit: int = 20) -> list[str]:
    """What ``smsgw trace MSISDN`` prints, read from ``[database]`` with the pseudonyms of ``[security]``."""
    found = asyncio.run(read_trace(config.database.url, msisdn, limit=limit))
    keys = [subscriber_key(found.number, key) for key in log_keys(config.security, config.path)]
    return render(found, keys, ZoneInfo(config.sos.timezone))
