"""The gateway's SMPP 3.4 PDU codec against hand-written PDUs (SMPP 3.4 4.6.1, 5.x) and aiosmpplib.

Golden PDUs are written here in hex from the specification, never produced
by the codec under test.  aiosmpplib's server-side decoder (SubmitSm.from_pdu)
is the independent check of submit_sm.  The decoder runs inside the
deliver_sm hook, so Hypothesis checks that no body makes it raise anything
but PduError, and that nothing read from a decoded PDU raises at all.
"""

from __future__ import annotations

import struct

import pytest
from aiosmpplib.protocol import SmppMessage, SubmitSm
from hypothesis import given
from hypothesis import strategies as st

from smsgw.smpp import pdu as smpp
from smsgw.smpp.pdu import (
    DeliverSm,
    Header,
    PduError,
    Receipt,
    decode_deliver_sm,
    decode_submit_sm_resp,
    message_id_variants,
    parse_header,
    parse_receipt,
    status_name,
)
from smsgw.sms import Concat, Part, encode_for_sms


def _hex(text: str) -> bytes:
    """Hex with spaces, newlines and ``#`` comments."""
    return bytes.fromhex("".join(line.split("#", 1)[0] for line in text.splitlines()))


def _decode(pdu: bytes) -> DeliverSm:
    header = parse_header(pdu[:16])
    assert header.length == len(pdu), "hand-computed command_length is wrong"
    assert header.command_id == smpp.DELIVER_SM
    return decode_deliver_sm(header, pdu[16:])


def _frame(body: bytes, sequence: int = 1) -> bytes:
    """A deliver_sm header by struct, for the bodies written as text below."""
    return struct.pack(">IIII", 16 + len(body), 0x00000005, 0, sequence) + body


# Mandatory fields shared by the MO bodies: source +371 29123456 (TON 1 NPI 1), destination 1640 (TON 0 NPI 0).
_MO_ADDRESSES = """
    00                                  # service_type ""
    01 01 3337313239313233343536 00     # source TON, NPI, "37129123456"
    00 00 31363430 00                   # dest TON, NPI, "1640"
"""


# ---- header and statuses ---------------------------------------------------------


def test_parse_header_vendor_status() -> None:
    header = parse_header(_hex("00000010 80000004 00000401 00000007"))
    assert header == Header(length=16, command_id=smpp.SUBMIT_SM_RESP, status=0x401, sequence=7)
    assert status_name(header.status) == "0x00000401"


