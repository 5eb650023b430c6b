"""The sans-IO SMSC session, byte by byte, against golden PDUs written by hand from SMPP 3.4.

Each golden PDU is hex typed from the specification's field tables (§4.1, §4.4, §4.6,
§4.11–4.13, §5.1.2–5.1.3), not produced by the codec under test.
"""

from __future__ import annotations

import pytest

from smpp import (
    DeliverAnswered,
    DeliverTimedOut,
    EsmeBound,
    SessionClosed,
    ShortMessage,
    SmscConfig,
    SmscSession,
    State,
    SubmitReceived,
    UnbindComplete,
)
from smpp.states import TRANSITIONS, Trigger


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# bind_transceiver, seq 1: system_id "smsgw", password "demo1234", system_type "",
# interface_version 0x34, addr_ton 0, addr_npi 0, address_range "".
BIND_TRX = h("00000024 00000009 00000000 00000001 736d736777 00 64656d6f31323334 00 00 34 00 00 00")
BIND_TX = h("00000024 00000002 00000000 00000001 736d736777 00 64656d6f31323334 00 00 34 00 00 00")
BIND_RX = h("00000024 00000001 00000000 00000001 736d736777 00 64656d6f31323334 00 00 34 00 00 00")
# bind_transceiver_resp: system_id "SMSCSIM", TLV sc_interface_version (0x0210) = 0x34.
BIND_TRX_RESP = h("0000001d 80000009 00000000 00000001 534d534353494d00 0210 0001 34")
# the same bind with password "wrong123" and with system_id "other"
BIND_BAD_PASSWORD = h("00000024 00000009 00000000 00000001 736d736777 00 77726f6e67313233 00 00 34 00 00 00")
BIND_BAD_SYSTEM_ID = h("00000024 00000009 00000000 00000001 6f74686572 00 64656d6f31323334 00 00 34 00 00 00")
# submit_sm, seq 2: source 0/1 "1643", destination 1/1 "37120000001", registered_delivery 1,
# data_coding 0, short_message "Hello".
SUBMIT = h(
    "00000035 00000004 00000000 00000002"
    "00 00 01 3136343300 01 01 333731323030303030303100"
    "00 00 00 00 00 01 00 00 00 05 48656c6c6f"
)
# submit_sm_resp, seq 2, message_id "1a"
SUBMIT_RESP = h("00000013 80000004 00000000 00000002 316100")
# deliver_sm, seq 1: source 1/1 "37120000001", destination 0/1 "1643", short_message "Hi".
DELIVER = h(
    "00000032 00000005 00000000 00000001"
    "00 01 01 333731323030303030303100 00 01 3136343300"
    "00 00 00 00 00 00 00 00 00 02 4869"
)
DELIVER_RESP = h("00000011 80000005 00000000 00000001 00")
ENQUIRE_LINK = h("00000010 00000015 00000000 00000003")
ENQUIRE_LINK_RESP = h("00000010 80000015 00000000 00000003")
UNBIND = h("00000010 00000006 00000000 00000004")
UNBIND_RESP = h("00000010 80000006 00000000 00000004")
UNKNOWN = h("00000010 00000099 00000000 00000005")
NACK_INVCMDID = h("00000010 80000000 00000003 00000005")


def accept(system_id: str, password: str) -> int:
    if system_id != "smsgw":
        return 0x0F
    return 0 if password == "demo1234" else 0x0E


def new_session(**config: float) -> SmscSession:
    return SmscSession(SmscConfig(**config), accept, now=0.0)  # type: ignore[arg-type]


def bound(**config: float) -> SmscSession:
    session = new_session(**config)
    session.receive_data(BIND_TRX, 0.0)
    assert session.data_to_send() == BIND_TRX_RESP
    return session


def test_bind_transceiver_golden() -> None:
    session = new_session()
    events = session.receive_data(BIND_TRX, 0.0)
    assert session.data_to_send() == BIND_TRX_RESP
    assert events == [EsmeBound(State.BOUND_TRX, "smsgw")]
    assert session.state is State.BOUND_TRX


@pytest.mark.parametrize(
    ("pdu", "state", "resp_id"),
    [
        (BIND_TX, State.BOUND_TX, "80000002"),
        (BIND_RX, State.BOUND_RX, "80000001"),
        (BIND_TRX, State.BOUND_TRX, "80000009"),
    ],
)
def test_each_bind_mode(pdu: bytes, state: State, resp_id: str) -> None:
    session = new_session()
    session.receive_data(pdu, 0.0)
    assert session.state is state
    assert session.data_to_send()[4:12] == h(resp_id + "00000000")


