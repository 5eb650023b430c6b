"""Request sequence numbers: 1..0x7FFFFFFF, wrapping (SMPP 3.4 §5.1.4), and their order."""

from __future__ import annotations

__all__ = ["MAX_SEQUENCE", "Sequences", "at_or_after"]

MAX_SEQUENCE = 0x7FFFFFFF


class Sequences:
    """One counter of request sequence numbers (a transport may share it with the session)."""

    __slots__ = ("last",)

    def __init__(self, last: int = 0) -> None:
        self.last = last

    def next(self) -> int:
        self.last = self.last % MAX_SEQUENCE + 1
        return self.last

    def peek(self) -> int:
        """The number the next request will get."""
        return self.last % MAX_SEQUENCE + 1


def at_or_after(sequence: int, first: int) -> bool:
    """``sequence`` was written at or after ``first`` (modulo the wrap)."""
    return (sequence - first) % MAX_SEQUENCE < MAX_SEQUENCE // 2
