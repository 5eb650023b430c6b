"""Cut a TCP byte stream into SMPP PDUs by their command_length.

Sans-IO: bytes go in with `feed`, whole PDUs come out of `next_frame`. A command_length
below 16 (the header) or above the configured maximum is a `FramingError` carrying the
offending PDU's sequence number when the header is all there (else 0): the stream cannot be
resynchronised, so the owner answers generic_nack ESME_RINVCMDLEN and closes. After that
the framer is broken for good and ignores further bytes.
"""

from __future__ import annotations

from .errors import FramingError

__all__ = ["HEADER_SIZE", "Framer"]

HEADER_SIZE = 16
"""command_length, command_id, command_status, sequence_number: four 32-bit integers."""


class Framer:
    """Buffers bytes and yields complete PDUs (header included)."""

    __slots__ = ("_broken", "_buffer", "max_pdu_size")

    def __init__(self, max_pdu_size: int) -> None:
        if max_pdu_size < HEADER_SIZE:
            raise ValueError(f"max_pdu_size must be at least {HEADER_SIZE}")
        self.max_pdu_size = max_pdu_size
        self._buffer = bytearray()
        self._broken = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a PDU."""
        return len(self._buffer)

    @property
    def broken(self) -> bool:
        """True once a FramingError was raised: nothing more will be framed."""
        return self._broken

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
        if length < HEADER_SIZE or length > self.max_pdu_size:
            self._broken = True
            sequence = int.from_bytes(buffer[12:16], "big") if len(buffer) >= HEADER_SIZE else 0
            buffer.clear()
            raise FramingError(length, sequence)
        if len(buffer) < length:
            return None
        frame = bytes(buffer[:length])
        del buffer[:length]
        return frame