def test_parse_header_takes_any_command_and_status() -> None:
    assert parse_header(b"\xff" * 16) == Header(0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    assert parse_header(bytearray(16)) == Header(0, 0, 0, 0)
    assert parse_header(memoryview(bytes(20))[4:]) == Header(0, 0, 0, 0)


@pytest.mark.parametrize("size", [0, 15, 17])
def test_parse_header_needs_16_octets(size: int) -> None:
    with pytest.raises(ValueError, match="16"):
        parse_header(bytes(size))


def test_status_names() -> None:
    assert status_name(smpp.ESME_ROK) == "ESME_ROK"
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(0x64) == "ESME_RX_T_APPN"
    assert status_name(0xC4) == "ESME_RINVOPTPARAMVAL"
    assert status_name(0xFF) == "ESME_RUNKNOWNERR"
    assert status_name(0x09) == "0x00000009"  # reserved
    assert status_name(0x4FF) == "0x000004FF"
    for name in dir(smpp):
        if name.startswith("ESME_"):
            assert status_name(getattr(smpp, name)) == name


def test_command_ids() -> None:
    assert smpp.BIND_TRANSCEIVER == 0x09
    for name in ("BIND_TRANSCEIVER", "SUBMIT_SM", "DELIVER_SM", "UNBIND", "ENQUIRE_LINK"):
        assert getattr(smpp, name + "_RESP") == getattr(smpp, name) | smpp.RESP_BIT


# ---- deliver_sm: subscriber MOs ------------------------------------------------------


def test_mo_gsm() -> None:
    pdu = _hex(f"""
        00000039 00000005 00000000 00000001   # header: 57 octets, deliver_sm, ESME_ROK, seq 1
        {_MO_ADDRESSES}
        00 00 00                              # esm_class, protocol_id, priority_flag
        00 00                                 # schedule_delivery_time, validity_period
        00 00 00 00                           # registered_delivery, replace_if_present, data_coding 0, default_msg_id
        09 544F50555020351B65                 # sm_length 9, "TOPUP 5" ESC 0x65 (€)
    """)
    mo = _decode(pdu)
    assert mo == DeliverSm(
        sequence=1,
        service_type="",
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="37129123456",
        dest_addr_ton=0,
        dest_addr_npi=0,
        destination_addr="1640",
        esm_class=0,
        protocol_id=0,
        priority_flag=0,
        data_coding=0,
        registered_delivery=0,
        short_message=b"TOPUP 5\x1be",
        tlvs={},
    )
    assert mo.text == "TOPUP 5€"
    assert not mo.is_receipt
    assert mo.concat is None
    assert parse_receipt(mo) is None


def test_mo_ucs2_latvian() -> None:
    pdu = _hex(f"""
        00000040 00000005 00000000 0000002A   # 64 octets, seq 42
        {_MO_ADDRESSES}
        00 00 00 00 00
        00 00 08 00                           # data_coding 8: UCS-2
        10 0052 012B 0067 0061 0020 0161 010D 017E   # "Rīga ščž"
    """)
    mo = _decode(pdu)
    assert mo.sequence == 42
    assert mo.data_coding == 8
    assert mo.text == "Rīga ščž"


def test_mo_udh_8bit_concat() -> None:
    pdu = _hex(f"""
        0000003B 00000005 00000000 00000003
        {_MO_ADDRESSES}
        40 00 00 00 00 00 00 00 00            # esm_class 0x40 (UDHI)
        0B 0500032A0201 48656C6C6F            # UDH: concat 8-bit ref 0x2A, 2 parts, part 1; "Hello"
    """)
    mo = _decode(pdu)
    assert mo.concat == Concat(reference=0x2A, total=2, sequence=1, reference_bits=8)
    assert mo.text == "Hello"


def test_mo_udh_16bit_concat() -> None:
    pdu = _hex(f"""
        0000003C 00000005 00000000 00000004
        {_MO_ADDRESSES}
        40 00 00 00 00 00 00 00 00
        0C 060804123403 02 576F726C64         # UDH: concat 16-bit ref 0x1234, 3 parts, part 2; "World"
    """)
    mo = _decode(pdu)
    assert mo.concat == Concat(reference=0x1234, total=3, sequence=2, reference_bits=16)
    assert mo.text == "World"


def test_mo_sar_tlvs() -> None:
    pdu = _hex(f"""
        00000044 00000005 00000000 00000005
        {_MO_ADDRESSES}
        00 00 00 00 00 00 00 00 00
        04 70617274                           # "part"
        020C 0002 ABCD                        # sar_msg_ref_num 0xABCD
        020E 0001 03                          # sar_total_segments 3
        020F 0001 01                          # sar_segment_seqnum 1
    """)
    mo = _decode(pdu)
    assert mo.tlvs == {0x020C: b"\xab\xcd", 0x020E: b"\x03", 0x020F: b"\x01"}
    assert mo.concat == Concat(reference=0xABCD, total=3, sequence=1, reference_bits=16)
    assert mo.text == "part"


def test_mo_message_payload() -> None:
    pdu = _hex(f"""
        0000003F 00000005 00000000 00000006
        {_MO_ADDRESSES}
        00 00 00 00 00 00 00 00 00
        00                                    # sm_length 0
        0424 000B 48656C6C6F20776F726C64      # message_payload "Hello world"
    """)
    mo = _decode(pdu)
    assert mo.short_message == b""
    assert mo.payload == b"Hello world"
    assert mo.text == "Hello world"


def test_mo_message_payload_with_udh() -> None:
    body = _hex(f"""
        {_MO_ADDRESSES}
        40 00 00 00 00 00 00 00 00
        00
        0424 0008 050003070201 4869           # UDH concat ref 7, 2 parts, part 1; "Hi"
    """)
    mo = decode_deliver_sm(parse_header(_frame(body)[:16]), body)
    assert mo.concat == Concat(reference=7, total=2, sequence=1, reference_bits=8)
    assert mo.text == "Hi"


@pytest.mark.parametrize("data_coding", ["F0", "11", "04"])  # aiosmpplib answers these with generic_nack
def test_mo_data_codings_aiosmpplib_rejects(data_coding: str) -> None:
    pdu = _hex(f"""
        00000032 00000005 00000000 00000007
        {_MO_ADDRESSES}
        00 00 00 00 00 00 00 {data_coding} 00
        02 4869                               # "Hi"
    """)
    mo = _decode(pdu)
    assert mo.data_coding == int(data_coding, 16)
    assert mo.text == "Hi"


def test_lenient_fields() -> None:
    long_source = "A" * 40
    body = (
        b"CMT\0"  # service_type
        + b"\x05\x00"
        + long_source.encode()
        + b"\0"  # 41 octets: longer than SMPP's 21
        + b"\x00\x00"
        + b"1640\0"
        + b"\x00\x00\x00"
        + b"25011512\0"  # a truncated absolute time
        + b"000001000000000R\0"  # relative validity period
        + b"\x00\x00\x00\x00"
        + b"\x02Hi"
        + b"\x00\x1e\x00"  # three stray octets after the (absent) TLVs
    )
    mo = decode_deliver_sm(parse_header(_frame(body)[:16]), body)
    assert (mo.service_type, mo.source_addr, mo.destination_addr, mo.text) == ("CMT", long_source, "1640", "Hi")
    assert mo.tlvs == {}


def test_tlv_text_and_repeated_tags() -> None:
    body = _hex(f"""
        {_MO_ADDRESSES}
        00 00 00 00 00 00 00 00 00
        00
        001E 0004 41424300                    # receipted_message_id "ABC\\0"
        001E 0003 444546                      # again, without its NUL: the last one wins
        1400 0000                             # a vendor TLV with no value
    """)
    mo = decode_deliver_sm(parse_header(_frame(body)[:16]), body)
    assert mo.tlv_text(0x001E) == "DEF"
    assert mo.tlv_text(0x1400) == ""
    assert mo.tlv_text(0x0427) is None


# ---- deliver_sm: malformed bodies ---------------------------------------------------

_SAR_BODY = _hex(f"""
    {_MO_ADDRESSES}
    00 00 00 00 00 00 00 00 00
    04 70617274
    020C 0002 ABCD
""")
_MANDATORY_END = 32 + 4  # the fixed fields and "part"


@pytest.mark.parametrize("cut", range(_MANDATORY_END))
def test_truncated_mandatory_fields(cut: int) -> None:
    body = _SAR_BODY[:cut]
    with pytest.raises(PduError):
        decode_deliver_sm(parse_header(_frame(body)[:16]), body)


def test_truncated_tlvs() -> None:
    header = parse_header(_frame(_SAR_BODY)[:16])
    for cut in range(_MANDATORY_END + 1, _MANDATORY_END + 4):  # an incomplete tag/length: ignored
        assert decode_deliver_sm(header, _SAR_BODY[:cut]).tlvs == {}
    for cut in (_MANDATORY_END + 4, _MANDATORY_END + 5):  # a value cut short
        with pytest.raises(PduError, match="TLV 0x020C"):
            decode_deliver_sm(header, _SAR_BODY[:cut])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"ABCDEFGH\0", "service_type has no NUL"),
        (b"\0\x01\x01" + b"3" * 70 + b"\0", "source_addr has no NUL"),
        (b"\0\x01\x01" + b"3" * 30, "body ends inside source_addr"),
        (b"\0\x01\x0112\0\x00\x00" + b"9" * 80, "destination_addr has no NUL"),
        (b"\0\x01\x0112\0\x00\x0034\0\x00\x00\x00" + b"2" * 20, "schedule_delivery_time has no NUL"),
        (b"\0\x01\x0112\0\x00\x0034\0\x00\x00\x00\0" + b"2" * 20, "validity_period has no NUL"),
        (b"\0\x01\x0112\0\x00\x0034\0\x00\x00\x00\0\0\x00\x00\x00\x00\x05Hi", "sm_length 5 runs past"),
        (b"\0\x01\x0112\0\x00\x0034\0\x00\x00\x00\0\0\x00\x00\x00\x00", "mandatory fields"),
        (b"\0\x01\x0112\0\x00\x0034\0\x00\x00\x00\0\0\x00\x00\x00\x00\x00\x04\x24\x00\x09Hi", "TLV 0x0424"),
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(PduError, match=reason):
        decode_deliver_sm(Header(16 + len(body), smpp.DELIVER_SM, 0, 1), body)


