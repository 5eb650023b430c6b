"""The service's own rows in a batch: MO records (and their copies), queued replies, parts of long MOs.

Like :mod:`smsgw.batch.view`, this works on the batch's snapshot through the
journal, so the MOs of one batch see each other: a copy of an MO decided earlier
in the same batch is recognised, and a long MO whose last part arrives in the
batch is completed from the parts stored before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ..db.messages import MoRecord
from .journal import Journal
from .snapshot import Miss, PartKey, Snapshot, StoredPart

__all__ = ["CompleteSet", "NewPart", "NewReply", "Records"]


@dataclass(frozen=True, slots=True)
class NewReply:
    """A reply to queue; ``claimed_by`` set: born claimed by that live sender."""

    mo_id: str | None
    source: str
    destination: str
    text: str  # redacted when sealed
    sealed: str | None
    at: datetime
    expires_at: datetime
    claimed_by: str | None


@dataclass(frozen=True, slots=True)
class NewPart:
    key: PartKey
    sequence: int
    data_coding: int
    text: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class CompleteSet:
    """Every part of a long MO, joined in sequence order."""

    key: PartKey
    data_coding: int
    text: str
    received_at: datetime


class Records:
    def __init__(self, snapshot: Snapshot, journal: Journal) -> None:
        self._snap = snapshot
        self._journal = journal
        self.new_mos: list[MoRecord] = []
        self.new_replies: list[NewReply] = []
        self.new_parts: list[NewPart] = []
        self.processed_parts: list[tuple[PartKey, str]] = []

    # --- MOs and their copies ---------------------------------------------------------

    def find_copy(self, smsc_ref: str | None, fingerprint: str) -> tuple[str, str] | None:
        """(MO id, outcome) of the MO this one repeats (see ``SqlMessages.find_redelivery``)."""
        if smsc_ref:
            return self._snap.by_ref.get(smsc_ref)
        return self._snap.by_fingerprint.get(fingerprint)

    def add_mo(self, record: MoRecord) -> None:
        j, snap = self._journal, self._snap
        j.append(self.new_mos, record)
        if record.smsc_ref:
            j.set(snap.by_ref, record.smsc_ref, (record.id, record.outcome))
        if not record.acked:
            j.set(snap.by_fingerprint, record.fingerprint, (record.id, record.outcome))

    def queue(self, reply: NewReply) -> int:
        """Queue a reply; returns its position among this batch's replies."""
        self._journal.append(self.new_replies, reply)
        return len(self.new_replies) - 1

    # --- parts of long MOs ------------------------------------------------------------

    def _parts(self, key: PartKey) -> dict[int, StoredPart]:
        parts = self._snap.parts.get(key)
        if parts is None:
            raise Miss("parts of", key)
        return parts

    def add_part(self, part: NewPart) -> tuple[bool, CompleteSet | None]:
        """Store a part. Returns (its message was processed already, the complete set if this completed it)."""
        parts = self._parts(part.key)
        existing = parts.get(part.sequence)
        if existing is not None and existing.mo_id is not None:
            return True, None
        if existing is None:
            stored = StoredPart(part.sequence, part.data_coding, part.text, part.received_at, None)
            self._journal.set(parts, part.sequence, stored)
            self._journal.append(self.new_parts, part)
        waiting = sorted((p for p in parts.values() if p.mo_id is None), key=lambda p: p.sequence)
        if len(waiting) < part.key[3]:
            return False, None
        first = waiting[0]
        return False, CompleteSet(part.key, first.data_coding, "".join(p.text for p in waiting), first.received_at)

    def mark_processed(self, key: PartKey, mo_id: str) -> None:
        parts = self._parts(key)
        for sequence, stored in list(parts.items()):
            if stored.mo_id is None:
                self._journal.set(parts, sequence, replace(stored, mo_id=mo_id))
        self._journal.append(self.processed_parts, (key, mo_id))
