"""Split a text into the parts of one SMS: GSM 03.38 or UCS-2 (or a data_coding asked for),
septet-exact, with an 8-bit or 16-bit concatenation UDH, SAR TLVs, or one message_payload.

Capacities (3GPP TS 23.040 §9.2.3.24: 140 octets of user data, a 6- or 7-octet UDH on
each part of a concatenated message; unpacked GSM counts a septet per octet):

| alphabet | one part | udh8 | udh16 | sar |
|---|---|---|---|---|
| GSM 03.38 (septets) | 160 | 153 | 152 | 153 |
| UCS-2 (16-bit code units) | 70 | 67 | 66 | 67 |
| 8-bit character sets (octets) | 140 | 134 | 133 | 134 |

SAR parts carry no UDH in SMPP, but the SMSC turns them into UDH parts on the air, so they
hold what an 8-bit UDH part holds. "payload" sends a long text as one submit with the
message_payload TLV (at most 65,535 octets) and lets the SMSC split it. A text that fits
one part is one part with no header, whatever the method.

An extension character's two septets never straddle two parts, nor does a UTF-16
surrogate pair (a character outside the BMP). The concatenation reference is the caller's
(the gateway: outbox id & 0xFF); at most 255 parts (`max_parts` lowers that). Every part of
a text has the same data_coding. ISO-2022-JP (0x0A) is stateful and is not split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .coding import GSM7, UCS2, choose_coding, codec_for, encode_text
from .concat import SAR, UDH8, UDH16
from .constants import EsmClass, Tag
from .errors import TextTooLong
from .gsm7 import ESCAPE
from .tlv import Tlvs

__all__ = ["MAX_PARTS", "MAX_PAYLOAD", "PAYLOAD", "SPLIT_METHODS", "Part", "split_text"]

PAYLOAD: Final = "payload"
SPLIT_METHODS: Final = (UDH8, UDH16, SAR, PAYLOAD)
MAX_PARTS: Final = 255
MAX_PAYLOAD: Final = 0xFFFF

# Octets of unpacked user data: (one part, per part with udh8, udh16, sar).
_GSM_CAPACITY: Final = (160, 153, 152, 153)
_UCS2_CAPACITY: Final = (140, 134, 132, 134)
_OCTET_CAPACITY: Final = (140, 134, 133, 134)
_COLUMN: Final = {UDH8: 1, UDH16: 2, SAR: 3}


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm's (or deliver_sm's) worth of a text."""

    short_message: bytes
    data_coding: int
    esm_class: int = 0
    tlvs: Tlvs = ()


def split_text(
    text: str,
    *,
    reference: int = 0,
    method: str = UDH8,
    data_coding: int | None = None,
    max_parts: int = MAX_PARTS,
) -> list[Part]:
    """The parts of `text`. data_coding None picks GSM 03.38 when the text fits, else UCS-2.

    Raises UnencodableText (a character the data_coding lacks), UndecodableText (a
    data_coding with no text), TextTooLong (more than `max_parts` parts, or a payload over
    65,535 octets), ValueError (an unknown method, ISO-2022-JP).
    """
    if method not in SPLIT_METHODS:
        raise ValueError(f"unknown split method {method!r} (one of {', '.join(SPLIT_METHODS)})")
    coding = choose_coding(text) if data_coding is None else data_coding
    codec = codec_for(coding)
    if codec == "iso2022_jp":
        raise ValueError("ISO-2022-JP text is stateful and cannot be split")
    data = encode_text(text, coding)
    capacity = _GSM_CAPACITY if codec == GSM7 else _UCS2_CAPACITY if codec == UCS2 else _OCTET_CAPACITY
    if len(data) <= capacity[0]:
        return [Part(data, coding)]
    if method == PAYLOAD:
        if len(data) > MAX_PAYLOAD:
            raise TextTooLong(len(data), MAX_PAYLOAD, "octets")
        return [Part(b"", coding, 0, ((Tag.MESSAGE_PAYLOAD, data),))]
    size = capacity[_COLUMN[method]]
    limit = min(max_parts, MAX_PARTS)
    if -(-len(data) // size) > limit:  # a cheap refusal before cutting a huge text
        raise TextTooLong(-(-len(data) // size), limit)
    chunks = _chunks(text, data, codec, coding, size)
    if len(chunks) > limit:
        raise TextTooLong(len(chunks), limit)
    return [_part(chunk, coding, method, reference, len(chunks), seq) for seq, chunk in enumerate(chunks, 1)]


def _chunks(text: str, data: bytes, codec: str, coding: int, size: int) -> list[bytes]:
    """`data` cut into chunks of at most `size` octets, never inside a character."""
    if codec not in (GSM7, UCS2) and len(data) != len(text):  # a multi-octet character set
        return _chunks_by_character(text, coding, size)
    chunks: list[bytes] = []
    start, total = 0, len(data)
    while start < total:
        end = start + size
        if end >= total:
            end = total
        elif codec == GSM7:
            if data[end - 1] == ESCAPE:  # an escape always starts a pair: keep the pair whole
                end -= 1
        elif codec == UCS2 and 0xD8 <= data[end - 2] <= 0xDB:  # a high surrogate: keep the pair
            end -= 2
        chunks.append(data[start:end])
        start = end
    return chunks


def _chunks_by_character(text: str, coding: int, size: int) -> list[bytes]:
    chunks: list[bytes] = []
    current = b""
    for char in text:
        unit = encode_text(char, coding)
        if len(current) + len(unit) > size:
            chunks.append(current)
            current = b""
        current += unit
    chunks.append(current)
    return chunks


def _part(chunk: bytes, coding: int, method: str, reference: int, total: int, seq: int) -> Part:
    if method == UDH8:
        return Part(bytes((0x05, 0x00, 0x03, reference & 0xFF, total, seq)) + chunk, coding, EsmClass.UDHI)
    if method == UDH16:
        ref = reference & 0xFFFF
        return Part(bytes((0x06, 0x08, 0x04, ref >> 8, ref & 0xFF, total, seq)) + chunk, coding, EsmClass.UDHI)
    tlvs = (
        (Tag.SAR_MSG_REF_NUM, (reference & 0xFFFF).to_bytes(2, "big")),
        (Tag.SAR_TOTAL_SEGMENTS, bytes((total,))),
        (Tag.SAR_SEGMENT_SEQNUM, bytes((seq,))),
    )
    return Part(chunk, coding, 0, tlvs)
