"""Septet-exact splitting: capacities, escape pairs and surrogate pairs at part boundaries,
each method, and (Hypothesis) that joining the parts gives the text back, every part within
the 140 octets of TS 23.040 user data."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp import (
    Concat,
    Part,
    ShortMessage,
    TextTooLong,
    UnencodableText,
    decode_text,
    split_text,
    user_data,
)

from .golden import h


def udh8(ref: int, total: int, seq: int) -> bytes:
    return bytes((0x05, 0x00, 0x03, ref, total, seq))


def read(part: Part) -> tuple[bytes, Concat | None]:
    """What a receiver makes of a part: its user data and its place."""
    return user_data(ShortMessage(short_message=part.short_message, esm_class=part.esm_class, tlvs=part.tlvs))


def on_air_octets(part: Part) -> int:
    """The TP-UD length of a part (TS 23.040 §9.2.3.16): GSM packed 7 bits a septet, the UDH
    padded to a septet boundary; other alphabets octet for octet."""
    data, _ = read(part)
    header = len(part.short_message) - len(data)
    if part.data_coding != 0:
        return len(part.short_message)
    septets = -(-header * 8 // 7) + len(data)
    return -(-septets * 7 // 8)


def joined(parts: list[Part]) -> str:
    return "".join(decode_text(read(p)[0], p.data_coding) for p in parts)


def test_one_part_limits() -> None:
    assert split_text("HELP") == [Part(b"HELP", 0)]
    assert split_text("x" * 160) == [Part(b"x" * 160, 0)]
    assert len(split_text("x" * 159 + "€")) == 2  # 161 septets
    [part] = split_text("ā" * 70)
    assert part.data_coding == 8 and len(part.short_message) == 140
    assert split_text("") == [Part(b"", 0)]


def test_long_gsm_with_8bit_udh() -> None:
    parts = split_text("x" * 161, reference=7)
    assert [p.short_message[:6] for p in parts] == [udh8(7, 2, 1), udh8(7, 2, 2)]
    assert [len(p.short_message) - 6 for p in parts] == [153, 8]
    assert all(p.esm_class == 0x40 and p.data_coding == 0 for p in parts)


def test_an_escape_pair_is_never_split() -> None:
    parts = split_text("x" * 152 + "€" + "y" * 10, reference=1)
    assert parts[0].short_message[6:] == b"x" * 152  # the € does not fit: next part
    assert parts[1].short_message[6:8] == h("1b65")


def test_long_ucs2_and_surrogate_pairs() -> None:
    parts = split_text("ā" * 71, reference=3)
    assert [len(p.short_message) - 6 for p in parts] == [134, 8]
    emoji = split_text("a" * 66 + "😀" + "b" * 10, reference=3)  # the pair would straddle 134 octets
    assert emoji[0].short_message[6:].decode("utf-16-be") == "a" * 66
    assert emoji[1].short_message[6:].decode("utf-16-be") == "😀" + "b" * 10


def test_udh16_sar_payload_and_forced_codings() -> None:
    parts = split_text("x" * 200, method="udh16", reference=0x1234)
    assert parts[0].short_message[:7] == h("060804 1234 02 01") and len(parts[0].short_message) == 7 + 152
    parts = split_text("x" * 200, method="sar", reference=0x0102)
    assert parts[1].tlvs == ((0x020C, h("0102")), (0x020E, h("02")), (0x020F, h("02")))
    assert parts[0].esm_class == 0 and len(parts[0].short_message) == 153
    [part] = split_text("ā" * 300, method="payload")
    assert part.short_message == b"" and part.tlvs == ((0x0424, ("ā" * 300).encode("utf-16-be")),)
    [part] = split_text("HELP", data_coding=8)
    assert part == Part("HELP".encode("utf-16-be"), 8)
    parts = split_text("é" * 141, data_coding=3)
    assert [len(p.short_message) - 6 for p in parts] == [134, 7]
    parts = split_text("日本" * 50, data_coding=5)  # Shift_JIS: two octets a character, never cut
    assert [len(p.short_message) - 6 for p in parts] == [134, 66]


def test_refusals() -> None:
    with pytest.raises(UnencodableText):
        split_text("ā", data_coding=0)
    with pytest.raises(TextTooLong):
        split_text("x" * 40_000)  # more than 255 parts
    with pytest.raises(TextTooLong):
        split_text("x" * 400, max_parts=2)
    with pytest.raises(TextTooLong):
        split_text("x" * 70_000, method="payload")
    with pytest.raises(ValueError):
        split_text("x", method="udh32")
    with pytest.raises(ValueError):
        split_text("x" * 200, data_coding=0x0A)


texts = st.text(
    st.sampled_from("aZ 0.€[]{}|^~\\\fāčžЖ日😀\n") | st.characters(blacklist_categories=("Cs",)), max_size=700
)


@settings(max_examples=300)
@given(texts, st.sampled_from(["udh8", "udh16", "sar", "payload"]), st.integers(0, 0xFFFF))
def test_split_then_join_gives_the_text_back(text: str, method: str, reference: int) -> None:
    parts = split_text(text, method=method, reference=reference)
    assert joined(parts) == text
    assert len({p.data_coding for p in parts}) == 1
    if len(parts) > 1 or not parts[0].tlvs:
        assert all(on_air_octets(p) <= 140 for p in parts)
    if len(parts) > 1:
        ref = reference & (0xFF if method == "udh8" else 0xFFFF)
        assert [read(p)[1] for p in parts] == [Concat(method, ref, len(parts), n) for n in range(1, len(parts) + 1)]
