"""Outbound text: choose GSM 03.38 or UCS-2 and split it into SMPP submit_sm parts.

A text that fits one message (160 septets / 70 UCS-2 units) is one part with
no UDH.  A longer text is split into parts that each start with a
concatenation UDH (esm_class UDHI 0x40):

- 8-bit reference:  ``05 00 03 ref total seq``            153 septets / 67 units
- 16-bit reference: ``06 08 04 refhi reflo total seq``    152 septets / 66 units

An extension character's escape pair and a UTF-16 surrogate pair are never
cut across two parts.  GSM text is carried unpacked (one septet per octet),
as SMPP data_coding 0 carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from smsgw.sms.gsm import ESC, encode_gsm, is_gsm

__all__ = [
    "DATA_CODING_GSM",
    "DATA_CODING_UCS2",
    "ESM_CLASS_UDHI",
    "MAX_PARTS",
    "MessageTooLongError",
    "Part",
    "encode_for_sms",
    "encoding_of",
    "parts_needed",
]

Encoding = Literal["gsm", "ucs2"]

DATA_CODING_GSM = 0x00
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40
MAX_PARTS = 255
"""A concatenation UDH counts parts in one octet."""


@dataclass(frozen=True, slots=True)
class _Scheme:
    data_coding: int
    unit_bytes: int  # octets per septet / UTF-16 code unit
    single: int  # units in a message with no UDH
    per_part: dict[int, int]  # reference bits -> units in a concatenated part


_SCHEMES: dict[Encoding, _Scheme] = {
    "gsm": _Scheme(DATA_CODING_GSM, 1, 160, {8: 153, 16: 152}),
    "ucs2": _Scheme(DATA_CODING_UCS2, 2, 70, {8: 67, 16: 66}),
}


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm's worth of a text."""

    data_coding: int
    esm_class: int
    short_message: bytes


class MessageTooLongError(ValueError):
    """The text needs more parts than allowed."""

    def __init__(self, parts: int, limit: int) -> None:
        super().__init__(f"text needs {parts} parts, at most {limit} allowed")
        self.parts = parts
        self.limit = limit


def encoding_of(text: str) -> Encoding:
    """``"gsm"`` if every character is in GSM 03.38 (basic or extension), else ``"ucs2"``."""
    return "gsm" if is_gsm(text) else "ucs2"


def parts_needed(text: str, *, reference_bits: int = 8) -> int:
    """How many parts :func:`encode_for_sms` would make of ``text`` (no upper bound applied)."""
    encoding, data = _encode(text)
    scheme = _SCHEMES[encoding]
    if len(data) <= scheme.single * scheme.unit_bytes:
        return 1
    return len(_chunks(data, encoding, scheme.per_part[_check_bits(reference_bits)]))


def encode_for_sms(
    text: str,
    *,
    reference: int,
    max_parts: int | None = None,
    reference_bits: int = 8,
) -> list[Part]:
    """Encode ``text`` into one part, or concatenated parts with a UDH.

    ``reference`` is the concatenation reference (taken modulo 2**reference_bits);
    it is unused for a one-part text.  Raises :class:`MessageTooLongError`
    (a ValueError) when more than ``max_parts`` (at most 255) parts are needed.
    An empty text is one empty part.  Lone surrogates in a UCS-2 text become "?".
    """
    limit = MAX_PARTS if max_parts is None else min(max_parts, MAX_PARTS)
    if limit < 1:
        raise ValueError(f"max_parts must be at least 1, got {max_parts}")
    per_part_key = _check_bits(reference_bits)
    encoding, data = _encode(text)
    scheme = _SCHEMES[encoding]
    if len(data) <= scheme.single * scheme.unit_bytes:
        return [Part(scheme.data_coding, 0x00, data)]

    per_part = scheme.per_part[per_part_key]
    lower_bound = -(-len(data) // (per_part * scheme.unit_bytes))
    if lower_bound > limit:  # cheap refusal before slicing a huge text
        raise MessageTooLongError(lower_bound, limit)
    chunks = _chunks(data, encoding, per_part)
    total = len(chunks)
    if total > limit:
        raise MessageTooLongError(total, limit)

    if reference_bits == 8:
        head = bytes((0x05, 0x00, 0x03, reference & 0xFF, total))
    else:
        ref = reference & 0xFFFF
        head = bytes((0x06, 0x08, 0x04, ref >> 8, ref & 0xFF, total))
    return [
        Part(scheme.data_coding, ESM_CLASS_UDHI, head + bytes((seq,)) + chunk)
        for seq, chunk in enumerate(chunks, start=1)
    ]


def _check_bits(reference_bits: int) -> int:
    if reference_bits not in (8, 16):
        raise ValueError(f"reference_bits must be 8 or 16, got {reference_bits}")
    return reference_bits


def _encode(text: str) -> tuple[Encoding, bytes]:
    if is_gsm(text):
        return "gsm", encode_gsm(text)
    return "ucs2", text.encode("utf-16-be", errors="replace")


def _chunks(data: bytes, encoding: Encoding, per_part: int) -> list[bytes]:
    """Cut ``data`` into chunks of at most ``per_part`` units, never inside a character."""
    unit = _SCHEMES[encoding].unit_bytes
    size = per_part * unit
    n = len(data)
    chunks: list[bytes] = []
    start = 0
    while start < n:
        end = start + size
        if end >= n:
            end = n
        elif encoding == "gsm":
            # ESC never ends a whole character: the chunk would split an escape pair.
            if data[end - 1] == ESC:
                end -= 1
        elif 0xD8 <= data[end - 2] <= 0xDB:  # ends on a high surrogate
            end -= 2
        chunks.append(data[start:end])
        start = end
    return chunks
