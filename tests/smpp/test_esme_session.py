"""The gateway's ESME core against the simulator's SMSC core, through an in-memory link (cf. h11/tests/helpers.py).

No sockets and no clock: bytes are carried by hand between the two sans-IO
sessions, and time is a number the test moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from smpp.bodies import ShortMessage
from smpp.constants import Command, EsmClass, Status
from smpp.esme_events import (
    BindRefused,
    Bound,
    DeliverRejected,
    EsmeEvent,
    LinkLost,
    MoReceived,
    ReceiptReceived,
    ResponsesRead,
    SubmitAnswered,
    SubmitTimedOut,
    Unbound,
)
from smpp.esme_session import EsmeConfig, EsmeSession
from smpp.receipts import receipt_tlvs
from smpp.smsc_config import SmscConfig
from smpp.smsc_events import DeliverAnswered, EsmeBound, SmscEvent, SubmitReceived, UnbindComplete
from smpp.smsc_session import SmscSession
from smpp.states import State


def _auth(system_id: str, password: str) -> int:
    if system_id != "smsgw":
        return Status.ESME_RINVSYSID
    return Status.ESME_ROK if password == "secret" else Status.ESME_RINVPASWD


@dataclass
class Link:
    """Both sessions and the events each produced, in order."""

    esme: EsmeSession
    smsc: SmscSession
    now: float = 0.0
    esme_events: list[EsmeEvent] = field(default_factory=list)
    smsc_events: list[SmscEvent] = field(default_factory=list)

    def pump(self) -> None:
        """Carry bytes both ways until neither side has anything more to say."""
        while True:
            to_smsc, to_esme = self.esme.data_to_send(), self.smsc.data_to_send()
            if not to_smsc and not to_esme:
                return
            if to_smsc:
                self.smsc_events += self.smsc.receive_data(to_smsc, self.now)
            if to_esme:
                self.esme_events += self.esme.receive(to_esme, self.now)

    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.esme_events += self.esme.tick(self.now)
        self.smsc_events += self.smsc.tick(self.now)
        self.pump()

    def take(self) -> tuple[list[EsmeEvent], list[SmscEvent]]:
        found = (self.esme_events, self.smsc_events)
        self.esme_events, self.smsc_events = [], []
        return found


def _link(password: str = "secret", **config: object) -> Link:
    esme = EsmeSession(EsmeConfig(system_id="smsgw", password=password, **config), 0.0)  # type: ignore[arg-type]
    smsc = SmscSession(SmscConfig(smsc_system_id="SIM", enquire_link_interval=1000, idle_timeout=5000), _auth, 0.0)
    link = Link(esme, smsc)
    esme.bind(0.0)
    link.pump()
    return link


def _mo(text: bytes = b"V 29000001 5", **fields: object) -> ShortMessage:
    return ShortMessage(source_addr="37120000001", destination_addr="1643", short_message=text, **fields)  # type: ignore[arg-type]


def test_bind_then_an_mo_answered_and_read() -> None:
    link = _link()
    esme_events, smsc_events = link.take()
    assert esme_events == [Bound("SIM")]
    assert isinstance(smsc_events[0], EsmeBound) and smsc_events[0].mode is State.BOUND_TRX

    link.smsc.send_deliver(_mo(), "mo-1", link.now)
    link.pump()
    [event], _ = link.take()
    assert isinstance(event, MoReceived) and event.message.short_message == b"V 29000001 5"
    assert link.esme.owed == 1

    assert link.esme.respond(event.sequence, link.now, tag="mo-1")
    assert not link.esme.respond(event.sequence, link.now, tag="mo-1"), "a deliver_sm is answered once"
    link.pump()
    esme_events, smsc_events = link.take()
    assert smsc_events == [DeliverAnswered("mo-1", Status.ESME_ROK)]
    assert esme_events == [] and link.esme.unread == 1

    link.tick(0.6)  # nothing else written: an enquire_link learns that the response was read
    esme_events, _ = link.take()
    assert esme_events == [ResponsesRead(("mo-1",))] and link.esme.unread == 0


def test_a_response_is_read_once_a_later_request_is_answered() -> None:
    link = _link()
    link.take()
    link.smsc.send_deliver(_mo(), "mo-1", link.now)
    link.pump()
    [mo], _ = link.take()
    link.esme.respond(mo.sequence, link.now, tag="mo-1")  # type: ignore[attr-defined]
    link.esme.submit(ShortMessage(source_addr="1643", destination_addr="37120000001", short_message=b"ok"), "r1", 0)
    link.pump()
    _, smsc_events = link.take()
    assert smsc_events[0] == DeliverAnswered("mo-1", Status.ESME_ROK)
    submit = smsc_events[1]
    assert isinstance(submit, SubmitReceived)
    link.smsc.respond_submit(submit.sequence, Status.ESME_ROK, "1A2B")
    link.pump()
    esme_events, _ = link.take()
    assert esme_events == [ResponsesRead(("mo-1",)), SubmitAnswered("r1", Status.ESME_ROK, "1A2B")]


def test_submit_window_throttle_and_timeout() -> None:
    link = _link(window=2, submit_timeout=3.0)
    link.take()
    message = ShortMessage(source_addr="1643", destination_addr="37120000001", short_message=b"hi")
    link.esme.submit(message, "a", link.now)
    link.esme.submit(message, "b", link.now)
    assert not link.esme.can_submit
    with pytest.raises(RuntimeError):
        link.esme.submit(message, "c", link.now)
    link.pump()
    _, received = link.take()
    first, second = (e.sequence for e in received if isinstance(e, SubmitReceived))
    link.smsc.respond_submit(first, Status.ESME_RTHROTTLED)
    link.pump()
    esme_events, _ = link.take()
    assert esme_events == [SubmitAnswered("a", Status.ESME_RTHROTTLED, "")]
    assert link.esme.can_submit and link.esme.in_flight == 1

    link.tick(3.5)  # "b" was never answered
    esme_events, _ = link.take()
    assert esme_events == [SubmitTimedOut("b")] and link.esme.in_flight == 0
    link.smsc.respond_submit(second, Status.ESME_ROK, "late")
    link.pump()
    esme_events, _ = link.take()
    assert esme_events == [], "a response after the timeout answers nothing"


def test_receipt_arrives_as_its_own_event() -> None:
    link = _link()
    link.take()
    receipt = ShortMessage(
        source_addr="37120000001",
        destination_addr="1643",
        esm_class=EsmClass.DELIVERY_RECEIPT,
        short_message=b"id:1A2B sub:001 dlvrd:001 submit date:2612041200 done date:2612041200 stat:DELIVRD err:000",
        tlvs=receipt_tlvs("1A2B", "DELIVRD"),
    )
    link.smsc.send_deliver(receipt, "rc", link.now)
    link.pump()
    [event], _ = link.take()
    assert isinstance(event, ReceiptReceived)
    assert event.receipt is not None and event.receipt.message_id == "1A2B" and event.receipt.state == "DELIVRD"


def test_unbind_by_either_side() -> None:
    link = _link()
    link.take()
    assert link.esme.unbind(link.now)
    link.pump()
    esme_events, smsc_events = link.take()
    assert esme_events == [Unbound("esme")] and UnbindComplete() in smsc_events
    assert link.esme.wants_close

    link = _link()
    link.take()
    link.smsc.start_unbind(link.now)
    link.pump()
    esme_events, _ = link.take()
    assert esme_events == [Unbound("smsc")] and link.esme.wants_close


def test_lost_link_hands_back_what_is_unanswered_and_unread() -> None:
    link = _link()
    link.take()
    link.smsc.send_deliver(_mo(b"S"), "mo-1", link.now)
    link.smsc.send_deliver(_mo(b"HELP"), "mo-2", link.now)
    link.pump()
    first, second = (e for e in link.take()[0] if isinstance(e, MoReceived))
    link.esme.respond(first.sequence, link.now, tag="mo-1")
    link.esme.submit(ShortMessage(source_addr="1643", destination_addr="37120000001", short_message=b"x"), "r", 0)
    [lost] = link.esme.connection_lost()
    assert lost == LinkLost("connection lost", ("r",), ("mo-1",), (second.sequence,))
    assert not link.esme.respond(second.sequence, link.now), "no response once the link is gone"


def test_refused_bind_and_a_dead_link() -> None:
    link = _link(password="wrong")
    esme_events, _ = link.take()
    assert esme_events[0] == BindRefused(Status.ESME_RINVPASWD) and isinstance(esme_events[1], LinkLost)

    esme = EsmeSession(EsmeConfig(system_id="smsgw", enquire_link_interval=10, response_timeout=5), 0.0)
    esme.adopt_bind()
    esme.tick(10.0)
    assert esme.data_to_send()[4:8] == Command.ENQUIRE_LINK.to_bytes(4, "big")
    [lost] = esme.tick(15.5)  # no enquire_link_resp
    assert isinstance(lost, LinkLost) and "enquire_link" in lost.reason


def test_malformed_deliver_and_unknown_command_keep_the_session() -> None:
    esme = EsmeSession(EsmeConfig(), 0.0)
    esme.adopt_bind()
    bad_deliver = (21).to_bytes(4, "big") + Command.DELIVER_SM.to_bytes(4, "big") + bytes(4) + (7).to_bytes(4, "big")
    events = esme.receive(bad_deliver + b"abcde", 1.0)  # service_type with no NUL
    assert events == [DeliverRejected(7, events[0].reason)]  # type: ignore[union-attr]
    answer = esme.data_to_send()
    assert answer[4:16] == (
        Command.DELIVER_SM_RESP.to_bytes(4, "big") + Status.ESME_RX_P_APPN.to_bytes(4, "big") + (7).to_bytes(4, "big")
    )
    unknown = (16).to_bytes(4, "big") + (0x0000_1234).to_bytes(4, "big") + bytes(4) + (8).to_bytes(4, "big")
    assert esme.receive(unknown, 1.0) == []
    assert esme.data_to_send()[4:16] == (
        Command.GENERIC_NACK.to_bytes(4, "big") + Status.ESME_RINVCMDID.to_bytes(4, "big") + (8).to_bytes(4, "big")
    )
    assert esme.bound
    huge = (10**6).to_bytes(4, "big") + bytes(12)
    [lost] = esme.receive(huge, 2.0)
    assert isinstance(lost, LinkLost) and esme.state is State.CLOSED
