"""The real gateway wiring (``runtime.Gateway``) over an in-memory SMSC session, on a real database: no sockets.

The link's transport is replaced by a wire into the simulator's sans-IO SMSC
session, which accepts every submit_sm. Everything else is the product's own:
the session core, inbound, the batch pipeline on SQLite or PostgreSQL, the
sender. The wire checks, at the instant each deliver_sm_resp reaches the SMSC,
that the batch carrying its MO has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from structlog.testing import capture_logs

from smpp.bodies import Bind, Pdu, ShortMessage
from smpp.constants import Command, EsmClass, Status
from smpp.pdu import encode
from smpp.receipts import receipt_tlvs
from smpp.smsc_config import SmscConfig
from smpp.smsc_events import DeliverAnswered, SmscEvent, SubmitReceived
from smpp.smsc_session import SmscSession
from smsgw.bootstrap import App, build
from smsgw.config import Config, DatabaseConfig, HttpConfig, OutboxConfig, SecurityConfig, SmppConfig
from smsgw.gateway.runtime import Gateway
from smsgw.subscriber_import import import_subscribers

from .batch_support import HookedStore
from .conftest import DIRECTORY


class CommitWatch:
    """Which MOs (by source) the batch store has committed: noted when a batch's COMMIT returned."""

    def __init__(self, app: App) -> None:
        self.committed: set[str] = set()
        self.store = HookedStore(app.runner.store, after_commit=self.committed.update)
        app.runner.store = self.store  # type: ignore[assignment]


class Smsc:
    """The SMSC end of the wire: answers every submit_sm at once; checks each deliver_sm_resp as it arrives."""

    def __init__(self, gateway: Gateway, watch: CommitWatch) -> None:
        self.gateway = gateway
        self.session = SmscSession(SmscConfig(mo_window=100, enquire_link_interval=1000), lambda *_: 0, 0.0)
        self.events: list[SmscEvent] = []
        self.watch = watch
        self.early: list[str] = []  # responses that arrived before their MO was committed
        self.closed = False
        self._ids = 0
        self.message_id: Any = lambda n: f"{n:X}"  # of the n-th submit_sm accepted

    def bind(self) -> None:
        link = self.gateway.link
        bind = Pdu(Command.BIND_TRANSCEIVER, 0, link.sequences.next(), Bind(system_id="smsgw", password="pw"))
        self.session.receive_data(encode(bind), 0.0)
        self.session.data_to_send()
        link.connected(self)  # type: ignore[arg-type]

    # --- the transport the link writes to ----------------------------------------------------------

    def write(self, data: bytes) -> bool:
        for event in self.session.receive_data(data, 0.0):
            self.events.append(event)
            if isinstance(event, DeliverAnswered) and event.status == Status.ESME_ROK:
                if event.ref not in self.watch.committed:
                    self.early.append(str(event.ref))
            elif isinstance(event, SubmitReceived):
                self._ids += 1
                self.session.respond_submit(event.sequence, Status.ESME_ROK, self.message_id(self._ids))
        asyncio.get_running_loop().call_soon(self._answer)
        return True

    def close(self) -> None:
        self.closed = True

    def _answer(self) -> None:
        data = self.session.data_to_send()
        if data:
            self.gateway.link.received(data)

    # --- the test's side ----------------------------------------------------------------------------

    def deliver(self, source: str, text: str, destination: str = "1643") -> None:
        message = ShortMessage(source_addr=source, destination_addr=destination, short_message=text.encode())
        self.session.send_deliver(message, source, 0.0)
        self._answer()

    def receipt(self, submitted: ShortMessage, message_id: str, stat: str) -> None:
        text = f"id:{message_id} sub:001 dlvrd:001 submit date:2611181200 done date:2611181200 stat:{stat} err:000"
        receipt = ShortMessage(
            source_addr=submitted.destination_addr,
            destination_addr=submitted.source_addr,
            esm_class=EsmClass.DELIVERY_RECEIPT,
            short_message=text.encode(),
            tlvs=receipt_tlvs(message_id, stat),
        )
        self.session.send_deliver(receipt, f"receipt:{message_id}", 0.0)
        self._answer()

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@contextlib.asynccontextmanager
async def running(app: App) -> AsyncIterator[tuple[Gateway, Smsc]]:
    gateway = Gateway(app)
    smsc = Smsc(gateway, CommitWatch(app))
    await gateway.startup()
    pipeline = asyncio.create_task(gateway.pipeline.run())
    smsc.bind()
    try:
        yield gateway, smsc
    finally:
        await gateway.pipeline.drain(1.0)
        pipeline.cancel()
        await asyncio.gather(pipeline, return_exceptions=True)
        await app.close()


