"""What a PDU carries, as frozen dataclasses: the header fields and one typed body.

Field names and order follow the tables of SMPP 3.4 §4 (bind §4.1, outbind §4.1.7,
submit_sm §4.4.1, deliver_sm §4.6.1, data_sm §4.7.1, the *_resp bodies). Bodies are
keyword-only: `ShortMessage(source_addr="37120000001", destination_addr="1643", ...)`.
Strings are C-octet strings on the wire, read and written as Latin-1 (every octet
maps to one character and back); integers are one octet unless said otherwise.

Which body goes with which command_id (`pdu.encode` checks it):

- bind_transmitter, bind_receiver, bind_transceiver: `Bind`;
- their responses: `BindResp`, or None (no body, usual with an error status);
- outbind: `Outbind`;
- submit_sm, deliver_sm: `ShortMessage`; data_sm: `DataSm`;
- submit_sm_resp, deliver_sm_resp, data_sm_resp: `MessageIdResp`, or None (no body);
- generic_nack, enquire_link(_resp), unbind(_resp): None;
- anything else (query_sm, replace_sm, cancel_sm, submit_multi, alert_notification,
  unknown ids): the raw body `bytes`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .tlv import Tlvs

__all__ = ["Bind", "BindResp", "Body", "DataSm", "Message", "MessageIdResp", "Outbind", "Pdu", "ShortMessage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind:
    """bind_transmitter / bind_receiver / bind_transceiver (SMPP 3.4 §4.1.1, §4.1.3, §4.1.5)."""

    system_id: str
    password: str = ""
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResp:
    """A bind_*_resp: the SMSC's system_id and, when it speaks 3.4, the sc_interface_version TLV."""

    system_id: str
    sc_interface_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbind:
    """outbind (SMPP 3.4 §4.1.7)."""

    system_id: str
    password: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """What submit_sm, deliver_sm and data_sm have in common: service type, addresses,
    esm_class, registered_delivery, data_coding and TLVs."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: Tlvs = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessage(Message):
    """The body shared by submit_sm (§4.4.1) and deliver_sm (§4.6.1): a `Message` and the
    fields below. short_message holds at most 254 octets; longer content goes in the
    message_payload TLV."""

    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    replace_if_present_flag: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(Message):
    """data_sm (§4.7.1): a `Message` whose content travels only in TLVs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageIdResp:
    """submit_sm_resp / deliver_sm_resp / data_sm_resp: a message_id (deliver_sm_resp's is
    unused and empty) and, for data_sm_resp, TLVs."""

    message_id: str = ""
    tlvs: Tlvs = ()


Body = Bind | BindResp | Outbind | ShortMessage | DataSm | MessageIdResp | bytes | None
"""One PDU's body: see the table in this module's docstring."""


@dataclass(frozen=True, slots=True)
class Pdu:
    """A whole PDU: the header's command_id, command_status and sequence_number, and a body."""

    command_id: int
    status: int
    sequence: int
    body: Body = None
