"""Atheris harness: the gateway's SMPP deliver_sm decoder and everything read from a decoded MO.

The input is a raw TCP byte stream from the SMSC. It is cut into PDUs the way the
ESME's read loop does (``smsgw/gateway/esme.py``: a 16-octet header, then
``command_length - 16`` octets; a length outside 16..70000 ends the stream, as it
ends the connection) and every PDU's body is decoded as a deliver_sm.

The contract ("only our own error"):

- ``decode_deliver_sm`` raises nothing but ``PduError``;
- on a decoded PDU, ``is_receipt``, ``payload``, ``concat``, ``text`` and
  ``tlv_text`` of every TLV raise nothing and return what they promise;
  ``parse_receipt`` raises nothing and gives a known state and a message id;
  ``message_id_variants`` starts with the id itself and has no duplicates;
- the grammar on the decoded text, for the PDU's own destination and both short
  codes, raises nothing but ``ParseError`` (whose token is at most 20 characters).

Anything else is a crash: libFuzzer stops and saves the input under
``fuzz/artifacts/pdu_decoder/``. Run (see fuzz/README.md)::

    python fuzz/pdu_decoder.py -max_total_time=600
"""

from __future__ import annotations

import struct
import sys

from _setup import libfuzzer_args, use_repository

use_repository()

# Imported after the path is set; instrumented in main(), together with lark.
import atheris  # noqa: E402

from grammar import ParseError, parse  # noqa: E402
from smsgw.smpp import pdu as smpp  # noqa: E402
from smsgw.sms import Concat  # noqa: E402

_MAX_PDU = 70_000  # the ESME's limit (smsgw/gateway/esme.py: message_payload can carry 64 KiB)


def _frames(data: bytes) -> list[tuple[smpp.Header, bytes]]:
    frames = []
    while len(data) >= 16:
        header = smpp.parse_header(data[:16])
        if not 16 <= header.length <= _MAX_PDU or header.length > len(data):
            break
        frames.append((header, data[16 : header.length]))
        data = data[header.length :]
    return frames


def check(data: bytes) -> None:
    for header, body in _frames(data):
        try:
            pdu = smpp.decode_deliver_sm(header, body)
        except smpp.PduError:
            continue
        assert isinstance(pdu.is_receipt, bool)
        assert isinstance(pdu.payload, bytes)
        concat = pdu.concat
        assert concat is None or (isinstance(concat, Concat) and 1 <= concat.sequence <= concat.total)
        text = pdu.text
        assert isinstance(text, str)
        for tag in pdu.tlvs:
            assert isinstance(pdu.tlv_text(tag), str)
        receipt = smpp.parse_receipt(pdu)
        if receipt is not None:
            assert receipt.state in smpp.RECEIPT_STATES and receipt.message_id
            variants = smpp.message_id_variants(receipt.message_id)
            assert variants[0] == receipt.message_id and len(set(variants)) == len(variants)
        for short_code in {pdu.destination_addr, "1640", "1643"}:
            try:
                parse(text, short_code)
            except ParseError as error:
                assert error.token is None or len(error.token) <= 20


def _pdu(body: bytes, sequence: int = 1) -> bytes:
    return struct.pack(">IIII", 16 + len(body), smpp.DELIVER_SM, 0, sequence) + body


def _deliver(source: bytes, dest: bytes, sm: bytes, *, dc: int = 0, esm: int = 0, tlvs: bytes = b"") -> bytes:
    fields = b"\0\x01\x01" + source + b"\0\x00\x00" + dest + b"\0" + bytes((esm, 0, 0)) + b"\0\0"
    return _pdu(fields + bytes((0, 0, dc, 0, len(sm))) + sm + tlvs)


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


SEEDS = [
    _deliver(b"37120000001", b"1643", b"V 29000001 5"),
    _deliver(b"37120000001", b"1640", b"P"),
    _deliver(b"37120000002", b"1643", "M 29000001 4,13 €".encode("utf-16-be"), dc=8),
    _deliver(b"37120000002", b"1643", bytes((5, 0, 3, 42, 2, 1)) + b"STOP 2900", esm=0x40),
    _deliver(b"37120000002", b"1643", bytes((6, 8, 4, 1, 2, 2, 2)) + b"0001", esm=0x40),
    _deliver(
        b"37120000003",
        b"1643",
        b"S 29",
        tlvs=_tlv(0x020C, b"\x00\x07") + _tlv(0x020E, b"\x02") + _tlv(0x020F, b"\x01") + _tlv(0x1400, b"mo-1\0"),
    ),
    _deliver(b"37120000003", b"1643", b"", dc=3, tlvs=_tlv(0x0424, "JĀ".encode("latin-1", "replace"))),
    _deliver(
        b"37120000001",
        b"1643",
        b"id:1a2b3c sub:001 dlvrd:001 submit date:2611220500 done date:2611220501 stat:DELIVRD err:000 text:x",
        esm=0x04,
    ),
    _deliver(b"1643", b"37120000001", b"", esm=0x04, tlvs=_tlv(0x001E, b"6699\0") + _tlv(0x0427, b"\x02")),
    _deliver(b"LMT", b"1643", b"HELP", dc=0xF0) + _deliver(b"x" * 64, b"1643", b"?"),
]


def main() -> None:
    atheris.instrument_all()  # our code and lark's: coverage feedback from the whole parse
    atheris.Setup(libfuzzer_args("pdu_decoder", sys.argv, SEEDS), check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
