"""GSM 03.38 tables, decoding by data_coding, and MO splitting (UDH, SAR, payload)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator import gsm
from simulator.pdu import ShortMessage
from simulator.text import Concat, TextError, decode_text, encode_mo, message_body

# Code points from 3GPP TS 23.038 §6.2.1 (basic table) and §6.2.1.1 (extension table).
GSM_CODES = {
    "@": b"\x00",
    "£": b"\x01",
    "$": b"\x02",
    "¥": b"\x03",
    "è": b"\x04",
    "Ç": b"\x09",
    "\n": b"\x0a",
    "Ø": b"\x0b",
    "Å": b"\x0e",
    "Δ": b"\x10",
    "_": b"\x11",
    "Φ": b"\x12",
    "Ω": b"\x15",
    "Ξ": b"\x1a",
    "Æ": b"\x1c",
    "ß": b"\x1e",
    "É": b"\x1f",
    " ": b"\x20",
    "¤": b"\x24",
    "0": b"\x30",
    "¡": b"\x40",
    "A": b"\x41",
    "Ä": b"\x5b",
    "Ü": b"\x5e",
    "§": b"\x5f",
    "¿": b"\x60",
    "a": b"\x61",
    "ä": b"\x7b",
    "ü": b"\x7e",
    "à": b"\x7f",
    "€": b"\x1b\x65",
    "[": b"\x1b\x3c",
    "]": b"\x1b\x3e",
    "{": b"\x1b\x28",
    "}": b"\x1b\x29",
    "\\": b"\x1b\x2f",
    "^": b"\x1b\x14",
    "~": b"\x1b\x3d",
    "|": b"\x1b\x40",
    "\f": b"\x1b\x0a",
}


@pytest.mark.parametrize(("char", "code"), GSM_CODES.items())
def test_gsm_code_points(char: str, code: bytes) -> None:
    assert gsm.encode(char) == code
    assert gsm.decode(code) == char


def test_gsm_rejects_latvian_letters_and_decodes_leniently() -> None:
    assert not gsm.fits("Glābējīsziņa")
    assert gsm.fits("Sveiki! 29123456 5,00 EUR")
    with pytest.raises(ValueError):
        gsm.encode("ā")
    assert gsm.encode("ā", replace="?") == b"?"
    assert gsm.decode(b"\x1b\x41") == "A"  # undefined extension: the basic character
    assert gsm.decode(b"A\x1b") == "A"
    assert gsm.decode(b"\x80") == "\ufffd"


@given(st.binary(max_size=300), st.integers(0, 255))
def test_decode_text_never_raises(data: bytes, dc: int) -> None:
    assert isinstance(decode_text(data, dc), str)


def test_decode_by_data_coding() -> None:
    assert decode_text(b"\x00\x01\x1b\x65", 0) == "@£€"
    assert decode_text("ā€".encode("utf-16-be"), 8) == "ā€"
    assert decode_text(b"\xe9", 3) == "é"
    assert decode_text(b"Hi", 1) == "Hi"
    assert decode_text(b"\x00\x61\x00", 8) == "a\ufffd"  # odd length: best effort
    assert decode_text(b"\x00", 0xF0) == "@"
    assert decode_text(b"\xe9", 0xF4) == "é"


def udh8(ref: int, total: int, seq: int) -> bytes:
    return bytes((0x05, 0x00, 0x03, ref, total, seq))


def test_short_gsm_and_ucs2_are_one_part() -> None:
    [part] = encode_mo("HELP")
    assert (part.short_message, part.data_coding, part.esm_class) == (b"HELP", 0, 0)
    [part] = encode_mo("ā" * 70)
    assert part.data_coding == 8 and len(part.short_message) == 140
    [part] = encode_mo("x" * 160)
    assert len(part.short_message) == 160


def test_long_gsm_split_with_8bit_udh() -> None:
    parts = encode_mo("x" * 161, ref=7)
    assert [p.short_message[:6] for p in parts] == [udh8(7, 2, 1), udh8(7, 2, 2)]
    assert [len(p.short_message) - 6 for p in parts] == [153, 8]
    assert all(p.esm_class == 0x40 and p.data_coding == 0 for p in parts)


def test_escape_pair_never_split() -> None:
    parts = encode_mo("x" * 152 + "€" + "y" * 10, ref=1)
    assert parts[0].short_message[6:] == b"x" * 152  # the € does not fit: next part
    assert parts[1].short_message[6:8] == b"\x1b\x65"


def test_long_ucs2_and_surrogates() -> None:
    parts = encode_mo("ā" * 71, ref=3)
    assert [len(p.short_message) - 6 for p in parts] == [134, 8]
    emoji = encode_mo("a" * 66 + "😀" + "b" * 10, ref=3)  # the pair would straddle 134 octets
    assert emoji[0].short_message[6:].decode("utf-16-be") == "a" * 66
    assert emoji[1].short_message[6:].decode("utf-16-be") == "😀" + "b" * 10


def test_udh16_sar_and_payload() -> None:
    parts = encode_mo("x" * 200, split="udh16", ref=0x1234)
    assert parts[0].short_message[:7] == bytes((6, 0x08, 4, 0x12, 0x34, 2, 1))
    assert len(parts[0].short_message) == 7 + 152
    parts = encode_mo("x" * 200, split="sar", ref=0x0102)
    assert parts[1].tlvs == {0x020C: b"\x01\x02", 0x020E: b"\x02", 0x020F: b"\x02"}
    assert parts[0].esm_class == 0
    [part] = encode_mo("ā" * 300, split="payload")
    assert part.short_message == b"" and part.tlvs == {0x0424: ("ā" * 300).encode("utf-16-be")}


def test_forced_encodings() -> None:
    [part] = encode_mo("HELP", encoding="ucs2")
    assert part.data_coding == 8 and part.short_message == "HELP".encode("utf-16-be")
    [part] = encode_mo("café", encoding="latin1")
    assert part.data_coding == 3 and part.short_message == b"caf\xe9"
    with pytest.raises(TextError):
        encode_mo("ā", encoding="gsm")
    with pytest.raises(TextError):
        encode_mo("x" * 40_000)  # more than 255 parts


def test_message_body_reads_each_concatenation_kind() -> None:
    sm = ShortMessage(short_message=udh8(9, 3, 2) + b"abc", esm_class=0x40)
    assert message_body(sm) == (b"abc", Concat("udh8", 9, 3, 2))
    sm = ShortMessage(short_message=bytes((6, 8, 4, 1, 2, 2, 1)) + b"x", esm_class=0x40)
    assert message_body(sm) == (b"x", Concat("udh16", 0x0102, 2, 1))
    tlvs = {0x020C: b"\x00\x05", 0x020E: b"\x02", 0x020F: b"\x01"}
    assert message_body(ShortMessage(short_message=b"y", tlvs=tlvs)) == (b"y", Concat("sar", 5, 2, 1))
    assert message_body(ShortMessage(tlvs={0x0424: b"long"})) == (b"long", None)
    # no UDHI flag: the bytes are text; a bad sequence number is not concatenation
    assert message_body(ShortMessage(short_message=udh8(1, 2, 1)))[1] is None
    sm = ShortMessage(short_message=udh8(1, 2, 3) + b"z", esm_class=0x40)
    assert message_body(sm) == (b"z", None)
