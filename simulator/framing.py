"""Cut a TCP byte stream into SMPP PDUs by their command_length.

Sans-IO: bytes go in with `feed`, whole PDUs come out of `next_frame`. A command_length
below 16 (the header) or above the configured maximum is a `FramingError`: the stream
cannot be resynchronised, so the session answers generic_nack and closes.
"""

from __future__ import annotations

__all__ = ["Framer", "FramingError"]

_MIN_LENGTH = 16


class FramingError(Exception):
    """An impossible command_length; `sequence` is the offending PDU's, when known (else 0)."""

    def __init__(self, length: int, sequence: int) -> None:
        super().__init__(f"invalid command_length {length}")
        self.length = length
        self.sequence = sequence


class Framer:
    """Buffers bytes and yields complete PDUs (header included)."""

    __slots__ = ("_broken", "_buffer", "max_pdu_size")

    def __init__(self, max_pdu_size: int) -> None:
        self.max_pdu_size = max_pdu_size
        self._buffer = bytearray()
        self._broken = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a PDU."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Append received bytes (ignored once the stream is broken)."""
        if not self._broken:
            self._buffer += data

    def next_frame(self) -> bytes | None:
        """The next complete PDU, None if more bytes are needed; raises FramingError."""
        buffer = self._buffer
        if self._broken or len(buffer) < 4:
            return None
        length = int.from_bytes(buffer[0:4], "big")
        if length < _MIN_LENGTH or length > self.max_pdu_size:
            self._broken = True
            sequence = int.from_bytes(buffer[12:16], "big") if len(buffer) >= 16 else 0
            buffer.clear()
            raise FramingError(length, sequence)
        if len(buffer) < length:
            return None
        frame = bytes(buffer[:length])
        del buffer[:length]
        return frame
