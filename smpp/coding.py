"""Text ↔ octets for every data_coding: SMPP 3.4 §5.2.19 and the 3GPP TS 23.038 §4 groups.

`decode_text(data, data_coding)` gives the text or raises `UndecodableText(data_coding,
reason)` — never another exception. The answers, value by value:

SMPP 3.4 §5.2.19 (0x00–0x0F, where SMPP's own table overrides TS 23.038's):

- 0x00 SMSC default alphabet: GSM 03.38, unpacked (`gsm7`; the brief's and the gateway's
  operator's choice — SMPP leaves the default to the SMSC);
- 0x01 IA5 (CCITT T.50) / ASCII: ASCII, an octet above 0x7F is U+FFFD;
- 0x02, 0x04 octet unspecified (8-bit binary): undecodable, "binary";
- 0x03 Latin-1 (ISO-8859-1); 0x06 Cyrillic (ISO-8859-5); 0x07 Latin/Hebrew (ISO-8859-8);
- 0x05 JIS (X 0208-1990): Shift_JIS, the byte form of JIS X 0208 (its Annex 1) that
  Japanese handsets use; the raw 7-bit row/cell pairs could not be told from ASCII;
- 0x08 UCS-2 (ISO/IEC-10646): UTF-16BE, surrogate pairs joined; a lone surrogate is
  U+FFFD; an odd number of octets gives the whole code units, then U+FFFD for the
  dangling octet;
- 0x09 pictogram encoding: undecodable, "pictogram" (no public definition);
- 0x0A ISO-2022-JP (music codes); 0x0D extended Kanji JIS (X 0212-1990): EUC-JP, the
  8-bit form that carries JIS X 0212; 0x0E KS C 5601: EUC-KR, its 8-bit form;
- 0x0B, 0x0C, 0x0F reserved by SMPP 3.4: undecodable, "reserved" (the unknown values).

3GPP TS 23.038 §4 (0x10–0xFF):

- 0x10–0x3F general data coding, 0x40–0x7F the same marked for automatic deletion: bit 5
  set is compressed (TS 23.042, not implemented): undecodable, "compressed"; else bits
  3–2 give the alphabet: GSM 7 bit, 8-bit data (undecodable, "binary"), UCS-2, or
  reserved;
- 0x80–0xBF reserved coding groups, and the reserved alphabet 11 above: GSM 7 bit, as
  TS 23.038 §4 requires ("Any reserved codings shall be assumed to be the GSM 7 bit
  default alphabet ... by a receiving entity");
- 0xC0–0xDF message waiting, discard / store: GSM 7 bit; 0xE0–0xEF store, UCS-2;
- 0xF0–0xFF data coding / message class: bit 2 clear is GSM 7 bit, set is 8-bit data
  (undecodable, "binary"); bit 3 (reserved) is ignored.

An octet the chosen character set does not define (e.g. 0xA1 in ISO-8859-8, a broken
Shift_JIS sequence) becomes U+FFFD. Outbound, `choose_coding` picks GSM 03.38 when the text
fits it and UCS-2 otherwise; `encode_text` writes a text in a data_coding, raising
`UnencodableText` for a character it lacks (a lone surrogate included).
"""

from __future__ import annotations

from typing import Final

from .constants import DataCoding
from .errors import UndecodableText, UnencodableText
from .gsm7 import decode_gsm7, encode_gsm7, is_gsm

__all__ = ["GSM7", "UCS2", "choose_coding", "codec_for", "decode_text", "encode_text"]

GSM7: Final = "gsm7"
UCS2: Final = "utf-16-be"
_BINARY, _RESERVED, _COMPRESSED, _PICTOGRAM = "binary", "reserved", "compressed", "pictogram"

_SMPP: Final[tuple[str, ...]] = (
    GSM7,  # 0x00
    "ascii",  # 0x01 IA5
    _BINARY,  # 0x02
    "latin-1",  # 0x03
    _BINARY,  # 0x04
    "shift_jis",  # 0x05 JIS X 0208
    "iso8859-5",  # 0x06
    "iso8859-8",  # 0x07
    UCS2,  # 0x08
    _PICTOGRAM,  # 0x09
    "iso2022_jp",  # 0x0A
    _RESERVED,  # 0x0B
    _RESERVED,  # 0x0C
    "euc_jp",  # 0x0D JIS X 0212
    "euc_kr",  # 0x0E KS C 5601
    _RESERVED,  # 0x0F
)
_GENERAL_ALPHABETS: Final = (GSM7, _BINARY, UCS2, GSM7)  # bits 3-2; 11 is reserved → GSM 7 bit
_NOT_TEXT: Final = frozenset({_BINARY, _RESERVED, _COMPRESSED, _PICTOGRAM})


def _codec(data_coding: int) -> str:
    if 0 <= data_coding <= 0x0F:
        return _SMPP[data_coding]
    if 0x10 <= data_coding <= 0x7F:
        if data_coding & 0x20:
            return _COMPRESSED
        return _GENERAL_ALPHABETS[(data_coding >> 2) & 0x03]
    if 0x80 <= data_coding <= 0xDF:  # reserved groups, then message waiting (GSM 7 bit)
        return GSM7
    if 0xE0 <= data_coding <= 0xEF:
        return UCS2
    if 0xF0 <= data_coding <= 0xFF:
        return _BINARY if data_coding & 0x04 else GSM7
    return _RESERVED  # not an octet


_TABLE: Final = tuple(_codec(value) for value in range(256))


def codec_for(data_coding: int) -> str:
    """The text codec of a data_coding: `GSM7`, `UCS2` or a Python codec name; raises
    UndecodableText for the codings that carry no text we can read."""
    codec = _TABLE[data_coding] if 0 <= data_coding <= 0xFF else _RESERVED
    if codec in _NOT_TEXT:
        raise UndecodableText(data_coding, codec)
    return codec


def decode_text(data: bytes, data_coding: int) -> str:
    """The text of `data` (user data without its UDH); raises UndecodableText, nothing else."""
    codec = codec_for(data_coding)
    if codec == GSM7:
        return decode_gsm7(bytes(data))
    return bytes(data).decode(codec, "replace")


def choose_coding(text: str) -> int:
    """0 (GSM 03.38) when every character fits it, else 8 (UCS-2)."""
    return DataCoding.SMSC_DEFAULT if is_gsm(text) else DataCoding.UCS2


def encode_text(text: str, data_coding: int) -> bytes:
    """`text` in a data_coding; UnencodableText for a character it lacks, UndecodableText for
    a data_coding that carries no text."""
    codec = codec_for(data_coding)
    if codec == GSM7:
        try:
            return encode_gsm7(text)
        except ValueError:
            raise UnencodableText(next(c for c in text if not is_gsm(c)), "GSM 03.38") from None
    try:
        return text.encode(codec)
    except UnicodeEncodeError as error:
        raise UnencodableText(error.object[error.start : error.end], codec) from None
