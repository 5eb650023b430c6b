"""GSM 03.38 / UCS-2 encoding and splitting of outbound texts.

Expected values come from 3GPP TS 23.038 (the default alphabet and its
extension table) and TS 23.040 (concatenation UDH), not from the code.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgw.sms.decode import decode_text, split_udh
from smsgw.sms.encode import (
    MessageTooLongError,
    Part,
    encode_for_sms,
    encoding_of,
    parts_needed,
)
from smsgw.sms.gsm import decode_gsm, encode_gsm, is_gsm, septet_count

EURO = "€"
EMOJI = "😀"  # U+1F600, outside the BMP: surrogate pair D83D DE00

# ---- the alphabet (TS 23.038 6.2.1) -----------------------------------------

BASIC_SPOT_CHECKS = [
    ("@", 0x00), ("£", 0x01), ("$", 0x02), ("¥", 0x03), ("è", 0x04), ("é", 0x05),
    ("ù", 0x06), ("ì", 0x07), ("ò", 0x08), ("Ç", 0x09), ("\n", 0x0A), ("Ø", 0x0B),
    ("ø", 0x0C), ("\r", 0x0D), ("Å", 0x0E), ("å", 0x0F), ("Δ", 0x10), ("_", 0x11),
    ("Φ", 0x12), ("Γ", 0x13), ("Λ", 0x14), ("Ω", 0x15), ("Π", 0x16), ("Ψ", 0x17),
    ("Σ", 0x18), ("Θ", 0x19), ("Ξ", 0x1A), ("Æ", 0x1C), ("æ", 0x1D), ("ß", 0x1E),
    ("É", 0x1F), (" ", 0x20), ("!", 0x21), ('"', 0x22), ("#", 0x23), ("¤", 0x24),
    ("%", 0x25), ("&", 0x26), ("'", 0x27), ("/", 0x2F), ("0", 0x30), ("9", 0x39),
    ("?", 0x3F), ("¡", 0x40), ("A", 0x41), ("Z", 0x5A), ("Ä", 0x5B), ("Ö", 0x5C),
    ("Ñ", 0x5D), ("Ü", 0x5E), ("§", 0x5F), ("¿", 0x60), ("a", 0x61), ("z", 0x7A),
    ("ä", 0x7B), ("ö", 0x7C), ("ñ", 0x7D), ("ü", 0x7E), ("à", 0x7F),
]  # fmt: skip

EXTENSION_TABLE = [
    ("\f", 0x0A), ("^", 0x14), ("{", 0x28), ("}", 0x29), ("\\", 0x2F),
    ("[", 0x3C), ("~", 0x3D), ("]", 0x3E), ("|", 0x40), ("€", 0x65),
]  # fmt: skip

GSM_CHARS = "".join(ch for ch, _ in BASIC_SPOT_CHECKS) + "".join(ch for ch, _ in EXTENSION_TABLE)
LATVIAN = "āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ"


def test_golden_basic_characters() -> None:
    assert encode_gsm("@£$") == b"\x00\x01\x02"
    assert encode_gsm("Hello") == b"Hello"


@pytest.mark.parametrize(("char", "code"), BASIC_SPOT_CHECKS)
def test_basic_character_code(char: str, code: int) -> None:
    assert encode_gsm(char) == bytes([code])
    assert decode_gsm(bytes([code])) == char
    assert septet_count(char) == 1


@pytest.mark.parametrize(("char", "code"), EXTENSION_TABLE)
def test_extension_character_is_escaped(char: str, code: int) -> None:
    assert encode_gsm(char) == bytes([0x1B, code])
    assert decode_gsm(bytes([0x1B, code])) == char
    assert septet_count(char) == 2


def test_golden_extension_examples() -> None:
    assert encode_gsm("€") == b"\x1b\x65"
    assert encode_gsm("{") == b"\x1b\x28"
    assert encode_gsm("a€b") == b"a\x1b\x65b"


@pytest.mark.parametrize("text", ["ā", "ç", "È", "`", "😀", "\x1b", "a\x00", "Ω\u2126"])
def test_characters_outside_gsm(text: str) -> None:
    assert not is_gsm(text)
    with pytest.raises(ValueError):
        encode_gsm(text)
    with pytest.raises(ValueError):
        septet_count(text)


def test_septet_count() -> None:
    assert septet_count("") == 0
    assert septet_count("abc") == 3
    assert septet_count("a€") == 3
    assert septet_count(EURO * 80) == 160
    assert septet_count("[x]") == 5


@given(st.text(alphabet=GSM_CHARS))
def test_gsm_round_trip(text: str) -> None:
    encoded = encode_gsm(text)
    assert is_gsm(text)
    assert len(encoded) == septet_count(text)
    assert all(octet < 0x80 for octet in encoded)
    assert decode_gsm(encoded) == text


# ---- encoding choice -----------------------------------------------------------


def test_encoding_of() -> None:
    assert encoding_of("Hello, world! 1640") == "gsm"
    assert encoding_of("Cena 5 € {ok}") == "gsm"
    assert encoding_of("Glābējīsziņa") == "ucs2"
    assert encoding_of(EMOJI) == "ucs2"
    assert encoding_of("") == "gsm"


def test_latvian_text_is_ucs2_big_endian() -> None:
    text = "Glābējīsziņa"
    [part] = encode_for_sms(text, reference=1)
    assert part == Part(data_coding=0x08, esm_class=0x00, short_message=text.encode("utf-16-be"))
    assert part.short_message[:4] == b"\x00G\x00l"
    assert part.short_message[4:6] == b"\x01\x01"  # ā U+0101


def test_empty_text_is_one_empty_part() -> None:
    assert encode_for_sms("", reference=1) == [Part(0x00, 0x00, b"")]
    assert parts_needed("") == 1


# ---- GSM splitting ---------------------------------------------------------------


def _udh8(ref: int, total: int, seq: int) -> bytes:
    return bytes([0x05, 0x00, 0x03, ref, total, seq])


def test_160_gsm_characters_are_one_part() -> None:
    parts = encode_for_sms("a" * 160, reference=9)
    assert parts == [Part(0x00, 0x00, b"a" * 160)]
    assert parts_needed("a" * 160) == 1


def test_161_gsm_characters_are_two_parts_153_and_8() -> None:
    parts = encode_for_sms("a" * 161, reference=0x2A)
    assert parts == [
        Part(0x00, 0x40, _udh8(0x2A, 2, 1) + b"a" * 153),
        Part(0x00, 0x40, _udh8(0x2A, 2, 2) + b"a" * 8),
    ]
    assert parts_needed("a" * 161) == 2


def test_160_characters_with_one_euro_need_two_parts() -> None:
    # aiosmpplib counts characters and sends this unsplit: it is 161 septets.
    text = "a" * 159 + EURO
    assert len(text) == 160
    assert septet_count(text) == 161
    parts = encode_for_sms(text, reference=1)
    assert len(parts) == 2
    assert parts[0].short_message == _udh8(1, 2, 1) + b"a" * 153
    assert parts[1].short_message == _udh8(1, 2, 2) + b"a" * 6 + b"\x1b\x65"
    assert parts_needed(text) == 2


def test_escape_pair_is_never_split() -> None:
    # The euro would occupy septets 153 and 154: it moves whole to part 2.
    text = "a" * 152 + EURO + "b" * 10
    parts = encode_for_sms(text, reference=3)
    assert parts[0].short_message == _udh8(3, 2, 1) + b"a" * 152
    assert parts[1].short_message == _udh8(3, 2, 2) + b"\x1b\x65" + b"b" * 10


def test_200_euros() -> None:
    # 400 septets; 153 would cut an escape pair, so parts carry 152 (76 euros).
    parts = encode_for_sms(EURO * 200, reference=5)
    assert len(parts) == 3
    payloads = [p.short_message[6:] for p in parts]
    assert payloads == [b"\x1b\x65" * 76, b"\x1b\x65" * 76, b"\x1b\x65" * 48]
    for seq, part in enumerate(parts, start=1):
        assert part.short_message[:6] == _udh8(5, 3, seq)
        assert len(part.short_message) - 6 <= 153
        assert len(part.short_message) <= 254  # SMPP short_message limit
    assert parts_needed(EURO * 200) == 3


def test_80_euros_fit_one_part() -> None:
    assert encode_for_sms(EURO * 80, reference=0) == [Part(0x00, 0x00, b"\x1b\x65" * 80)]
    assert parts_needed(EURO * 81) == 2


def test_reference_is_taken_modulo_256() -> None:
    parts = encode_for_sms("x" * 200, reference=0x1234)
    assert [p.short_message[:6] for p in parts] == [_udh8(0x34, 2, 1), _udh8(0x34, 2, 2)]


def test_16_bit_reference_udh() -> None:
    parts = encode_for_sms("x" * 161, reference=0x1234, reference_bits=16)
    assert parts == [
        Part(0x00, 0x40, bytes([0x06, 0x08, 0x04, 0x12, 0x34, 2, 1]) + b"x" * 152),
        Part(0x00, 0x40, bytes([0x06, 0x08, 0x04, 0x12, 0x34, 2, 2]) + b"x" * 9),
    ]
    assert parts_needed("x" * 304, reference_bits=16) == 2
    assert parts_needed("x" * 305, reference_bits=16) == 3


def test_bad_reference_bits() -> None:
    with pytest.raises(ValueError):
        encode_for_sms("x" * 200, reference=1, reference_bits=12)


# ---- UCS-2 splitting --------------------------------------------------------------


def test_70_latvian_characters_are_one_part() -> None:
    text = ("ā" + "b") * 35
    [part] = encode_for_sms(text, reference=1)
    assert part == Part(0x08, 0x00, text.encode("utf-16-be"))
    assert len(part.short_message) == 140


def test_71_latvian_characters_are_two_parts_67_and_4() -> None:
    text = "ā" * 71
    parts = encode_for_sms(text, reference=0xFE)
    assert parts == [
        Part(0x08, 0x40, _udh8(0xFE, 2, 1) + "ā".encode("utf-16-be") * 67),
        Part(0x08, 0x40, _udh8(0xFE, 2, 2) + "ā".encode("utf-16-be") * 4),
    ]
    assert parts_needed(text) == 2


def test_surrogate_pair_counts_two_units() -> None:
    assert parts_needed(EMOJI * 35) == 1
    assert parts_needed(EMOJI * 36) == 2
    [part] = encode_for_sms(EMOJI, reference=0)
    assert part.short_message == b"\xd8\x3d\xde\x00"


def test_surrogate_pair_is_never_split() -> None:
    # Unit 67 would be the high surrogate of the 34th emoji: part 1 carries 66 units.
    parts = encode_for_sms(EMOJI * 40, reference=7)
    assert parts[0].short_message == _udh8(7, 2, 1) + b"\xd8\x3d\xde\x00" * 33
    assert parts[1].short_message == _udh8(7, 2, 2) + b"\xd8\x3d\xde\x00" * 7


def test_one_latvian_letter_makes_the_whole_text_ucs2() -> None:
    parts = encode_for_sms("a" * 100 + "ā", reference=1)
    assert {p.data_coding for p in parts} == {0x08}
    assert len(parts) == 2


def test_16_bit_reference_ucs2_carries_66_units() -> None:
    parts = encode_for_sms("ā" * 71, reference=0xABCD, reference_bits=16)
    assert [len(p.short_message) - 7 for p in parts] == [132, 10]
    assert parts[1].short_message[:7] == bytes([0x06, 0x08, 0x04, 0xAB, 0xCD, 2, 2])


# ---- limits -------------------------------------------------------------------------


def test_255_parts_is_the_limit() -> None:
    assert len(encode_for_sms("a" * (153 * 255), reference=1)) == 255
    too_long = "a" * (153 * 255 + 1)
    assert parts_needed(too_long) == 256
    with pytest.raises(ValueError):
        encode_for_sms(too_long, reference=1)


def test_max_parts() -> None:
    assert len(encode_for_sms("a" * 306, reference=1, max_parts=2)) == 2
    with pytest.raises(MessageTooLongError) as info:
        encode_for_sms("a" * 307, reference=1, max_parts=2)
    assert (info.value.parts, info.value.limit) == (3, 2)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError):
        encode_for_sms("a", reference=1, max_parts=0)


# ---- properties ------------------------------------------------------------------------

_MIXED = st.text(
    alphabet=st.sampled_from(GSM_CHARS + EURO * 8 + "{}[]" + LATVIAN + EMOJI + "中"),
    max_size=700,
)
_GSM_HEAVY = st.text(alphabet=st.sampled_from("ab €[]"), min_size=150, max_size=1200)
_UCS2_HEAVY = st.text(alphabet=st.sampled_from(["ā", "a", EMOJI, "𝄞"]), min_size=35, max_size=600)


@given(
    text=st.one_of(_MIXED, _GSM_HEAVY, _UCS2_HEAVY, st.text(max_size=400)),
    reference=st.integers(min_value=0, max_value=0xFFFF),
    reference_bits=st.sampled_from([8, 16]),
)
def test_parts_reassemble_to_the_text(text: str, reference: int, reference_bits: int) -> None:
    parts = encode_for_sms(text, reference=reference, reference_bits=reference_bits)
    assert 1 <= len(parts) <= 255
    assert len(parts) == parts_needed(text, reference_bits=reference_bits)
    gsm = is_gsm(text)
    unit = 1 if gsm else 2
    assert {p.data_coding for p in parts} == {0x00 if gsm else 0x08}

    if len(parts) == 1:
        [part] = parts
        assert part.esm_class == 0x00
        assert len(part.short_message) <= (160 if gsm else 140)
        assert decode_text(part.short_message, part.data_coding) == text
        return

    udh_len = 6 if reference_bits == 8 else 7
    per_part = (153 if gsm else 67) if reference_bits == 8 else (152 if gsm else 66)
    texts = []
    for seq, part in enumerate(parts, start=1):
        assert part.esm_class == 0x40
        udh = part.short_message[:udh_len]
        if reference_bits == 8:
            assert udh == bytes([0x05, 0x00, 0x03, reference & 0xFF, len(parts), seq])
        else:
            ref_hi, ref_lo = divmod(reference, 256)
            assert udh == bytes([0x06, 0x08, 0x04, ref_hi, ref_lo, len(parts), seq])
        payload = part.short_message[udh_len:]
        assert payload, "no part is empty"
        assert len(payload) % unit == 0
        assert len(payload) // unit <= per_part
        if seq < len(parts):  # greedy: only a pair that would be cut is held back
            assert len(payload) // unit >= per_part - 1
        assert len(part.short_message) <= 254
        concat, split_payload = split_udh(part.short_message, part.esm_class)
        assert split_payload == payload
        assert concat is not None
        assert (concat.total, concat.sequence) == (len(parts), seq)
        # Each part decodes on its own: no escape or surrogate pair was cut.
        texts.append(decode_text(payload, part.data_coding))
    assert "".join(texts) == text