@pytest.mark.parametrize(("pdu", "status"), [(BIND_BAD_PASSWORD, "0000000e"), (BIND_BAD_SYSTEM_ID, "0000000f")])
def test_bind_refused(pdu: bytes, status: str) -> None:
    session = new_session()
    assert session.receive_data(pdu, 0.0) == []
    assert session.data_to_send() == h(f"00000018 80000009 {status} 00000001 534d534353494d00")
    assert session.state is State.OPEN
    session.receive_data(BIND_TRX, 0.0)  # a later, right bind is still accepted
    assert session.state is State.BOUND_TRX


def test_submit_golden_and_response() -> None:
    session = bound()
    [event] = session.receive_data(SUBMIT, 1.0)
    assert isinstance(event, SubmitReceived) and event.sequence == 2
    sm = event.message
    assert (sm.source_addr, sm.destination_addr, sm.short_message) == ("1643", "37120000001", b"Hello")
    assert (sm.source_addr_ton, sm.dest_addr_ton, sm.registered_delivery) == (0, 1, 1)
    assert session.data_to_send() == b""  # the owner answers
    assert session.respond_submit(2, 0, "1a")
    assert session.data_to_send() == SUBMIT_RESP
    assert not session.respond_submit(2, 0, "1a")  # only once


def test_submit_error_response_has_no_body() -> None:
    session = bound()
    session.receive_data(SUBMIT, 1.0)
    session.respond_submit(2, 0x58)
    assert session.data_to_send() == h("00000010 80000004 00000058 00000002")


def test_submit_before_bind_is_rinvbndsts() -> None:
    session = new_session()
    assert session.receive_data(SUBMIT, 0.0) == []
    assert session.data_to_send() == h("00000010 80000004 00000004 00000002")
    assert session.state is State.OPEN


def test_submit_on_receiver_bind_is_rinvbndsts() -> None:
    session = new_session()
    session.receive_data(BIND_RX, 0.0)
    session.data_to_send()
    assert session.receive_data(SUBMIT, 0.0) == []
    assert session.data_to_send() == h("00000010 80000004 00000004 00000002")


def test_second_bind_is_ralybnd() -> None:
    session = bound()
    assert session.receive_data(BIND_TX, 0.0) == []
    assert session.data_to_send() == h("00000018 80000002 00000005 00000001 534d534353494d00")
    assert session.state is State.BOUND_TRX


def test_deliver_golden_and_response() -> None:
    session = bound()
    message = ShortMessage(
        source_addr="37120000001",
        destination_addr="1643",
        short_message=b"Hi",
        source_addr_ton=1,
        source_addr_npi=1,
        dest_addr_npi=1,
    )
    assert session.send_deliver(message, "mo-1", 1.0) == 1
    assert session.data_to_send() == DELIVER
    assert session.receive_data(DELIVER_RESP, 1.5) == [DeliverAnswered("mo-1", 0)]
    assert session.outstanding_delivers == 0


def test_enquire_link_answered_in_open_and_bound() -> None:
    for session in (new_session(), bound()):
        session.receive_data(ENQUIRE_LINK, 0.0)
        assert session.data_to_send() == ENQUIRE_LINK_RESP


def test_unknown_command_is_nacked_and_session_kept() -> None:
    session = bound()
    assert session.receive_data(UNKNOWN, 0.0) == []
    assert session.data_to_send() == NACK_INVCMDID
    assert session.state is State.BOUND_TRX
    session.receive_data(ENQUIRE_LINK, 0.0)
    assert session.data_to_send() == ENQUIRE_LINK_RESP


@pytest.mark.parametrize(
    ("data", "nack"),
    [
        (h("00000008 00000015"), "00000010 80000000 00000002 00000000"),
        (h("0000000f 00000015 00000000 00000007"), "00000010 80000000 00000002 00000007"),
        (h("ffffffff 00000004 00000000 00000009"), "00000010 80000000 00000002 00000009"),
        (h("00010001 00000004 00000000 0000000a"), "00000010 80000000 00000002 0000000a"),
    ],
)
def test_bad_command_length_nacks_and_closes(data: bytes, nack: str) -> None:
    session = bound(max_pdu_size=65536)
    [event] = session.receive_data(data, 0.0)
    assert isinstance(event, SessionClosed)
    assert session.data_to_send() == h(nack)
    assert session.state is State.CLOSED and session.wants_close
    assert session.receive_data(ENQUIRE_LINK, 0.0) == []  # nothing more is read


def test_malformed_body_is_nacked_and_session_kept() -> None:
    session = bound()
    # submit_sm whose sm_length (0x20) runs past the end of the PDU
    bad = h(
        "0000002e 00000004 00000000 00000006 00 00 01 3100 01 01 3200 00 00 00 00 00 00 00"
        " 00 00 20 48656c6c6f 6c6c6f 6c6c6f"
    )
    assert session.receive_data(bad, 0.0) == []
    assert session.data_to_send() == h("00000010 80000000 00000002 00000006")
    assert session.state is State.BOUND_TRX


