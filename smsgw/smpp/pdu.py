"""SMPP 3.4 PDUs the gateway handles itself: decode deliver_sm, encode submit_sm and the small ones.

Pure functions and frozen dataclasses, no I/O.  Framing is the caller's: it
reads the 16-octet header (:func:`parse_header`), then ``length - 16`` octets
of body.  Decoding never raises on bad input except :class:`PduError` from
:func:`decode_deliver_sm` on a body that cannot be a deliver_sm; every
property of a decoded :class:`DeliverSm` is safe on any input.  The text
layer (:mod:`smsgw.sms`) does the alphabets, UDH and concatenation.

Receipts live in :mod:`smsgw.smpp.receipts` and are re-exported here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from smsgw.smpp.receipts import RECEIPT_STATES as RECEIPT_STATES
from smsgw.smpp.receipts import TLV_MESSAGE_STATE as TLV_MESSAGE_STATE
from smsgw.smpp.receipts import TLV_NETWORK_ERROR_CODE as TLV_NETWORK_ERROR_CODE
from smsgw.smpp.receipts import TLV_RECEIPTED_MESSAGE_ID as TLV_RECEIPTED_MESSAGE_ID
from smsgw.smpp.receipts import Receipt as Receipt
from smsgw.smpp.receipts import message_id_variants as message_id_variants
from smsgw.smpp.receipts import parse_receipt as parse_receipt
from smsgw.sms import Concat, Part, concat_from_sar, decode_short_message, split_udh

# ---- command ids (SMPP 3.4 5.1.2.1) ------------------------------------------

RESP_BIT: Final = 0x80000000
"""A response's command_id is its request's with this bit set."""
GENERIC_NACK: Final = 0x80000000
BIND_RECEIVER: Final = 0x00000001
BIND_RECEIVER_RESP: Final = 0x80000001
BIND_TRANSMITTER: Final = 0x00000002
BIND_TRANSMITTER_RESP: Final = 0x80000002
SUBMIT_SM: Final = 0x00000004
SUBMIT_SM_RESP: Final = 0x80000004
DELIVER_SM: Final = 0x00000005
DELIVER_SM_RESP: Final = 0x80000005
UNBIND: Final = 0x00000006
UNBIND_RESP: Final = 0x80000006
BIND_TRANSCEIVER: Final = 0x00000009
BIND_TRANSCEIVER_RESP: Final = 0x80000009
OUTBIND: Final = 0x0000000B
ENQUIRE_LINK: Final = 0x00000015
ENQUIRE_LINK_RESP: Final = 0x80000015
DATA_SM: Final = 0x00000103
DATA_SM_RESP: Final = 0x80000103

# ---- command_status (SMPP 3.4 5.1.3): the ones we use -----------------------

ESME_ROK: Final = 0x00
ESME_RINVMSGLEN: Final = 0x01
ESME_RINVCMDLEN: Final = 0x02
ESME_RINVCMDID: Final = 0x03
ESME_RINVBNDSTS: Final = 0x04
ESME_RALYBND: Final = 0x05
ESME_RSYSERR: Final = 0x08
ESME_RINVSRCADR: Final = 0x0A
ESME_RINVDSTADR: Final = 0x0B
ESME_RBINDFAIL: Final = 0x0D
ESME_RINVPASWD: Final = 0x0E
ESME_RINVSYSID: Final = 0x0F
ESME_RMSGQFUL: Final = 0x14
ESME_RTHROTTLED: Final = 0x58
ESME_RX_T_APPN: Final = 0x64
"""Temporary application error: the SMSC should retry."""
ESME_RX_P_APPN: Final = 0x65
"""Permanent application error: the SMSC should not retry."""

# Every standard status, for status_name.
# fmt: off
_STATUS_NAMES: Final[dict[int, str]] = {
    0x00: "ESME_ROK", 0x01: "ESME_RINVMSGLEN", 0x02: "ESME_RINVCMDLEN", 0x03: "ESME_RINVCMDID",
    0x04: "ESME_RINVBNDSTS", 0x05: "ESME_RALYBND", 0x06: "ESME_RINVPRTFLG", 0x07: "ESME_RINVREGDLVFLG",
    0x08: "ESME_RSYSERR", 0x0A: "ESME_RINVSRCADR", 0x0B: "ESME_RINVDSTADR", 0x0C: "ESME_RINVMSGID",
    0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID", 0x11: "ESME_RCANCELFAIL",
    0x13: "ESME_RREPLACEFAIL", 0x14: "ESME_RMSGQFUL", 0x15: "ESME_RINVSERTYP", 0x33: "ESME_RINVNUMDESTS",
    0x34: "ESME_RINVDLNAME", 0x40: "ESME_RINVDESTFLAG", 0x42: "ESME_RINVSUBREP", 0x43: "ESME_RINVESMCLASS",
    0x44: "ESME_RCNTSUBDL", 0x45: "ESME_RSUBMITFAIL", 0x48: "ESME_RINVSRCTON", 0x49: "ESME_RINVSRCNPI",
    0x50: "ESME_RINVDSTTON", 0x51: "ESME_RINVDSTNPI", 0x53: "ESME_RINVSYSTYP", 0x54: "ESME_RINVREPFLAG",
    0x55: "ESME_RINVNUMMSGS", 0x58: "ESME_RTHROTTLED", 0x61: "ESME_RINVSCHED", 0x62: "ESME_RINVEXPIRY",
    0x63: "ESME_RINVDFTMSGID", 0x64: "ESME_RX_T_APPN", 0x65: "ESME_RX_P_APPN", 0x66: "ESME_RX_R_APPN",
    0x67: "ESME_RQUERYFAIL", 0xC0: "ESME_RINVOPTPARSTREAM", 0xC1: "ESME_ROPTPARNOTALLWD",
    0xC2: "ESME_RINVPARLEN", 0xC3: "ESME_RMISSINGOPTPARAM", 0xC4: "ESME_RINVOPTPARAMVAL",
    0xFE: "ESME_RDELIVERYFAILURE", 0xFF: "ESME_RUNKNOWNERR",
}
# fmt: on


def status_name(code: int) -> str:
    """``"ESME_RTHROTTLED"`` for a standard status, ``"0x00000401"`` for any other (vendor) one."""
    return _STATUS_NAMES.get(code) or f"0x{code & 0xFFFFFFFF:08X}"


# ---- TLV tags (SMPP 3.4 5.3.2) ----------------------------------------------

TLV_SAR_MSG_REF_NUM: Final = 0x020C
TLV_SAR_TOTAL_SEGMENTS: Final = 0x020E
TLV_SAR_SEGMENT_SEQNUM: Final = 0x020F
TLV_MESSAGE_PAYLOAD: Final = 0x0424
# TLV_RECEIPTED_MESSAGE_ID 0x001E, TLV_NETWORK_ERROR_CODE 0x0423, TLV_MESSAGE_STATE 0x0427: from receipts.

# ---- header -----------------------------------------------------------------

HEADER_LENGTH: Final = 16
Bytes: TypeAlias = bytes | bytearray | memoryview
"""What the decoders accept: a framing buffer's slice need not be copied to bytes first."""
_HEADER: Final = struct.Struct(">IIII")
_TWO: Final = struct.Struct(">BB")
_THREE: Final = struct.Struct(">BBB")
_FIVE: Final = struct.Struct(">BBBBB")
_TLV_HEAD: Final = struct.Struct(">HH")


