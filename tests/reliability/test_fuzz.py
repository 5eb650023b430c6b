"""Fuzzing with Hypothesis: the simulator's SMSC core and the gateway's MO path on hostile input.

What ``tests/smpp/test_framing.py`` (the bare SMSC session) and
``tests/unit/test_smpp_pdu.py`` (``decode_deliver_sm`` alone) already cover is
not repeated; these tests fuzz the compositions above them.

Simulator (sans-IO, no sockets):

- ``test_smsc_core_survives_any_stream``: the whole core (``simulator.smsc.Smsc``:
  session, framing, MT intake, reassembly, receipts, MO store-and-forward), not
  just the session, fed a bound ESME's byte stream cut at random points. The
  stream mixes mostly well-formed submit_sm (any data_coding, esm_class, UDH,
  SAR and other TLVs, registered_delivery), responses to the deliver_sm it has
  outstanding (matching sequence numbers, any status), other PDUs and mutated
  or random bytes, while MOs are injected and time passes. Nothing may raise out
  of the core, no session may close with "internal error", everything it writes
  must be whole PDUs of commands an SMSC sends, and every deliver_sm it writes
  must decode with the gateway's decoder.

Gateway (the path of ``smsgw.gateway.inbound.Inbound``):

- ``test_inbound_answers_every_deliver_sm``: raw deliver_sm PDUs (mostly
  plausible MOs in every data_coding, with UDH/SAR concatenation, message_payload,
  an SMSC message-id TLV, receipts; then cut, bit-flipped or replaced by random
  bytes) go through the real ``Inbound`` and the real ``Service.handle_mo`` /
  ``handle_mo_part`` (grammar parse of the decoded text, the password preparation
  for ``P``, the fingerprint, the pickling the database process would do) in
  front of a fake database. Every PDU gets exactly one deliver_sm_resp: OK, or
  ESME_RX_P_APPN exactly when ``decode_deliver_sm`` says the body is malformed;
  never ESME_RX_T_APPN (the answer to an unexpected exception, which makes the
  SMSC redeliver the MO forever).
- ``test_inbound_on_sqlite_records_every_mo``: the same PDUs through the real
  service on a real SQLite file: every complete MO is recorded once, every
  part stored, every reply encodable for SMS (``encode_for_sms``).
- ``test_decoded_text_parses_or_explains``: the grammar on the text the gateway
  decodes from random PDUs (not on random strings: ``tests/unit/test_grammar.py``
  does that) raises nothing but ``ParseError``, and its error's token stays short.

Runtime: about 15 s. ``RELIABILITY_EXAMPLES`` (the number of state-machine runs
of ``test_rules_model.py``) scales these up too, by a factor of 10 per 60 runs.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from grammar import ParseError, parse
from handlers.rules import Rules
from simulator.config import SimulatorConfig
from simulator.smsc import Smsc
from smpp import Command, Pdu, ShortMessage, Tag, encode, encode_gsm7
from smsgw.db import schema
from smsgw.db.mo_parts import MoPart
from smsgw.gateway.inbound import Inbound
from smsgw.sealing import Sealer
from smsgw.service import InboundMo, MoResult, Service
from smsgw.smpp import pdu as smpp
from smsgw.sms import encode_for_sms
from smsgw.subscriber_import import import_subscribers
from tests.integration.conftest import DIRECTORY, Harness, _App, make_harness

_SCALE = max(1, int(os.environ.get("RELIABILITY_EXAMPLES", "60")) * 10 // 600)


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples * _SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


# ---- what a subscriber might have typed, in what alphabet --------------------------------

_COMMANDS = st.sampled_from(
    [
        "V 29000001 5",
        "29000001 21,34",
        "M 29000002 4.13",
        "JA",
        "Jā",
        "STOP",
        "STOP 29000001",
        "S",
        "S +37129000001",
        "P",
        "HELP",
        "V?",
        "",
        "V 29000001 5€",
        "ＶＸ 29000001",
    ]
)
_TEXT = st.one_of(_COMMANDS, st.text(max_size=80), st.builds(lambda a, b: a + b, _COMMANDS, st.text(max_size=8)))


def encode_sm(message: ShortMessage) -> bytes:
    """A submit_sm / deliver_sm body written by the shared codec (not the gateway's)."""
    return encode(Pdu(Command.SUBMIT_SM, 0, 1, message))[16:]


def encode_pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


def _encode(text: str, data_coding: int) -> bytes:
    """The octets an SMSC would send for ``text`` (not the gateway's encoder: the shared codec's)."""
    if data_coding == 0:
        return encode_gsm7(text, replace="?")
    if data_coding == 8:
        return text.encode("utf-16-be", "surrogatepass")
    if data_coding in (1, 3):
        return text.encode("latin-1", "replace")
    return text.encode("utf-8", "surrogatepass")


_DATA_CODINGS = st.sampled_from([0, 0, 8, 8, 3, 1, 4, 0x10, 0x18, 0xF0, 0xF4]) | st.integers(0, 255)
_UDH = st.one_of(
    st.just(b""),
    st.builds(lambda r, t, s: bytes((5, 0, 3, r, t, s)), st.integers(0, 255), st.integers(0, 4), st.integers(0, 4)),
    st.builds(
        lambda r, t, s: bytes((6, 8, 4, r >> 8, r & 0xFF, t, s)),
        st.integers(0, 0xFFFF),
        st.integers(0, 4),
        st.integers(0, 4),
    ),
    st.binary(min_size=1, max_size=12),
)
MO_ID_TAG = 0x1401
_TLV_TAGS = st.sampled_from(
    [
        Tag.SAR_MSG_REF_NUM,
        Tag.SAR_TOTAL_SEGMENTS,
        Tag.SAR_SEGMENT_SEQNUM,
        Tag.MESSAGE_PAYLOAD,
        Tag.RECEIPTED_MESSAGE_ID,
        Tag.MESSAGE_STATE,
        0x0423,
        MO_ID_TAG,
    ]
) | st.integers(0, 0xFFFF)
_TLV_VALUES = st.binary(max_size=12) | st.sampled_from([b"\x01", b"\x02", b"\x00\x07", b"ab\0"])
_TLVS = st.dictionaries(_TLV_TAGS, _TLV_VALUES, max_size=4)
_ADDRESSES = st.sampled_from(
    ["37120000001", "37120000002", "+37120000003", "0037129000001", "20000001", "LMT", "", "1643", "1640"]
) | st.text(st.characters(max_codepoint=255, blacklist_characters="\0"), max_size=24)


def _one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in ``n`` draws (``integers(0, n) == 0`` would be far more often: Hypothesis favours 0)."""
    return st.sampled_from([False] * (n - 1) + [True])


_EDGE_OCTETS = st.sampled_from([b"", b"\x00", b"\x05", b"\x05\x00\x03", b"\x05\x00\x03\x01\x02", b"\xff", b"\x01\x00"])
_SAR_TAGS = (Tag.SAR_MSG_REF_NUM, Tag.SAR_TOTAL_SEGMENTS, Tag.SAR_SEGMENT_SEQNUM)


@st.composite
def short_messages(draw: st.DrawFn) -> ShortMessage:
    """A submit_sm / deliver_sm body as an SMSC or an ESME might send it: mostly plausible."""
    data_coding = draw(_DATA_CODINGS)
    udh = draw(_UDH)
    kind = draw(st.sampled_from(["text", "text", "text", "octets", "edge"]))
    if kind == "text":
        payload = udh + _encode(draw(_TEXT), data_coding)
    elif kind == "octets":  # anything, e.g. lone UTF-16 surrogates or a UDH length past the end
        payload = udh + draw(st.binary(max_size=160))
    else:
        payload = draw(_EDGE_OCTETS)
    esm_class = draw(st.sampled_from([0, 0x40, 0x04, 0x44, 0x08, 0x03]) | st.integers(0, 255))
    if (udh or kind == "edge") and draw(st.booleans()):
        esm_class |= 0x40
    tlvs = draw(_TLVS)
    if draw(_one_in(6)):  # a SAR set, complete or not, with values of any length
        for tag in draw(st.lists(st.sampled_from(_SAR_TAGS), min_size=1, max_size=3, unique=True)):
            tlvs[tag] = draw(st.sampled_from([b"", b"\x00", b"\x01", b"\x02", b"\x00\x07", b"\x01\x02\x03\x04\x05"]))
    if len(payload) > 254 or draw(_one_in(8)):  # long texts ride in message_payload
        tlvs[Tag.MESSAGE_PAYLOAD] = payload[:0xFFFF]
        payload = b""
    return ShortMessage(
        source_addr=draw(_ADDRESSES),
        destination_addr=draw(_ADDRESSES | st.sampled_from(["1643", "1640"] * 3)),
        short_message=payload,
        data_coding=data_coding,
        esm_class=esm_class,
        registered_delivery=draw(st.integers(0, 3) | st.integers(0, 255)),
        tlvs=tuple(tlvs.items()),
    )


@st.composite
def mutated(draw: st.DrawFn, body: bytes) -> bytes:
    how = draw(st.sampled_from(["keep", "keep", "keep", "cut", "flip", "pad"]))
    if how == "cut" and body:
        return body[: draw(st.integers(0, len(body) - 1))]
    if how == "flip" and body:
        at = draw(st.integers(0, len(body) - 1))
        return body[:at] + bytes((body[at] ^ draw(st.integers(1, 255)),)) + body[at + 1 :]
    if how == "pad":
        return body + draw(st.binary(min_size=1, max_size=8))
    return body


@st.composite
def deliver_sm_bodies(draw: st.DrawFn) -> bytes:
    if draw(_one_in(8)):
        return draw(st.binary(max_size=300))
    return draw(mutated(encode_sm(draw(short_messages()))))


# ---- (a) the simulator's SMSC core -------------------------------------------------------

_BIND = encode_pdu(Command.BIND_TRANSCEIVER, 0, 1, b"smsgw\0demo1234\0\0\x34\0\0\0")
#: What an SMSC writes: responses to the ESME's requests, and its own requests.
_SMSC_WRITES = {
    Command.GENERIC_NACK,
    Command.BIND_TRANSCEIVER_RESP,
    Command.BIND_TRANSMITTER_RESP,
    Command.BIND_RECEIVER_RESP,
    Command.SUBMIT_SM_RESP,
    Command.UNBIND_RESP,
    Command.ENQUIRE_LINK_RESP,
    Command.DELIVER_SM,
    Command.ENQUIRE_LINK,
    Command.UNBIND,
}
_ESME_COMMANDS = st.sampled_from(
    [Command.SUBMIT_SM] * 8
    + [Command.DELIVER_SM_RESP] * 3
    + [
        Command.GENERIC_NACK,
        Command.ENQUIRE_LINK,
        Command.ENQUIRE_LINK_RESP,
        Command.BIND_TRANSCEIVER,
        Command.UNBIND_RESP,
    ]
    + [Command.QUERY_SM, Command.DATA_SM, Command.DELIVER_SM]
) | st.integers(0, 0xFFFFFFFF)


@st.composite
def esme_pdus(draw: st.DrawFn) -> bytes:
    if draw(_one_in(30)):
        return draw(st.binary(max_size=24))  # noise: most likely an impossible length, which ends the session
    command = Command.UNBIND if draw(_one_in(30)) else draw(_ESME_COMMANDS)
    if command == Command.SUBMIT_SM:
        body = draw(mutated(encode_sm(draw(short_messages()))))
    elif command == Command.BIND_TRANSCEIVER:
        body = draw(st.sampled_from([b"smsgw\0demo1234\0\0\x34\0\0\0", b"smsgw\0wrong\0", b"\0"]))
    elif command == Command.DELIVER_SM_RESP:
        body = draw(st.sampled_from([b"\0", b"", b"id\0"]) | st.binary(max_size=8))
    else:
        body = draw(st.binary(max_size=40))
    sequence = draw(st.integers(1, 12) | st.integers(0, 0xFFFFFFFF))  # small ones answer our deliver_sm
    status = draw(st.sampled_from([0, 0, 0, 0x58, 0x64, 0x14]) | st.integers(0, 0xFFFFFFFF))
    return encode_pdu(command, status, sequence, body)


def _check_smsc_output(data: bytes) -> None:
    """Whole PDUs of commands an SMSC sends; its deliver_sm decode with the gateway's decoder."""
    while data:
        assert len(data) >= 16, data
        header = smpp.parse_header(data[:16])
        assert 16 <= header.length <= len(data), header
        assert header.command_id in _SMSC_WRITES, hex(header.command_id)
        if header.command_id == Command.DELIVER_SM:
            smpp.decode_deliver_sm(header, data[16 : header.length])  # raises PduError if not
        data = data[header.length :]


@_settings(150)
@given(
    pdus=st.lists(esme_pdus(), max_size=14),
    cuts=st.lists(st.integers(0, 100_000), max_size=20),
    mos=st.lists(st.tuples(st.integers(0, 20), _TEXT.filter(lambda t: 0 < len(t))), max_size=4),
    pace=st.sampled_from([0.01, 1.0, 40.0]),
)
def test_smsc_core_survives_any_stream(
    pdus: list[bytes], cuts: list[int], mos: list[tuple[int, str]], pace: float
) -> None:
    config = SimulatorConfig(record_file="", mo_redelivery_timeout=5.0, mo_retry_delay=1.0, concat_timeout=10.0)
    core = Smsc(config, now=0.0)
    bind = core.open_session("fuzz", 0.0)
    chunks = _cut(_BIND + b"".join(pdus), cuts)
    now = 0.0
    for i, chunk in enumerate(chunks):
        for when, text in mos:
            if when == i:
                core.inject_mo("37120000001", "1643", text, now)
        now += pace
        core.receive(bind, chunk, now)
        core.tick(now)
        for bind_id, data, action in core.take_output():
            _check_smsc_output(data)
            if action and bind_id == bind:
                core.connection_lost(bind, now)
        session = core.binds[bind].session if bind in core.binds else None
        assert session is None or session.close_reason != "internal error"
        if session is None:
            break
    core.connection_lost(bind, now)
    core.tick(now + 1000.0)  # everything undelivered is retried or given up, without a receiver
    assert all(b.session.close_reason != "internal error" for b in core.binds.values())


# ---- (b) the gateway's MO path --------------------------------------------------------------


@dataclass
class FakeLink:
    """What ``Inbound`` writes to: the deliver_sm_resp PDUs."""

    written: list[bytes] = field(default_factory=list)

    def write_pdu(self, data: bytes) -> bool:
        self.written.append(data)
        return True

    def peek_sequence(self) -> int:
        return 1

    def probe(self) -> None:
        pass


class FakeAcks:
    def responded(self, mo_id: str, next_request: int, probe: Any) -> None:
        pass


class FakeReceipts:
    async def handle(self, pdu: smpp.DeliverSm) -> None:
        receipt = smpp.parse_receipt(pdu)
        assert receipt is None or receipt.state in smpp.RECEIPT_STATES


class PicklingDatabase:
    """A database stand-in: takes what the service would send to the database process, pickled."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def register(self, name: str, unit: Any) -> None:
        pass

    async def call(self, name: str, *args: Any) -> Any:
        (arg,) = pickle.loads(pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL))
        self.calls.append((name, arg))
        if name == "mo_part":
            assert isinstance(arg, MoPart) and isinstance(arg.text, str)
            return False, None  # stored, the message is not complete
        mo = arg.mo
        assert isinstance(mo, InboundMo) and isinstance(mo.text, str)
        assert arg.command is not None or isinstance(arg.problem, ParseError)
        return MoResult(mo.id, "fake", None, (), mo.destination)


def _frame(body: bytes, sequence: int) -> tuple[smpp.Header, bytes]:
    """What the ESME's read loop hands ``Inbound``: the header and its ``length - 16`` octets."""
    raw = struct.pack(">IIII", 16 + len(body), smpp.DELIVER_SM, 0, sequence) + body
    header = smpp.parse_header(raw[:16])
    return header, raw[16 : header.length]


def _expected_status(header: smpp.Header, body: bytes) -> int:
    try:
        smpp.decode_deliver_sm(header, body)
    except smpp.PduError:
        return smpp.ESME_RX_P_APPN
    return smpp.ESME_ROK


async def _through_inbound(service: Service, bodies: list[bytes]) -> list[tuple[int, int]]:
    """Each body through ``Inbound``; (expected status, the status of its one deliver_sm_resp)."""
    inbound = Inbound(service, FakeReceipts(), FakeAcks(), window=4, mo_id_tag=MO_ID_TAG)  # type: ignore[arg-type]
    link = FakeLink()
    expected = []
    for sequence, body in enumerate(bodies, start=1):
        header, framed = _frame(body, sequence)
        expected.append((sequence, _expected_status(header, framed)))
        await inbound.accept(link, header, framed)
    await inbound.drain(10.0)
    answered = []
    for pdu in link.written:
        header = smpp.parse_header(pdu[:16])
        assert header.command_id == smpp.DELIVER_SM_RESP and header.length == len(pdu)
        answered.append((header.sequence, header.status))
    assert sorted(answered) == sorted(expected), [a for a in answered if a not in expected]
    return answered


@_settings(200)
@given(st.lists(deliver_sm_bodies(), min_size=1, max_size=6))
def test_inbound_answers_every_deliver_sm(bodies: list[bytes]) -> None:
    db = PicklingDatabase()
    service = Service(db, Rules(), Sealer(_KEY), scrypt_n=2**4)  # type: ignore[arg-type]
    asyncio.run(_through_inbound(service, bodies))


_KEY = Fernet.generate_key()


class _SqliteRun:
    """One real service on one SQLite file for all the examples of a test (one event loop)."""

    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.h: Harness = self.loop.run_until_complete(make_harness(f"sqlite+aiosqlite:///{folder / 'fuzz.db'}"))
        self.loop.run_until_complete(import_subscribers(_App(self.h.db), DIRECTORY))

    def count(self, table: Any) -> int:
        stmt = select(func.count()).select_from(table)
        return int(self.loop.run_until_complete(self.h.db.read(lambda uow: uow.sql.value(stmt))))

    def close(self) -> None:
        self.loop.run_until_complete(self.h.db.close())
        self.loop.close()


def test_inbound_on_sqlite_records_every_mo(tmp_path: Path) -> None:
    run = _SqliteRun(tmp_path)
    results: list[MoResult] = []

    @_settings(120)
    @given(st.lists(deliver_sm_bodies(), min_size=1, max_size=4))
    def example(bodies: list[bytes]) -> None:
        results.clear()
        mos, parts = run.count(schema.mo_messages), run.count(schema.mo_parts)
        service = run.h.service
        original = service.handle_mo

        async def recording(mo: InboundMo, **kwargs: Any) -> MoResult:
            result = await original(mo, **kwargs)
            results.append(result)
            return result

        service.handle_mo = recording  # type: ignore[method-assign]
        try:
            run.loop.run_until_complete(_through_inbound(service, bodies))
        finally:
            service.handle_mo = original  # type: ignore[method-assign]
        new_mos = [r for r in results if not r.redelivery]
        assert run.count(schema.mo_messages) == mos + len(new_mos)
        assert run.count(schema.mo_parts) >= parts
        for result in results:
            for reply in result.replies:
                assert encode_for_sms(reply.text, reference=1), reply

    try:
        example()
    finally:
        run.close()


def _hostile(source: str = "37120000001", destination: str = "1643", **fields: Any) -> bytes:
    if "tlvs" in fields:
        fields["tlvs"] = tuple(fields["tlvs"].items())
    return encode_sm(ShortMessage(source_addr=source, destination_addr=destination, **fields))


#: Fields a deliver_sm may carry that are longer, or other, than any database column expects.
HOSTILE = [
    _hostile(short_message=b"V 29000001 5\x00", data_coding=3),  # a NUL in the text (Latin-1)
    _hostile(source="37120000002", short_message="HELP\x00".encode("utf-16-be"), data_coding=8),  # (UCS-2)
    _hostile(source="3" * 64, short_message=b"S"),  # the longest source_addr the decoder takes
    _hostile(destination="1643" * 10, short_message=b"S"),  # a 40-character destination
    _hostile(source="37120000003", short_message=b"S", tlvs={MO_ID_TAG: b"r" * 100 + b"\0"}),  # a long SMSC id
    _hostile(source="4" * 64, short_message=bytes((5, 0, 3, 9, 2, 1)) + b"V\x00", esm_class=0x40, data_coding=3),
]


async def test_hostile_fields_are_recorded_on_every_database(database_url: str) -> None:
    """Every decodable MO is recorded and acknowledged, whatever its fields hold, on both databases.

    (PostgreSQL refuses NUL in text and enforces column widths: this found both.)
    """
    h = await make_harness(database_url)
    await import_subscribers(_App(h.db), DIRECTORY)
    try:
        answered = await _through_inbound(h.service, HOSTILE)
        assert [status for _, status in sorted(answered)] == [smpp.ESME_ROK] * len(HOSTILE)
        count = select(func.count())
        assert await h.db.read(lambda uow: uow.sql.value(count.select_from(schema.mo_messages))) == 5
        assert await h.db.read(lambda uow: uow.sql.value(count.select_from(schema.mo_parts))) == 1
    finally:
        await h.db.close()


@_settings(300)
@given(deliver_sm_bodies())
def test_decoded_text_parses_or_explains(body: bytes) -> None:
    header, framed = _frame(body, 1)
    try:
        pdu = smpp.decode_deliver_sm(header, framed)
    except smpp.PduError:
        return
    for short_code in (pdu.destination_addr, "1643", "1640"):
        try:
            command = parse(pdu.text, short_code)
        except ParseError as error:
            assert error.token is None or len(error.token) <= 20
        else:
            assert pickle.loads(pickle.dumps(command)) == command