# ---- receipts -----------------------------------------------------------------------


def test_receipt_from_tlvs() -> None:
    pdu = _hex("""
        00000049 00000005 00000000 00000008
        00
        01 01 3337313239313233343536 00        # source: the recipient
        00 00 31363430 00                      # destination: our short code
        04 00 00                               # esm_class 0x04: SMSC delivery receipt
        00 00 00 00 00 00
        00                                     # sm_length 0
        001E 0009 3041314232433344 00          # receipted_message_id "0A1B2C3D"
        0427 0001 02                           # message_state 2: DELIVERED
        0423 0003 03 0000                      # network_error_code: GSM, 0
    """)
    mo = _decode(pdu)
    assert mo.is_receipt
    assert parse_receipt(mo) == Receipt(message_id="0A1B2C3D", state="DELIVRD", error="000")


def _receipt(text: bytes, *, esm_class: int = 0x04, data_coding: int = 0, tlvs: bytes = b"") -> DeliverSm:
    body = _hex(_MO_ADDRESSES) + bytes((esm_class, 0, 0, 0, 0, 0, 0, data_coding, 0, len(text))) + text + tlvs
    return decode_deliver_sm(parse_header(_frame(body)[:16]), body)


_TEXT = b"sub:001 dlvrd:001 submit date:2501151200 done date:2501151201 stat:DELIVRD err:000 text:TOPUP 5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"id:7f3a9c " + _TEXT, Receipt("7f3a9c", "DELIVRD", "000")),
        (b"id:1234567890 " + _TEXT, Receipt("1234567890", "DELIVRD", "000")),
        (
            b"ID:00A1B2 SUB:001 DLVRD:000 SUBMIT DATE:2501151200 DONE DATE:2501151300 STAT:UNDELIV ERR:069 TEXT:x",
            Receipt("00A1B2", "UNDELIV", "069"),
        ),
        (b"id:42 stat:EXPIRED", Receipt("42", "EXPIRED", None)),
        (b"stat:REJECTD err:1 id:42", Receipt("42", "REJECTD", "1")),  # any order
        (b"id:42 stat:DELIVERED err:0", Receipt("42", "DELIVRD", "0")),  # spelled out
        (b"id:42 stat:FAILED", Receipt("42", "UNKNOWN", None)),
        (b"id:42", Receipt("42", "UNKNOWN", None)),
        (b"id:9 stat:ENROUTE text:id:5 ok", Receipt("9", "ENROUTE", None)),
        (b"sub:001 text:id:5 stat:DELIVRD err:000", None),  # keys inside the quoted text do not count
        (b"id:9 text:stat:DELIVRD err:000", Receipt("9", "UNKNOWN", None)),
        (b"id: sub:001 stat:DELIVRD", None),  # an empty id
        (b"msgid:42 stat:DELIVRD", None),
        (b"stat:DELIVRD err:000", None),
        (b"", None),
        (b"\xff\xfe\x00garbage", None),
    ],
)
def test_receipt_from_text(text: bytes, expected: Receipt | None) -> None:
    assert parse_receipt(_receipt(text)) == expected


