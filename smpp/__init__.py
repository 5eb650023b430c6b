"""smpp: one SMPP 3.4 codec and the SMSC session rules, sans-IO (cf. h11).

No sockets, no asyncio, no clock, stdlib only, and nothing of ours imported: the gateway
(`smsgw`) and the simulator (`simulator`) both build on it. Modules, one concern each:

- `constants` — command ids, command statuses, TLV tags, TON/NPI, esm_class, data_coding;
- `errors` — PduError (FramingError), UndecodableText, UnencodableText, TextTooLong;
- `framing` — `Framer`: bytes in, whole PDUs out;
- `bodies`, `pdu`, `tlv` — typed PDU bodies, `encode` / `decode`, TLVs in order;
- `gsm7`, `coding` — GSM 03.38 and the text of every data_coding;
- `concat`, `split`, `reassembly` — concatenated messages in and out;
- `receipts` — delivery receipts both ways, message id variants;
- `address` — TON/NPI for an address;
- `states`, `smsc_config`, `smsc_events`, `smsc_session` — the SMSC side of a session.

Each module's docstring gives its decisions and their sources in the specifications.
"""

from __future__ import annotations

from .address import addressed, plain_address, ton_npi
from .bodies import Bind, BindResp, Body, DataSm, Message, MessageIdResp, Outbind, Pdu, ShortMessage
from .coding import choose_coding, codec_for, decode_text, encode_text
from .concat import Concat, strip_udh, user_data
from .constants import (
    RESPONSE_BIT,
    Command,
    DataCoding,
    EsmClass,
    Npi,
    Status,
    Tag,
    Ton,
    command_name,
    status_name,
    tag_name,
)
from .errors import FramingError, PduError, TextTooLong, UndecodableText, UnencodableText
from .framing import HEADER_SIZE, Framer
from .gsm7 import decode_gsm7, encode_gsm7, is_gsm, septet_count
from .pdu import MAX_SHORT_MESSAGE, Header, decode, decode_body, decode_header, encode
from .reassembly import Reassembler
from .receipts import (
    MESSAGE_STATES,
    Receipt,
    is_receipt,
    message_id_variants,
    parse_receipt,
    receipt_text,
    receipt_tlvs,
)
from .smsc_config import Authenticator, PduObserver, SmscConfig
from .smsc_events import (
    DeliverAnswered,
    DeliverTimedOut,
    EsmeBound,
    SessionClosed,
    SmscEvent,
    SubmitReceived,
    UnbindComplete,
)
from .smsc_session import SmscSession
from .split import MAX_PARTS, SPLIT_METHODS, Part, split_text
from .states import BOUND, CAN_RECEIVE, CAN_SUBMIT, State
from .tlv import Tlvs, decode_tlvs, encode_tlvs, find_tlv, tlv_int, tlv_text

__all__ = [
    "BOUND",
    "CAN_RECEIVE",
    "CAN_SUBMIT",
    "HEADER_SIZE",
    "MAX_PARTS",
    "MAX_SHORT_MESSAGE",
    "MESSAGE_STATES",
    "RESPONSE_BIT",
    "SPLIT_METHODS",
    "Authenticator",
    "Bind",
    "BindResp",
    "Body",
    "Command",
    "Concat",
    "DataCoding",
    "DataSm",
    "DeliverAnswered",
    "DeliverTimedOut",
    "EsmClass",
    "EsmeBound",
    "Framer",
    "FramingError",
    "Header",
    "Message",
    "MessageIdResp",
    "Npi",
    "Outbind",
    "Part",
    "Pdu",
    "PduError",
    "PduObserver",
    "Reassembler",
    "Receipt",
    "SessionClosed",
    "ShortMessage",
    "SmscConfig",
    "SmscEvent",
    "SmscSession",
    "State",
    "Status",
    "SubmitReceived",
    "Tag",
    "TextTooLong",
    "Tlvs",
    "Ton",
    "UnbindComplete",
    "UndecodableText",
    "UnencodableText",
    "addressed",
    "choose_coding",
    "codec_for",
    "command_name",
    "decode",
    "decode_body",
    "decode_gsm7",
    "decode_header",
    "decode_text",
    "decode_tlvs",
    "encode",
    "encode_gsm7",
    "encode_text",
    "encode_tlvs",
    "find_tlv",
    "is_gsm",
    "is_receipt",
    "message_id_variants",
    "parse_receipt",
    "plain_address",
    "receipt_text",
    "receipt_tlvs",
    "septet_count",
    "split_text",
    "status_name",
    "strip_udh",
    "tag_name",
    "tlv_int",
    "tlv_text",
    "ton_npi",
    "user_data",
]
