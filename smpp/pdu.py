"""Encode and decode whole SMPP 3.4 PDUs: `encode(Pdu) -> bytes`, `decode(frame) -> Pdu`.

Decoding is struct-based and cheap (the gateway reads about 10,000 deliver_sm a second):
`bytes.find` for each C-octet string, `struct` for the integers, no regex, no Enum. It
raises `PduError` (a ValueError) on anything malformed and nothing else, whatever the
bytes. Encoding raises ValueError on a body that cannot be written (a field too long, a
NUL or non-Latin-1 character in a string, an integer out of range, a body type that does
not belong to the command_id).

Lengths of C-octet strings read, counted with their NUL (the spec's maximum in brackets):

- service_type 6 (6): strict, a missing NUL would swallow the addresses;
- source_addr, destination_addr 65 (21 in submit_sm/deliver_sm, 65 in data_sm): real
  SMSCs send longer addresses;
- schedule_delivery_time, validity_period 17 (1 or 17): odd lengths (e.g. 13) are read;
- system_id, password, system_type, address_range 65 (16, 9, 13, 41): an SMSC can then
  answer ESME_RINVSYSID / ESME_RINVPASWD rather than a generic_nack;
- a response's message_id: to the first NUL, or the whole body without one (nothing
  after it can be misread).

A bind with its fields after the password missing is read with the defaults of `Bind`.
Responses with an empty body decode to body None; a body on generic_nack, enquire_link,
unbind and their responses is ignored (command_length bounds it). Encoding writes at most
the lengths above, and short_message at most 254 octets (sm_length, SMPP 3.4 §5.2.21).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from ._read import (
    read_bind,
    read_bind_resp,
    read_data_sm,
    read_message_id,
    read_outbind,
    read_short_message,
)
from ._write import MAX_SHORT_MESSAGE, write_body
from .bodies import Bind, BindResp, Body, DataSm, MessageIdResp, Outbind, Pdu, ShortMessage
from .constants import Command
from .errors import PduError
from .framing import HEADER_SIZE

__all__ = ["MAX_SHORT_MESSAGE", "Header", "decode", "decode_body", "decode_header", "encode"]

_HEADER = struct.Struct(">IIII")


@dataclass(frozen=True, slots=True)
class Header:
    """The four fields every PDU starts with."""

    length: int
    command_id: int
    status: int
    sequence: int


def decode_header(frame: bytes) -> Header:
    """The header of `frame` (at least 16 octets); PduError if shorter."""
    if len(frame) < HEADER_SIZE:
        raise PduError(f"a PDU header is 16 octets, got {len(frame)}")
    return Header(*_HEADER.unpack_from(frame))


def decode(frame: bytes) -> Pdu:
    """A whole PDU (as the framer returns it); its PduError carries command_id and sequence."""
    header = decode_header(frame)
    if header.length != len(frame):
        raise PduError(
            f"command_length {header.length} but {len(frame)} octets",
            command_id=header.command_id,
            sequence=header.sequence,
        )
    try:
        body = decode_body(header.command_id, frame[HEADER_SIZE:])
    except PduError as error:
        error.command_id, error.sequence = header.command_id, header.sequence
        raise
    return Pdu(header.command_id, header.status, header.sequence, body)


def decode_body(command_id: int, data: bytes) -> Body:
    """The typed body of a `command_id` PDU from the octets after its header."""
    reader = _READERS.get(command_id)
    if reader is None:
        return None if command_id in _EMPTY else bytes(data)
    if not data and command_id in _OPTIONAL:
        return None
    try:
        return reader(bytes(data))
    except (IndexError, struct.error):
        raise PduError("the body ends inside its mandatory fields") from None


def encode(pdu: Pdu) -> bytes:
    """The wire form of `pdu`; ValueError if its body cannot be written for its command_id."""
    body, command_id = pdu.body, pdu.command_id
    kind = _BODY_TYPES.get(command_id)
    if kind is None:
        if command_id in _EMPTY:
            if body is not None:
                raise ValueError(f"command 0x{command_id:08X} has no body")
            data = b""
        elif isinstance(body, bytes):
            data = body
        else:
            raise ValueError(f"command 0x{command_id:08X} takes its body as raw bytes")
    elif body is None and command_id in _OPTIONAL:
        data = b""
    elif isinstance(body, kind):
        data = write_body(body)
    else:
        raise ValueError(f"command 0x{command_id:08X} takes a {kind.__name__} body, not {type(body).__name__}")
    try:
        return _HEADER.pack(HEADER_SIZE + len(data), command_id, pdu.status, pdu.sequence) + data
    except struct.error as error:
        raise ValueError(f"a header field is out of range: {error}") from None


_BINDS = (Command.BIND_TRANSMITTER, Command.BIND_RECEIVER, Command.BIND_TRANSCEIVER)
_BIND_RESPS = (Command.BIND_TRANSMITTER_RESP, Command.BIND_RECEIVER_RESP, Command.BIND_TRANSCEIVER_RESP)
_ID_RESPS = (Command.SUBMIT_SM_RESP, Command.DELIVER_SM_RESP, Command.DATA_SM_RESP)
_EMPTY = frozenset(
    {Command.GENERIC_NACK, Command.ENQUIRE_LINK, Command.ENQUIRE_LINK_RESP, Command.UNBIND, Command.UNBIND_RESP}
)
_OPTIONAL = frozenset(_BIND_RESPS + _ID_RESPS)  # an empty body is body None

_BODY_TYPES: dict[int, type[Bind | BindResp | Outbind | ShortMessage | DataSm | MessageIdResp]] = {
    **dict.fromkeys(_BINDS, Bind),
    **dict.fromkeys(_BIND_RESPS, BindResp),
    **dict.fromkeys(_ID_RESPS, MessageIdResp),
    Command.OUTBIND: Outbind,
    Command.SUBMIT_SM: ShortMessage,
    Command.DELIVER_SM: ShortMessage,
    Command.DATA_SM: DataSm,
}
_READERS: dict[int, Callable[[bytes], Body]] = {
    **dict.fromkeys(_BINDS, read_bind),
    **dict.fromkeys(_BIND_RESPS, read_bind_resp),
    **dict.fromkeys(_ID_RESPS, read_message_id),
    Command.OUTBIND: read_outbind,
    Command.SUBMIT_SM: read_short_message,
    Command.DELIVER_SM: read_short_message,
    Command.DATA_SM: read_data_sm,
}
