"""GSM 03.38 and the text of every data_coding, against octets typed from the character
tables (3GPP TS 23.038 §6.2.1, ISO-8859-1/5/8, Shift_JIS, ISO-2022-JP, EUC-JP, EUC-KR,
UTF-16BE), inside whole deliver_sm PDUs (golden.deliver_sm)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp import (
    ShortMessage,
    UndecodableText,
    UnencodableText,
    choose_coding,
    decode,
    decode_gsm7,
    decode_text,
    encode_gsm7,
    encode_text,
    is_gsm,
    septet_count,
    user_data,
)

from .golden import deliver_sm, h

# Code points from TS 23.038 §6.2.1 (basic table) and §6.2.1.1 (extension table).
GSM_CODES = {
    "@": "00", "£": "01", "$": "02", "¥": "03", "è": "04", "Ç": "09", "\n": "0a", "Ø": "0b", "\r": "0d",
    "Å": "0e", "Δ": "10", "_": "11", "Φ": "12", "Ω": "15", "Ξ": "1a", "Æ": "1c", "ß": "1e", "É": "1f",
    " ": "20", "¤": "24", "0": "30", "¡": "40", "A": "41", "Ä": "5b", "Ü": "5e", "§": "5f", "¿": "60",
    "a": "61", "ä": "7b", "ü": "7e", "à": "7f",
    "€": "1b65", "[": "1b3c", "]": "1b3e", "{": "1b28", "}": "1b29", "\\": "1b2f", "^": "1b14",
    "~": "1b3d", "|": "1b40", "\f": "1b0a",
}  # fmt: skip


@pytest.mark.parametrize(("char", "code"), GSM_CODES.items())
def test_gsm_code_points(char: str, code: str) -> None:
    assert encode_gsm7(char) == h(code)
    assert decode_gsm7(h(code)) == char


def test_gsm_alphabet_limits() -> None:
    assert not is_gsm("Glābējīsziņa") and is_gsm("Sveiki! 29123456 5,00 EUR €")
    assert septet_count("a€[") == 5
    with pytest.raises(ValueError):
        encode_gsm7("ā")
    with pytest.raises(ValueError):
        encode_gsm7("\x1b")  # the escape is not a character a text can carry
    assert encode_gsm7("aā", replace="?") == h("613f")


# (short_message hex, data_coding, text) — every SMPP 3.4 §5.2.19 value and each TS 23.038 group.
TEXTS = [
    ("00 01 1b65 41", 0x00, "@£€A"),
    ("48 69 7e", 0x01, "Hi~"),  # IA5 / ASCII
    ("63 61 66 e9", 0x03, "café"),  # Latin-1
    ("93fa 967b", 0x05, "日本"),  # JIS X 0208 as Shift_JIS
    ("b6 d8 d7 dd ec", 0x06, "Жизнь"),  # ISO-8859-5
    ("f9 ec e5 ed", 0x07, "שלום"),  # ISO-8859-8
    ("0101 20ac d83d de00", 0x08, "ā€😀"),  # UTF-16BE, a surrogate pair
    ("1b2442 467c 4b5c 1b2842", 0x0A, "日本"),  # ISO-2022-JP
    ("8fb0a1", 0x0D, "丂"),  # JIS X 0212 0x3021 in EUC-JP
    ("c7d1 b1b9", 0x0E, "한국"),  # KS C 5601 in EUC-KR
    ("48 49", 0x11, "HI"),  # general data coding, class 1, GSM 7 bit
    ("0048 0049", 0x18, "HI"),  # general data coding, class 0, UCS-2
    ("48 49", 0x1C, "HI"),  # general data coding, reserved alphabet: GSM 7 bit (TS 23.038 §4)
    ("0048 0049", 0x48, "HI"),  # automatic deletion group, UCS-2
    ("48 49", 0x90, "HI"),  # reserved coding group: GSM 7 bit (TS 23.038 §4)
    ("48 49", 0xC0, "HI"),  # message waiting, discard, GSM 7 bit
    ("48 49", 0xD8, "HI"),  # message waiting, store, GSM 7 bit
    ("0048 0049", 0xE0, "HI"),  # message waiting, store, UCS-2
    ("48 1b65", 0xF1, "H€"),  # message class 1, GSM 7 bit
    ("48 49", 0xF8, "HI"),  # bit 3 (reserved) is ignored
]


@pytest.mark.parametrize(("octets", "data_coding", "text"), TEXTS, ids=[f"0x{t[1]:02x}" for t in TEXTS])
def test_every_data_coding_in_a_deliver_sm(octets: str, data_coding: int, text: str) -> None:
    body = decode(deliver_sm(octets, data_coding)).body
    assert isinstance(body, ShortMessage)
    data, _ = user_data(body)
    assert decode_text(data, body.data_coding) == text


UNDECODABLE = [
    (0x02, "binary"), (0x04, "binary"), (0x09, "pictogram"), (0x0B, "reserved"), (0x0C, "reserved"),
    (0x0F, "reserved"), (0x14, "binary"), (0x24, "compressed"), (0x3C, "compressed"), (0x54, "binary"),
    (0xF4, "binary"), (0xF6, "binary"), (0x100, "reserved"), (-1, "reserved"),
]  # fmt: skip


@pytest.mark.parametrize(("data_coding", "reason"), UNDECODABLE)
def test_undecodable_codings_are_an_explicit_answer(data_coding: int, reason: str) -> None:
    with pytest.raises(UndecodableText) as caught:
        decode_text(h("48 49"), data_coding)
    assert (caught.value.data_coding, caught.value.reason) == (data_coding, reason)


@pytest.mark.parametrize(
    ("octets", "data_coding", "text"),
    [
        ("41 80 42", 0x00, "A\ufffdB"),  # 0x80 is not a septet: U+FFFD
        ("41 1b", 0x00, "A "),  # a trailing escape shows as a space
        ("41 1b1b 42", 0x00, "A B"),  # escape, escape: one space
        ("1b 41", 0x00, "A"),  # an escape before an undefined extension code: the main table's character
        ("1b 80", 0x00, "\ufffd"),
        ("0061 00", 0x08, "a\ufffd"),  # an odd number of UCS-2 octets
        ("d83d 0061", 0x08, "\ufffda"),  # a lone high surrogate
        ("48 c8", 0x01, "H\ufffd"),  # not ASCII in IA5
        ("e0 a1", 0x07, "א\ufffd"),  # 0xA1 is undefined in ISO-8859-8
    ],
)
def test_odd_input_has_one_answer(octets: str, data_coding: int, text: str) -> None:
    assert decode_text(h(octets), data_coding) == text


@given(st.binary(max_size=300), st.integers(0, 255))
def test_decode_text_is_text_or_undecodable(data: bytes, data_coding: int) -> None:
    try:
        assert isinstance(decode_text(data, data_coding), str)
    except UndecodableText as error:
        assert error.reason in ("binary", "pictogram", "compressed", "reserved")


def test_outbound_coding() -> None:
    assert choose_coding("Paldies! 5,00 EUR") == 0 and choose_coding("Paldies, Jānis") == 8
    assert encode_text("€", 0) == h("1b65") and encode_text("€", 8) == h("20ac")
    assert encode_text("😀", 8) == h("d83d de00")
    assert encode_text("Жизнь", 6) == h("b6 d8 d7 dd ec")
    for text, data_coding in (("ā", 0), ("ā", 3), ("\ud800", 8), ("€", 1)):
        with pytest.raises(UnencodableText):
            encode_text(text, data_coding)
    with pytest.raises(UndecodableText):
        encode_text("x", 4)