async def _app(url: str, tmp_path: Path) -> App:
    config = Config(
        smpp=SmppConfig(system_id="smsgw", password="pw", window=8),
        database=DatabaseConfig(url=url),
        security=SecurityConfig(secret_key=Fernet.generate_key().decode()),
        outbox=OutboxConfig(instance="gw-a"),
        path=tmp_path / "config.toml",
    )
    app = await build(config, live=True, require_key=True)
    await import_subscribers(app, DIRECTORY)
    return app


async def _until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - polling what the gateway's tasks change, bounded by the timeout
            await asyncio.sleep(0.01)


async def test_each_mo_is_answered_after_its_commit_and_its_replies_are_submitted(
    database_url: str, tmp_path: Path
) -> None:
    app = await _app(database_url, tmp_path)
    async with running(app) as (gateway, smsc):
        strangers = [f"3712100{i:04d}" for i in range(40)]  # not subscribers: one reply each
        for burst in range(4):  # each while the pipeline idles or commits: both orders are checked
            await asyncio.sleep(0.02)
            for source in strangers[burst * 10 : burst * 10 + 10]:
                smsc.deliver(source, "S")
        smsc.deliver("37120000001", "V 29000001 5")  # a top-up: two replies
        await _until(lambda: len(smsc.of(DeliverAnswered)) == 41)
        assert smsc.early == [], "a deliver_sm_resp reached the SMSC before its MO was committed"
        assert {e.status for e in smsc.of(DeliverAnswered)} == {Status.ESME_ROK}
        await _until(lambda: gateway.sender.stats.accepted == 42)
        submitted = sorted(e.message.destination_addr for e in smsc.of(SubmitReceived))
        assert submitted == sorted([*strangers, "37120000001", "37129000001"]), "each reply once"
        await _until(lambda: not gateway.sender.busy)
        await gateway.pipeline.run_once()
        async with app.runner.store.transaction() as ex:
            states = await ex.fetch("SELECT state, claimed_by, COUNT(*) FROM outbox GROUP BY state, claimed_by")
        assert [tuple(row) for row in states] == [("submitted", "gw-a", 42)]
        assert gateway.pipeline.batches < 41, "MOs read together were decided together"


async def test_an_smsc_sending_overlong_message_ids_does_not_stop_the_gateway(
    database_url: str, tmp_path: Path
) -> None:
    """SMPP 3.4 allows 64 characters; PostgreSQL's column takes 80. Longer ones are kept as their digest,
    and a receipt quoting one settles its reply; before, every later batch failed on the row."""
    app = await _app(database_url, tmp_path)
    async with running(app) as (gateway, smsc):
        smsc.message_id = lambda n: "X" * 90 + f"{n:X}"
        smsc.deliver("37120000001", "S")
        await _until(lambda: gateway.sender.stats.accepted >= 1 and gateway.sender.held == 0)
        submits = smsc.of(SubmitReceived)
        for n, submit in enumerate(submits, 1):  # the status reply's parts, each delivered
            smsc.receipt(submit.message, smsc.message_id(n), "DELIVRD")
        smsc.deliver("37120000002", "HELP")
        answered = 2 + len(submits)
        await _until(lambda: len(smsc.of(DeliverAnswered)) == answered and gateway.sender.held == 0)
        assert [e.status for e in smsc.of(DeliverAnswered)] == [Status.ESME_ROK] * answered
        await _until(lambda: not gateway.sender.busy and not gateway.inbound.busy)
        await gateway.pipeline.run_once()
        async with app.runner.store.transaction() as ex:
            states = await ex.fetch("SELECT state FROM outbox ORDER BY id")
        assert [row[0] for row in states] == ["delivered", "submitted"]


