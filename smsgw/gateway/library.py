"""Small implementations of aiosmpplib's extension points that the gateway plugs in.

- :class:`JitteredBackoff` — reconnect delays with full jitter (the library's own
  doubles from 0 with no jitter, forever).
- :class:`NullCorrelator` — the library's ``SimpleCorrelator`` keeps every request
  for three days and scans whole dicts (its cost grows with every message). The
  gateway correlates submits itself (by sequence number in memory, by SMSC
  message id in the database), so the library only needs a correlator that
  forgets: every method is O(1) and stores nothing.
"""

from __future__ import annotations

import asyncio
import random

from aiosmpplib import AbstractCorrelator, AbstractRetryTimer
from aiosmpplib.correlator import SegmentStatus
from aiosmpplib.protocol import DeliverSm, SmppMessage, SubmitSm

__all__ = ["JitteredBackoff", "NullCorrelator"]


class JitteredBackoff(AbstractRetryTimer):
    """Exponential backoff with jitter: the n-th retry waits between c/2 and c, c = min(cap, base·2ⁿ).

    Many gateways reconnecting after one SMSC restart spread out instead of
    knocking together; the delay never drops below half its step.
    """

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self._base = base
        self._cap = cap
        self._attempt = 0
        self._rng = rng or random.Random()
        self._next = 0.0

    def next_delay(self) -> float:
        return self._next

    def _draw(self) -> float:
        ceiling = min(self._cap, self._base * 2**self._attempt)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    async def wait(self) -> None:
        self._next = self._draw()
        self._attempt = min(self._attempt + 1, 30)
        await asyncio.sleep(self._next)

    def reset(self) -> None:
        self._attempt = 0
        self._next = 0.0


class NullCorrelator(AbstractCorrelator):
    async def put(self, smpp_message: SmppMessage) -> None:
        return None

    async def get(self, response: SmppMessage) -> SmppMessage | None:
        return None

    async def put_delivery(self, smsc_message_id: str, submit_sm: SubmitSm) -> None:
        return None

    async def get_delivery(self, receipt: DeliverSm) -> SubmitSm | None:
        return None

    async def put_delivery_segmented(self, deliver_sm: DeliverSm) -> DeliverSm | None:
        return None

    async def get_segmented(self, sequence_num: int, remove: bool = False) -> tuple[SegmentStatus | None, int]:
        return None, 0

    async def expired(self, smpp_message: SmppMessage) -> None:
        return None

    def get_cumulated_status(self, ref_num: int) -> int:
        return 0