class PduError(ValueError):
    """A PDU body that cannot be decoded; the message says where it went wrong."""


@dataclass(frozen=True, slots=True)
class Header:
    """The four fields every PDU starts with."""

    length: int
    command_id: int
    status: int
    sequence: int


def parse_header(data: Bytes) -> Header:
    """Parse exactly 16 octets; any command_id and status (vendor ones too).  ValueError if not 16 octets."""
    if len(data) != HEADER_LENGTH:
        raise ValueError(f"an SMPP header is 16 octets, got {len(data)}")
    length, command_id, status, sequence = _HEADER.unpack(data)
    return Header(length, command_id, status, sequence)


# ---- deliver_sm -------------------------------------------------------------

_ESM_MESSAGE_TYPE: Final = 0x3C  # esm_class bits 5-2: 0 for a subscriber MO
# Maximum C-string lengths with their NUL.  SMPP 3.4 says 21 for addresses and
# 1 or 17 for times; real SMSCs send longer addresses and odd time lengths.
_MAX_SERVICE_TYPE: Final = 6
_MAX_ADDR: Final = 65
_MAX_TIME: Final = 17


@dataclass(frozen=True, slots=True)
class DeliverSm:
    """A decoded deliver_sm: a subscriber MO or a receipt (:attr:`is_receipt`)."""

    sequence: int
    service_type: str
    source_addr_ton: int
    source_addr_npi: int
    source_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    esm_class: int
    protocol_id: int
    priority_flag: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    tlvs: dict[int, bytes] = field(default_factory=dict, hash=False)  # tag -> value; the last of a repeated tag

    @property
    def is_receipt(self) -> bool:
        """True for anything but a subscriber MO: SMSC delivery receipt, intermediate notification, SME acks."""
        return bool(self.esm_class & _ESM_MESSAGE_TYPE)

    @property
    def payload(self) -> bytes:
        """The message octets (UDH included): a non-empty message_payload TLV, else short_message."""
        return self.tlvs.get(TLV_MESSAGE_PAYLOAD) or self.short_message

    @property
    def concat(self) -> Concat | None:
        """Where this part belongs: the UDH's concatenation IE (with UDHI), else the SAR TLVs, else None."""
        found, _ = split_udh(self.payload, self.esm_class)
        if found is not None:
            return found
        tlvs = self.tlvs
        return concat_from_sar(
            _uint(tlvs.get(TLV_SAR_MSG_REF_NUM)),
            _uint(tlvs.get(TLV_SAR_TOTAL_SEGMENTS)),
            _uint(tlvs.get(TLV_SAR_SEGMENT_SEQNUM)),
        )

    @property
    def text(self) -> str:
        """The payload's text after any UDH, decoded per data_coding.  Never raises."""
        return decode_short_message(self.payload, self.data_coding, self.esm_class)[1]

    def tlv_text(self, tag: int) -> str | None:
        """A C-octet-string TLV as text (Latin-1, up to its NUL), or None if absent."""
        value = self.tlvs.get(tag)
        if value is None:
            return None
        return value.partition(b"\0")[0].decode("latin-1")


