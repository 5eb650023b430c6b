"""Inbound text: decode an MO's short_message whatever the SMSC sent.

Nothing here raises, whatever the bytes, data_coding or esm_class: a
deliver_sm hook must never die on a strange message.  Undecodable input
gives a best-effort text (Latin-1 or replacement characters), never an error.

data_coding follows SMPP 3.4 (5.2.19) for 0x00-0x0F and the 3GPP TS 23.038
coding groups above that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from smsgw.sms.gsm import decode_gsm

__all__ = [
    "ESM_CLASS_UDHI",
    "Concat",
    "concat_from_sar",
    "decode_short_message",
    "decode_text",
    "split_udh",
]

ESM_CLASS_UDHI = 0x40

# SMPP 3.4 data_coding 0x01-0x0F -> Python codec (0x00 is GSM, 0x08 UCS-2).
_SMPP_CODECS: dict[int, str] = {
    0x01: "ascii",  # IA5 / ASCII
    0x02: "latin-1",  # octet unspecified (8-bit binary): best effort
    0x03: "latin-1",  # ISO-8859-1
    0x04: "latin-1",  # octet unspecified (8-bit binary): best effort
    0x05: "shift_jis",  # JIS (X 0208-1990): best effort
    0x06: "iso8859_5",  # Cyrillic
    0x07: "iso8859_8",  # Latin/Hebrew
    0x0A: "iso2022_jp",  # ISO-2022-JP (music codes)
    0x0D: "euc_jp",  # extended Kanji JIS (X 0212-1990): best effort
    0x0E: "euc_kr",  # KS C 5601
}

# TS 23.038 alphabets.
_GSM7, _OCTETS, _UCS2 = "gsm7", "octets", "ucs2"
# General coding groups (00xx, 01xx automatic deletion), bits 3-2.  The reserved
# value 11 is read as GSM 7-bit, as TS 23.038 asks of receivers.
_GENERAL_ALPHABETS = (_GSM7, _OCTETS, _UCS2, _GSM7)
_COMPRESSED = 0x20


def decode_text(data: bytes, data_coding: int) -> str:
    """Decode ``data`` (unpacked septets for GSM) according to ``data_coding``.  Never raises."""
    try:
        raw = bytes(data) if data else b""
        return _decode(raw, int(data_coding))
    except Exception:  # the hook must survive anything: fall back to Latin-1
        try:
            return bytes(data).decode("latin-1")
        except Exception:
            return ""


def _decode(raw: bytes, dc: int) -> str:
    if dc == 0x00:
        return decode_gsm(raw)
    if dc == 0x08:
        return _ucs2(raw)
    if dc in _SMPP_CODECS:
        return raw.decode(_SMPP_CODECS[dc], errors="replace")
    if 0x10 <= dc <= 0x7F:  # general data coding / marked for automatic deletion
        if dc & _COMPRESSED:  # TS 23.042 compression is not implemented
            return raw.decode("latin-1")
        return _by_alphabet(raw, _GENERAL_ALPHABETS[(dc >> 2) & 0x03])
    if 0xC0 <= dc <= 0xDF:  # message waiting indication, discard / store: GSM 7-bit
        return decode_gsm(raw)
    if 0xE0 <= dc <= 0xEF:  # message waiting indication, store: UCS2
        return _ucs2(raw)
    if 0xF0 <= dc <= 0xFF:  # data coding / message class: bit 2 picks the alphabet
        return _by_alphabet(raw, _OCTETS if dc & 0x04 else _GSM7)
    return raw.decode("latin-1")  # 0x09, 0x0B, 0x0C, 0x0F, 0x80-0xBF, out of range


def _by_alphabet(raw: bytes, alphabet: str) -> str:
    if alphabet == _GSM7:
        return decode_gsm(raw)
    if alphabet == _UCS2:
        return _ucs2(raw)
    return raw.decode("latin-1")


def _ucs2(raw: bytes) -> str:
    """UTF-16-BE (UCS-2 plus surrogate pairs); an odd trailing octet is dropped."""
    return raw[: len(raw) & ~1].decode("utf-16-be", errors="replace")


# ---- concatenation ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Concat:
    """Where one part belongs in a concatenated message."""

    reference: int
    total: int
    sequence: int
    reference_bits: int  # 8 or 16


_IEI_CONCAT_8 = 0x00
_IEI_CONCAT_16 = 0x08
_CONCAT_IE_LENGTHS = {_IEI_CONCAT_8: 3, _IEI_CONCAT_16: 4}


def split_udh(short_message: bytes, esm_class: int) -> tuple[Concat | None, bytes]:
    """Separate a UDH from the text octets.  Never raises.

    Without UDHI in ``esm_class`` the message is all text.  With it, the UDH
    (UDHL then information elements) is removed and a concatenation IE
    (8-bit 0x00 or 16-bit 0x08; the last one wins) gives a :class:`Concat`.
    A UDHL running past the data leaves the message as it is; an invalid
    concatenation IE gives no Concat but the text after the UDH.
    """
    try:
        data = bytes(short_message) if short_message else b""
        if not int(esm_class) & ESM_CLASS_UDHI or not data:
            return None, data
        end = 1 + data[0]
        if end > len(data):
            return None, data
        return _concat_in(data[1:end]), data[end:]
    except Exception:
        return None, b""


def _concat_in(udh: bytes) -> Concat | None:
    found: Concat | None = None
    seen = False
    i = 0
    while i < len(udh):
        if i + 2 > len(udh):
            return None  # an IE runs past the header: trust nothing in it
        iei, length = udh[i], udh[i + 1]
        body = udh[i + 2 : i + 2 + length]
        if len(body) < length:
            return None
        if iei in _CONCAT_IE_LENGTHS:
            seen = True
            found = _parse_concat_ie(iei, body) if length == _CONCAT_IE_LENGTHS[iei] else None
        i += 2 + length
    return found if seen else None


def _parse_concat_ie(iei: int, body: bytes) -> Concat | None:
    if iei == _IEI_CONCAT_8:
        ref, bits, total, seq = body[0], 8, body[1], body[2]
    else:
        ref, bits, total, seq = (body[0] << 8) | body[1], 16, body[2], body[3]
    if not 1 <= seq <= total:  # also rejects total 0
        return None
    return Concat(reference=ref, total=total, sequence=seq, reference_bits=bits)


def concat_from_sar(ref: int | None, total: int | None, seq: int | None) -> Concat | None:
    """A Concat from the SAR TLVs (sar_msg_ref_num 0x020C, sar_total_segments 0x020E,
    sar_segment_seqnum 0x020F), or None if any is missing or out of range.  Never raises.
    """
    if not (_is_int(ref) and _is_int(total) and _is_int(seq)):
        return None
    if not (0 <= ref <= 0xFFFF and 1 <= total <= 0xFF and 1 <= seq <= total):
        return None
    return Concat(reference=ref, total=total, sequence=seq, reference_bits=16)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def decode_short_message(short_message: bytes, data_coding: int, esm_class: int) -> tuple[Concat | None, str]:
    """:func:`split_udh` then :func:`decode_text` on the rest.  Never raises."""
    concat, payload = split_udh(short_message, esm_class)
    return concat, decode_text(payload, data_coding)
