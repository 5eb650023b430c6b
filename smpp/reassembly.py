"""Join the parts of concatenated messages, sans-IO (time is a parameter).

Parts are grouped by the caller's key (e.g. bind, source, destination) plus the part's
concatenation kind, reference and total: different senders never merge, and a reference
reused with another total starts another message. Parts may come in any order; a repeated
part replaces the earlier copy. A message still incomplete `timeout` seconds after its
first part is given up (`expire`) and its parts are returned for the caller to record.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .concat import Concat

__all__ = ["Reassembler"]

P = TypeVar("P")


@dataclass(slots=True)
class _Pending(Generic[P]):
    total: int
    first_at: float
    parts: dict[int, P] = field(default_factory=dict)

    def in_order(self) -> list[P]:
        return [self.parts[seq] for seq in sorted(self.parts)]


class Reassembler(Generic[P]):
    """Pending concatenated messages, oldest first."""

    def __init__(self, timeout: float = 120.0) -> None:
        self.timeout = timeout
        self._pending: dict[tuple[Hashable, str, int, int], _Pending[P]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, key: Hashable, concat: Concat, part: P, now: float) -> list[P] | None:
        """The message's parts in order once all are in, else None."""
        slot = (key, concat.kind, concat.reference, concat.total)
        pending = self._pending.get(slot)
        if pending is None:
            pending = self._pending[slot] = _Pending(concat.total, now)
        pending.parts[concat.sequence] = part
        if len(pending.parts) < pending.total:
            return None
        del self._pending[slot]
        return pending.in_order()

    def expire(self, now: float) -> list[list[P]]:
        """The parts of messages incomplete for `timeout` seconds, each in order; forgotten."""
        expired: list[list[P]] = []
        while self._pending:  # insertion order is age order: only the expired are looked at
            slot, pending = next(iter(self._pending.items()))
            if pending.first_at + self.timeout > now:
                break
            del self._pending[slot]
            expired.append(pending.in_order())
        return expired
