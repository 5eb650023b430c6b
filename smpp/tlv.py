"""TLVs (SMPP 3.4 §3.2.4, §5.3): tag, length, value, in the order they came, repeats kept.

A PDU's TLVs are a tuple of `(tag, value)` pairs, in wire order with repeats. `find_tlv`
gives the value of the last TLV with a tag: SMPP 3.4 does not say which of a repeated tag
counts; the last is what 3GPP TS 23.040 §9.2.3.24 prescribes for repeated information
elements, and what both former codecs of this repository read. `tlv_int` and `tlv_text`
read the two value types SMPP uses (an unsigned integer of 1, 2 or 4 octets; a C-octet
string).

Decoding is strict where the stream would otherwise be misread — a value running past the
PDU is a `PduError` — and lenient where nothing can be misread:
one to three stray octets after the last TLV (too few for a TLV header, and the PDU's
command_length bounds them) are ignored, as real SMSCs sometimes pad.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from .errors import PduError

__all__ = ["Tlvs", "decode_tlvs", "encode_tlvs", "find_tlv", "tlv_int", "tlv_text"]

Tlvs = tuple[tuple[int, bytes], ...]
"""TLVs in wire order: (tag, value) pairs."""

_HEAD = struct.Struct(">HH")
_MAX_VALUE = 0xFFFF


def decode_tlvs(data: bytes, pos: int = 0) -> Tlvs:
    """The TLVs from `pos` to the end of `data`; raises PduError on a value past the end."""
    size = len(data)
    if pos + 4 > size:
        return ()
    found: list[tuple[int, bytes]] = []
    unpack = _HEAD.unpack_from
    while pos + 4 <= size:
        tag, length = unpack(data, pos)
        pos += 4
        end = pos + length
        if end > size:
            raise PduError(f"TLV 0x{tag:04X} of length {length} runs past the PDU")
        found.append((tag, data[pos:end]))
        pos = end
    return tuple(found)


def encode_tlvs(tlvs: Iterable[tuple[int, bytes]]) -> bytes:
    """The wire form of `tlvs`, in order; ValueError on a tag or value that does not fit."""
    out = bytearray()
    for tag, value in tlvs:
        if not 0 <= tag <= 0xFFFF:
            raise ValueError(f"TLV tag {tag} does not fit 16 bits")
        if len(value) > _MAX_VALUE:
            raise ValueError(f"TLV 0x{tag:04X} value of {len(value)} octets, at most {_MAX_VALUE}")
        out += _HEAD.pack(tag, len(value))
        out += value
    return bytes(out)


def find_tlv(tlvs: Tlvs, tag: int) -> bytes | None:
    """The value of the last TLV with `tag`, or None."""
    for found, value in reversed(tlvs):
        if found == tag:
            return value
    return None


def tlv_int(tlvs: Tlvs, tag: int) -> int | None:
    """An unsigned integer TLV (1 to 4 octets, big-endian), or None if absent or of another size."""
    value = find_tlv(tlvs, tag)
    if value is None or not 1 <= len(value) <= 4:
        return None
    return int.from_bytes(value, "big")


def tlv_text(tlvs: Tlvs, tag: int) -> str | None:
    """A C-octet-string TLV as text (Latin-1, up to its first NUL), or None if absent."""
    value = find_tlv(tlvs, tag)
    if value is None:
        return None
    return value.partition(b"\0")[0].decode("latin-1")