def _uint(value: bytes | None) -> int | None:
    if not value or len(value) > 4:
        return None
    return int.from_bytes(value, "big")


def decode_deliver_sm(header: Header, body: Bytes) -> DeliverSm:
    """Decode a deliver_sm body (the octets after the header), fields in SMPP 3.4 4.6.1 order.

    Raises :class:`PduError` (a ValueError) when a C-string has no NUL within
    its maximum length, the body ends inside the mandatory fields, sm_length
    runs past the body, or a TLV's length runs past the body.  One to three
    stray octets after the last TLV are ignored.  ``header.length`` is not
    checked against ``body``: framing is the caller's.
    """
    data = bytes(body)
    try:
        service_type, pos = _cstring(data, 0, _MAX_SERVICE_TYPE, "service_type")
        source_ton, source_npi = _TWO.unpack_from(data, pos)
        source_addr, pos = _cstring(data, pos + 2, _MAX_ADDR, "source_addr")
        dest_ton, dest_npi = _TWO.unpack_from(data, pos)
        destination_addr, pos = _cstring(data, pos + 2, _MAX_ADDR, "destination_addr")
        esm_class, protocol_id, priority_flag = _THREE.unpack_from(data, pos)
        _, pos = _cstring(data, pos + 3, _MAX_TIME, "schedule_delivery_time")
        _, pos = _cstring(data, pos, _MAX_TIME, "validity_period")
        registered_delivery, _, data_coding, _, sm_length = _FIVE.unpack_from(data, pos)
    except struct.error:
        raise PduError("body ends inside the mandatory fields") from None
    pos += _FIVE.size
    end = pos + sm_length
    if end > len(data):
        raise PduError(f"sm_length {sm_length} runs past the body")
    return DeliverSm(
        sequence=header.sequence,
        service_type=service_type,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        source_addr=source_addr,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        destination_addr=destination_addr,
        esm_class=esm_class,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        data_coding=data_coding,
        registered_delivery=registered_delivery,
        short_message=data[pos:end],
        tlvs=_tlvs(data, end) if end < len(data) else {},
    )


