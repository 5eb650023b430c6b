"""Where a received part belongs (TS 23.040 §9.2.3.24, SMPP 3.4 SAR TLVs), and reassembly."""

from __future__ import annotations

import pytest

from smpp import Concat, Reassembler, ShortMessage, Tag, decode, strip_udh, user_data

from .golden import deliver_sm, h


def body_of(short_message: str, esm_class: int = 0x40, tlvs: str = "") -> ShortMessage:
    body = decode(deliver_sm(short_message, 0, esm_class, tlvs)).body
    assert isinstance(body, ShortMessage)
    return body


@pytest.mark.parametrize(
    ("short_message", "concat"),
    [
        ("050003 2a 03 02 4142", Concat("udh8", 0x2A, 3, 2)),
        ("060804 1234 02 01 4142", Concat("udh16", 0x1234, 2, 1)),
        ("050003 2a 01 01 4142", Concat("udh8", 0x2A, 1, 1)),  # total 1: a complete one-part message
        ("050003 2a 00 00 4142", None),  # total 0: the IE is ignored
        ("050003 2a 02 00 4142", None),  # sequence 0
        ("050003 2a 02 03 4142", None),  # sequence > total
        ("040002 2a 02 4142", None),  # a concatenation IE of the wrong length
        ("0b 0504 0b84 23f0 000302 0301 4142", Concat("udh8", 2, 3, 1)),  # after a port IE, which is skipped
        ("0a 000302 0201 000303 0302 4142", Concat("udh8", 3, 3, 2)),  # two valid IEs: the last
        ("0a 000303 0302 000302 0000 4142", Concat("udh8", 3, 3, 2)),  # the last is invalid: ignored
    ],
)
def test_udh_concatenation(short_message: str, concat: Concat | None) -> None:
    assert user_data(body_of(short_message)) == (h("4142"), concat)


def test_broken_headers() -> None:
    # an IE running past the UDH: stripped, but nothing in it trusted
    assert strip_udh(h("05 0004 2a0202 4142"), 0x40) == (h("4142"), None)
    assert strip_udh(h("04 0005 2a02 4142"), 0x40) == (h("4142"), None)
    # a UDHL past the data (a wrongly set UDHI on plain text): the data is left as it is
    assert strip_udh(b"HELP", 0x40) == (b"HELP", None)
    # no UDHI: the octets are text, even if they look like a header
    assert strip_udh(h("050003 2a 02 01 41"), 0) == (h("050003 2a 02 01 41"), None)


def test_sar_tlvs_and_payload() -> None:
    sar = "020c 0002 0102 020e 0001 03 020f 0001 02"
    assert user_data(body_of("4142", 0, sar)) == (h("4142"), Concat("sar", 0x0102, 3, 2))
    assert user_data(body_of("4142", 0, "020c 0002 0102 020e 0001 03"))[1] is None  # incomplete SAR
    assert user_data(body_of("4142", 0, "020c 0002 0102 020e 0001 02 020f 0001 03"))[1] is None
    # a UDH concatenation IE wins over SAR TLVs
    assert user_data(body_of("050003 07 02 02 41", 0x40, sar))[1] == Concat("udh8", 7, 2, 2)
    # message_payload is preferred when non-empty; an empty one means short_message
    assert user_data(body_of("", 0, "0424 0003 4c4f4e"))[0] == b"LON"
    assert user_data(body_of("4142", 0, "0424 0000"))[0] == b"AB"
    payload_udh = ShortMessage(esm_class=0x40, tlvs=((Tag.MESSAGE_PAYLOAD, h("050003 09 02 01 5859")),))
    assert user_data(payload_udh) == (b"XY", Concat("udh8", 9, 2, 1))


def test_reassembly_any_order_keyed_and_expiring() -> None:
    joiner: Reassembler[str] = Reassembler(timeout=10.0)
    assert joiner.add("a", Concat("udh8", 1, 3, 3), "c", 0.0) is None
    assert joiner.add("b", Concat("udh8", 1, 3, 1), "other sender", 0.0) is None  # never merged
    assert joiner.add("a", Concat("udh8", 1, 3, 1), "a", 1.0) is None
    assert joiner.add("a", Concat("udh8", 1, 3, 1), "A", 1.0) is None  # a repeat replaces
    assert joiner.add("a", Concat("udh8", 1, 3, 2), "b", 2.0) == ["A", "b", "c"]
    assert joiner.add("a", Concat("udh16", 5, 1, 1), "whole", 2.0) == ["whole"]
    assert len(joiner) == 1
    assert joiner.expire(9.9) == []
    assert joiner.expire(10.0) == [["other sender"]] and len(joiner) == 0
