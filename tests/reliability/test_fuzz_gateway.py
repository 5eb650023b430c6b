"""Fuzzing the gateway's MO path with Hypothesis: hostile deliver_sm through the real session, inbound and batches.

Nothing is faked but the socket: :class:`GatewayRig` builds the real
``smsgw.gateway.runtime.Gateway`` (``bootstrap.build``: the real ``BatchRunner``
on a real SQLite file, the subscribers imported), hands its ``SmppLink`` an
in-memory transport, and runs its ``Pipeline``. Each example is one SMSC
connection: raw deliver_sm PDUs (``fuzz_inputs.mo_streams``: MOs of known
subscribers, long ones in parts — UDH8, UDH16, SAR, message_payload — some
missing, repeated or out of order; and hostile ones in every data_coding, with
junk UDH and TLVs, an SMSC message-id TLV, receipts; cut, bit-flipped, padded
or random bytes) are
written as one stream cut at random points into ``smpp.EsmeSession`` →
``Inbound`` → the batch's commit; every submit_sm the sender writes is answered
ESME_ROK. Then:

- every deliver_sm got exactly one deliver_sm_resp: ESME_RX_P_APPN exactly when
  its body does not decode (``smpp.decode``), ESME_ROK otherwise — never
  ESME_RX_T_APPN, the answer to a failed batch, which makes the SMSC deliver the
  MO again forever;
- every complete MO is recorded once (one ``mo_messages`` row per MO processed
  that was not answered as a copy of an earlier one), every part of a long MO
  stored (its ``mo_parts`` row), every reply encodable (``smpp.split_text``).

``test_hostile_fields_are_recorded_on_every_database`` sends fields longer, or
other, than any column expects, on SQLite and PostgreSQL (PostgreSQL refuses NUL
in text and enforces column widths: this found both).

Runtime: about 10 s. ``RELIABILITY_EXAMPLES`` scales it as in ``test_fuzz.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from structlog.testing import capture_logs

from smpp import (
    Command,
    Framer,
    MessageIdResp,
    Pdu,
    PduError,
    ShortMessage,
    Status,
    decode,
    encode,
    is_receipt,
    split_text,
    user_data,
)
from smsgw.bootstrap import App, build
from smsgw.config import Config, DatabaseConfig, PasswordConfig, SecurityConfig, SmppConfig
from smsgw.db import schema
from smsgw.gateway.runtime import Gateway
from smsgw.mo import MoResult
from smsgw.subscriber_import import import_subscribers
from tests.integration.conftest import DIRECTORY

from .fuzz_inputs import MO_ID_TAG, cut, encode_pdu, encode_sm, fuzz_settings, mo_streams

_ANSWER_WITHIN = 20.0  # seconds for every deliver_sm of one example to be answered


class _Transport:
    """What ``SmppLink`` writes to instead of a socket."""

    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> bool:
        self.written += data
        return True

    def close(self) -> None:
        pass


@dataclass
class Exchange:
    """One example's connection: the deliver_sm_resp statuses by sequence, and the MOs processed."""

    answers: list[tuple[int, int]] = field(default_factory=list)
    results: list[MoResult] = field(default_factory=list)