def test_receipt_intermediate_notification_and_acks() -> None:
    for esm_class in (0x08, 0x10, 0x20, 0x24, 0x40 | 0x04):
        assert parse_receipt(_receipt(b"id:42 stat:ENROUTE", esm_class=esm_class)) == Receipt("42", "ENROUTE", None)


def test_subscriber_text_is_not_a_receipt() -> None:
    mo = _receipt(b"id:42 stat:DELIVRD err:000", esm_class=0x00)
    assert not mo.is_receipt
    assert parse_receipt(mo) is None


def test_receipt_tlvs_win_over_text() -> None:
    tlvs = _hex("001E 0003 414243   0427 0001 05   0423 0003 03 0022")  # "ABC" (no NUL), UNDELIVERABLE, GSM 34
    receipt = parse_receipt(_receipt(b"id:999 stat:DELIVRD", tlvs=tlvs))
    assert receipt == Receipt("ABC", "UNDELIV", "034")
    receipt = parse_receipt(_receipt(b"id:999 stat:DELIVRD err:011", tlvs=tlvs))
    assert receipt == Receipt("ABC", "UNDELIV", "011")  # the SMSC's own err is the more specific


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (1, "ENROUTE"),
        (2, "DELIVRD"),
        (3, "EXPIRED"),
        (4, "DELETED"),
        (5, "UNDELIV"),
        (6, "ACCEPTD"),
        (7, "UNKNOWN"),
        (8, "REJECTD"),
        (0, "DELIVRD"),
        (9, "DELIVRD"),
    ],
)
def test_receipt_message_state_tlv(state: int, expected: str) -> None:
    tlvs = _hex("001E 0002 3700 0427 0001") + bytes((state,))  # out-of-range values fall back to the text
    assert parse_receipt(_receipt(b"stat:DELIVRD", tlvs=tlvs)) == Receipt("7", expected, None)


