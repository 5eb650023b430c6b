"""What the ESME session tells its owner (frozen dataclasses, cf. h11/_events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .bodies import ShortMessage
from .receipts import Receipt

__all__ = [
    "BindRefused",
    "Bound",
    "DeliverRejected",
    "EsmeEvent",
    "LinkLost",
    "MoReceived",
    "ReceiptReceived",
    "ResponsesRead",
    "SubmitAnswered",
    "SubmitTimedOut",
    "Unbound",
]


@dataclass(frozen=True, slots=True)
class Bound:
    """The bind was accepted; ``smsc_id`` is the system_id the SMSC answered with."""

    smsc_id: str


@dataclass(frozen=True, slots=True)
class BindRefused:
    """The SMSC answered the bind with an error ``status``; the session is closed."""

    status: int


@dataclass(frozen=True, slots=True)
class MoReceived:
    """A subscriber's deliver_sm; the owner answers it with ``EsmeSession.respond(sequence, …)``."""

    sequence: int
    message: ShortMessage


@dataclass(frozen=True, slots=True)
class ReceiptReceived:
    """A deliver_sm that is a delivery receipt (``receipt`` None if it names no message id); answer it too."""

    sequence: int
    receipt: Receipt | None
    message: ShortMessage


@dataclass(frozen=True, slots=True)
class DeliverRejected:
    """A deliver_sm whose body does not decode; the session answered it ESME_RX_P_APPN (retrying cannot help)."""

    sequence: int
    reason: str


@dataclass(frozen=True, slots=True)
class SubmitAnswered:
    """The SMSC answered the submit_sm ``ref`` (status 0: accepted with ``message_id``), or nacked it."""

    ref: object
    status: int
    message_id: str


@dataclass(frozen=True, slots=True)
class SubmitTimedOut:
    """No response to the submit_sm ``ref`` within the submit timeout; it left the window."""

    ref: object


@dataclass(frozen=True, slots=True)
class ResponsesRead:
    """The SMSC has read the deliver_sm_resp written for these tags: it answered a request written after them."""

    tags: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Unbound:
    """The unbind exchange is complete (``by`` "smsc" or "esme"); the connection is closed next."""

    by: str


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The session is over. ``unanswered``: refs of submits whose response never came (they may
    or may not have reached the SMSC); ``unread``: tags of deliver_sm_resp not known to have been
    read (the SMSC may deliver those MOs again); ``unanswered_mos``: deliver_sm sequences never answered."""

    reason: str
    unanswered: tuple[object, ...]
    unread: tuple[object, ...]
    unanswered_mos: tuple[int, ...]


EsmeEvent = (
    Bound
    | BindRefused
    | MoReceived
    | ReceiptReceived
    | DeliverRejected
    | SubmitAnswered
    | SubmitTimedOut
    | ResponsesRead
    | Unbound
    | LinkLost
)
