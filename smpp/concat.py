"""Where a received part belongs, and its user data without the header.

`user_data(message)` returns the octets to decode and a `Concat` when the message is one
part of a concatenated whole. Decisions, from 3GPP TS 23.040 and SMPP 3.4:

- the content is the message_payload TLV when present and non-empty, else short_message
  (SMPP 3.4 §5.3.2.32 forbids both; a sender that sends both and an empty payload means
  the short_message);
- with UDHI (esm_class 0x40) the user data header is stripped (UDHL, then information
  elements, TS 23.040 §9.2.3.24); IEs other than concatenation are skipped. A UDHL that
  runs past the data leaves the data as it is (a wrongly set UDHI on plain text is then
  still read); an IE that runs past the header makes the whole header untrusted (no
  Concat), but the header is still stripped;
- concatenation IEs: 0x00 (8-bit reference: ref, total, sequence) and 0x08 (16-bit
  reference, §9.2.3.24.8). An IE with total 0, sequence 0, sequence > total or the wrong
  length is ignored (§9.2.3.24.1: "the receiving entity shall ignore the whole
  Information Element"); of several valid ones the last is used (§9.2.3.24: for
  repeated or mutually exclusive IEs "the last occurrence ... shall be used");
- total = 1 is a complete one-part message (it is a valid IE);
- without a concatenation IE in a UDH, the SAR TLVs (sar_msg_ref_num 0x020C,
  sar_total_segments 0x020E, sar_segment_seqnum 0x020F, SMPP 3.4 §5.3.2.22–24) give the
  part, with the same validity rules and a reference of up to 16 bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .bodies import Message, ShortMessage
from .constants import EsmClass, Tag
from .tlv import find_tlv, tlv_int

__all__ = ["SAR", "UDH8", "UDH16", "Concat", "strip_udh", "user_data"]

UDH8: Final = "udh8"
UDH16: Final = "udh16"
SAR: Final = "sar"

_IE_LENGTHS: Final = {0x00: 3, 0x08: 4}


@dataclass(frozen=True, slots=True)
class Concat:
    """One part's place: kind ("udh8", "udh16" or "sar"), reference, total parts, sequence (1-based)."""

    kind: str
    reference: int
    total: int
    sequence: int


def user_data(message: Message) -> tuple[bytes, Concat | None]:
    """The user data to decode (payload preferred, UDH stripped) and the part's Concat, if any."""
    tlvs = message.tlvs
    payload = find_tlv(tlvs, Tag.MESSAGE_PAYLOAD) if tlvs else None
    if not payload and isinstance(message, ShortMessage):
        payload = message.short_message
    data, concat = strip_udh(payload or b"", message.esm_class)
    if concat is None and tlvs:
        concat = _sar(message)
    return data, concat


def strip_udh(data: bytes, esm_class: int) -> tuple[bytes, Concat | None]:
    """`data` without its user data header (when UDHI is set) and the concatenation IE in it."""
    if not esm_class & EsmClass.UDHI or not data:
        return data, None
    end = 1 + data[0]
    if end > len(data):
        return data, None
    return data[end:], _concat_in(data[1:end])


def _concat_in(header: bytes) -> Concat | None:
    found: Concat | None = None
    i, size = 0, len(header)
    while i < size:
        if i + 2 > size:
            return None
        iei, length = header[i], header[i + 1]
        value = header[i + 2 : i + 2 + length]
        if len(value) < length:
            return None  # an IE past the header: trust nothing in it
        if _IE_LENGTHS.get(iei) == length:
            if iei == 0x00:
                part = _valid(UDH8, value[0], value[1], value[2])
            else:
                part = _valid(UDH16, value[0] << 8 | value[1], value[2], value[3])
            found = part or found
        i += 2 + length
    return found


def _sar(message: Message) -> Concat | None:
    tlvs = message.tlvs
    reference = tlv_int(tlvs, Tag.SAR_MSG_REF_NUM)
    total = tlv_int(tlvs, Tag.SAR_TOTAL_SEGMENTS)
    sequence = tlv_int(tlvs, Tag.SAR_SEGMENT_SEQNUM)
    if reference is None or total is None or sequence is None or reference > 0xFFFF:
        return None
    return _valid(SAR, reference, total, sequence)


def _valid(kind: str, reference: int, total: int, sequence: int) -> Concat | None:
    if not 1 <= sequence <= total <= 0xFF:
        return None
    return Concat(kind, reference, total, sequence)
