"""The errors of the codec: one small hierarchy of ValueErrors (cf. h11/_util.py).

- `PduError`: bytes that are not a well-formed PDU. When the header could be read it
  carries the offending PDU's `command_id` and `sequence` (else 0), so that the answer —
  generic_nack ESME_RINVCMDLEN: SMPP 3.4 §4.3 answers a PDU whose command_length does not
  fit its content so — can echo them.
- `FramingError` (a PduError): an impossible command_length; the stream cannot be
  resynchronised and the connection must close.
- `UndecodableText`: a data_coding whose octets we cannot turn into text (binary,
  pictogram, compressed, reserved) — an explicit answer, never a guess.
- `UnencodableText`: a text with a character the chosen alphabet does not have.
- `TextTooLong`: a text needing more parts (or payload octets) than allowed.
"""

from __future__ import annotations

__all__ = ["FramingError", "PduError", "TextTooLong", "UndecodableText", "UnencodableText"]


class PduError(ValueError):
    """A PDU that does not decode."""

    def __init__(self, message: str, *, command_id: int = 0, sequence: int = 0) -> None:
        super().__init__(message)
        self.command_id = command_id
        self.sequence = sequence


class FramingError(PduError):
    """A command_length below 16 or above the maximum PDU size."""

    def __init__(self, length: int, sequence: int) -> None:
        super().__init__(f"invalid command_length {length}", sequence=sequence)
        self.length = length


class UndecodableText(ValueError):
    """Octets of a data_coding we do not turn into text; `reason` says why, in one word:
    "binary", "pictogram", "compressed" or "reserved"."""

    def __init__(self, data_coding: int, reason: str) -> None:
        super().__init__(f"data_coding 0x{data_coding & 0xFF:02X} cannot be shown as text ({reason})")
        self.data_coding = data_coding
        self.reason = reason


class UnencodableText(ValueError):
    """A character the chosen alphabet cannot carry."""

    def __init__(self, character: str, alphabet: str) -> None:
        super().__init__(f"{character!r} is not in the {alphabet} alphabet")
        self.character = character
        self.alphabet = alphabet


class TextTooLong(ValueError):
    """More parts (or message_payload octets) than allowed."""

    def __init__(self, needed: int, limit: int, unit: str = "parts") -> None:
        super().__init__(f"the text needs {needed} {unit}, at most {limit} allowed")
        self.needed = needed
        self.limit = limit
        self.unit = unit
