"""How the simulator shows the user data of a message to testers (records, receipts, logs)."""

from __future__ import annotations

from smpp import UndecodableText, decode_text

__all__ = ["shown_text"]


def shown_text(data: bytes, data_coding: int) -> str:
    """The decoded text; for data_codings that carry no text we can read (binary,
    pictogram, compressed, reserved), a bracketed note with the octets in hex."""
    try:
        return decode_text(data, data_coding)
    except UndecodableText as error:
        return f"[{error.reason} data_coding 0x{data_coding & 0xFF:02X}: {data.hex()}]"