def _cstring(data: bytes, pos: int, limit: int, name: str) -> tuple[str, int]:
    """The C-octet string at ``pos`` (at most ``limit`` octets with its NUL) and the position after it."""
    end = data.find(b"\0", pos, pos + limit)
    if end < 0:
        if pos + limit > len(data):
            raise PduError(f"body ends inside {name}")
        raise PduError(f"{name} has no NUL within {limit} octets")
    return data[pos:end].decode("latin-1"), end + 1


def _tlvs(data: bytes, pos: int) -> dict[int, bytes]:
    tlvs: dict[int, bytes] = {}
    size = len(data)
    while pos + 4 <= size:
        tag, length = _TLV_HEAD.unpack_from(data, pos)
        pos += 4
        end = pos + length
        if end > size:
            raise PduError(f"TLV 0x{tag:04X} length {length} runs past the body")
        tlvs[tag] = data[pos:end]
        pos = end
    return tlvs


# ---- submit_sm_resp ---------------------------------------------------------


def decode_submit_sm_resp(header: Header, body: Bytes) -> str:
    """The message_id of a submit_sm_resp: up to the first NUL, or the whole body if it has none.

    An empty body (usual with an error status) gives ``""``.  Never raises.
    """
    return bytes(body).partition(b"\0")[0].decode("latin-1")


# ---- encoders ---------------------------------------------------------------

TON_UNKNOWN: Final = 0
TON_INTERNATIONAL: Final = 1
TON_NETWORK_SPECIFIC: Final = 3
TON_ALPHANUMERIC: Final = 5
NPI_UNKNOWN: Final = 0
NPI_ISDN: Final = 1
MAX_SHORT_MESSAGE: Final = 254
_MAX_ADDR_OUT: Final = 20  # octets, SMPP 3.4 without the NUL
_MAX_SHORT_CODE: Final = 8
_MAX_SEQUENCE: Final = 0x7FFFFFFF


def _pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return _HEADER.pack(HEADER_LENGTH + len(body), command_id, status, sequence) + body


def _request_sequence(sequence: int) -> int:
    if not 1 <= sequence <= _MAX_SEQUENCE:
        raise ValueError(f"a request's sequence number is 1..0x7FFFFFFF, got {sequence}")
    return sequence


def _u32(value: int, name: str) -> int:
    """Responses echo whatever sequence the peer sent, so any 32-bit value goes."""
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{name} must fit 32 bits, got {value}")
    return value


def _address(addr: str, name: str) -> bytes:
    """The address as ASCII without a leading "+" before digits; ValueError if it cannot be sent."""
    raw = _plain(addr).encode("ascii")  # UnicodeEncodeError is a ValueError
    if len(raw) > _MAX_ADDR_OUT or b"\0" in raw:
        raise ValueError(f"{name} {addr!r} is not a valid SMPP address")
    return raw


def _plain(addr: str) -> str:
    digits = addr[1:]
    return digits if addr[:1] == "+" and digits.isascii() and digits.isdigit() else addr


