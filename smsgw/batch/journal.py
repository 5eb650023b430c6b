"""Undo for the in-memory state of a batch: what lets one MO fail without undoing the others.

A batch decides its MOs one after another against one in-memory view. Every
change a handler makes goes through :class:`Journal`, which remembers how to
undo it; :meth:`Journal.mark` before an MO and :meth:`Journal.rollback` to that
mark if the MO fails leave the view as if the MO had never run — what a
SAVEPOINT per MO does in a database, without a round trip.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, TypeVar

__all__ = ["Journal"]

K = TypeVar("K")
V = TypeVar("V")
_MISSING: Any = object()


class Journal:
    __slots__ = ("_undo",)

    def __init__(self) -> None:
        self._undo: list[tuple[Any, Any, Any]] = []  # (container, key or None, old value or length)

    def mark(self) -> int:
        return len(self._undo)

    def set(self, mapping: MutableMapping[K, V], key: K, value: V) -> None:
        self._undo.append((mapping, key, mapping.get(key, _MISSING)))
        mapping[key] = value

    def append(self, items: list[V], item: V) -> None:
        self._undo.append((items, None, len(items)))
        items.append(item)

    def rollback(self, mark: int) -> None:
        undo = self._undo
        while len(undo) > mark:
            container, key, old = undo.pop()
            if isinstance(container, list):
                del container[old:]
            elif old is _MISSING:
                container.pop(key, None)
            else:
                container[key] = old
