"""Inbound decoding: data_coding per SMPP 3.4 / 3GPP TS 23.038, UDH and SAR concatenation.

The decoder runs inside the deliver_sm hook, so besides golden vectors the
tests assert that no input at all makes it raise.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgw.sms.decode import (
    Concat,
    concat_from_sar,
    decode_short_message,
    decode_text,
    split_udh,
)
from smsgw.sms.gsm import decode_gsm

# ---- decode_gsm -------------------------------------------------------------------


def test_decode_gsm_golden() -> None:
    assert decode_gsm(b"\x00\x01\x02Hi") == "@£$Hi"
    assert decode_gsm(b"\x1b\x65 \x1b\x28\x1b\x29") == "€ {}"
    assert decode_gsm(b"") == ""


def test_decode_gsm_unknown_escape_gives_the_basic_character() -> None:
    assert decode_gsm(b"\x1b\x41") == "A"  # ESC A is not in the extension table
    assert decode_gsm(b"\x1b\x00") == "@"


def test_decode_gsm_odd_input() -> None:
    assert decode_gsm(b"a\x1b") == "a "  # trailing escape: shown as a space
    assert decode_gsm(b"\x1b\x1bA") == " A"  # ESC ESC is reserved: a space
    assert decode_gsm(b"\x80\xff") == "??"  # not septets
    assert decode_gsm(b"\x1b\x80") == "?"


@given(st.binary(max_size=300))
def test_decode_gsm_never_raises(data: bytes) -> None:
    text = decode_gsm(data)
    assert isinstance(text, str)
    assert len(text) <= len(data)


# ---- decode_text: SMPP 3.4 values -----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "data_coding", "expected"),
    [
        (b"TOPUP 5", 0x00, "TOPUP 5"),
        (b"\x00\x1b\x65", 0x00, "@€"),
        (b"abc", 0x01, "abc"),  # IA5 / ASCII
        (b"a\xffb", 0x01, "a\ufffdb"),  # not ASCII: replaced, no error
        (b"\x01\xff", 0x02, "\x01ÿ"),  # 8-bit binary: Latin-1 best effort
        (b"caf\xe9", 0x03, "café"),  # Latin-1
        (b"\x01\xff", 0x04, "\x01ÿ"),  # 8-bit binary: Latin-1 best effort
        (b"\xbf\xe0\xd8\xd2\xd5\xe2", 0x06, "Привет"),  # ISO-8859-5
        (b"\xf9\xec\xe5\xed", 0x07, "שלום"),  # ISO-8859-8
        (b"\x00G\x00l\x01\x01", 0x08, "Glā"),  # UCS-2 big-endian
        (b"\xd8\x3d\xde\x00", 0x08, "😀"),  # surrogate pair
    ],
)
def test_decode_text_smpp_values(data: bytes, data_coding: int, expected: str) -> None:
    assert decode_text(data, data_coding) == expected


def test_ucs2_odd_trailing_octet_is_dropped() -> None:
    assert decode_text(b"\x00a\x00", 0x08) == "a"
    assert decode_text(b"\x00", 0x08) == ""


def test_ucs2_lone_surrogate_is_replaced() -> None:
    assert decode_text(b"\xd8\x3d\x00a", 0x08) == "\ufffda"


# ---- decode_text: TS 23.038 coding groups -------------------------------------------------


@pytest.mark.parametrize(
    ("data", "data_coding", "expected"),
    [
        # general data coding, uncompressed; bits 3-2 pick the alphabet
        (b"Hi\x00", 0x10, "Hi@"),  # GSM 7-bit, class 0
        (b"Hi\x00", 0x11, "Hi@"),  # GSM 7-bit, class 1 (aiosmpplib nacks this)
        (b"caf\xe9", 0x14, "café"),  # 8-bit, class 0
        (b"caf\xe9", 0x15, "café"),
        (b"\x00G\x01\x01", 0x18, "Gā"),  # UCS2, class 0
        (b"\x00G\x01\x01", 0x19, "Gā"),
        # marked for automatic deletion: same alphabet bits as the general group
        (b"Hi\x00", 0x40, "Hi@"),
        (b"caf\xe9", 0x44, "café"),
        (b"\x00G\x01\x01", 0x48, "Gā"),
        # message waiting indication groups
        (b"Hi\x00", 0xC0, "Hi@"),  # discard message, GSM 7-bit
        (b"Hi\x00", 0xD8, "Hi@"),  # store message, GSM 7-bit
        (b"\x00G\x01\x01", 0xE0, "Gā"),  # store message, UCS2
        (b"\x00G\x01\x01", 0xEB, "Gā"),
        # data coding / message class
        (b"Hi\x00", 0xF0, "Hi@"),  # GSM 7-bit, class 0 (flash; aiosmpplib nacks this)
        (b"Hi\x1b\x65", 0xF1, "Hi€"),
        (b"Hi\x00", 0xF3, "Hi@"),
        (b"caf\xe9", 0xF4, "café"),  # 8-bit data
        (b"caf\xe9", 0xF7, "café"),
        # reserved: Latin-1 best effort
        (b"caf\xe9", 0x80, "café"),
        (b"caf\xe9", 0xBF, "café"),
    ],
)
def test_decode_text_coding_groups(data: bytes, data_coding: int, expected: str) -> None:
    assert decode_text(data, data_coding) == expected


@pytest.mark.parametrize("data_coding", [0x05, 0x0A, 0x0D, 0x0E, 0x30, 0x35, 0x38, 0x3C])
def test_best_effort_codings_do_not_fail(data_coding: int) -> None:
    text = decode_text(b"\x1b$B\x80\xff\xfe\x00\x41", data_coding)
    assert isinstance(text, str)


def test_iso_2022_jp() -> None:
    assert decode_text("日本".encode("iso2022_jp"), 0x0A) == "日本"


@pytest.mark.parametrize("data_coding", range(256))
def test_empty_data_is_empty_text(data_coding: int) -> None:
    assert decode_text(b"", data_coding) == ""


@given(data=st.binary(max_size=300), data_coding=st.integers(min_value=0, max_value=255))
def test_decode_text_never_raises(data: bytes, data_coding: int) -> None:
    assert isinstance(decode_text(data, data_coding), str)


@pytest.mark.parametrize("data_coding", [-1, 256, 0x10008, 1 << 40])
def test_out_of_range_data_coding(data_coding: int) -> None:
    assert decode_text(b"caf\xe9", data_coding) == "café"


def test_garbage_arguments_do_not_raise() -> None:
    assert decode_text(None, 0) == ""  # type: ignore[arg-type]
    assert isinstance(decode_text(b"abc", None), str)  # type: ignore[arg-type]
    assert decode_text(bytearray(b"abc"), 3) == "abc"  # type: ignore[arg-type]


# ---- split_udh ------------------------------------------------------------------------


def test_udh_8_bit_reference() -> None:
    sm = b"\x05\x00\x03\x2a\x02\x01Hello"
    assert split_udh(sm, 0x40) == (Concat(0x2A, 2, 1, 8), b"Hello")


def test_udh_16_bit_reference() -> None:
    sm = b"\x06\x08\x04\x12\x34\x03\x02Hi"
    assert split_udh(sm, 0x40) == (Concat(0x1234, 3, 2, 16), b"Hi")


def test_udhi_among_other_esm_class_bits() -> None:
    sm = b"\x05\x00\x03\x2a\x02\x02x"
    assert split_udh(sm, 0x43) == (Concat(0x2A, 2, 2, 8), b"x")
    assert split_udh(sm, 0xC0) == (Concat(0x2A, 2, 2, 8), b"x")


def test_without_udhi_everything_is_text() -> None:
    sm = b"\x05\x00\x03\x2a\x02\x01Hello"
    assert split_udh(sm, 0x00) == (None, sm)
    assert split_udh(sm, 0x04) == (None, sm)


def test_other_information_elements_are_skipped() -> None:
    # national language single shift (0x24, length 1), then the 8-bit concat IE
    sm = b"\x08\x24\x01\x01\x00\x03\x2a\x02\x01Hi"
    assert split_udh(sm, 0x40) == (Concat(0x2A, 2, 1, 8), b"Hi")
    # application port addressing only: a UDH without concatenation
    assert split_udh(b"\x06\x05\x04\x0b\x84\x23\xf0data", 0x40) == (None, b"data")


def test_empty_udh() -> None:
    assert split_udh(b"\x00Hi", 0x40) == (None, b"Hi")


@pytest.mark.parametrize(
    ("sm", "expected"),
    [
        (b"", (None, b"")),
        (b"\x10\x00\x03", (None, b"\x10\x00\x03")),  # UDHL beyond the data: keep it all
        (b"\x05\x00\x03\x01", (None, b"\x05\x00\x03\x01")),
        (b"\x05\x00\x03\x01\x00\x01Hi", (None, b"Hi")),  # total 0
        (b"\x05\x00\x03\x01\x02\x00Hi", (None, b"Hi")),  # sequence 0
        (b"\x05\x00\x03\x01\x02\x03Hi", (None, b"Hi")),  # sequence > total
        (b"\x06\x08\x04\x00\x01\x00\x00Hi", (None, b"Hi")),  # 16-bit, total 0
        (b"\x03\x00\x05\x01Hi", (None, b"Hi")),  # IE longer than the UDH
        (b"\x04\x00\x02\x01\x01Hi", (None, b"Hi")),  # 8-bit concat IE of wrong length
        (b"\x06\x00\x03\x2a\x02\x01\x24Hi", (None, b"Hi")),  # stray octet after the IEs
    ],
)
def test_malformed_udh(sm: bytes, expected: tuple[Concat | None, bytes]) -> None:
    assert split_udh(sm, 0x40) == expected


@given(data=st.binary(max_size=300), esm_class=st.integers(min_value=0, max_value=255))
def test_split_udh_never_raises(data: bytes, esm_class: int) -> None:
    concat, payload = split_udh(data, esm_class)
    assert data.endswith(payload)
    if concat is not None:
        assert 1 <= concat.sequence <= concat.total <= 255
        assert concat.reference_bits in (8, 16)
        assert 0 <= concat.reference < 1 << concat.reference_bits
    if not esm_class & 0x40:
        assert (concat, payload) == (None, data)


@given(
    data=st.binary(max_size=300),
    data_coding=st.integers(min_value=0, max_value=255),
    esm_class=st.integers(min_value=0, max_value=255),
)
def test_decode_short_message_never_raises(data: bytes, data_coding: int, esm_class: int) -> None:
    concat, text = decode_short_message(data, data_coding, esm_class)
    assert concat is None or isinstance(concat, Concat)
    assert isinstance(text, str)


def test_decode_short_message_gsm_part() -> None:
    sm = b"\x05\x00\x03\x07\x02\x02Cena 5 \x1b\x65"
    assert decode_short_message(sm, 0x00, 0x40) == (Concat(7, 2, 2, 8), "Cena 5 €")


# ---- SAR TLVs ---------------------------------------------------------------------------


def test_concat_from_sar() -> None:
    assert concat_from_sar(0x1234, 3, 2) == Concat(0x1234, 3, 2, 16)
    assert concat_from_sar(0, 1, 1) == Concat(0, 1, 1, 16)
    assert concat_from_sar(0xFFFF, 255, 255) == Concat(0xFFFF, 255, 255, 16)


@pytest.mark.parametrize(
    ("ref", "total", "seq"),
    [
        (None, None, None),
        (None, 2, 1),
        (1, None, 1),
        (1, 2, None),
        (1, 0, 0),  # total 0
        (1, 2, 0),  # sequence 0
        (1, 2, 3),  # sequence > total
        (1, 256, 1),  # sar_total_segments is one octet
        (-1, 2, 1),
        (0x10000, 2, 1),  # sar_msg_ref_num is two octets
        (True, 2, 1),
        ("1", 2, 1),
    ],
)
def test_concat_from_sar_rejects(ref: object, total: object, seq: object) -> None:
    assert concat_from_sar(ref, total, seq) is None  # type: ignore[arg-type]
