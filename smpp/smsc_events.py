"""What an SMSC session tells its owner (frozen dataclasses, cf. h11/_events.py).

Named from the SMSC's side, so that they never clash with the ESME session's events
(`EsmeBound` here; `DeliverAnswered` / `DeliverTimedOut` mirror an ESME's submit answers).
"""

from __future__ import annotations

from dataclasses import dataclass

from .bodies import ShortMessage
from .states import State

__all__ = [
    "DeliverAnswered",
    "DeliverTimedOut",
    "EsmeBound",
    "SessionClosed",
    "SmscEvent",
    "SubmitReceived",
    "UnbindComplete",
]


@dataclass(frozen=True, slots=True)
class EsmeBound:
    """A bind was accepted; `mode` is the new bound state."""

    mode: State
    system_id: str


@dataclass(frozen=True, slots=True)
class SubmitReceived:
    """An admitted submit_sm; the owner must answer it with `SmscSession.respond_submit`."""

    sequence: int
    message: ShortMessage


@dataclass(frozen=True, slots=True)
class DeliverAnswered:
    """The ESME answered our deliver_sm (status 0 = accepted) or nacked it."""

    ref: object
    status: int


@dataclass(frozen=True, slots=True)
class DeliverTimedOut:
    """No deliver_sm_resp within the response timeout."""

    ref: object


@dataclass(frozen=True, slots=True)
class UnbindComplete:
    """The unbind exchange is complete (either side began it); the connection closes next."""


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The session is over; `undelivered` are the refs of deliver_sm left unanswered."""

    reason: str
    undelivered: tuple[object, ...]


SmscEvent = EsmeBound | SubmitReceived | DeliverAnswered | DeliverTimedOut | UnbindComplete | SessionClosed
