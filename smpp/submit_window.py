"""The submit_sm in flight on one connection, each with the caller's ref and its deadline.

One timeout applies to every submit, so insertion order is deadline order: the
expired ones are always the oldest (`expired` looks at nothing else).
"""

from __future__ import annotations

__all__ = ["SubmitWindow"]


class SubmitWindow:
    def __init__(self) -> None:
        self._in_flight: dict[int, tuple[object, float]] = {}  # sequence -> (ref, deadline)

    def __len__(self) -> int:
        return len(self._in_flight)

    def add(self, sequence: int, ref: object, deadline: float) -> None:
        self._in_flight[sequence] = (ref, deadline)

    def answered(self, sequence: int) -> tuple[bool, object]:
        """(True, its ref) for a submit in flight, now answered; (False, None) for any other sequence."""
        entry = self._in_flight.pop(sequence, None)
        return (False, None) if entry is None else (True, entry[0])

    def expired(self, now: float) -> list[object]:
        """The refs of the submits whose deadline passed, oldest first; forgotten."""
        refs = []
        in_flight = self._in_flight
        while in_flight:
            sequence, (ref, deadline) = next(iter(in_flight.items()))
            if deadline > now:
                break
            del in_flight[sequence]
            refs.append(ref)
        return refs

    def forget(self) -> tuple[object, ...]:
        """The link is gone: the refs of every submit still in flight."""
        refs = tuple(ref for ref, _ in self._in_flight.values())
        self._in_flight.clear()
        return refs
