"""Message text: decoding by data_coding, concatenation info of a received part, and
encoding + splitting of injected MOs (UDH 8/16-bit, SAR TLVs or message_payload)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import gsm
from .pdu import ShortMessage, Tlv

__all__ = [
    "ENCODINGS",
    "SPLITS",
    "Concat",
    "Part",
    "TextError",
    "decode_text",
    "encode_mo",
    "message_body",
    "ton_npi",
]

ENCODINGS = ("auto", "gsm", "ucs2", "latin1")
SPLITS = ("udh8", "udh16", "sar", "payload")
UDHI = 0x40

_DATA_CODING = {"gsm": 0, "latin1": 3, "ucs2": 8}
_SINGLE = {"gsm": 160, "latin1": 140, "ucs2": 140}  # septets or octets in one part
_PART = {  # per part of a concatenated message, by split
    "gsm": {"udh8": 153, "udh16": 152, "sar": 153},
    "latin1": {"udh8": 134, "udh16": 133, "sar": 134},
    "ucs2": {"udh8": 134, "udh16": 132, "sar": 134},
}
_MAX_PAYLOAD = 65000


class TextError(ValueError):
    """A text that cannot be sent as asked (wrong alphabet, too long)."""


@dataclass(frozen=True, slots=True)
class Concat:
    """Where a received part belongs: kind ('udh8' | 'udh16' | 'sar'), ref, total, seq."""

    kind: str
    ref: int
    total: int
    seq: int


@dataclass(frozen=True, slots=True)
class Part:
    """One deliver_sm worth of an injected MO."""

    short_message: bytes
    data_coding: int
    esm_class: int = 0
    tlvs: dict[int, bytes] = field(default_factory=dict)


def decode_text(data: bytes, data_coding: int) -> str:
    """Best-effort text for any data_coding; never raises."""
    if data_coding == 0:
        return gsm.decode(data)
    if data_coding == 8:
        return data.decode("utf-16-be", "replace")
    if data_coding == 3:
        return data.decode("latin-1")
    if data_coding == 1:
        return data.decode("ascii", "replace")
    group = data_coding & 0xF0
    if group == 0xF0:  # data coding / message class
        return data.decode("latin-1") if data_coding & 0x04 else gsm.decode(data)
    if data_coding & 0xC0 == 0:  # general data coding: alphabet in bits 3..2
        alphabet = (data_coding >> 2) & 0x03
        if alphabet == 0:
            return gsm.decode(data)
        if alphabet == 2:
            return data.decode("utf-16-be", "replace")
        return data.decode("latin-1")
    if group in (0xC0, 0xD0):  # message waiting, GSM
        return gsm.decode(data)
    if group == 0xE0:  # message waiting, UCS-2
        return data.decode("utf-16-be", "replace")
    return data.decode("latin-1")


def message_body(sm: ShortMessage) -> tuple[bytes, Concat | None]:
    """The user data of a submit_sm (UDH stripped) and its concatenation info, if any."""
    payload = sm.short_message
    if not payload and Tlv.MESSAGE_PAYLOAD in sm.tlvs:
        payload = sm.tlvs[Tlv.MESSAGE_PAYLOAD]
    concat: Concat | None = None
    if sm.esm_class & UDHI and payload:
        header = payload[1 : 1 + payload[0]]
        payload = payload[1 + payload[0] :]
        i = 0
        while i + 2 <= len(header):
            iei, length = header[i], header[i + 1]
            value = header[i + 2 : i + 2 + length]
            if iei == 0x00 and len(value) == 3:
                concat = Concat("udh8", value[0], value[1], value[2])
            elif iei == 0x08 and len(value) == 4:
                concat = Concat("udh16", value[0] << 8 | value[1], value[2], value[3])
            i += 2 + length
    tlvs = sm.tlvs
    if concat is None and Tlv.SAR_MSG_REF_NUM in tlvs:
        total = tlvs.get(Tlv.SAR_TOTAL_SEGMENTS, b"")
        seq = tlvs.get(Tlv.SAR_SEGMENT_SEQNUM, b"")
        if total and seq:
            ref = int.from_bytes(tlvs[Tlv.SAR_MSG_REF_NUM], "big")
            concat = Concat("sar", ref, total[0], seq[0])
    if concat is not None and (concat.total < 2 or not 1 <= concat.seq <= concat.total):
        concat = None
    return payload, concat


def _units(text: str, encoding: str) -> list[bytes]:
    try:
        if encoding == "gsm":
            return [gsm.encode(ch) for ch in text]
        if encoding == "latin1":
            return [ch.encode("latin-1") for ch in text]
    except (ValueError, UnicodeEncodeError) as err:
        raise TextError(f"the text does not fit {encoding}: {err}") from None
    return [ch.encode("utf-16-be", "surrogatepass") for ch in text]


def _chunks(units: list[bytes], capacity: int) -> list[bytes]:
    chunks: list[bytes] = []
    current = bytearray()
    for unit in units:  # never split an escape pair or a surrogate pair
        if len(current) + len(unit) > capacity:
            chunks.append(bytes(current))
            current = bytearray()
        current += unit
    chunks.append(bytes(current))
    return chunks


def encode_mo(text: str, encoding: str = "auto", split: str = "udh8", ref: int = 0) -> list[Part]:
    """The deliver_sm parts for an MO text; raises TextError."""
    if encoding not in ENCODINGS:
        raise TextError(f"unknown encoding {encoding!r} (one of {', '.join(ENCODINGS)})")
    if split not in SPLITS:
        raise TextError(f"unknown split {split!r} (one of {', '.join(SPLITS)})")
    if encoding == "auto":
        encoding = "gsm" if gsm.fits(text) else "ucs2"
    units = _units(text, encoding)
    whole = b"".join(units)
    dc = _DATA_CODING[encoding]
    if len(whole) <= _SINGLE[encoding]:
        return [Part(whole, dc)]
    if split == "payload":
        if len(whole) > _MAX_PAYLOAD:
            raise TextError("the text is too long for message_payload")
        return [Part(b"", dc, 0, {Tlv.MESSAGE_PAYLOAD: whole})]
    chunks = _chunks(units, _PART[encoding][split])
    total = len(chunks)
    if total > 255:
        raise TextError("the text needs more than 255 parts")
    parts: list[Part] = []
    for seq, chunk in enumerate(chunks, start=1):
        if split == "udh8":
            udh = bytes((5, 0x00, 3, ref & 0xFF, total, seq))
            parts.append(Part(udh + chunk, dc, UDHI))
        elif split == "udh16":
            udh = bytes((6, 0x08, 4, (ref >> 8) & 0xFF, ref & 0xFF, total, seq))
            parts.append(Part(udh + chunk, dc, UDHI))
        else:
            tlvs = {
                Tlv.SAR_MSG_REF_NUM: (ref & 0xFFFF).to_bytes(2, "big"),
                Tlv.SAR_TOTAL_SEGMENTS: bytes((total,)),
                Tlv.SAR_SEGMENT_SEQNUM: bytes((seq,)),
            }
            parts.append(Part(chunk, dc, 0, tlvs))
    return parts


def ton_npi(address: str) -> tuple[int, int]:
    """A plausible TON/NPI for an address: international E.164, national/short, or alphanumeric."""
    if not address.isdigit():
        return 5, 0
    return (1, 1) if len(address) >= 10 else (0, 1)
