"""Body decoders of `pdu` (internal): octets after the header → typed body.

Each raises PduError on a malformed body, or IndexError / struct.error when the body ends
inside its fixed fields (which `pdu.decode_body` turns into PduError). The limits of
C-octet strings and the reasons for them are in `pdu`'s docstring.
"""

from __future__ import annotations

import struct
from typing import TypedDict

from .bodies import Bind, BindResp, DataSm, MessageIdResp, Outbind, ShortMessage
from .constants import Tag
from .errors import PduError
from .tlv import decode_tlvs, tlv_int

__all__ = [
    "ADDRESS",
    "BIND_FIELD",
    "SERVICE_TYPE",
    "TIME",
    "read_bind",
    "read_bind_resp",
    "read_data_sm",
    "read_message_id",
    "read_outbind",
    "read_short_message",
]

SERVICE_TYPE, ADDRESS, TIME, BIND_FIELD = 6, 65, 17, 65
"""Longest C-octet strings read, NUL included."""

_THREE = struct.Struct(">BBB")
_FIVE = struct.Struct(">BBBBB")


def _cstring(data: bytes, pos: int, limit: int, name: str) -> tuple[str, int]:
    """The C-octet string at `pos` (NUL within `limit` octets) and the position after it."""
    end = data.find(b"\0", pos, pos + limit)
    if end < 0:
        if pos + limit > len(data):
            raise PduError(f"the body ends inside {name}")
        raise PduError(f"{name} has no NUL within {limit} octets")
    return data[pos:end].decode("latin-1"), end + 1


def read_bind(data: bytes) -> Bind:
    system_id, pos = _cstring(data, 0, BIND_FIELD, "system_id")
    password, pos = _cstring(data, pos, BIND_FIELD, "password")
    if pos >= len(data):
        return Bind(system_id=system_id, password=password)
    system_type, pos = _cstring(data, pos, BIND_FIELD, "system_type")
    if pos + 3 > len(data):
        return Bind(system_id=system_id, password=password, system_type=system_type)
    version, ton, npi = _THREE.unpack_from(data, pos)
    address_range = _cstring(data, pos + 3, BIND_FIELD, "address_range")[0] if pos + 3 < len(data) else ""
    return Bind(
        system_id=system_id,
        password=password,
        system_type=system_type,
        interface_version=version,
        addr_ton=ton,
        addr_npi=npi,
        address_range=address_range,
    )


def read_bind_resp(data: bytes) -> BindResp:
    end = data.find(b"\0")
    if end < 0:
        return BindResp(system_id=data.decode("latin-1"))
    tlvs = decode_tlvs(data, end + 1)
    return BindResp(
        system_id=data[:end].decode("latin-1"), sc_interface_version=tlv_int(tlvs, Tag.SC_INTERFACE_VERSION)
    )


def read_outbind(data: bytes) -> Outbind:
    system_id, pos = _cstring(data, 0, BIND_FIELD, "system_id")
    return Outbind(system_id=system_id, password=_cstring(data, pos, BIND_FIELD, "password")[0])


class _Head(TypedDict):
    """The fields a short message and a data_sm start with."""

    service_type: str
    source_addr_ton: int
    source_addr_npi: int
    source_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str


def _read_head(data: bytes) -> tuple[_Head, int]:
    service_type, pos = _cstring(data, 0, SERVICE_TYPE, "service_type")
    source_ton, source_npi = data[pos], data[pos + 1]
    source_addr, pos = _cstring(data, pos + 2, ADDRESS, "source_addr")
    dest_ton, dest_npi = data[pos], data[pos + 1]
    destination_addr, pos = _cstring(data, pos + 2, ADDRESS, "destination_addr")
    head = _Head(
        service_type=service_type,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        source_addr=source_addr,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        destination_addr=destination_addr,
    )
    return head, pos


def read_short_message(data: bytes) -> ShortMessage:
    head, pos = _read_head(data)
    esm_class, protocol_id, priority_flag = _THREE.unpack_from(data, pos)
    schedule, pos = _cstring(data, pos + 3, TIME, "schedule_delivery_time")
    validity, pos = _cstring(data, pos, TIME, "validity_period")
    registered, replace, data_coding, default_msg_id, sm_length = _FIVE.unpack_from(data, pos)
    pos += 5
    end = pos + sm_length
    if end > len(data):
        raise PduError(f"sm_length {sm_length} runs past the body")
    return ShortMessage(
        **head,
        esm_class=esm_class,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        schedule_delivery_time=schedule,
        validity_period=validity,
        registered_delivery=registered,
        replace_if_present_flag=replace,
        data_coding=data_coding,
        sm_default_msg_id=default_msg_id,
        short_message=data[pos:end],
        tlvs=decode_tlvs(data, end) if end + 4 <= len(data) else (),
    )


def read_data_sm(data: bytes) -> DataSm:
    head, pos = _read_head(data)
    esm_class, registered, data_coding = _THREE.unpack_from(data, pos)
    return DataSm(
        **head,
        esm_class=esm_class,
        registered_delivery=registered,
        data_coding=data_coding,
        tlvs=decode_tlvs(data, pos + 3),
    )


def read_message_id(data: bytes) -> MessageIdResp:
    end = data.find(b"\0")
    if end < 0:
        return MessageIdResp(message_id=data.decode("latin-1"))
    return MessageIdResp(message_id=data[:end].decode("latin-1"), tlvs=decode_tlvs(data, end + 1))