def test_unbind_from_esme() -> None:
    session = bound()
    assert session.receive_data(UNBIND, 0.0) == [UnbindComplete()]
    assert session.data_to_send() == UNBIND_RESP
    assert session.state is State.UNBOUND and session.wants_close
    assert session.connection_lost() == [SessionClosed("connection lost", ())]
    assert session.state is State.CLOSED


def test_unbind_before_bind_is_rinvbndsts() -> None:
    session = new_session()
    session.receive_data(UNBIND, 0.0)
    assert session.data_to_send() == h("00000010 80000006 00000004 00000004")


def test_unbind_from_smsc() -> None:
    session = bound()
    assert session.start_unbind(0.0)
    assert session.data_to_send() == h("00000010 00000006 00000000 00000001")
    assert session.state is State.UNBINDING
    assert session.receive_data(h("00000010 80000006 00000000 00000001"), 0.1) == [UnbindComplete()]
    assert session.state is State.UNBOUND


def _drive(trigger: Trigger, start: State) -> SmscSession:
    session = new_session()
    setup = {State.BOUND_TX: BIND_TX, State.BOUND_RX: BIND_RX, State.BOUND_TRX: BIND_TRX}
    if start in setup:
        session.receive_data(setup[start], 0.0)
    elif start is State.UNBINDING:
        session.receive_data(BIND_TRX, 0.0)
        session.start_unbind(0.0)
    elif start is State.UNBOUND:
        session.receive_data(BIND_TRX, 0.0)
        session.receive_data(UNBIND, 0.0)
    assert session.state is start
    session.data_to_send()
    actions = {
        Trigger.BIND_TX: lambda: session.receive_data(BIND_TX, 0.0),
        Trigger.BIND_RX: lambda: session.receive_data(BIND_RX, 0.0),
        Trigger.BIND_TRX: lambda: session.receive_data(BIND_TRX, 0.0),
        Trigger.UNBIND_RECEIVED: lambda: session.receive_data(UNBIND, 0.0),
        Trigger.UNBIND_SENT: lambda: session.start_unbind(0.0),
        Trigger.UNBIND_RESP_RECEIVED: lambda: session.receive_data(h("00000010 80000006 00000000 00000001"), 0.0),
        Trigger.CLOSE: session.connection_lost,
    }
    actions[trigger]()
    return session


@pytest.mark.parametrize(("start", "trigger"), sorted(TRANSITIONS, key=str))
def test_every_transition_in_the_table(start: State, trigger: Trigger) -> None:
    assert _drive(trigger, start).state is TRANSITIONS[(start, trigger)]


def test_deliver_window() -> None:
    session = bound(mo_window=2)
    message = ShortMessage(source_addr="37120000001", destination_addr="1643", short_message=b"x")
    session.send_deliver(message, 1, 0.0)
    session.send_deliver(message, 2, 0.0)
    assert not session.can_deliver
    with pytest.raises(RuntimeError):
        session.send_deliver(message, 3, 0.0)
    session.receive_data(DELIVER_RESP, 0.0)  # answers seq 1
    assert session.can_deliver


def test_submit_window_throttles_excess() -> None:
    session = bound(submit_window=1)
    session.receive_data(SUBMIT, 0.0)
    second = SUBMIT[:12] + h("00000003") + SUBMIT[16:]
    assert session.receive_data(second, 0.0) == []
    assert session.data_to_send() == h("00000010 80000004 00000058 00000003")


def test_deliver_timeout_and_close_hand_back_refs() -> None:
    session = bound(response_timeout=5.0)
    message = ShortMessage(source_addr="37120000001", destination_addr="1643", short_message=b"x")
    session.send_deliver(message, "a", 0.0)
    session.send_deliver(message, "b", 3.0)
    assert session.tick(4.9) == []
    assert session.tick(5.0) == [DeliverTimedOut("a")]
    assert session.connection_lost() == [SessionClosed("connection lost", ("b",))]


def test_idle_bind_and_enquire_link_timers() -> None:
    session = bound(enquire_link_interval=10.0, idle_timeout=30.0)
    assert session.tick(9.0) == [] and session.data_to_send() == b""
    session.tick(10.0)
    assert session.data_to_send() == h("00000010 00000015 00000000 00000001")
    session.tick(20.0)
    assert session.data_to_send() == b""  # one ping outstanding at a time
    [closed] = session.tick(30.0)
    assert isinstance(closed, SessionClosed) and closed.reason == "idle timeout"
    unbound = new_session(bind_timeout=5.0)
    [closed] = unbound.tick(5.0)
    assert isinstance(closed, SessionClosed) and unbound.state is State.CLOSED


def test_byte_by_byte_feeding_equals_whole() -> None:
    session = new_session()
    events = []
    for i in range(len(BIND_TRX)):
        events += session.receive_data(BIND_TRX[i : i + 1], 0.0)
    assert events == [EsmeBound(State.BOUND_TRX, "smsgw")]
    assert session.data_to_send() == BIND_TRX_RESP
