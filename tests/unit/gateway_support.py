"""A gateway edge without sockets: ``SmppLink`` over an in-memory wire to the simulator's SMSC session.

What the link writes goes straight into an :class:`smpp.SmscSession` (the
simulator's sans-IO core); what that session has to send is fed back with
:meth:`Rig.pump`. Time is :attr:`Rig.now`, moved by the test. The session's
events go to the consumers under test the way ``runtime.Gateway`` routes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from smpp.bodies import Bind, Pdu, ShortMessage
from smpp.constants import Command, Status
from smpp.esme_events import (
    EsmeEvent,
    LinkLost,
    MoReceived,
    ReceiptReceived,
    ResponsesRead,
    SubmitAnswered,
    SubmitTimedOut,
)
from smpp.esme_session import EsmeConfig
from smpp.pdu import encode
from smpp.smsc_config import SmscConfig
from smpp.smsc_events import DeliverAnswered, SmscEvent, SubmitReceived
from smpp.smsc_session import SmscSession
from smsgw.batch.jobs import BatchResult, Decision
from smsgw.db.outbox import ClaimedReply
from smsgw.gateway.confirmations import Confirmations
from smsgw.gateway.inbound import Inbound
from smsgw.gateway.link import SmppLink
from smsgw.gateway.parts import HeldPart
from smsgw.gateway.sender import Sender

__all__ = ["WALL", "Rig", "claimed", "result"]

WALL = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def _accept_all(system_id: str, password: str) -> int:
    return Status.ESME_ROK


class _Wire:
    """The transport the link writes to: one SMSC session per connection."""

    def __init__(self, rig: Rig, smsc: SmscSession) -> None:
        self.rig = rig
        self.smsc = smsc
        self.closed = False

    def write(self, data: bytes) -> bool:
        self.rig.smsc_events += self.smsc.receive_data(data, self.rig.now)
        return True

    def close(self) -> None:
        self.closed = True


@dataclass
class Rig:
    """One link, its SMSC, and whichever consumers a test attaches (``inbound``, ``sender``, ``confirmations``)."""

    esme: EsmeConfig = field(default_factory=lambda: EsmeConfig(window=4, submit_timeout=5.0))
    smsc_config: SmscConfig = field(default_factory=lambda: SmscConfig(mo_window=50, enquire_link_interval=1000))
    now: float = 100.0
    wall: datetime = WALL
    smsc_events: list[SmscEvent] = field(default_factory=list)
    esme_events: list[EsmeEvent] = field(default_factory=list)
    inbound: Inbound | None = None
    sender: Sender | None = None
    confirmations: Confirmations = field(default_factory=Confirmations)

    def __post_init__(self) -> None:
        self.link = SmppLink(self.esme, self._route, clock=lambda: self.now)
        self.smsc: SmscSession | None = None
        self.wire: _Wire | None = None

    # --- the connection ---------------------------------------------------------------------------

    def connect(self) -> SmscSession:
        """A new connection: the SMSC session sees a bind (sent as the transport would), the link adopts it."""
        smsc = SmscSession(self.smsc_config, _accept_all, self.now)
        bind = Pdu(Command.BIND_TRANSCEIVER, 0, self.link.sequences.next(), Bind(system_id="smsgw", password="x"))
        smsc.receive_data(encode(bind), self.now)
        smsc.data_to_send()  # the bind_transceiver_resp, read by the transport
        self.smsc, self.wire = smsc, _Wire(self, smsc)
        self.link.connected(self.wire)  # type: ignore[arg-type]
        return smsc

    def lose_link(self, reason: str = "connection reset") -> None:
        self.link.disconnected(reason)

    def pump(self) -> None:
        """Carry bytes both ways until neither side has more to say."""
        while True:
            self.link.flush()
            data = self.smsc.data_to_send() if self.smsc is not None else b""
            if not data:
                return
            self.link.received(data)

    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.wall += timedelta(seconds=seconds)
        self.link.tick()
        if self.smsc is not None:
            self.smsc_events += self.smsc.tick(self.now)
        self.pump()

    # --- the SMSC's side --------------------------------------------------------------------------

    def deliver(self, text: bytes | str, ref: object, *, source: str = "37120000001", **fields: Any) -> None:
        assert self.smsc is not None
        data = text.encode("ascii") if isinstance(text, str) else text
        message = ShortMessage(
            source_addr=source, destination_addr=fields.pop("destination", "1643"), short_message=data, **fields
        )
        self.smsc.send_deliver(message, ref, self.now)
        self.pump()

    def take_smsc(self, kind: type | None = None) -> list[Any]:
        found, self.smsc_events = self.smsc_events, []
        return [e for e in found if kind is None or isinstance(e, kind)]

    def answers(self) -> list[DeliverAnswered]:
        return self.take_smsc(DeliverAnswered)

    def submits(self) -> list[SubmitReceived]:
        return self.take_smsc(SubmitReceived)

    def answer_submit(self, submit: SubmitReceived, status: int = Status.ESME_ROK, message_id: str = "") -> None:
        assert self.smsc is not None
        self.smsc.respond_submit(submit.sequence, status, message_id)
        self.pump()

    # --- the gateway's routing (as runtime.Gateway._on_events) ---------------------------------------

    def _route(self, events: list[EsmeEvent]) -> None:
        self.esme_events += events
        for event in events:
            if isinstance(event, MoReceived) and self.inbound is not None:
                self.inbound.on_mo(event, self.wall)
            elif isinstance(event, ReceiptReceived) and self.inbound is not None:
                self.inbound.on_receipt(event)
            elif isinstance(event, SubmitAnswered) and self.sender is not None:
                assert isinstance(event.ref, HeldPart)
                self.sender.on_answered(event.ref, event.status, event.message_id, self.now)
            elif isinstance(event, SubmitTimedOut) and self.sender is not None:
                assert isinstance(event.ref, HeldPart)
                self.sender.on_timed_out(event.ref)
            elif isinstance(event, ResponsesRead):
                if self.inbound is not None:
                    self.inbound.on_read(event.tags, self.now)
                else:
                    self.confirmations.read(event.tags, self.now)
            elif isinstance(event, LinkLost) and self.sender is not None:
                self.sender.on_link_lost(event.unanswered)


def result(*decisions: Decision, receipts: tuple[Any, ...] = (), **fields: Any) -> BatchResult:
    return BatchResult(tuple(decisions), fields.pop("reply_ids", ()), receipts, fields.pop("claimed", ()), 1, **fields)


def claimed(
    outbox_id: int, text: str = "Labdien", *, to: str = "37120000001", expires_in: float = 3600.0, **fields: Any
) -> ClaimedReply:
    return ClaimedReply(
        outbox_id,
        fields.pop("mo_id", "mo-1"),
        fields.pop("source", "1643"),
        to,
        text,
        None,
        fields.pop("attempts", 1),
        WALL + timedelta(seconds=expires_in),
        fields.pop("done_parts", frozenset()),
        fields.pop("maybe_sent", frozenset()),
        fields.pop("recorded", frozenset()),
    )