def test_receipt_ucs2_text() -> None:
    text = "id:1A2B stat:DELIVRD err:000".encode("utf-16-be")
    assert parse_receipt(_receipt(text, data_coding=8)) == Receipt("1A2B", "DELIVRD", "000")


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [
        ("1a2b", ("1a2b", "1A2B", "6699")),
        ("1A2B", ("1A2B", "1a2b", "6699")),
        ("6699", ("6699", "1a2b", "1A2B")),
        ("0A1B2C3D", ("0A1B2C3D", "0a1b2c3d", "a1b2c3d", "A1B2C3D", "169552957")),
        ("00042", ("00042", "42", "2a", "2A")),
        ("0", ("0",)),
        ("msg-42", ("msg-42",)),
        ("ABCxyz", ("ABCxyz",)),
        ("٤٢", ("٤٢",)),  # Arabic-Indic digits are not an SMSC's number
        ("", ("",)),
        ("1" * 65, ("1" * 65,)),
    ],
)
def test_message_id_variants(message_id: str, expected: tuple[str, ...]) -> None:
    assert message_id_variants(message_id) == expected


def test_message_id_variants_meet_across_representations() -> None:
    submitted = set(message_id_variants("0A1B2C3D"))
    for quoted in ("0A1B2C3D", "0a1b2c3d", "a1b2c3d", "169552957"):
        assert submitted & set(message_id_variants(quoted))
    assert not submitted & set(message_id_variants("169552958"))


