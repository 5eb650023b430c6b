"""The codec on its own, against hand-written PDUs (SMPP 3.4 §4)."""

from __future__ import annotations

import pytest

from simulator.pdu import (
    BindRequest,
    PduError,
    ShortMessage,
    command_name,
    decode_bind,
    decode_message_id,
    decode_sm,
    encode_bind_resp,
    encode_pdu,
    encode_sm,
    status_name,
)

from .test_session import BIND_TRX, DELIVER, SUBMIT, h


def test_decode_bind_and_lenient_short_body() -> None:
    assert decode_bind(BIND_TRX[16:]) == BindRequest("smsgw", "demo1234", "", 0x34, 0, 0, "")
    assert decode_bind(b"smsgw\0pw\0") == BindRequest("smsgw", "pw")


def test_short_message_round_trip_against_golden() -> None:
    sm = decode_sm(SUBMIT[16:])
    assert (sm.source_addr, sm.destination_addr, sm.short_message) == ("1643", "37120000001", b"Hello")
    assert encode_sm(sm) == SUBMIT[16:]
    deliver = ShortMessage("37120000001", "1643", b"Hi", source_addr_ton=1, source_addr_npi=1, dest_addr_npi=1)
    assert encode_pdu(5, 0, 1, encode_sm(deliver)) == DELIVER


def test_tlvs_in_both_directions() -> None:
    body = SUBMIT[16:] + h("0424 0003 616263 1400 0004 31326100")
    sm = decode_sm(body)
    assert sm.tlvs == {0x0424: b"abc", 0x1400: b"12a\0"}
    assert encode_sm(sm) == body


@pytest.mark.parametrize(
    "body",
    [
        b"",  # nothing at all
        b"\x00\x00\x01" + b"1643",  # source without NUL
        SUBMIT[16:-3],  # short_message cut short
        SUBMIT[16:] + h("0424 0010 61"),  # TLV longer than the PDU
        SUBMIT[16:] + h("04"),  # half a TLV header
    ],
)
def test_malformed_bodies_raise_pdu_error(body: bytes) -> None:
    with pytest.raises(PduError):
        decode_sm(body)


def test_responses_and_names() -> None:
    assert decode_message_id(b"") == "" and decode_message_id(b"1a\0") == "1a"
    assert encode_bind_resp("SMSCSIM", 0x34) == h("534d534353494d00 0210 0001 34")
    assert command_name(0x80000009) == "bind_transceiver_resp"
    assert command_name(0x99) == "0x00000099"
    assert status_name(0x58) == "ESME_RTHROTTLED"
    with pytest.raises(ValueError):
        encode_sm(ShortMessage(short_message=b"x" * 255))
