"""What goes into a batch and what comes out, as plain frozen data.

A batch is everything one turn of the event loop read that needs the database:
MOs (whole, or parts of long ones), what the SMSC said about our submits
(message ids, refusals), delivery receipts, acknowledgements the SMSC was seen
to read, and the sender's requests (claim more replies, give some back). It is
one transaction; :class:`BatchResult` comes back after its commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from grammar import Command, ParseError
from handlers.credentials import TemporaryPassword
from handlers.model import Outgoing

from ..db.outbox import ClaimedReply, PartAccepted

__all__ = [
    "Batch",
    "BatchResult",
    "ClaimRequest",
    "Decision",
    "Heartbeat",
    "MoJob",
    "PartOf",
    "ReceiptJob",
    "ReplyFailed",
    "Takeover",
]


@dataclass(frozen=True, slots=True)
class PartOf:
    """Where a part of a long MO belongs."""

    reference: int
    total: int
    sequence: int


@dataclass(frozen=True, slots=True)
class MoJob:
    """One MO read from the SMSC (or given to ``smsgw mo``), parsed before its batch.

    A part of a long MO (``part``) is parsed only once the batch completes it.
    ``password`` is the temporary password prepared (outside any transaction) for a
    ``P`` that an earlier batch found eligible.
    """

    id: str
    source: str
    destination: str
    text: str
    data_coding: int
    received_at: datetime
    sender: str  # the MSISDN in international form, or the raw source
    fingerprint: str
    smsc_ref: str | None = None
    command: Command | None = None
    problem: ParseError | None = None
    part: PartOf | None = None
    recognise_redelivery: bool = True
    password: TemporaryPassword | None = None
    unreadable: str | None = None  # why the octets are no text (binary, pictogram, …): no command in it


@dataclass(frozen=True, slots=True)
class Decision:
    """What became of one MO job.

    ``outcome`` names it for logs and metrics. ``copy_of`` is set when the MO was a
    copy (an SMSC redelivery) of an MO already recorded: nothing was applied again.
    ``needs_password``: a ``P`` that may be issued, held back until its password is
    prepared. ``failed``: an unexpected error undid it (the SMSC is told to retry).
    """

    mo_id: str
    outcome: str
    command: str | None = None
    replies: tuple[Outgoing, ...] = ()
    reply_positions: tuple[int, ...] = ()  # into BatchResult.reply_ids
    copy_of: str | None = None
    part_stored: bool = False
    needs_password: bool = False
    failed: bool = False
    text: str = ""  # the (joined) text decided on


@dataclass(frozen=True, slots=True)
class ReceiptJob:
    """A final delivery receipt: the SMSC message id in every form it may be stored in, and the state."""

    variants: tuple[str, ...]
    state: str


@dataclass(frozen=True, slots=True)
class ReplyFailed:
    outbox_id: int
    state: str  # failed | expired
    error: str


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """Claim up to ``limit`` replies for ``owner``: queued ones that are due, and those held by an
    instance whose heartbeat is older than ``alive_since`` (it died: take them over)."""

    owner: str
    limit: int
    alive_since: datetime


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """This instance is alive (one row per instance in ``instances``)."""

    name: str
    pid: int
    started_at: datetime


@dataclass(frozen=True, slots=True)
class Takeover:
    """Replies taken over from an instance that stopped beating ``silent_for`` seconds ago."""

    instance: str
    replies: int
    silent_for: float | None


@dataclass
class Batch:
    mos: list[MoJob] = field(default_factory=list)
    accepted: list[PartAccepted] = field(default_factory=list)
    receipts: list[ReceiptJob] = field(default_factory=list)
    acks: list[str] = field(default_factory=list)
    failed: list[ReplyFailed] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    intents: list[tuple[int, int]] = field(default_factory=list)  # (reply id, part) about to go on the wire
    heartbeat: Heartbeat | None = None
    reclaim_own: str | None = None  # at start-up: this instance's replies from its previous life, due again
    claim: ClaimRequest | None = None
    # Replies born claimed may have their first part recorded "submitting" in this very batch, up to this
    # many (the room the sender's window has): they go on the wire right after the commit, a batch sooner.
    intent_room: int = 0

    def __len__(self) -> int:
        return len(self.mos) + len(self.accepted) + len(self.receipts) + len(self.acks) + len(self.intents)


@dataclass(frozen=True, slots=True)
class BatchResult:
    decisions: tuple[Decision, ...]
    reply_ids: tuple[int, ...]  # outbox ids of the replies queued, by position
    receipts: tuple[tuple[int, str | None] | None, ...]  # per receipt: (reply id, MO id), or None if kept early
    claimed: tuple[ClaimedReply, ...]
    commit: int  # which commit carried this batch (counts from 1 per process)
    takeovers: tuple[Takeover, ...] = ()
    reclaimed: int = 0
    decided_at: datetime | None = None  # the instant every rule of the batch used
    expired: int = 0  # replies the claim found expired (they end "expired" unsent)
    first_parts_recorded: frozenset[int] = frozenset()  # replies (ids) whose part 1 this batch recorded submitting
