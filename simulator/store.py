"""Recorded traffic: MOs injected, MTs received (reassembled), receipts sent.

In memory and bounded (`limit` MOs and `limit` MTs, oldest evicted first). MTs carry a
cursor (0, 1, 2, …) so readers can ask for "everything after what I saw". `watchers` hear
of every record added or changed (an MO's state, an MT's receipts): the live feed.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["MoRecord", "MtRecord", "Record", "Store", "iso"]


def iso(t: float | None) -> str | None:
    """An epoch time as ISO 8601 UTC with milliseconds."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


@dataclass(slots=True, eq=False)
class MoRecord:
    id: str
    source: str
    destination: str
    text: str
    encoding: str
    split: str
    part_ids: list[str]
    injected_at: float
    ref: int = 0  # the concatenation reference of its parts (a redelivery reuses it)
    state: str = "queued"  # queued → sent → delivered | failed
    acked_parts: int = 0
    attempts: int = 0  # deliver_sm sent for it, redeliveries included
    delivered_at: float | None = None
    load: object = None  # the bulk-load entry it belongs to, if any
    evicted: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "kind": "mo",
            "id": self.id,
            "source": self.source,
            "destination": self.destination,
            "text": self.text,
            "encoding": self.encoding,
            "parts": len(self.part_ids),
            "part_ids": self.part_ids,
            "state": self.state,
            "attempts": self.attempts,
            "time": iso(self.injected_at),
            "t": self.injected_at,
            "delivered_at": iso(self.delivered_at),
        }


@dataclass(slots=True, eq=False)
class MtRecord:
    id: str
    message_ids: list[str]
    bind: int
    system_id: str
    source: str
    destination: str
    text: str
    data_coding: int
    parts: int
    complete: bool
    submitted_at: float
    registered_delivery: int
    status: str = "accepted"  # accepted | withheld | delayed (the response to its submit_sm)
    cursor: int = -1
    evicted: bool = False
    receipts: dict[str, str] = field(default_factory=dict)  # message id → stat sent

    def to_json(self) -> dict[str, object]:
        return {
            "kind": "mt",
            "cursor": self.cursor,
            "id": self.id,
            "message_ids": self.message_ids,
            "bind": self.bind,
            "system_id": self.system_id,
            "source": self.source,
            "destination": self.destination,
            "text": self.text,
            "data_coding": self.data_coding,
            "parts": self.parts,
            "complete": self.complete,
            "status": self.status,
            "registered_delivery": self.registered_delivery,
            "receipts": dict(self.receipts),
            "time": iso(self.submitted_at),
            "t": self.submitted_at,
        }


Record = MoRecord | MtRecord


class Store:
    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.listeners: list[Callable[[MtRecord], None]] = []
        self.watchers: list[Callable[[Record], None]] = []
        self._mos: deque[MoRecord] = deque()
        self._mo_by_id: dict[str, MoRecord] = {}
        self._mts: deque[MtRecord] = deque()
        self._mt_by_message_id: dict[str, MtRecord] = {}
        self._by_number: dict[str, deque[Record]] = {}
        self._early_receipts: dict[str, str] = {}  # for parts of MTs not yet complete
        self._next_cursor = 0

    @property
    def next_cursor(self) -> int:
        """The cursor the next MT will get."""
        return self._next_cursor

    def add_mo(self, mo: MoRecord) -> None:
        self._mos.append(mo)
        self._mo_by_id[mo.id] = mo
        self._index(mo, mo.source, mo.destination)
        while len(self._mos) > self.limit:
            old = self._mos.popleft()
            old.evicted = True
            self._mo_by_id.pop(old.id, None)
            self._prune(old.source, old.destination)
        self.touch(mo)

    def touch(self, record: Record) -> None:
        """Tell the watchers that `record` was added or changed."""
        for watcher in self.watchers:
            watcher(record)

    def get_mo(self, mo_id: str) -> MoRecord | None:
        return self._mo_by_id.get(mo_id)

    def add_mt(self, mt: MtRecord) -> None:
        mt.cursor = self._next_cursor
        self._next_cursor += 1
        self._mts.append(mt)
        for message_id in mt.message_ids:
            self._mt_by_message_id[message_id] = mt
            stat = self._early_receipts.pop(message_id, None)
            if stat is not None:
                mt.receipts[message_id] = stat
        self._index(mt, mt.source, mt.destination)
        while len(self._mts) > self.limit:
            old = self._mts.popleft()
            old.evicted = True
            for message_id in old.message_ids:
                self._mt_by_message_id.pop(message_id, None)
            self._prune(old.source, old.destination)
        for listener in self.listeners:
            listener(mt)
        self.touch(mt)

    def note_receipt(self, message_id: str, stat: str) -> None:
        """Remember that a receipt was sent for one part of an MT."""
        mt = self._mt_by_message_id.get(message_id)
        if mt is not None:
            mt.receipts[message_id] = stat
            self.touch(mt)
            return
        self._early_receipts[message_id] = stat
        if len(self._early_receipts) > self.limit:
            del self._early_receipts[next(iter(self._early_receipts))]

    def mts_since(
        self,
        cursor: int,
        source: str | None = None,
        destination: str | None = None,
        limit: int = 1000,
    ) -> tuple[list[MtRecord], int]:
        """MTs with cursor ≥ `cursor` matching the filters, and the cursor to ask next."""
        found: list[MtRecord] = []
        for mt in reversed(self._mts):  # newest first: cost is the tail, not the history
            if mt.cursor < cursor:
                break
            if (source is None or mt.source == source) and (destination is None or mt.destination == destination):
                found.append(mt)
        found.reverse()
        if len(found) > limit:
            found = found[:limit]
            return found, found[-1].cursor + 1
        return found, self._next_cursor

    def everything(self) -> list[Record]:
        """Every MO and MT kept, oldest first."""
        mos: Iterable[Record] = self._mos
        mts: Iterable[Record] = self._mts
        return list(heapq.merge(mos, mts, key=_when))

    def traffic(self, number: str) -> list[Record]:
        """MOs and MTs from or to `number`, oldest first."""
        return [r for r in self._by_number.get(number, ()) if not r.evicted]

    def _index(self, record: Record, *numbers: str) -> None:
        for number in dict.fromkeys(numbers):
            self._by_number.setdefault(number, deque()).append(record)

    def _prune(self, *numbers: str) -> None:
        for number in numbers:
            records = self._by_number.get(number)
            while records and records[0].evicted:
                records.popleft()
            if records is not None and not records:
                del self._by_number[number]


def _when(record: Record) -> float:
    return record.injected_at if isinstance(record, MoRecord) else record.submitted_at