async def test_replies_of_a_long_mo_recovered_at_startup_are_sent(sqlite_url: str, tmp_path: Path) -> None:
    """Parts all stored but never processed (left by an older version): processed at start-up, and answered."""
    app = await _app(sqlite_url, tmp_path)
    async with app.runner.store.transaction() as ex:
        await ex.many(
            "INSERT INTO mo_parts (source, destination, reference, total, sequence, data_coding, text, received_at)"
            " VALUES (?, '1643', 9, 2, ?, 0, ?, '2026-11-18T10:00:00.000000Z')",
            [("37120000001", 1, "V 2900"), ("37120000001", 2, "0001 5")],
        )
    async with running(app) as (_, smsc):
        await _until(lambda: len(smsc.of(SubmitReceived)) == 2, timeout=3.0)
        assert {e.message.destination_addr for e in smsc.of(SubmitReceived)} == {"37120000001", "37129000001"}


async def test_an_mo_whose_batch_fails_is_left_with_the_smsc_and_taken_when_it_comes_again(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("smsgw.gateway.pipeline._AFTER_FAILURE", 0.01)
    app = await _app(sqlite_url, tmp_path)
    async with running(app) as (_, smsc):
        store = app.runner.store
        working = store.transaction

        def broken() -> Any:
            raise OSError("disk gone")

        store.transaction = broken  # type: ignore[method-assign]
        smsc.deliver("37120000001", "S")
        await _until(lambda: len(smsc.of(DeliverAnswered)) == 1)
        assert smsc.of(DeliverAnswered)[0].status == Status.ESME_RX_T_APPN
        store.transaction = working  # type: ignore[method-assign]
        smsc.deliver("37120000001", "S")  # the SMSC delivers it again
        await _until(lambda: len(smsc.of(DeliverAnswered)) == 2)
        assert smsc.of(DeliverAnswered)[1].status == Status.ESME_ROK
        assert smsc.early == []


async def test_a_task_that_dies_stops_the_gateway_loudly_instead_of_leaving_it_deaf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the pipeline ended on its own, the gateway would stay bound and never answer an MO again:
    it must say so and stop with a failure, so that the service manager restarts it."""
    with socket.socket() as probe:  # a port nothing listens on: the transport keeps retrying meanwhile
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Config(
        smpp=SmppConfig(system_id="smsgw", password="pw", port=port),
        database=DatabaseConfig(url=f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}"),
        security=SecurityConfig(secret_key=Fernet.generate_key().decode()),
        http=HttpConfig(port=0),
        path=tmp_path / "config.toml",
    )
    app = await build(config, live=True, require_key=True)
    gateway = Gateway(app)

    async def broken() -> None:
        await asyncio.sleep(0.05)
        raise RuntimeError("a bug in the pipeline")

    monkeypatch.setattr(gateway.pipeline, "run", broken)
    stop = asyncio.Event()
    try:
        with capture_logs() as logs:
            async with asyncio.timeout(10):
                await gateway.serve(stop)
    finally:
        await app.close()
    assert gateway.failed and stop.is_set()
    [died] = [e for e in logs if e["event"] == "task_died"]
    assert died["task"] == "pipeline" and "a bug in the pipeline" in died["error"]
    assert died["log_level"] == "critical"
