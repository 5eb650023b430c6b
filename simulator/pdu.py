"""SMPP 3.4 PDU codec for the commands the simulator handles.

Hand-written and small: a header, the bind body, the short-message body shared by
submit_sm and deliver_sm, message-id responses and TLVs. Decoding raises `PduError`
on anything malformed; encoding trusts its (internal) caller.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = [
    "HEADER",
    "HEADER_SIZE",
    "BindRequest",
    "Cmd",
    "PduError",
    "ShortMessage",
    "Status",
    "Tlv",
    "command_name",
    "decode_bind",
    "decode_message_id",
    "decode_sm",
    "decode_tlvs",
    "encode_bind_resp",
    "encode_pdu",
    "encode_sm",
    "encode_tlvs",
    "status_name",
]

HEADER = struct.Struct(">IIII")
HEADER_SIZE = 16
_TLV = struct.Struct(">HH")


class Cmd:
    """command_id values (SMPP 3.4 §5.1.2.1)."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    CANCEL_SM = 0x00000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103


class Status:
    """command_status values (SMPP 3.4 §5.1.3)."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RMSGQFUL = 0x14
    ESME_RTHROTTLED = 0x58
    ESME_RX_T_APPN = 0x64
    ESME_RUNKNOWNERR = 0xFF


class Tlv:
    """TLV tags used here."""

    RECEIPTED_MESSAGE_ID = 0x001E
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


_COMMAND_NAMES = {v: k.lower() for k, v in vars(Cmd).items() if k.isupper() and isinstance(v, int)}
_STATUS_NAMES = {v: k for k, v in vars(Status).items() if k.startswith("ESME_")}


def command_name(command_id: int) -> str:
    """The SMPP name of a command id, or its hex value when unknown."""
    return _COMMAND_NAMES.get(command_id, f"0x{command_id:08x}")


def status_name(status: int) -> str:
    """The SMPP name of a command status, or its hex value when unknown."""
    return _STATUS_NAMES.get(status, f"0x{status:08x}")


class PduError(ValueError):
    """A PDU body that does not decode (missing NUL, truncated field, bad TLV)."""


@dataclass(slots=True)
class BindRequest:
    """The body of bind_transmitter / bind_receiver / bind_transceiver."""

    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(slots=True)
class ShortMessage:
    """The body shared by submit_sm and deliver_sm (SMPP 3.4 §4.4.1, §4.6.1)."""

    source_addr: str = ""
    destination_addr: str = ""
    short_message: bytes = b""
    data_coding: int = 0
    esm_class: int = 0
    registered_delivery: int = 0
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    replace_if_present_flag: int = 0
    sm_default_msg_id: int = 0
    tlvs: dict[int, bytes] = field(default_factory=dict)


def encode_pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    """A whole PDU: header + body."""
    return HEADER.pack(HEADER_SIZE + len(body), command_id, status, sequence) + body


def _cstr(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.find(b"\0", pos)
    if end < 0:
        raise PduError(f"C-octet string at offset {pos} has no terminating NUL")
    return buf[pos:end].decode("latin-1"), end + 1


def _octet(buf: bytes, pos: int) -> int:
    if pos >= len(buf):
        raise PduError(f"body ends before the integer field at offset {pos}")
    return buf[pos]


def decode_tlvs(buf: bytes, pos: int) -> dict[int, bytes]:
    """TLVs from `pos` to the end of `buf`."""
    tlvs: dict[int, bytes] = {}
    end = len(buf)
    while pos < end:
        if pos + 4 > end:
            raise PduError("truncated TLV header")
        tag, length = _TLV.unpack_from(buf, pos)
        pos += 4
        if pos + length > end:
            raise PduError(f"TLV 0x{tag:04x} runs past the end of the PDU")
        tlvs[tag] = buf[pos : pos + length]
        pos += length
    return tlvs


def encode_tlvs(tlvs: dict[int, bytes]) -> bytes:
    """TLVs in insertion order."""
    return b"".join(_TLV.pack(tag, len(value)) + value for tag, value in tlvs.items())


def decode_bind(body: bytes) -> BindRequest:
    """A bind request body; fields after the password may be missing (lenient)."""
    system_id, pos = _cstr(body, 0)
    password, pos = _cstr(body, pos)
    request = BindRequest(system_id, password)
    if pos < len(body):
        request.system_type, pos = _cstr(body, pos)
    if pos + 3 <= len(body):
        request.interface_version, request.addr_ton, request.addr_npi = body[pos : pos + 3]
        pos += 3
        if pos < len(body):
            request.address_range, pos = _cstr(body, pos)
    return request


def encode_bind_resp(system_id: str, interface_version: int | None) -> bytes:
    """A bind_*_resp body: system_id, then sc_interface_version when the ESME speaks 3.4."""
    body = system_id.encode("latin-1") + b"\0"
    if interface_version is not None:
        body += _TLV.pack(Tlv.SC_INTERFACE_VERSION, 1) + bytes([interface_version])
    return body


def decode_message_id(body: bytes) -> str:
    """The message_id of a submit_sm_resp / deliver_sm_resp; empty body → ''."""
    if not body:
        return ""
    return _cstr(body, 0)[0]


def decode_sm(body: bytes) -> ShortMessage:
    """A submit_sm / deliver_sm body."""
    sm = ShortMessage()
    sm.service_type, pos = _cstr(body, 0)
    sm.source_addr_ton = _octet(body, pos)
    sm.source_addr_npi = _octet(body, pos + 1)
    sm.source_addr, pos = _cstr(body, pos + 2)
    sm.dest_addr_ton = _octet(body, pos)
    sm.dest_addr_npi = _octet(body, pos + 1)
    sm.destination_addr, pos = _cstr(body, pos + 2)
    sm.esm_class = _octet(body, pos)
    sm.protocol_id = _octet(body, pos + 1)
    sm.priority_flag = _octet(body, pos + 2)
    sm.schedule_delivery_time, pos = _cstr(body, pos + 3)
    sm.validity_period, pos = _cstr(body, pos)
    sm.registered_delivery = _octet(body, pos)
    sm.replace_if_present_flag = _octet(body, pos + 1)
    sm.data_coding = _octet(body, pos + 2)
    sm.sm_default_msg_id = _octet(body, pos + 3)
    sm_length = _octet(body, pos + 4)
    pos += 5
    if pos + sm_length > len(body):
        raise PduError(f"sm_length {sm_length} runs past the end of the PDU")
    sm.short_message = body[pos : pos + sm_length]
    sm.tlvs = decode_tlvs(body, pos + sm_length)
    return sm


def encode_sm(sm: ShortMessage) -> bytes:
    """A submit_sm / deliver_sm body (short_message must be ≤ 254 octets)."""
    if len(sm.short_message) > 254:
        raise ValueError("short_message longer than 254 octets")
    return b"".join(
        (
            sm.service_type.encode("latin-1"),
            b"\0",
            bytes((sm.source_addr_ton, sm.source_addr_npi)),
            sm.source_addr.encode("latin-1"),
            b"\0",
            bytes((sm.dest_addr_ton, sm.dest_addr_npi)),
            sm.destination_addr.encode("latin-1"),
            b"\0",
            bytes((sm.esm_class, sm.protocol_id, sm.priority_flag)),
            sm.schedule_delivery_time.encode("latin-1"),
            b"\0",
            sm.validity_period.encode("latin-1"),
            b"\0",
            bytes(
                (
                    sm.registered_delivery,
                    sm.replace_if_present_flag,
                    sm.data_coding,
                    sm.sm_default_msg_id,
                    len(sm.short_message),
                )
            ),
            sm.short_message,
            encode_tlvs(sm.tlvs),
        )
    )