# ---- submit_sm_resp -----------------------------------------------------------------


def test_decode_submit_sm_resp() -> None:
    pdu = _hex("00000019 80000004 00000000 00000007 3041314232433344 00")  # "0A1B2C3D"
    header = parse_header(pdu[:16])
    assert header.length == len(pdu)
    assert decode_submit_sm_resp(header, pdu[16:]) == "0A1B2C3D"
    error = parse_header(_hex("00000010 80000004 00000058 00000007"))
    assert decode_submit_sm_resp(error, b"") == ""
    assert decode_submit_sm_resp(error, b"abc") == "abc"  # no NUL: the whole body
    assert decode_submit_sm_resp(error, b"\0") == ""


# ---- encoders -----------------------------------------------------------------------


def test_submit_sm_short_code_source() -> None:
    expected = _hex("""
        00000032 00000004 00000000 00000001     # 50 octets, submit_sm, seq 1
        00                                      # service_type
        03 00 31363430 00                       # source TON 3, NPI 0, "1640"
        01 01 3337313239313233343536 00         # dest TON 1, NPI 1, "37129123456"
        00 00 00                                # esm_class, protocol_id, priority_flag
        00 00                                   # schedule_delivery_time, validity_period
        01 00 00 00                             # registered_delivery 1, replace 0, data_coding 0, default_msg_id
        02 4F4B                                 # "OK"
    """)
    got = smpp.submit_sm(
        1, source_addr="1640", destination_addr="+37129123456", part=Part(0, 0, b"OK"), registered_delivery=True
    )
    assert got == expected


def test_submit_sm_alphanumeric_source_ucs2_udh_validity() -> None:
    expected = _hex("""
        00000049 00000004 00000000 7FFFFFFF      # 73 octets
        00
        05 00 4C4D54 00                         # alphanumeric "LMT"
        01 01 3337313239313233343536 00
        40 00 00                                # esm_class UDHI
        00
        30303030303130303030303030303052 00     # validity_period "000001000000000R"
        00 00 08 00                             # no receipt, data_coding 8
        0A 050003420201 0101 010D               # UDH + "āč"
    """)
    part = Part(data_coding=8, esm_class=0x40, short_message=_hex("050003420201 0101 010D"))
    got = smpp.submit_sm(
        0x7FFFFFFF,
        source_addr="LMT",
        destination_addr="37129123456",
        part=part,
        registered_delivery=False,
        validity_period="000001000000000R",
    )
    assert got == expected


@pytest.mark.parametrize(
    ("source", "ton_npi", "sent"),
    [
        ("1640", (3, 0), b"1640"),  # short code
        ("12345678", (3, 0), b"12345678"),
        ("123456789", (1, 1), b"123456789"),  # international
        ("+37129123456", (1, 1), b"37129123456"),
        ("LMT", (5, 0), b"LMT"),  # alphanumeric
        ("My LMT", (5, 0), b"My LMT"),
        ("+LMT", (5, 0), b"+LMT"),  # "+" is dropped only before digits
        ("", (0, 0), b""),  # the SMSC's default
    ],
)
def test_submit_sm_source_ton_npi(source: str, ton_npi: tuple[int, int], sent: bytes) -> None:
    assert smpp.source_ton_npi(source) == ton_npi
    got = smpp.submit_sm(5, source_addr=source, destination_addr="1", part=Part(0, 0, b""), registered_delivery=False)
    assert got[16:] == b"\0" + bytes(ton_npi) + sent + b"\0" + _hex("01 01 31 00 000000 00 00 00000000 00")


