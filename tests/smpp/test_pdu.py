"""Every PDU type against golden bytes typed from SMPP 3.4 (golden.py), both ways, and the
codec's answers to malformed and lenient input."""

from __future__ import annotations

import pytest

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
    Status,
    Tag,
    command_name,
    decode,
    decode_header,
    encode,
    find_tlv,
    status_name,
    tag_name,
    tlv_int,
    tlv_text,
)

from . import golden as g

BIND = Bind(system_id="smsgw", password="secret08")


def cut(frame: bytes, octets: int) -> bytes:
    """`frame` without its last `octets`, its command_length rewritten to match."""
    short = frame[:-octets]
    return len(short).to_bytes(4, "big") + short[4:]


CASES = [
    (g.BIND_TRANSMITTER, Pdu(Command.BIND_TRANSMITTER, 0, 1, BIND)),
    (g.BIND_RECEIVER, Pdu(Command.BIND_RECEIVER, 0, 1, BIND)),
    (g.BIND_TRANSCEIVER, Pdu(Command.BIND_TRANSCEIVER, 0, 1, BIND)),
    (
        g.BIND_TRANSCEIVER_RESP,
        Pdu(Command.BIND_TRANSCEIVER_RESP, 0, 1, BindResp(system_id="SMSC", sc_interface_version=0x34)),
    ),
    (g.BIND_TRANSMITTER_RESP, Pdu(Command.BIND_TRANSMITTER_RESP, 0, 2, BindResp(system_id="SMSC"))),
    (g.BIND_RECEIVER_RESP_REFUSED, Pdu(Command.BIND_RECEIVER_RESP, Status.ESME_RINVPASWD, 3)),
    (g.OUTBIND, Pdu(Command.OUTBIND, 0, 4, Outbind(system_id="SMSC", password="pw"))),
    (
        g.SUBMIT_SM,
        Pdu(
            Command.SUBMIT_SM,
            0,
            2,
            ShortMessage(
                source_addr_ton=3,
                source_addr="1643",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr="37129123456",
                esm_class=0x40,
                priority_flag=1,
                validity_period="000001000000000R",
                registered_delivery=1,
                short_message=bytes((5, 0, 3, 7, 2, 1)) + b"Hi",
                tlvs=((Tag.USER_MESSAGE_REFERENCE, b"\x00\x01"),),
            ),
        ),
    ),
    (g.SUBMIT_SM_RESP, Pdu(Command.SUBMIT_SM_RESP, 0, 2, MessageIdResp(message_id="1a2b"))),
    (g.SUBMIT_SM_RESP_THROTTLED, Pdu(Command.SUBMIT_SM_RESP, Status.ESME_RTHROTTLED, 5)),
    (
        g.DELIVER_SM_RECEIPT,
        Pdu(
            Command.DELIVER_SM,
            0,
            7,
            ShortMessage(
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr="37129123456",
                dest_addr_ton=3,
                destination_addr="1643",
                esm_class=0x04,
                short_message=b"id:1a2b s:",
                tlvs=((Tag.RECEIPTED_MESSAGE_ID, b"1a2b\0"), (Tag.MESSAGE_STATE, b"\x02")),
            ),
        ),
    ),
    (g.DELIVER_SM_RESP, Pdu(Command.DELIVER_SM_RESP, 0, 7, MessageIdResp())),
    (
        g.DATA_SM,
        Pdu(
            Command.DATA_SM,
            0,
            9,
            DataSm(
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr="37129123456",
                dest_addr_ton=3,
                destination_addr="1643",
                data_coding=8,
                tlvs=((Tag.MESSAGE_PAYLOAD, "HI".encode("utf-16-be")),),
            ),
        ),
    ),
    (g.DATA_SM_RESP, Pdu(Command.DATA_SM_RESP, 0, 9, MessageIdResp(message_id="abc"))),
    (g.GENERIC_NACK, Pdu(Command.GENERIC_NACK, Status.ESME_RINVCMDID, 10)),
    (g.ENQUIRE_LINK, Pdu(Command.ENQUIRE_LINK, 0, 11)),
    (g.ENQUIRE_LINK_RESP, Pdu(Command.ENQUIRE_LINK_RESP, 0, 11)),
    (g.UNBIND, Pdu(Command.UNBIND, 0, 12)),
    (g.UNBIND_RESP, Pdu(Command.UNBIND_RESP, 0, 12)),
    (g.QUERY_SM, Pdu(Command.QUERY_SM, 0, 13, g.QUERY_SM[16:])),
]


@pytest.mark.parametrize(("wire", "pdu"), CASES, ids=[command_name(p.command_id) for _, p in CASES])
def test_golden_both_ways(wire: bytes, pdu: Pdu) -> None:
    assert decode(wire) == pdu
    assert encode(pdu) == wire


def test_header_and_names() -> None:
    header = decode_header(g.SUBMIT_SM)
    assert (header.length, header.command_id, header.status, header.sequence) == (78, 4, 0, 2)
    assert command_name(0x80000009) == "bind_transceiver_resp"
    assert command_name(0x99) == "0x00000099"
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(0x401) == "0x00000401"  # vendor-specific: a name, never an error
    assert status_name(0xC4) == "ESME_RINVOPTPARAMVAL"
    assert tag_name(0x0424) == "message_payload" and tag_name(0x1400) == "0x1400"


