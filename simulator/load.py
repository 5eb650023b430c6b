"""Bulk MO load for benchmarks: inject N MOs keeping at most W outstanding, and measure.

Per MO: when it was injected, when its deliver_sm_resp came (all parts), and when the
first submit_sm addressed to its source from its destination arrived after injection
(the reply). When several such MOs wait for a reply, the oldest gets the first one.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

__all__ = ["LoadEntry", "LoadRun"]


@dataclass(slots=True, eq=False)
class LoadEntry:
    source: str
    destination: str
    text: str
    injected_at: float | None = None
    acked_at: float | None = None
    replied_at: float | None = None
    failed: bool = False


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)] * 1000, 3)

    return {"p50": rank(0.50), "p99": rank(0.99), "max": round(ordered[-1] * 1000, 3)}


class LoadRun:
    def __init__(
        self, messages: list[tuple[str, str, str]], window: int, now: float, rate: float | None = None
    ) -> None:
        self.window = window
        self.rate = rate  # MOs offered per second at most (None: as fast as the window allows)
        self.taken = 0
        self.started_at = now
        self.entries = [LoadEntry(s, d, t) for s, d, t in messages]
        self._pending = deque(self.entries)
        self._awaiting: dict[tuple[str, str], deque[LoadEntry]] = {}
        self.outstanding = 0
        self.submits = 0
        self.finished_at: float | None = None

    def take(self, now: float) -> list[LoadEntry]:
        """Entries to inject now (the window has room for them, and the rate allows them)."""
        taken: list[LoadEntry] = []
        allowed = len(self.entries) if self.rate is None else int((now - self.started_at) * self.rate) + 1
        while self._pending and self.outstanding < self.window and self.taken < allowed:
            entry = self._pending.popleft()
            self.outstanding += 1
            self.taken += 1
            taken.append(entry)
        return taken

    @property
    def rate_limited(self) -> bool:
        """Entries wait for the rate, not for the window."""
        return bool(self._pending) and self.outstanding < self.window

    def injected(self, entry: LoadEntry, now: float) -> None:
        entry.injected_at = now
        key = (entry.source, entry.destination)
        self._awaiting.setdefault(key, deque()).append(entry)

    def settled(self, entry: LoadEntry, now: float, delivered: bool) -> None:
        """The MO was acknowledged (all parts) or given up."""
        self.outstanding -= 1
        if delivered:
            entry.acked_at = now
        else:
            entry.failed = True
        if not self._pending and self.outstanding == 0:
            self.finished_at = now

    def on_submit(self, source: str, destination: str, now: float) -> None:
        """A submit_sm arrived: is it the first reply to a waiting MO?"""
        self.submits += 1
        waiting = self._awaiting.get((destination, source))
        if waiting:
            entry = waiting.popleft()
            entry.replied_at = now
            if not waiting:
                del self._awaiting[(destination, source)]

    def figures(self, now: float) -> dict[str, object]:
        injected = failed = 0
        ack_latency: list[float] = []
        reply_latency: list[float] = []
        last_reply = self.started_at
        for entry in self.entries:
            if entry.injected_at is None:
                continue
            injected += 1
            failed += entry.failed
            if entry.acked_at is not None:
                ack_latency.append(entry.acked_at - entry.injected_at)
            if entry.replied_at is not None:
                reply_latency.append(entry.replied_at - entry.injected_at)
                last_reply = max(last_reply, entry.replied_at)
        end = self.finished_at if self.finished_at is not None else now
        elapsed = max(end - self.started_at, 1e-9)
        reply_span = max(last_reply - self.started_at, 1e-9)
        return {
            "total": len(self.entries),
            "window": self.window,
            "rate": self.rate,
            "injected": injected,
            "acked": len(ack_latency),
            "failed": failed,
            "replied": len(reply_latency),
            "outstanding": self.outstanding,
            "pending": len(self._pending),
            "done": self.finished_at is not None,
            "elapsed_s": round(elapsed, 3),
            "submits": self.submits,
            "rates": {
                "injected_per_s": round(injected / elapsed, 1),
                "acked_per_s": round(len(ack_latency) / elapsed, 1),
                "replied_per_s": round(len(reply_latency) / reply_span, 1),
                "submits_per_s": round(self.submits / reply_span, 1),
            },
            "mo_to_ack_ms": _percentiles(ack_latency),
            "mo_to_reply_ms": _percentiles(reply_latency),
        }