def source_ton_npi(source_addr: str) -> tuple[int, int]:
    """TON/NPI for a source: short code (<= 8 digits) 3/0, longer digits 1/1, alphanumeric 5/0, empty 0/0.

    A leading "+" before digits is ignored, as :func:`submit_sm` drops it.
    """
    addr = _plain(source_addr)
    if not addr:
        return TON_UNKNOWN, NPI_UNKNOWN
    if addr.isascii() and addr.isdigit():
        if len(addr) <= _MAX_SHORT_CODE:
            return TON_NETWORK_SPECIFIC, NPI_UNKNOWN
        return TON_INTERNATIONAL, NPI_ISDN
    return TON_ALPHANUMERIC, NPI_UNKNOWN


def submit_sm(
    sequence: int,
    *,
    source_addr: str,
    destination_addr: str,
    part: Part,
    registered_delivery: bool,
    source_ton: int | None = None,
    source_npi: int | None = None,
    dest_ton: int = TON_INTERNATIONAL,
    dest_npi: int = NPI_ISDN,
    validity_period: str = "",
) -> bytes:
    """A complete submit_sm PDU for one :class:`~smsgw.sms.Part`.

    Source TON/NPI default to :func:`source_ton_npi`; a leading "+" before
    digits is dropped from either address.  service_type, schedule_delivery_time
    are empty (SMSC defaults); protocol_id, priority_flag, replace_if_present
    and sm_default_msg_id are 0; registered_delivery is 1 (receipt on final
    outcome) or 0.  ``validity_period`` is "" or a 16-character SMPP time.
    Raises ValueError on a short_message over 254 octets, a bad address,
    validity period, sequence number or out-of-range octet.
    """
    src = _address(source_addr, "source_addr")
    dst = _address(destination_addr, "destination_addr")
    auto_ton, auto_npi = source_ton_npi(source_addr)
    short_message = part.short_message
    if len(short_message) > MAX_SHORT_MESSAGE:
        raise ValueError(f"short_message is {len(short_message)} octets, at most {MAX_SHORT_MESSAGE}")
    vp = validity_period.encode("ascii")
    if len(vp) not in (0, 16):
        raise ValueError(f"validity_period must be empty or 16 characters, got {validity_period!r}")
    body = b"".join(
        (
            b"\0",  # service_type
            bytes((auto_ton if source_ton is None else source_ton, auto_npi if source_npi is None else source_npi)),
            src + b"\0",
            bytes((dest_ton, dest_npi)),
            dst + b"\0",
            bytes((part.esm_class, 0, 0)),  # esm_class, protocol_id, priority_flag
            b"\0",  # schedule_delivery_time: immediate
            vp + b"\0",
            # registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id, sm_length
            bytes((1 if registered_delivery else 0, 0, part.data_coding, 0, len(short_message))),
            short_message,
        )
    )
    return _pdu(SUBMIT_SM, ESME_ROK, _request_sequence(sequence), body)


def deliver_sm_resp(sequence: int, status: int = ESME_ROK) -> bytes:
    """deliver_sm_resp; its message_id is unused, so the body is one NUL."""
    return _pdu(DELIVER_SM_RESP, _u32(status, "status"), _u32(sequence, "sequence"), b"\0")


def generic_nack(sequence: int, status: int) -> bytes:
    """generic_nack (header only), e.g. ESME_RINVCMDID for an unknown command_id."""
    return _pdu(GENERIC_NACK, _u32(status, "status"), _u32(sequence, "sequence"))


def enquire_link(sequence: int) -> bytes:
    return _pdu(ENQUIRE_LINK, ESME_ROK, _request_sequence(sequence))


def enquire_link_resp(sequence: int) -> bytes:
    return _pdu(ENQUIRE_LINK_RESP, ESME_ROK, _u32(sequence, "sequence"))


def unbind(sequence: int) -> bytes:
    return _pdu(UNBIND, ESME_ROK, _request_sequence(sequence))


def unbind_resp(sequence: int) -> bytes:
    return _pdu(UNBIND_RESP, ESME_ROK, _u32(sequence, "sequence"))