def test_submit_sm_explicit_tons() -> None:
    got = smpp.submit_sm(
        5,
        source_addr="1640",
        destination_addr="29123456",
        part=Part(0, 0, b""),
        registered_delivery=False,
        source_ton=0,
        source_npi=1,
        dest_ton=2,
        dest_npi=9,
    )
    assert got[16:] == _hex("00 00 01 31363430 00 02 09 3239313233343536 00 000000 00 00 00000000 00")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"part": Part(0, 0, b"x" * 255)},
        {"validity_period": "000001"},
        {"validity_period": "000001000000000Rx"},
        {"source_addr": "Rīga"},
        {"source_addr": "a\0b"},
        {"destination_addr": "1" * 21},
        {"sequence": 0},
        {"sequence": 0x80000000},
        {"dest_ton": 256},
        {"source_npi": -1},
    ],
)
def test_submit_sm_refuses(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "sequence": 1,
        "source_addr": "1640",
        "destination_addr": "37129123456",
        "part": Part(0, 0, b"x" * 254),
        "registered_delivery": True,
    }
    args.update(kwargs)
    sequence = args.pop("sequence")
    with pytest.raises(ValueError):
        smpp.submit_sm(sequence, **args)  # type: ignore[arg-type]


def test_small_pdus() -> None:
    assert smpp.deliver_sm_resp(5) == _hex("00000011 80000005 00000000 00000005 00")
    assert smpp.deliver_sm_resp(5, smpp.ESME_RX_T_APPN) == _hex("00000011 80000005 00000064 00000005 00")
    assert smpp.generic_nack(9, smpp.ESME_RINVCMDID) == _hex("00000010 80000000 00000003 00000009")
    assert smpp.generic_nack(0, smpp.ESME_RINVCMDLEN) == _hex("00000010 80000000 00000002 00000000")
    assert smpp.enquire_link(2) == _hex("00000010 00000015 00000000 00000002")
    assert smpp.enquire_link_resp(0xFFFFFFFF) == _hex("00000010 80000015 00000000 FFFFFFFF")
    assert smpp.unbind(3) == _hex("00000010 00000006 00000000 00000003")
    assert smpp.unbind_resp(3) == _hex("00000010 80000006 00000000 00000003")


def test_small_pdus_refuse_out_of_range() -> None:
    with pytest.raises(ValueError):
        smpp.enquire_link(0)
    with pytest.raises(ValueError):
        smpp.unbind(-1)
    with pytest.raises(ValueError):
        smpp.deliver_sm_resp(1 << 32)
    with pytest.raises(ValueError):
        smpp.generic_nack(1, -1)


@pytest.mark.parametrize(
    "text",
    ["TOPUP 5", "a@b_c$ €[]{}", "Paldies! Rīga, ščž ķēniņš", "x" * 400, "ā" * 150],  # aiosmpplib refuses an empty text
)
def test_submit_sm_decodes_in_aiosmpplib(text: str) -> None:
    parts = encode_for_sms(text, reference=0x42)
    decoded = []
    for part in parts:
        pdu = smpp.submit_sm(
            11, source_addr="1640", destination_addr="+37129123456", part=part, registered_delivery=True
        )
        header = SmppMessage.parse_header(pdu[:16])
        assert header.pdu_length == len(pdu)
        message = SubmitSm.from_pdu(pdu, header, default_encoding="gsm0338")
        assert isinstance(message, SubmitSm)
        assert message.sequence_num == 11
        assert (message.source.number, message.source.ton, message.source.npi) == ("1640", 3, 0)
        assert (message.destination.number, message.destination.ton, message.destination.npi) == ("37129123456", 1, 1)
        assert message.esm_class == part.esm_class
        assert message.registered_delivery == 1
        decoded.append(message.short_message)
    assert "".join(decoded) == text


# ---- properties ---------------------------------------------------------------------

