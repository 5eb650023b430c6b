"""Delivery receipts both ways (SMPP 3.4 Appendix B and §5.3.2), message id variants, TON/NPI."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp import (
    Pdu,
    Receipt,
    ShortMessage,
    addressed,
    decode,
    encode,
    message_id_variants,
    parse_receipt,
    plain_address,
    receipt_text,
    receipt_tlvs,
    ton_npi,
)

from . import golden as g


def receipt(text: str, tlvs: str = "", data_coding: int = 0, esm_class: int = 0x04) -> ShortMessage:
    message = text.encode("utf-16-be" if data_coding == 8 else "latin-1").hex()
    body = decode(g.deliver_sm(message, data_coding, esm_class, tlvs)).body
    assert isinstance(body, ShortMessage)
    return body


APPENDIX_B = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2612041200 done date:2612041201 stat:DELIVRD err:000 text:Paldies"
)


def test_tlvs_win_over_the_text() -> None:
    body = decode(g.DELIVER_SM_RECEIPT).body
    assert isinstance(body, ShortMessage)
    assert parse_receipt(body) == Receipt("1a2b", "DELIVRD", None)
    tlvs = "001e 0003 414200 0427 0001 05 0423 0003 03 0022"  # receipted id "AB", UNDELIV, network error 34
    assert parse_receipt(receipt(APPENDIX_B, tlvs)) == Receipt("AB", "UNDELIV", "000")
    assert parse_receipt(receipt("no keys here", tlvs)) == Receipt("AB", "UNDELIV", "034")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (APPENDIX_B, Receipt("0123456789", "DELIVRD", "000")),
        ("ID:7f STAT:undeliv ERR:0B1", Receipt("7f", "UNDELIV", "0B1")),  # any case
        ("stat:DELIVERED id:99", Receipt("99", "DELIVRD", None)),  # any order, a spelled-out state
        ("id:99 stat:BOGUS", Receipt("99", "UNKNOWN", None)),
        ("id:99 text:stat:DELIVRD err:123", Receipt("99", "UNKNOWN", None)),  # nothing read after text:
        ("text:id:99", None),
        ("hello", None),
    ],
)
def test_the_text_when_there_are_no_tlvs(text: str, expected: Receipt | None) -> None:
    assert parse_receipt(receipt(text)) == expected


def test_not_a_receipt_and_ucs2_text() -> None:
    assert parse_receipt(receipt(APPENDIX_B, esm_class=0)) is None  # a subscriber MO
    assert parse_receipt(receipt(APPENDIX_B, data_coding=8)) == Receipt("0123456789", "DELIVRD", "000")
    assert parse_receipt(receipt(APPENDIX_B, data_coding=4)) == Receipt("0123456789", "DELIVRD", "000")


@given(st.binary(max_size=200), st.integers(0, 255), st.sampled_from([0x04, 0x08, 0x20, 0x44]), st.binary(max_size=12))
def test_parse_receipt_never_raises(data: bytes, data_coding: int, esm_class: int, tlv_value: bytes) -> None:
    body = ShortMessage(
        esm_class=esm_class,
        data_coding=data_coding,
        short_message=data,
        tlvs=((0x001E, tlv_value), (0x0427, tlv_value[:1]), (0x0423, tlv_value[:3])),
    )
    found = parse_receipt(body)
    assert found is None or isinstance(found, Receipt)


def test_writing_a_receipt() -> None:
    text = receipt_text(
        "1a2b", "DELIVRD", datetime(2026, 12, 4, 12, 0), datetime(2026, 12, 4, 12, 1), text="Paldies! Jūsu pieprasījums"
    )
    assert text == (
        "id:1a2b sub:001 dlvrd:001 submit date:2612041200 done date:2612041201 stat:DELIVRD err:000"
        " text:Paldies! Jūsu piepra"  # the first 20 characters
    )
    assert "dlvrd:000" in receipt_text("1", "UNDELIV", datetime(2026, 1, 1), datetime(2026, 1, 1), error=1)
    assert receipt_tlvs("1a2b", "EXPIRED", (3, 34)) == (
        (0x001E, b"1a2b\0"),
        (0x0427, b"\x03"),
        (0x0423, g.h("03 0022")),
    )
    with pytest.raises(ValueError):
        receipt_text("1", "LOST", datetime(2026, 1, 1), datetime(2026, 1, 1))
    assert parse_receipt(ShortMessage(esm_class=4, short_message=text.encode(), tlvs=receipt_tlvs("1a2b", "DELIVRD")))


def test_message_id_variants() -> None:
    assert message_id_variants("6699") == ("6699", "1a2b", "1A2B")
    assert message_id_variants("1a2b") == ("1a2b", "1A2B", "6699")
    assert message_id_variants("007") == ("007", "7")
    assert message_id_variants("F00D-1") == ("F00D-1",)
    assert message_id_variants("") == ("",)
    assert message_id_variants("9" * 65) == ("9" * 65,)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("1643", (3, 0)),  # a short code: network specific, unknown NPI
        ("12345678", (3, 0)),
        ("123456789", (1, 1)),
        ("37129123456", (1, 1)),
        ("+37129123456", (1, 1)),
        ("LMT", (5, 0)),
        ("+LMT", (5, 0)),
        ("", (0, 0)),
    ],
)
def test_ton_npi(address: str, expected: tuple[int, int]) -> None:
    assert ton_npi(address) == expected


def test_plain_address() -> None:
    assert plain_address("+37129123456") == "37129123456" and plain_address("+LMT") == "+LMT"


def test_addressed_gives_a_short_code_ton_npi_3_0_on_the_wire() -> None:
    pdu = decode(g.SUBMIT_SM)  # source 3/0 "1643", destination 1/1 "37129123456", typed from the spec
    assert isinstance(pdu.body, ShortMessage)
    bare = replace(pdu.body, source_addr_ton=0, source_addr_npi=0, dest_addr_ton=0, dest_addr_npi=0)
    assert encode(Pdu(pdu.command_id, 0, 2, addressed(bare, "1643", "+37129123456"))) == g.SUBMIT_SM