class GatewayRig:
    """The real gateway in this process and event loop, its SMSC connection in memory."""

    def __init__(self, app: App, gateway: Gateway) -> None:
        self.app, self.gateway = app, gateway
        self.results: list[MoResult] = []
        self._observer = gateway.observer
        gateway.observer = self._observe  # type: ignore[assignment]  # MoResults, then the real metrics
        self._pipeline = asyncio.get_running_loop().create_task(gateway.pipeline.run())
        self._message_ids = 0

    @classmethod
    async def start(cls, url: str, folder: Path) -> GatewayRig:
        config = Config(
            smpp=SmppConfig(mo_message_id_tag=MO_ID_TAG),
            database=DatabaseConfig(url=url),
            security=SecurityConfig(secret_key=Fernet.generate_key().decode()),
            password=PasswordConfig(scrypt_n=2**10),
            path=folder / "config.toml",
        )
        app = await build(config, live=True, require_key=True)
        await import_subscribers(app, DIRECTORY)
        return cls(app, Gateway(app))

    def _observe(self, event: str, value: Any) -> None:
        if event == "mo":
            self.results.append(value[0])
        self._observer(event, value)

    async def exchange(self, bodies: list[bytes], cuts: list[int]) -> Exchange:
        """One connection: ``bodies`` as deliver_sm 1..n, written in pieces; returns once all are answered."""
        link, transport, framer = self.gateway.link, _Transport(), Framer(1 << 20)
        self.results = []
        link.connected(transport)  # type: ignore[arg-type]  # what SmppLink uses of a transport: write, close
        stream = b"".join(encode_pdu(Command.DELIVER_SM, 0, n, body) for n, body in enumerate(bodies, start=1))
        for piece in cut(stream, cuts):
            assert link.received(piece), "the session closed the connection"
        exchange, loop = Exchange(), asyncio.get_running_loop()
        deadline = loop.time() + _ANSWER_WITHIN
        while len(exchange.answers) < len(bodies):
            assert loop.time() < deadline, f"unanswered after {_ANSWER_WITHIN} s: {exchange.answers}"
            await asyncio.sleep(0.001)
            framer.feed(bytes(transport.written))
            transport.written.clear()
            while (frame := framer.next_frame()) is not None:
                pdu = decode(frame)
                if pdu.command_id == Command.DELIVER_SM_RESP:
                    exchange.answers.append((pdu.sequence, pdu.status))
                elif pdu.command_id == Command.SUBMIT_SM:  # accepted, so the sender's window drains
                    self._message_ids += 1
                    answer = Pdu(
                        Command.SUBMIT_SM_RESP, 0, pdu.sequence, MessageIdResp(message_id=f"{self._message_ids:x}")
                    )
                    link.received(encode(answer))
        link.disconnected("the example is over")
        exchange.results = self.results
        return exchange

    async def count(self, table: Any) -> int:
        stmt = select(func.count()).select_from(table)
        return int(await self.app.db.read(lambda uow: uow.sql.value(stmt)))

    async def close(self) -> None:
        self._pipeline.cancel()
        await asyncio.gather(self._pipeline, return_exceptions=True)
        await self.app.close()


def expected_status(body: bytes) -> int:
    """What the SMSC must get for this body: ESME_RX_P_APPN if it does not decode, else ESME_ROK."""
    try:
        decode(encode_pdu(Command.DELIVER_SM, 0, 1, body))
    except PduError:
        return Status.ESME_RX_P_APPN
    return Status.ESME_ROK


def parts_in(bodies: list[bytes]) -> list[tuple[str, str, int, int, int]]:
    """(source, destination, reference, total, sequence) of each decodable part of a long MO."""
    found = []
    for body in bodies:
        try:
            message = decode(encode_pdu(Command.DELIVER_SM, 0, 1, body)).body
        except PduError:
            continue
        assert isinstance(message, ShortMessage)
        _, concat = user_data(message)
        if not is_receipt(message) and concat is not None and concat.total > 1:
            found.append(
                (message.source_addr, message.destination_addr, concat.reference, concat.total, concat.sequence)
            )
    return found


def check_exchange(bodies: list[bytes], exchange: Exchange) -> None:
    copies = Counter(sequence for sequence, _ in exchange.answers)
    assert sorted(copies) == list(range(1, len(bodies) + 1)) and set(copies.values()) == {1}, exchange.answers
    statuses = dict(exchange.answers)
    assert Status.ESME_RX_T_APPN not in statuses.values(), "an MO's batch failed: the SMSC would send it forever"
    assert [statuses[n] for n in range(1, len(bodies) + 1)] == [expected_status(b) for b in bodies]
    for result in exchange.results:
        for reply in result.replies:
            assert split_text(reply.text, reference=1), reply


