"""MOs answered on the current connection whose response the SMSC has not been seen to read.

An SMSC that waits too long for a deliver_sm_resp sends the MO again, and goes
on doing so every time its wait ends. If each copy had to wait for a batch of
its own, a slow database would answer every copy too late in turn: the window
fills with copies the SMSC has already given up on, and nothing is ever
acknowledged (seen with commits of 0–2 s against an SMSC that waits 1 s). A copy
of an MO recorded and answered here, read on the same connection before the
SMSC was seen to read that answer, is the SMSC's redelivery by the rule of
:mod:`~smsgw.gateway.confirmations` — the database would say the same, since
the original's acknowledgement is never recorded once a copy was read — so the
inbound side answers it at once, from this memory, with no transaction.

Keys are the SMSC's own message id when it sends one, else the MO's fingerprint
(sender, short code, coding and text). An entry ends when the SMSC is seen to
read a response that may confirm the MO (an equal text may then be the
subscriber's new message: the database decides) or when the memory is full;
entries of an earlier connection are never matched. Parts of long MOs are never
answered from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..batch.jobs import MoJob
from .recent import Recent

__all__ = ["AnsweredCopies"]

_KEPT = 10_000  # answered MOs not yet seen read: a few seconds' worth when the SMSC takes our answers


class AnsweredCopies:
    __slots__ = ("_by_key", "_key_of")

    def __init__(self, keep: int = _KEPT) -> None:
        self._by_key: Recent[str, tuple[str, str, int]] = Recent(keep)  # key -> (MO id, outcome, connection)
        self._key_of: Recent[str, str] = Recent(keep)  # MO id -> key

    @staticmethod
    def key(job: MoJob) -> str | None:
        """What a copy of ``job`` shares with it, or None if it is never answered from memory."""
        if job.part is not None or not job.recognise_redelivery:
            return None  # a part's copy is known only with the rest of its message, in the database
        return job.smsc_ref or job.fingerprint

    def answered(self, job: MoJob, mo_id: str, outcome: str, generation: int) -> None:
        key = self.key(job)
        if key is not None:
            self._by_key[key] = (mo_id, outcome, generation)
            self._key_of[mo_id] = key

    def find(self, job: MoJob, generation: int) -> tuple[str, str] | None:
        """(MO id, outcome) of the MO ``job`` is a copy of, if answered on this connection and not seen read."""
        key = self.key(job)
        hit = self._by_key.get(key) if key is not None else None
        if hit is None or hit[2] != generation:
            return None
        return hit[0], hit[1]

    def read(self, tags: Sequence[object]) -> None:
        """The SMSC read the responses of these MOs: copies of them are for the database to judge."""
        for tag in tags:
            if isinstance(tag, str):
                key = self._key_of.pop(tag)
                if key is not None and (hit := self._by_key.get(key)) is not None and hit[0] == tag:
                    self._by_key.pop(key)
