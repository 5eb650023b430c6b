"""Reassembly of concatenated MTs (UDH 8/16-bit, SAR TLVs) into one recorded message.

Parts are grouped by (system_id, source, destination, concat kind, reference, total):
different senders or binds never merge. Parts may come in any order; a repeated part
replaces the earlier copy. A message still incomplete after `timeout` seconds is given
up and returned as incomplete so that it is recorded anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .text import Concat

__all__ = ["MtPart", "Reassembler"]


@dataclass(slots=True)
class MtPart:
    """One accepted submit_sm, as far as recording is concerned."""

    bind: int
    system_id: str
    source: str
    destination: str
    data_coding: int
    registered_delivery: int
    message_id: str
    payload: bytes
    concat: Concat | None
    at: float
    status: str = "accepted"


@dataclass(slots=True)
class _Pending:
    total: int
    first_at: float
    parts: dict[int, MtPart] = field(default_factory=dict)


_Key = tuple[str, str, str, str, int, int]


class Reassembler:
    def __init__(self, timeout: float = 120.0) -> None:
        self.timeout = timeout
        self._pending: dict[_Key, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, part: MtPart) -> list[MtPart] | None:
        """The parts of the whole message (in order) once complete, else None."""
        concat = part.concat
        if concat is None:
            return [part]
        key = (part.system_id, part.source, part.destination, concat.kind, concat.ref, concat.total)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(concat.total, part.at)
        pending.parts[concat.seq] = part
        if len(pending.parts) < pending.total:
            return None
        del self._pending[key]
        return [pending.parts[seq] for seq in sorted(pending.parts)]

    def expire(self, now: float) -> list[list[MtPart]]:
        """Incomplete messages older than the timeout (their parts, in order)."""
        expired: list[list[MtPart]] = []
        for key, pending in list(self._pending.items()):
            if pending.first_at + self.timeout > now:
                break  # insertion order = age order
            del self._pending[key]
            expired.append([pending.parts[seq] for seq in sorted(pending.parts)])
        return expired
