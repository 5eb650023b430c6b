"""Parts of long MOs, stored (and so acknowledged) one by one until the message is complete.

A part is keyed by (source, destination, reference, total, sequence): parts of
different senders never merge, a repeated part is stored once. When the last
part arrives the parts are joined in sequence order and processed as one MO in
the same transaction that marks them with its MO id; a part redelivered after
that is recognised and only acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .schema import mo_parts
from .sql import Sql
from .timefmt import parse_ts, ts

__all__ = ["MoPart", "PartSet", "SqlMoParts"]


@dataclass(frozen=True, slots=True)
class MoPart:
    source: str
    destination: str
    reference: int
    total: int
    sequence: int
    data_coding: int
    text: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class PartSet:
    """A complete set of parts, joined."""

    source: str
    destination: str
    reference: int
    total: int
    data_coding: int
    text: str
    received_at: datetime


_KEY = and_(
    mo_parts.c.source == bindparam("p_source"),
    mo_parts.c.destination == bindparam("p_destination"),
    mo_parts.c.reference == bindparam("p_reference"),
    mo_parts.c.total == bindparam("p_total"),
)
_EXISTING = select(mo_parts.c.mo_id).where(_KEY, mo_parts.c.sequence == bindparam("p_sequence"))
_PARTS = (
    select(mo_parts.c.sequence, mo_parts.c.text, mo_parts.c.data_coding, mo_parts.c.received_at)
    .where(_KEY, mo_parts.c.mo_id.is_(None))
    .order_by(mo_parts.c.sequence)
)
_MARK = update(mo_parts).where(_KEY, mo_parts.c.mo_id.is_(None)).values(mo_id=bindparam("p_mo"))
_COMPLETE_SETS = (
    select(mo_parts.c.source, mo_parts.c.destination, mo_parts.c.reference, mo_parts.c.total)
    .where(mo_parts.c.mo_id.is_(None))
    .group_by(mo_parts.c.source, mo_parts.c.destination, mo_parts.c.reference, mo_parts.c.total)
    .having(func.count() == mo_parts.c.total)
)
_PURGE = delete(mo_parts).where(mo_parts.c.received_at < bindparam("p_before"))


def _key(source: str, destination: str, reference: int, total: int) -> dict[str, object]:
    return {"p_source": source, "p_destination": destination, "p_reference": reference, "p_total": total}


class SqlMoParts:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(self, part: MoPart) -> tuple[bool, PartSet | None]:
        """Store ``part``. Returns (already processed, the complete set if this completed it)."""
        key = _key(part.source, part.destination, part.reference, part.total)
        existing = await self._sql.row(_EXISTING, {**key, "p_sequence": part.sequence})
        if existing is not None and existing.mo_id is not None:
            return True, None
        if existing is None:
            dialect_insert = postgresql.insert if self._sql.dialect == "postgresql" else sqlite.insert
            stmt = dialect_insert(mo_parts).on_conflict_do_nothing()
            await self._sql.run(
                stmt,
                {
                    "source": part.source,
                    "destination": part.destination,
                    "reference": part.reference,
                    "total": part.total,
                    "sequence": part.sequence,
                    "data_coding": part.data_coding,
                    "text": part.text,
                    "received_at": ts(part.received_at),
                },
            )
        return False, await self.complete(part.source, part.destination, part.reference, part.total)

    async def complete(self, source: str, destination: str, reference: int, total: int) -> PartSet | None:
        rows = await self._sql.rows(_PARTS, _key(source, destination, reference, total))
        if len(rows) < total:
            return None
        return PartSet(
            source,
            destination,
            reference,
            total,
            rows[0].data_coding,
            "".join(row.text for row in rows),
            parse_ts(rows[0].received_at),
        )

    async def mark_processed(self, parts: PartSet, mo_id: str) -> int:
        return await self._sql.run(
            _MARK, {**_key(parts.source, parts.destination, parts.reference, parts.total), "p_mo": mo_id}
        )

    async def complete_sets(self) -> list[PartSet]:
        """Complete but unprocessed sets (left by a crash between storing and processing)."""
        sets = []
        for row in await self._sql.rows(_COMPLETE_SETS):
            found = await self.complete(row.source, row.destination, row.reference, row.total)
            if found is not None:
                sets.append(found)
        return sets

    async def purge(self, before: datetime) -> int:
        """Forget parts received before ``before`` (incomplete sets that will never complete, old processed ones)."""
        return await self._sql.run(_PURGE, {"p_before": ts(before)})
