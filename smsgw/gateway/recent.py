"""A bounded memory of recent keys: what the gateway remembers about MOs and receipts it answered.

The inbound side remembers which connection each MO's response went out on (so
that a copy arriving on the same connection is known as unread), which receipts
it recorded (so that a copy is answered at once) and which MOs the SMSC sent
again (their responses are never taken as read). Each memory only has to reach
back a bounded number of keys; older ones may be forgotten in any order.

``Recent`` keeps them in two plain dicts that take turns: keys go into the newer
one; when it holds ``keep`` keys the older one is dropped whole and the newer one
takes its place. So it always remembers the last ``keep`` keys, at most
``2 × keep``, at O(1) per call (one forgotten with ``pop`` is gone from both).
The ``OrderedDict`` trimmed one key at a time that this replaces cost a
linked-list node per key on top of the dict's entry (about 230 bytes per MO in
all, 23 MB once full at 100,000 MOs, most of the gateway's memory growth over a
long run); a dict trimmed from the front with ``next(iter(d))`` would instead
rescan the deleted slots on every call.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Recent"]

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    __slots__ = ("_keep", "_newer", "_older")

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self._keep = keep
        self._newer: dict[K, V] = {}
        self._older: dict[K, V] = {}

    def __setitem__(self, key: K, value: V) -> None:
        newer = self._newer
        newer[key] = value
        if len(newer) >= self._keep:
            self._older, self._newer = newer, {}

    def get(self, key: K, default: V | None = None) -> V | None:
        if key in self._newer:
            return self._newer[key]
        return self._older.get(key, default)

    def pop(self, key: K, default: V | None = None) -> V | None:
        """Forget ``key`` (in either dict); its newest value, or ``default``."""
        older = self._older.pop(key, default)
        return self._newer.pop(key, older)

    def __contains__(self, key: object) -> bool:
        return key in self._newer or key in self._older

    def __len__(self) -> int:
        """How many entries are held (a key set again after a turn counts twice): at most ``2 × keep``."""
        return len(self._newer) + len(self._older)
