"""What a session tells its owner (frozen dataclasses, cf. h11/_events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .pdu import ShortMessage
from .states import State

__all__ = [
    "Bound",
    "Closed",
    "DeliverExpired",
    "DeliverResponded",
    "Event",
    "SubmitReceived",
    "Unbound",
]


@dataclass(frozen=True, slots=True)
class Bound:
    """A bind was accepted; `mode` is the new bound state."""

    mode: State
    system_id: str


@dataclass(frozen=True, slots=True)
class SubmitReceived:
    """An admitted submit_sm; the owner must answer it with `Session.respond_submit`."""

    sequence: int
    message: ShortMessage


@dataclass(frozen=True, slots=True)
class DeliverResponded:
    """The ESME answered our deliver_sm (status 0 = accepted) or nacked it."""

    ref: object
    status: int


@dataclass(frozen=True, slots=True)
class DeliverExpired:
    """No deliver_sm_resp within the response timeout."""

    ref: object


@dataclass(frozen=True, slots=True)
class Unbound:
    """The unbind exchange is complete; the connection will be closed."""


@dataclass(frozen=True, slots=True)
class Closed:
    """The session is over; `undelivered` are the refs of deliver_sm left unanswered."""

    reason: str
    undelivered: tuple[object, ...]


Event = Bound | SubmitReceived | DeliverResponded | DeliverExpired | Unbound | Closed
