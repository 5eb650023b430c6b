"""Atheris harness: the gateway's ESME session on any byte stream from the SMSC, and all it reads from an MO.

The input is a raw TCP byte stream from the SMSC, fed to a bound
``smpp.EsmeSession`` (what ``smsgw/gateway/link.py`` runs per connection:
framing, the PDU decoder, the session's rules) in two pieces cut where the
first octet says.

The contract ("only our own error"):

- ``EsmeSession.receive`` raises nothing, whatever the bytes; a deliver_sm that
  does not decode is answered ESME_RX_P_APPN (``DeliverRejected``);
- of each MO (``MoReceived``): ``user_data`` and ``tlv_text`` of every TLV raise
  nothing; ``decode_text`` raises nothing but ``UndecodableText``; a
  concatenated part has 1 ≤ sequence ≤ total;
- of each receipt (``ReceiptReceived``): the parsed receipt has a known state
  and a message id, whose ``message_id_variants`` start with the id itself and
  have no duplicates;
- the grammar on each MO's decoded text, for the MO's own destination and both
  short codes, raises nothing but ``ParseError`` (whose token is at most 20
  characters).

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
from smpp import (  # noqa: E402
    MESSAGE_STATES,
    Command,
    UndecodableText,
    decode_text,
    message_id_variants,
    user_data,
)
from smpp.esme_events import MoReceived, ReceiptReceived  # noqa: E402
from smpp.esme_session import EsmeConfig, EsmeSession  # noqa: E402
from smpp.tlv import tlv_text  # noqa: E402

_CONFIG = EsmeConfig(system_id="smsgw", max_pdu_size=70_000)  # the gateway's: message_payload can carry 64 KiB


def check(data: bytes) -> None:
    if not data:
        return
    session = EsmeSession(_CONFIG, 0.0)
    session.adopt_bind()
    at = data[0] % len(data) if len(data) > 1 else 1
    events = session.receive(data[1:at], 1.0) + session.receive(data[at:], 2.0)
    session.data_to_send()
    for event in events:
        if isinstance(event, MoReceived):
            _check_mo(event)
        elif isinstance(event, ReceiptReceived) and event.receipt is not None:
            receipt = event.receipt
            assert receipt.state in MESSAGE_STATES and receipt.message_id, receipt
            variants = message_id_variants(receipt.message_id)
            assert variants[0] == receipt.message_id and len(set(variants)) == len(variants)


def _check_mo(event: MoReceived) -> None:
    message = event.message
    payload, concat = user_data(message)
    assert isinstance(payload, bytes)
    assert concat is None or 1 <= concat.sequence <= concat.total
    for tag, _ in message.tlvs:
        text_of_tag = tlv_text(message.tlvs, tag)
        assert text_of_tag is None or isinstance(text_of_tag, str)
    try:
        text = decode_text(payload, message.data_coding)
    except UndecodableText:
        return
    assert isinstance(text, str)
    for short_code in {message.destination_addr, "1640", "1643"}:
        try:
            parse(text, short_code)
        except ParseError as error:
            assert error.token is None or len(error.token) <= 20


def _pdu(body: bytes, sequence: int = 1) -> bytes:
    return struct.pack(">IIII", 16 + len(body), Command.DELIVER_SM, 0, sequence) + body


def _deliver(source: bytes, dest: bytes, sm: bytes, *, dc: int = 0, esm: int = 0, tlvs: bytes = b"") -> bytes:
    fields = b"\0\x01\x01" + source + b"\0\x00\x00" + dest + b"\0" + bytes((esm, 0, 0)) + b"\0\0"
    return _pdu(fields + bytes((0, 0, dc, 0, len(sm))) + sm + tlvs)


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


_STREAMS = [
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
SEEDS = [bytes((cut,)) + stream for cut, stream in enumerate(_STREAMS)]  # the first octet: where to cut


def main() -> None:
    atheris.instrument_all()  # our code and lark's: coverage feedback from the whole parse
    atheris.Setup(libfuzzer_args("pdu_decoder", sys.argv, SEEDS), check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
