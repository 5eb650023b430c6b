"""GSM 03.38 (3GPP TS 23.038) default alphabet and extension table, unpacked (one
septet per octet, as SMPP data_coding 0 carries it).

Written here rather than borrowed: the simulator must not import the gateway.
"""

from __future__ import annotations

__all__ = ["ESCAPE", "decode", "encode", "fits", "septet_length", "septets_of"]

ESCAPE = 0x1B

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
EXTENSION = {
    0x0A: "\f",
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
assert len(BASIC) == 128

_ENCODE: dict[str, bytes] = {ch: bytes((i,)) for i, ch in enumerate(BASIC) if i != ESCAPE}
_ENCODE.update({ch: bytes((ESCAPE, code)) for code, ch in EXTENSION.items()})
_DECODE = [BASIC[i] if i < 128 else "\ufffd" for i in range(256)]
_DECODE[ESCAPE] = ""


def fits(text: str) -> bool:
    """True if every character has a GSM 03.38 code (basic or extension)."""
    enc = _ENCODE
    return all(ch in enc for ch in text)


def septets_of(ch: str) -> int:
    """1 for a basic character, 2 for an extension one; KeyError if not GSM."""
    return len(_ENCODE[ch])


def septet_length(text: str) -> int:
    """Septets needed for `text` (extension characters count twice)."""
    enc = _ENCODE
    return sum(len(enc[ch]) for ch in text)


def encode(text: str, replace: str | None = None) -> bytes:
    """Unpacked septets; a character outside the alphabet raises ValueError, or is
    replaced by `replace` when given."""
    enc = _ENCODE
    fallback = enc[replace] if replace is not None else None
    out = bytearray()
    for ch in text:
        code = enc.get(ch, fallback)
        if code is None:
            raise ValueError(f"{ch!r} is not in the GSM 03.38 alphabet")
        out += code
    return bytes(out)


def decode(data: bytes) -> str:
    """Text of unpacked septets. An escape before an undefined extension code yields the
    basic character (TS 23.038 §6.2.1.1); octets above 0x7F become U+FFFD."""
    if ESCAPE not in data:
        table = _DECODE
        return "".join([table[b] for b in data])
    out: list[str] = []
    escaped = False
    for b in data:
        if escaped:
            escaped = False
            out.append(EXTENSION.get(b) or (" " if b == ESCAPE else _DECODE[b]))
        elif b == ESCAPE:
            escaped = True
        else:
            out.append(_DECODE[b])
    return "".join(out)
