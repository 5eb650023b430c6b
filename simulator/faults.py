"""Fault injection for submit_sm, each fault bounded by a count of submits or a duration.

Kinds: `throttle` (ESME_RTHROTTLED) and `queue_full` (ESME_RMSGQFUL), optionally for a
`ratio` of the submits only (seeded RNG); `withhold` (never answer); `delay` (answer
after `delay` seconds); `receipt_first` (send the receipt before the submit_sm_resp).
Dropping connections is immediate and lives in the SMSC core.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from smpp import Status

__all__ = ["FAULT_KINDS", "NO_FAULT", "Decision", "Fault", "FaultError", "Faults"]

_STATUS = {"throttle": Status.ESME_RTHROTTLED, "queue_full": Status.ESME_RMSGQFUL}
FAULT_KINDS = ("throttle", "queue_full", "withhold", "delay", "receipt_first")


class FaultError(ValueError):
    """A fault request that makes no sense (unknown kind, unbounded, bad ratio…)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one submit_sm."""

    status: int = Status.ESME_ROK
    withhold: bool = False
    delay: float = 0.0
    receipt_first: bool = False


NO_FAULT = Decision()


@dataclass(slots=True)
class Fault:
    id: int
    kind: str
    count: int | None  # submits left; None = bounded by time only
    until: float | None  # epoch seconds; None = bounded by count only
    ratio: float | None = None
    delay: float = 0.0
    seed: int | None = None
    applied: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def live(self, now: float) -> bool:
        return (self.count is None or self.count > 0) and (self.until is None or now < self.until)

    def consume(self) -> None:
        if self.count is not None:
            self.count -= 1

    def to_json(self, now: float) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "remaining": self.count,
            "seconds_left": None if self.until is None else max(0.0, round(self.until - now, 3)),
            "ratio": self.ratio,
            "delay": self.delay if self.kind == "delay" else None,
            "seed": self.seed,
            "applied": self.applied,
        }


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(
        self,
        kind: str,
        *,
        now: float,
        count: int | None = None,
        seconds: float | None = None,
        ratio: float | None = None,
        delay: float | None = None,
        seed: int | None = None,
    ) -> Fault:
        if kind not in FAULT_KINDS:
            raise FaultError(f"unknown fault {kind!r} (one of {', '.join(FAULT_KINDS)})")
        if count is None and seconds is None:
            raise FaultError("a fault needs a count of submits, a duration in seconds, or both")
        if count is not None and count < 1:
            raise FaultError("count must be at least 1")
        if seconds is not None and not 0 < seconds <= 86400:
            raise FaultError("seconds must be between 0 and 86400")
        if ratio is not None and (kind not in _STATUS or not 0 < ratio <= 1):
            raise FaultError("ratio applies to throttle and queue_full, between 0 and 1")
        if kind == "delay" and (delay is None or not 0 < delay <= 3600):
            raise FaultError("a delay fault needs delay seconds between 0 and 3600")
        fault = Fault(
            id=self._next_id,
            kind=kind,
            count=count,
            until=None if seconds is None else now + seconds,
            ratio=ratio,
            delay=delay or 0.0,
            seed=seed,
            rng=random.Random(seed),
        )
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def clear(self) -> int:
        cleared = len(self._faults)
        self._faults.clear()
        return cleared

    def active(self, now: float) -> list[Fault]:
        self._faults = [f for f in self._faults if f.live(now)]
        return list(self._faults)

    def decide(self, now: float) -> Decision:
        """Consume the faults that apply to the next submit_sm."""
        if not self._faults:
            return NO_FAULT
        faults = self.active(now)
        status = Status.ESME_ROK
        for fault in faults:
            if fault.kind in _STATUS and status == Status.ESME_ROK:
                fault.consume()
                if fault.ratio is None or fault.rng.random() < fault.ratio:
                    status = _STATUS[fault.kind]
                    fault.applied += 1
        if status != Status.ESME_ROK:
            return Decision(status=status)
        withhold, delay, receipt_first = False, 0.0, False
        for fault in faults:
            if fault.kind in _STATUS:
                continue
            fault.consume()
            fault.applied += 1
            if fault.kind == "withhold":
                withhold = True
            elif fault.kind == "delay":
                delay = max(delay, fault.delay)
            else:
                receipt_first = True
        if not (withhold or delay or receipt_first):
            return NO_FAULT
        return Decision(withhold=withhold, delay=delay, receipt_first=receipt_first)