_ADDRESS = st.binary(max_size=30).map(lambda b: b.replace(b"\0", b"1"))
_TAGS = st.sampled_from([0x020C, 0x020E, 0x020F, 0x0424, 0x001E, 0x0427, 0x0423, 0x1400, 0x0000])
_TLV_VALUES = st.binary(max_size=20) | st.sampled_from([b"\x01", b"\x02", b"\x00\x07", b"42\0", b"\x03\x00\x22"])
_SM_STARTS = st.sampled_from(
    [b"", b"\x05\x00\x03\x2a\x02\x01", b"\x06\x08\x04\x12\x34\x03\x02", b"id:1a2b stat:DELIVRD err:000 text:"]
)


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    """Mostly well-formed deliver_sm bodies, with every field and TLV up for grabs, sometimes cut or padded."""
    sm = draw(_SM_STARTS) + draw(st.binary(max_size=200))
    tlvs = b"".join(
        struct.pack(">HH", tag, len(value)) + value
        for tag, value in draw(st.lists(st.tuples(_TAGS, _TLV_VALUES), max_size=5))
    )
    body = (
        draw(_ADDRESS.map(lambda b: b[:5]))
        + b"\0"
        + draw(st.binary(min_size=2, max_size=2))
        + draw(_ADDRESS)
        + b"\0"
        + draw(st.binary(min_size=2, max_size=2))
        + draw(_ADDRESS)
        + b"\0"
        + draw(st.sampled_from([b"\x04", b"\x40", b"\x44", b"\x00", b"\x20"]))
        + b"\0\0\0\0\0\0"
        + bytes([draw(st.sampled_from([0, 1, 2, 3, 4, 8, 0x11, 0x18, 0xF0, 0xF4, 0xFF]))])
        + b"\0"
        + bytes([min(len(sm), 255)])
        + sm[:255]
        + tlvs
    )
    cut = draw(st.integers(min_value=0, max_value=len(body)))
    return draw(st.sampled_from([body, body[:cut], body + draw(st.binary(max_size=6))]))


def _read_everything(mo: DeliverSm) -> None:
    assert isinstance(mo.text, str)
    assert mo.concat is None or isinstance(mo.concat, Concat)
    receipt = parse_receipt(mo)
    if receipt is not None:
        assert receipt.state in smpp.RECEIPT_STATES
        assert receipt.message_id
        assert message_id_variants(receipt.message_id)[0] == receipt.message_id
    for tag in mo.tlvs:
        assert isinstance(mo.tlv_text(tag), str)


@given(st.binary(max_size=400) | _bodies())
def test_decode_deliver_sm_raises_only_pdu_error(body: bytes) -> None:
    header = Header(16 + len(body), smpp.DELIVER_SM, 0, 1)
    try:
        mo = decode_deliver_sm(header, body)
    except PduError:
        return
    _read_everything(mo)


@given(
    esm_class=st.integers(0, 255),
    data_coding=st.integers(0, 255),
    sm=st.binary(max_size=254),
    tlvs=st.dictionaries(st.integers(0, 0xFFFF), st.binary(max_size=40), max_size=6),
)
def test_well_formed_bodies_decode_to_their_fields(
    esm_class: int, data_coding: int, sm: bytes, tlvs: dict[int, bytes]
) -> None:
    body = (
        b"\0\x01\x0137129123456\0\x00\x001640\0"
        + bytes((esm_class, 0, 0))
        + b"\0\0"
        + bytes((1, 0, data_coding, 0, len(sm)))
        + sm
        + b"".join(struct.pack(">HH", tag, len(value)) + value for tag, value in tlvs.items())
    )
    mo = decode_deliver_sm(Header(16 + len(body), smpp.DELIVER_SM, 0, 3), body)
    assert (mo.esm_class, mo.data_coding, mo.short_message, mo.tlvs) == (esm_class, data_coding, sm, tlvs)
    assert mo.registered_delivery == 1
    _read_everything(mo)


@given(st.text(max_size=70))
def test_message_id_variants_any_text(message_id: str) -> None:
    variants = message_id_variants(message_id)
    assert variants[0] == message_id
    assert len(set(variants)) == len(variants)
