"""GSM 03.38 default alphabet and its extension table (3GPP TS 23.038, 6.2.1).

SMPP carries data_coding 0 *unpacked*: one septet per octet.  An extension
character is sent as the escape septet 0x1B followed by its code in the
extension table, so it takes two septets.  Everything here works on unpacked
septets; every lookup table is built once at import time.
"""

from __future__ import annotations

__all__ = [
    "BASIC",
    "ESC",
    "EXTENSION",
    "decode_gsm",
    "encode_gsm",
    "is_gsm",
    "septet_count",
]

ESC = 0x1B
"""Escape to the extension table."""

# fmt: off
BASIC: str = (
    "@£$¥èéùìòÇ\nØø\rÅå"          # 0x00-0x0F
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"         # 0x10-0x1F (0x1B is the escape)
    " !\"#¤%&'()*+,-./"           # 0x20-0x2F
    "0123456789:;<=>?"            # 0x30-0x3F
    "¡ABCDEFGHIJKLMNO"            # 0x40-0x4F
    "PQRSTUVWXYZÄÖÑÜ§"            # 0x50-0x5F
    "¿abcdefghijklmno"            # 0x60-0x6F
    "pqrstuvwxyzäöñüà"            # 0x70-0x7F
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
"""The extension table: septet following ESC -> character."""

# ---- encoding tables -------------------------------------------------------

# The escape itself is not a character a text can carry: encoding "\x1b" as
# 0x1B would swallow the next septet, so it is left out of the encodable set.
_ENCODE: dict[int, str] = {ord(ch): chr(code) for code, ch in enumerate(BASIC) if code != ESC}
_ENCODE.update({ord(ch): chr(ESC) + chr(code) for code, ch in EXTENSION.items()})
_GSM_CHARS: frozenset[str] = frozenset(chr(cp) for cp in _ENCODE)
_EXT_CHARS: frozenset[str] = frozenset(EXTENSION.values())

# ---- decoding tables -------------------------------------------------------

_REPLACEMENT = "?"
# Octets 0x80-0xFF are not septets: shown as "?".  A bare escape (followed by
# another escape or by nothing) is displayed as a space, as TS 23.038 asks of
# receivers that do not understand it.
_DECODE_BASIC: tuple[str, ...] = tuple(
    (" " if code == ESC else BASIC[code]) if code < 0x80 else _REPLACEMENT for code in range(256)
)
# ESC + code: the extension character, else the basic character (TS 23.038
# fallback for codes the extension table does not define).
_DECODE_ESCAPED: tuple[str, ...] = tuple(EXTENSION.get(code, _DECODE_BASIC[code]) for code in range(256))


def is_gsm(text: str) -> bool:
    """True if every character of ``text`` is in the basic set or the extension table."""
    return _GSM_CHARS.issuperset(text)


def septet_count(text: str) -> int:
    """Septets needed for ``text`` in GSM 03.38 (extension characters count 2).

    Raises ValueError if ``text`` has a character outside GSM 03.38.
    """
    if not _GSM_CHARS.issuperset(text):
        raise ValueError("text is not representable in GSM 03.38")
    return len(text) + sum(1 for ch in text if ch in _EXT_CHARS)


def encode_gsm(text: str) -> bytes:
    """Encode ``text`` as unpacked GSM 03.38 septets (one per octet, ESC before extensions).

    Raises ValueError if ``text`` has a character outside GSM 03.38.
    """
    if not _GSM_CHARS.issuperset(text):
        raise ValueError("text is not representable in GSM 03.38")
    return text.translate(_ENCODE).encode("latin-1")


def decode_gsm(data: bytes) -> str:
    """Decode unpacked GSM 03.38 septets.  Never raises.

    Unknown escape combinations give the basic character of the escaped code;
    octets above 0x7F give "?"; a trailing or doubled escape gives a space.
    """
    raw = bytes(data)
    if ESC not in raw:
        return raw.decode("latin-1").translate(_DECODE_BASIC)
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        code = raw[i]
        if code == ESC and i + 1 < n:
            out.append(_DECODE_ESCAPED[raw[i + 1]])
            i += 2
        else:
            out.append(_DECODE_BASIC[code])
            i += 1
    return "".join(out)