def test_every_deliver_sm_answered_and_every_mo_recorded_on_sqlite(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    rig = loop.run_until_complete(GatewayRig.start(f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}", tmp_path))
    db = sqlite3.connect(f"file:{tmp_path / 'fuzz.db'}?mode=ro", uri=True, timeout=10)

    def parts_stored(parts: list[tuple[str, str, int, int, int]]) -> list[tuple[str, str, int, int, int]]:
        sql = "SELECT 1 FROM mo_parts WHERE source = ? AND destination = ? AND reference = ? AND total = ? "
        return [p for p in parts if not db.execute(sql + "AND sequence = ?", p).fetchall()]

    seen: Counter[str] = Counter()

    @fuzz_settings(300)
    @given(mo_streams(), st.lists(st.integers(0, 100_000), max_size=8))
    def example(bodies: list[bytes], cuts: list[int]) -> None:
        before = loop.run_until_complete(rig.count(schema.mo_messages))
        with capture_logs() as logs:
            exchange = loop.run_until_complete(rig.exchange(bodies, cuts))
        assert [e for e in logs if e["log_level"] in ("error", "critical")] == []
        check_exchange(bodies, exchange)
        new = [r for r in exchange.results if not r.redelivery]
        assert loop.run_until_complete(rig.count(schema.mo_messages)) == before + len(new), exchange.results
        parts = parts_in(bodies)
        assert parts_stored(parts) == [], "parts acknowledged but not stored"
        seen.update(
            deliver_sm=len(bodies),
            malformed=sum(1 for b in bodies if expected_status(b) != Status.ESME_ROK),
            mo_new=len(new),
            mo_copy=len(exchange.results) - len(new),
            parts=len(parts),
            replies=sum(len(r.replies) for r in exchange.results),
            receipts=sum(1 for e in logs if e["event"] in ("receipt_early", "receipt_without_message_id")),
        )

    try:
        example()
    finally:
        db.close()
        loop.run_until_complete(rig.close())
        loop.close()
    print(f"\n{dict(seen)}")
    # The inputs reach every path (checked on the run that shaped them; far above these floors).
    assert seen["mo_new"] > 50 and seen["parts"] > 20 and seen["malformed"] > 50 and seen["replies"] > 50, seen


def _hostile(source: str = "37120000001", destination: str = "1643", **fields: Any) -> bytes:
    if "tlvs" in fields:
        fields["tlvs"] = tuple(fields["tlvs"].items())
    return encode_sm(ShortMessage(source_addr=source, destination_addr=destination, **fields))


#: Fields a deliver_sm may carry that are longer, or other, than any database column expects.
HOSTILE = [
    _hostile(short_message=b"V 29000001 5\x00", data_coding=3),  # a NUL in the text (Latin-1)
    _hostile(source="37120000002", short_message="HELP\x00".encode("utf-16-be"), data_coding=8),  # (UCS-2)
    _hostile(source="3" * 64, short_message=b"S"),  # a source_addr far past SMPP's 21 octets
    _hostile(destination="1643" * 10, short_message=b"S"),  # a 40-character destination
    _hostile(source="37120000003", short_message=b"S", tlvs={MO_ID_TAG: b"r" * 100 + b"\0"}),  # a long SMSC id
    _hostile(source="4" * 64, short_message=bytes((5, 0, 3, 9, 2, 1)) + b"V\x00", esm_class=0x40, data_coding=3),
]


async def test_hostile_fields_are_recorded_on_every_database(database_url: str, tmp_path: Path) -> None:
    """Every decodable MO is recorded and acknowledged, whatever its fields hold, on both databases."""
    rig = await GatewayRig.start(database_url, tmp_path)
    try:
        exchange = await rig.exchange(HOSTILE, [])
        assert [status for _, status in sorted(exchange.answers)] == [Status.ESME_ROK] * len(HOSTILE)
        assert await rig.count(schema.mo_messages) == 5
        assert await rig.count(schema.mo_parts) == 1
    finally:
        await rig.close()
