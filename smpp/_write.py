"""Body encoders of `pdu` (internal): typed body → octets after the header.

Each raises ValueError on a field that cannot be written: a string with a NUL, a
non-Latin-1 character or more octets than `_read` accepts, an integer outside one octet,
a short_message over 254 octets.
"""

from __future__ import annotations

from ._read import ADDRESS, BIND_FIELD, SERVICE_TYPE, TIME
from .bodies import Bind, BindResp, DataSm, Message, MessageIdResp, Outbind, ShortMessage
from .constants import Tag
from .tlv import encode_tlvs

__all__ = ["MAX_SHORT_MESSAGE", "write_body"]

MAX_SHORT_MESSAGE = 254


def write_body(body: Bind | BindResp | Outbind | ShortMessage | DataSm | MessageIdResp) -> bytes:
    """The octets of a typed body."""
    if isinstance(body, ShortMessage):
        return _short_message(body)
    if isinstance(body, MessageIdResp):
        return _message_id(body)
    if isinstance(body, Bind):
        return _bind(body)
    if isinstance(body, BindResp):
        return _bind_resp(body)
    if isinstance(body, DataSm):
        return _data_sm(body)
    return _outbind(body)


def _c(text: str, limit: int, name: str) -> bytes:
    raw = text.encode("latin-1")  # UnicodeEncodeError is a ValueError
    if b"\0" in raw or len(raw) >= limit:
        raise ValueError(f"{name} {text!r} is not a C-octet string of at most {limit} octets with its NUL")
    return raw + b"\0"


def _bind(body: Bind) -> bytes:
    return b"".join(
        (
            _c(body.system_id, BIND_FIELD, "system_id"),
            _c(body.password, BIND_FIELD, "password"),
            _c(body.system_type, BIND_FIELD, "system_type"),
            bytes((body.interface_version, body.addr_ton, body.addr_npi)),
            _c(body.address_range, BIND_FIELD, "address_range"),
        )
    )


def _bind_resp(body: BindResp) -> bytes:
    data = _c(body.system_id, BIND_FIELD, "system_id")
    if body.sc_interface_version is None:
        return data
    return data + encode_tlvs(((Tag.SC_INTERFACE_VERSION, bytes((body.sc_interface_version,))),))


def _outbind(body: Outbind) -> bytes:
    return _c(body.system_id, BIND_FIELD, "system_id") + _c(body.password, BIND_FIELD, "password")


def _head(message: Message) -> bytes:
    return b"".join(
        (
            _c(message.service_type, SERVICE_TYPE, "service_type"),
            bytes((message.source_addr_ton, message.source_addr_npi)),
            _c(message.source_addr, ADDRESS, "source_addr"),
            bytes((message.dest_addr_ton, message.dest_addr_npi)),
            _c(message.destination_addr, ADDRESS, "destination_addr"),
        )
    )


def _short_message(sm: ShortMessage) -> bytes:
    if len(sm.short_message) > MAX_SHORT_MESSAGE:
        raise ValueError(f"short_message of {len(sm.short_message)} octets, at most {MAX_SHORT_MESSAGE}")
    return b"".join(
        (
            _head(sm),
            bytes((sm.esm_class, sm.protocol_id, sm.priority_flag)),
            _c(sm.schedule_delivery_time, TIME, "schedule_delivery_time"),
            _c(sm.validity_period, TIME, "validity_period"),
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


def _data_sm(sm: DataSm) -> bytes:
    return _head(sm) + bytes((sm.esm_class, sm.registered_delivery, sm.data_coding)) + encode_tlvs(sm.tlvs)


def _message_id(body: MessageIdResp) -> bytes:
    raw = body.message_id.encode("latin-1")
    if b"\0" in raw:
        raise ValueError("message_id must not contain NUL")
    return raw + b"\0" + encode_tlvs(body.tlvs)
