"""Hypothesis: decode(encode(x)) == x for every PDU type, and decode on any bytes gives a
PDU or a PduError, never another exception."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from smpp import (
    Bind,
    BindResp,
    Command,
    DataSm,
    MessageIdResp,
    Outbind,
    Pdu,
    PduError,
    ShortMessage,
    decode,
    encode,
)


def cstrings(most: int) -> st.SearchStrategy[str]:
    """Latin-1 text without NUL, at most `most` characters (the codec's limit less the NUL)."""
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=most)


octets = st.integers(0, 255)
tlvs = st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=40)), max_size=4).map(tuple)
headers = st.tuples(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF))

binds = st.builds(
    Bind,
    system_id=cstrings(64),
    password=cstrings(64),
    system_type=cstrings(64),
    interface_version=octets,
    addr_ton=octets,
    addr_npi=octets,
    address_range=cstrings(64),
)
bind_resps = st.builds(BindResp, system_id=cstrings(64), sc_interface_version=st.none() | octets)
message_fields: dict[str, st.SearchStrategy[object]] = {
    "service_type": cstrings(5),
    "source_addr_ton": octets,
    "source_addr_npi": octets,
    "source_addr": cstrings(64),
    "dest_addr_ton": octets,
    "dest_addr_npi": octets,
    "destination_addr": cstrings(64),
    "esm_class": octets,
    "registered_delivery": octets,
    "data_coding": octets,
    "tlvs": tlvs,
}
short_messages = st.builds(
    ShortMessage,
    **message_fields,
    protocol_id=octets,
    priority_flag=octets,
    schedule_delivery_time=cstrings(16),
    validity_period=cstrings(16),
    replace_if_present_flag=octets,
    sm_default_msg_id=octets,
    short_message=st.binary(max_size=254),
)
data_sms = st.builds(DataSm, **message_fields)
message_ids = st.builds(MessageIdResp, message_id=cstrings(64), tlvs=tlvs)

BODIES: dict[int, st.SearchStrategy[object]] = {
    Command.BIND_TRANSMITTER: binds,
    Command.BIND_RECEIVER: binds,
    Command.BIND_TRANSCEIVER: binds,
    Command.BIND_TRANSMITTER_RESP: st.none() | bind_resps,
    Command.BIND_RECEIVER_RESP: st.none() | bind_resps,
    Command.BIND_TRANSCEIVER_RESP: st.none() | bind_resps,
    Command.OUTBIND: st.builds(Outbind, system_id=cstrings(64), password=cstrings(64)),
    Command.SUBMIT_SM: short_messages,
    Command.DELIVER_SM: short_messages,
    Command.DATA_SM: data_sms,
    Command.SUBMIT_SM_RESP: st.none() | message_ids,
    Command.DELIVER_SM_RESP: st.none() | message_ids,
    Command.DATA_SM_RESP: st.none() | message_ids,
    Command.GENERIC_NACK: st.none(),
    Command.ENQUIRE_LINK: st.none(),
    Command.ENQUIRE_LINK_RESP: st.none(),
    Command.UNBIND: st.none(),
    Command.UNBIND_RESP: st.none(),
    Command.QUERY_SM: st.binary(max_size=60),
    Command.CANCEL_SM: st.binary(max_size=60),
    0x00000099: st.binary(max_size=60),
}


@st.composite
def pdus(draw: st.DrawFn) -> Pdu:
    command_id = draw(st.sampled_from(sorted(BODIES)))
    status, sequence = draw(headers)
    return Pdu(command_id, status, sequence, draw(BODIES[command_id]))  # type: ignore[arg-type]


@settings(max_examples=600)
@given(pdus())
def test_decode_encode_round_trip(pdu: Pdu) -> None:
    assert decode(encode(pdu)) == pdu


@settings(max_examples=600)
@given(st.sampled_from(sorted(BODIES)), headers, st.binary(max_size=300))
def test_any_body_decodes_or_is_pdu_error(command_id: int, header: tuple[int, int], body: bytes) -> None:
    frame = struct.pack(">IIII", 16 + len(body), command_id, *header) + body
    try:
        decode(frame)
    except PduError:
        pass


@settings(max_examples=300)
@given(pdus(), st.integers(0, 400), st.binary(min_size=1, max_size=8))
def test_a_mutated_pdu_decodes_or_is_pdu_error(pdu: Pdu, at: int, noise: bytes) -> None:
    wire = bytearray(encode(pdu))
    at = 4 + at % max(1, len(wire) - 4)  # keep command_length, change anything after it
    wire[at : at + len(noise)] = noise
    frame = bytes(wire)
    try:
        decode(len(frame).to_bytes(4, "big") + frame[4:])
    except PduError:
        pass


@given(st.binary(max_size=64))
def test_any_bytes_decode_or_pdu_error(data: bytes) -> None:
    try:
        decode(data)
    except PduError:
        pass