def test_lenient_reading() -> None:
    # a bind with nothing after the password (some ESMEs), and a 12-character password
    assert decode(g.h("0000001f 00000009 00000000 00000001 736d736777 00 7365637265743038 00")).body == BIND
    long_password = decode(g.h("00000023 00000009 00000000 00000001 736d736777 00 313233343536373839303132 00"))
    assert isinstance(long_password.body, Bind) and long_password.body.password == "123456789012"
    # three stray octets after the last TLV are ignored (the command_length bounds them)
    padded = g.DELIVER_SM_RECEIPT + b"\0\0\0"
    padded = (len(padded)).to_bytes(4, "big") + padded[4:]
    assert decode(padded).body == decode(g.DELIVER_SM_RECEIPT).body
    # a 13-character validity period and a 30-character alphanumeric source address
    # body: 1 + 2 + 31 + 2 + 2 + 3 + 1 + 14 + 5 = 61, total 77
    sm = g.h(
        "0000004d 00000004 00000000 00000002 00 05 00"
        + "41" * 30
        + "00 01 01 3700 00 00 00 00 3030303030313030303030303000 00 00 00 00 00"
    )
    body = decode(sm).body
    assert isinstance(body, ShortMessage)
    assert body.source_addr == "A" * 30 and body.validity_period == "0000010000000"
    # a submit_sm_resp whose message_id has no NUL
    assert decode(g.h("00000014 80000004 00000000 00000002 31613262")).body == MessageIdResp(message_id="1a2b")
    # a body on enquire_link is ignored
    assert decode(g.h("00000011 00000015 00000000 0000000b 00")) == Pdu(Command.ENQUIRE_LINK, 0, 11)


@pytest.mark.parametrize(
    ("wire", "sequence"),
    [
        (g.h("00000010 00000004 00000000 00000002"), 2),  # submit_sm with no body at all
        (g.SUBMIT_SM[:-30], 2),  # cut short: command_length no longer matches
        (cut(g.SUBMIT_SM, 30), 2),  # cut short inside short_message, command_length rewritten
        (g.h("00000014 00000004 00000000 00000003 00 00 00 31"), 3),  # source_addr without NUL
        (g.h("00000014 00000005 00000000 00000004 41414141414141"[:40]), 4),  # service_type over 6 octets
        (cut(g.DELIVER_SM_RECEIPT, 1), 7),  # the last TLV's value one octet short
        (cut(g.SUBMIT_SM, 60), 2),  # the body ends inside the addresses
        (g.h("0000000f 00000015 00000000"), 0),  # shorter than a header
    ],
)
def test_malformed_is_pdu_error(wire: bytes, sequence: int) -> None:
    with pytest.raises(PduError) as caught:
        decode(wire)
    assert caught.value.sequence == sequence


def test_body_errors_carry_the_header() -> None:
    # sm_length 0x20 runs past the body
    wire = g.h("00000027 00000004 00000000 00000006 00 00 01 3100 01 01 3200 00 00 00 00 00 00 00 00 00 20 48")
    with pytest.raises(PduError) as caught:
        decode(wire)
    assert (caught.value.command_id, caught.value.sequence) == (Command.SUBMIT_SM, 6)
    tlv_past_end = cut(g.SUBMIT_SM, 6) + g.h("0204 0010 0001")  # a TLV of 16 octets with 2 left
    with pytest.raises(PduError) as caught:
        decode(len(tlv_past_end).to_bytes(4, "big") + tlv_past_end[4:])
    assert caught.value.sequence == 2


@pytest.mark.parametrize(
    "pdu",
    [
        Pdu(Command.SUBMIT_SM, 0, 1, ShortMessage(short_message=b"x" * 255)),
        Pdu(Command.SUBMIT_SM, 0, 1, ShortMessage(source_addr="1\x002")),
        Pdu(Command.SUBMIT_SM, 0, 1, ShortMessage(destination_addr="ā")),
        Pdu(Command.SUBMIT_SM, 0, 1, ShortMessage(service_type="TOOLONG")),
        Pdu(Command.SUBMIT_SM, 0, 1, ShortMessage(esm_class=256)),
        Pdu(Command.SUBMIT_SM, 0, 1, BIND),  # the wrong body for the command
        Pdu(Command.SUBMIT_SM, 0, 1),
        Pdu(Command.ENQUIRE_LINK, 0, 1, b"x"),
        Pdu(Command.QUERY_SM, 0, 1, None),
        Pdu(Command.ENQUIRE_LINK, 0, 1 << 32),
    ],
)
def test_unwritable_is_value_error(pdu: Pdu) -> None:
    with pytest.raises(ValueError):
        encode(pdu)


def test_tlvs_keep_order_and_repeats_and_the_last_one_counts() -> None:
    wire = g.DELIVER_SM_RECEIPT + g.h("0427 0001 05 1400 0002 0102")  # a second message_state, a vendor TLV
    body = decode(len(wire).to_bytes(4, "big") + wire[4:]).body
    assert isinstance(body, ShortMessage)
    assert [tag for tag, _ in body.tlvs] == [0x001E, 0x0427, 0x0427, 0x1400]
    assert find_tlv(body.tlvs, Tag.MESSAGE_STATE) == b"\x05" and find_tlv(body.tlvs, 0x9999) is None
    assert tlv_int(body.tlvs, 0x1400) == 0x0102 and tlv_text(body.tlvs, Tag.RECEIPTED_MESSAGE_ID) == "1a2b"
