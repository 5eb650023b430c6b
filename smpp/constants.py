"""SMPP 3.4 numbers with names: command ids, command statuses, TLV tags, TON/NPI, esm_class bits.

Plain int constants in namespace classes (no Enum is built per PDU): `Command.SUBMIT_SM`,
`Status.ESME_RTHROTTLED`, `Tag.MESSAGE_PAYLOAD`. Sources: SMPP 3.4 §5.1.2.1 (command_id),
§5.1.3 (command_status, every value the table defines), §5.3.2 (TLV tags), §5.2.5/§5.2.6
(TON, NPI), §5.2.12 (esm_class), §5.2.19 (data_coding).

`command_name` and `status_name` never raise: a value the tables do not name is written
as eight hex digits (`0x00000401` for a vendor status in 0x400–0x4FF, which SMPP 3.4
reserves for SMSC vendors — a valid status, not an error).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "RESPONSE_BIT",
    "Command",
    "DataCoding",
    "EsmClass",
    "Npi",
    "Status",
    "Tag",
    "Ton",
    "command_name",
    "status_name",
    "tag_name",
]

RESPONSE_BIT: Final = 0x80000000
"""A response's command_id is its request's with this bit set (generic_nack is 0x80000000)."""


class Command:
    """command_id values (SMPP 3.4 §5.1.2.1)."""

    GENERIC_NACK: Final = 0x80000000
    BIND_RECEIVER: Final = 0x00000001
    BIND_RECEIVER_RESP: Final = 0x80000001
    BIND_TRANSMITTER: Final = 0x00000002
    BIND_TRANSMITTER_RESP: Final = 0x80000002
    QUERY_SM: Final = 0x00000003
    QUERY_SM_RESP: Final = 0x80000003
    SUBMIT_SM: Final = 0x00000004
    SUBMIT_SM_RESP: Final = 0x80000004
    DELIVER_SM: Final = 0x00000005
    DELIVER_SM_RESP: Final = 0x80000005
    UNBIND: Final = 0x00000006
    UNBIND_RESP: Final = 0x80000006
    REPLACE_SM: Final = 0x00000007
    REPLACE_SM_RESP: Final = 0x80000007
    CANCEL_SM: Final = 0x00000008
    CANCEL_SM_RESP: Final = 0x80000008
    BIND_TRANSCEIVER: Final = 0x00000009
    BIND_TRANSCEIVER_RESP: Final = 0x80000009
    OUTBIND: Final = 0x0000000B
    ENQUIRE_LINK: Final = 0x00000015
    ENQUIRE_LINK_RESP: Final = 0x80000015
    SUBMIT_MULTI: Final = 0x00000021
    SUBMIT_MULTI_RESP: Final = 0x80000021
    ALERT_NOTIFICATION: Final = 0x00000102
    DATA_SM: Final = 0x00000103
    DATA_SM_RESP: Final = 0x80000103


class Status:
    """command_status values: every one SMPP 3.4 §5.1.3 defines."""

    ESME_ROK: Final = 0x00000000
    ESME_RINVMSGLEN: Final = 0x00000001
    ESME_RINVCMDLEN: Final = 0x00000002
    ESME_RINVCMDID: Final = 0x00000003
    ESME_RINVBNDSTS: Final = 0x00000004
    ESME_RALYBND: Final = 0x00000005
    ESME_RINVPRTFLG: Final = 0x00000006
    ESME_RINVREGDLVFLG: Final = 0x00000007
    ESME_RSYSERR: Final = 0x00000008
    ESME_RINVSRCADR: Final = 0x0000000A
    ESME_RINVDSTADR: Final = 0x0000000B
    ESME_RINVMSGID: Final = 0x0000000C
    ESME_RBINDFAIL: Final = 0x0000000D
    ESME_RINVPASWD: Final = 0x0000000E
    ESME_RINVSYSID: Final = 0x0000000F
    ESME_RCANCELFAIL: Final = 0x00000011
    ESME_RREPLACEFAIL: Final = 0x00000013
    ESME_RMSGQFUL: Final = 0x00000014
    ESME_RINVSERTYP: Final = 0x00000015
    ESME_RINVNUMDESTS: Final = 0x00000033
    ESME_RINVDLNAME: Final = 0x00000034
    ESME_RINVDESTFLAG: Final = 0x00000040
    ESME_RINVSUBREP: Final = 0x00000042
    ESME_RINVESMCLASS: Final = 0x00000043
    ESME_RCNTSUBDL: Final = 0x00000044
    ESME_RSUBMITFAIL: Final = 0x00000045
    ESME_RINVSRCTON: Final = 0x00000048
    ESME_RINVSRCNPI: Final = 0x00000049
    ESME_RINVDSTTON: Final = 0x00000050
    ESME_RINVDSTNPI: Final = 0x00000051
    ESME_RINVSYSTYP: Final = 0x00000053
    ESME_RINVREPFLAG: Final = 0x00000054
    ESME_RINVNUMMSGS: Final = 0x00000055
    ESME_RTHROTTLED: Final = 0x00000058
    ESME_RINVSCHED: Final = 0x00000061
    ESME_RINVEXPIRY: Final = 0x00000062
    ESME_RINVDFTMSGID: Final = 0x00000063
    ESME_RX_T_APPN: Final = 0x00000064
    ESME_RX_P_APPN: Final = 0x00000065
    ESME_RX_R_APPN: Final = 0x00000066
    ESME_RQUERYFAIL: Final = 0x00000067
    ESME_RINVOPTPARSTREAM: Final = 0x000000C0
    ESME_ROPTPARNOTALLWD: Final = 0x000000C1
    ESME_RINVPARLEN: Final = 0x000000C2
    ESME_RMISSINGOPTPARAM: Final = 0x000000C3
    ESME_RINVOPTPARAMVAL: Final = 0x000000C4
    ESME_RDELIVERYFAILURE: Final = 0x000000FE
    ESME_RUNKNOWNERR: Final = 0x000000FF


class Tag:
    """TLV (optional parameter) tags, SMPP 3.4 §5.3.2."""

    DEST_ADDR_SUBUNIT: Final = 0x0005
    DEST_NETWORK_TYPE: Final = 0x0006
    DEST_BEARER_TYPE: Final = 0x0007
    DEST_TELEMATICS_ID: Final = 0x0008
    SOURCE_ADDR_SUBUNIT: Final = 0x000D
    SOURCE_NETWORK_TYPE: Final = 0x000E
    SOURCE_BEARER_TYPE: Final = 0x000F
    SOURCE_TELEMATICS_ID: Final = 0x0010
    QOS_TIME_TO_LIVE: Final = 0x0017
    PAYLOAD_TYPE: Final = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT: Final = 0x001D
    RECEIPTED_MESSAGE_ID: Final = 0x001E
    MS_MSG_WAIT_FACILITIES: Final = 0x0030
    PRIVACY_INDICATOR: Final = 0x0201
    SOURCE_SUBADDRESS: Final = 0x0202
    DEST_SUBADDRESS: Final = 0x0203
    USER_MESSAGE_REFERENCE: Final = 0x0204
    USER_RESPONSE_CODE: Final = 0x0205
    SOURCE_PORT: Final = 0x020A
    DESTINATION_PORT: Final = 0x020B
    SAR_MSG_REF_NUM: Final = 0x020C
    LANGUAGE_INDICATOR: Final = 0x020D
    SAR_TOTAL_SEGMENTS: Final = 0x020E
    SAR_SEGMENT_SEQNUM: Final = 0x020F
    SC_INTERFACE_VERSION: Final = 0x0210
    CALLBACK_NUM_PRES_IND: Final = 0x0302
    CALLBACK_NUM_ATAG: Final = 0x0303
    NUMBER_OF_MESSAGES: Final = 0x0304
    CALLBACK_NUM: Final = 0x0381
    DPF_RESULT: Final = 0x0420
    SET_DPF: Final = 0x0421
    MS_AVAILABILITY_STATUS: Final = 0x0422
    NETWORK_ERROR_CODE: Final = 0x0423
    MESSAGE_PAYLOAD: Final = 0x0424
    DELIVERY_FAILURE_REASON: Final = 0x0425
    MORE_MESSAGES_TO_SEND: Final = 0x0426
    MESSAGE_STATE: Final = 0x0427
    USSD_SERVICE_OP: Final = 0x0501
    DISPLAY_TIME: Final = 0x1201
    SMS_SIGNAL: Final = 0x1203
    MS_VALIDITY: Final = 0x1204
    ALERT_ON_MESSAGE_DELIVERY: Final = 0x130C
    ITS_REPLY_TYPE: Final = 0x1380
    ITS_SESSION_INFO: Final = 0x1383


class Ton:
    """Type of number (SMPP 3.4 §5.2.5)."""

    UNKNOWN: Final = 0
    INTERNATIONAL: Final = 1
    NATIONAL: Final = 2
    NETWORK_SPECIFIC: Final = 3
    SUBSCRIBER_NUMBER: Final = 4
    ALPHANUMERIC: Final = 5
    ABBREVIATED: Final = 6


class Npi:
    """Numbering plan indicator (SMPP 3.4 §5.2.6)."""

    UNKNOWN: Final = 0
    ISDN: Final = 1  # E.163 / E.164
    DATA: Final = 3  # X.121
    TELEX: Final = 4  # F.69
    LAND_MOBILE: Final = 6  # E.212
    NATIONAL: Final = 8
    PRIVATE: Final = 9
    ERMES: Final = 10
    INTERNET: Final = 14
    WAP_CLIENT_ID: Final = 18


class EsmClass:
    """esm_class bits (SMPP 3.4 §5.2.12)."""

    MODE_MASK: Final = 0x03  # bits 1-0: messaging mode
    STORE_AND_FORWARD: Final = 0x03
    DATAGRAM: Final = 0x01
    FORWARD: Final = 0x02
    TYPE_MASK: Final = 0x3C  # bits 5-2: message type (0 = a normal message)
    DELIVERY_RECEIPT: Final = 0x04  # SMSC delivery receipt
    DELIVERY_ACK: Final = 0x08  # SME delivery acknowledgement
    MANUAL_ACK: Final = 0x10  # SME manual/user acknowledgement
    CONVERSATION_ABORT: Final = 0x18
    INTERMEDIATE_NOTIFICATION: Final = 0x20
    UDHI: Final = 0x40  # user data header indicator (GSM)
    REPLY_PATH: Final = 0x80


class DataCoding:
    """data_coding values of SMPP 3.4 §5.2.19 (0x00–0x0E); see `coding` for the rest."""

    SMSC_DEFAULT: Final = 0x00  # GSM 03.38 here
    IA5: Final = 0x01
    OCTET_UNSPECIFIED: Final = 0x02
    LATIN_1: Final = 0x03
    OCTET_UNSPECIFIED_2: Final = 0x04
    JIS: Final = 0x05
    CYRILLIC: Final = 0x06
    HEBREW: Final = 0x07
    UCS2: Final = 0x08
    PICTOGRAM: Final = 0x09
    ISO_2022_JP: Final = 0x0A
    EXTENDED_KANJI: Final = 0x0D
    KS_C_5601: Final = 0x0E


def _names(namespace: type) -> dict[int, str]:
    return {value: name for name, value in vars(namespace).items() if name.isupper() and isinstance(value, int)}


_COMMAND_NAMES: Final = {value: name.lower() for value, name in _names(Command).items()}
_STATUS_NAMES: Final = _names(Status)
_TAG_NAMES: Final = {value: name.lower() for value, name in _names(Tag).items()}


def command_name(command_id: int) -> str:
    """`"submit_sm_resp"` for a known command id, else `"0x000000AB"`."""
    return _COMMAND_NAMES.get(command_id) or f"0x{command_id & 0xFFFFFFFF:08X}"


def status_name(status: int) -> str:
    """`"ESME_RTHROTTLED"` for a status SMPP 3.4 names, else `"0x00000401"` (vendor or reserved)."""
    return _STATUS_NAMES.get(status) or f"0x{status & 0xFFFFFFFF:08X}"


def tag_name(tag: int) -> str:
    """`"message_payload"` for a known TLV tag, else `"0x1400"`."""
    return _TAG_NAMES.get(tag) or f"0x{tag & 0xFFFF:04X}"
