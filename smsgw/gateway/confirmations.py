"""Which MOs the SMSC will not deliver again: those whose deliver_sm_resp it was seen to read.

SMPP 3.4 MOs carry no id, so an SMSC's redelivery looks exactly like the
subscriber sending the same text again. The difference is whether the SMSC read
our response to the first, which the session core learns from TCP order
(``ResponsesRead``). Confirmed MOs are marked ``acked`` in the database with the
next batch; an MO equal to an unconfirmed one is the SMSC's copy, one equal to a
confirmed one is the subscriber's new message.

Two kinds of response are never taken as read: one written more than
``confirm_within`` seconds after its MO was read (it may have missed the
SMSC's own timeout — the inbound side does not tag those), and that of an MO the
SMSC has already sent again (it showed it does not take our responses in time,
so it may send it once more).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..batch.jobs import Batch
from .recent import Recent

__all__ = ["Confirmations"]

_NEVER_KEPT = 100_000


class Confirmations:
    def __init__(self, *, wait: float = 0.1) -> None:
        self._wait = wait  # seconds confirmations may wait for a batch that runs anyway
        self._since: float | None = None
        self._never: Recent[str, None] = Recent(_NEVER_KEPT)
        self._read: list[str] = []
        self._recording: list[str] = []
        self.confirmed = 0

    @property
    def holding(self) -> bool:
        return bool(self._read)

    def due(self, now: float) -> bool:
        """Confirmations ride in batches that run anyway; one of their own only after ``wait`` seconds."""
        return self._since is not None and (now - self._since >= self._wait or len(self._read) >= 512)

    def next_due(self, now: float) -> float:
        return float("inf") if self._since is None else max(0.001, self._since + self._wait - now)

    def read(self, tags: Sequence[object], now: float) -> None:
        """The session saw the SMSC read these responses (tags are MO ids)."""
        self._read.extend(tag for tag in tags if isinstance(tag, str) and tag not in self._never)
        if self._read and self._since is None:
            self._since = now

    def never(self, mo_id: str) -> None:
        """The SMSC sent ``mo_id`` again: never take its response as read."""
        self._never[mo_id] = None

    def is_never(self, mo_id: object) -> bool:
        """Whether ``mo_id``'s response is never taken as read (the SMSC sent it again)."""
        return mo_id in self._never

    def fill(self, batch: Batch) -> None:
        self._recording = [mo_id for mo_id in self._read if mo_id not in self._never]
        self._read = []
        self._since = None
        batch.acks = self._recording

    def settle(self) -> None:
        self.confirmed += len(self._recording)
        self._recording = []

    def failed(self, now: float) -> None:
        self._read[:0] = self._recording
        self._recording = []
        if self._read and self._since is None:
            self._since = now
