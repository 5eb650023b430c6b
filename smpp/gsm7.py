"""GSM 03.38 default alphabet and its extension table (3GPP TS 23.038 §6.2.1, §6.2.1.1),
unpacked: one septet per octet, as SMPP data_coding 0 carries it.

An extension character is the escape septet 0x1B followed by its code in the extension
table, so it counts two septets (`septet_count`). Decoding never raises; its answers, each
from TS 23.038:

- an octet 0x80–0xFF is not a septet: U+FFFD (there is no GSM character to show);
- a trailing escape with nothing after it: a space — §6.2.1, note to 0x1B: "a receiving
  entity which does not understand the meaning of this escape mechanism shall display it
  as a space character";
- escape, escape (0x1B 0x1B, reserved for a further extension table): one space, as §6.2.1.1
  asks ("shall display a space until another extension table is defined");
- escape followed by a code the extension table does not define: the main table's
  character for that code (§6.2.1.1: "the MS shall display ... the character shown in the
  main GSM 7 bit default alphabet table"); escape then 0x80–0xFF: U+FFFD.

Encoding never writes the escape on its own: "\\x1b" is not a character a text can carry.
"""

from __future__ import annotations

import codecs

__all__ = [
    "BASIC",
    "ESCAPE",
    "EXTENSION",
    "decode_gsm7",
    "encode_gsm7",
    "is_gsm",
    "septet_count",
    "septets",
]

ESCAPE = 0x1B
"""Escape to the extension table."""

# fmt: off
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"      # 0x00-0x0F
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"     # 0x10-0x1F (0x1B is the escape)
    " !\"#¤%&'()*+,-./"       # 0x20-0x2F
    "0123456789:;<=>?"        # 0x30-0x3F
    "¡ABCDEFGHIJKLMNO"        # 0x40-0x4F
    "PQRSTUVWXYZÄÖÑÜ§"        # 0x50-0x5F
    "¿abcdefghijklmno"        # 0x60-0x6F
    "pqrstuvwxyzäöñüà"        # 0x70-0x7F
)
"""The basic character set, indexed by septet value."""
# fmt: on

EXTENSION: dict[int, str] = {
    0x0A: "\f",  # page break
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
"""The extension table: septet after the escape → character."""

_REPLACEMENT = "\ufffd"
# Encoding: code point → one or two septets, for codecs.charmap_encode (C speed).
_ENCODE: dict[int, bytes] = {ord(char): bytes((code,)) for code, char in enumerate(BASIC) if code != ESCAPE}
_ENCODE.update({ord(char): bytes((ESCAPE, code)) for code, char in EXTENSION.items()})
_GSM_CHARS = frozenset(chr(point) for point in _ENCODE)
_EXTENSION_CHARS = frozenset(EXTENSION.values())
# Decoding: octet → character, a 256-character table for codecs.charmap_decode; the escape
# alone is a space.
_DECODE = "".join((" " if code == ESCAPE else BASIC[code]) if code < 0x80 else _REPLACEMENT for code in range(256))
_DECODE_ESCAPED = "".join(EXTENSION.get(code, _DECODE[code]) for code in range(256))


def is_gsm(text: str) -> bool:
    """True if every character of `text` is in the basic set or the extension table."""
    return _GSM_CHARS.issuperset(text)


def septets(char: str) -> int:
    """1 for a basic character, 2 for an extension one, 0 for a character GSM 03.38 lacks."""
    if char in _EXTENSION_CHARS:
        return 2
    return 1 if char in _GSM_CHARS else 0


def septet_count(text: str) -> int:
    """Septets `text` takes (extension characters count 2); ValueError if not all GSM."""
    if not _GSM_CHARS.issuperset(text):
        raise ValueError("the text has characters outside GSM 03.38")
    return len(text) + sum(1 for char in text if char in _EXTENSION_CHARS)


def encode_gsm7(text: str, replace: str | None = None) -> bytes:
    """Unpacked septets of `text`; a character outside GSM 03.38 raises ValueError, or is
    written as `replace` (itself a GSM character) when given."""
    if not _GSM_CHARS.issuperset(text):
        if replace == "?":  # the codec's own "replace" writes "?", which GSM 03.38 has: at C speed
            return codecs.charmap_encode(text, "replace", _ENCODE)[0]
        if replace is None or replace not in _GSM_CHARS:
            bad = next(char for char in text if char not in _GSM_CHARS)
            raise ValueError(f"{bad!r} is not in the GSM 03.38 alphabet")
        text = "".join(char if char in _GSM_CHARS else replace for char in text)
    return codecs.charmap_encode(text, "strict", _ENCODE)[0]


def decode_gsm7(data: bytes) -> str:
    """The text of unpacked septets (see the module docstring for odd input); never raises."""
    if ESCAPE not in data:
        return codecs.charmap_decode(data, "strict", _DECODE)[0]
    out: list[str] = []
    i, size = 0, len(data)
    while i < size:
        code = data[i]
        if code == ESCAPE and i + 1 < size:
            out.append(_DECODE_ESCAPED[data[i + 1]])
            i += 2
        else:
            out.append(_DECODE[code])
            i += 1
    return "".join(out)
