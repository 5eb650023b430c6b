"""The asyncio server: a thin protocol feeding the sans-IO core, the control API, timers.

Lifecycle in named phases (cf. uvicorn/server.py): `startup` (listen on SMPP at `host` and
on HTTP at `http_host`), `main_loop` (until the stop event is set, e.g. by a signal
handler), `shutdown` (end the live feeds, unbind the ESMEs, close connections, flush the
recording). At most `max_connections` SMPP connections are open at once: one more is
closed as soon as it is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

from .config import SimulatorConfig
from .control import make_app
from .feed import Feed, MtWaiter
from .phonebook import Entry, PhonebookError, load_phonebook
from .recorder import Recorder
from .redact import Redactor
from .smsc import Smsc

if TYPE_CHECKING:
    from .guard import Guard
    from .script_runs import ScriptRunner

__all__ = ["Simulator", "run_server"]

log = structlog.get_logger(__name__)

TICK = 0.02  # seconds between timer runs
RECORD_FLUSH = 1.0  # the recording reaches the disk at least this often


class SmppProtocol(asyncio.Protocol):
    """One SMPP connection: bytes to the core, nothing else."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._bind_id = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername") or ("?", 0)
        limit = self._sim.config.max_connections
        if len(self._sim.transports) >= limit:
            self._sim.core.counters["connections_refused"] += 1
            log.warning("smpp_connection_refused", peer=f"{peer[0]}:{peer[1]}", max_connections=limit)
            transport.abort()
            return
        self._bind_id = self._sim.core.open_session(f"{peer[0]}:{peer[1]}", time.time())
        self._sim.transports[self._bind_id] = transport

    def data_received(self, data: bytes) -> None:
        if not self._bind_id:
            return
        try:
            self._sim.core.receive(self._bind_id, data, time.time())
        except Exception:  # a bug costs this connection, never the server
            log.exception("receive_failed", bind=self._bind_id)
            transport = self._sim.transports.get(self._bind_id)
            if transport is not None:
                transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._bind_id:
            return
        self._sim.transports.pop(self._bind_id, None)
        if not self._sim.transports:
            self._sim.all_closed.set()
        try:
            self._sim.core.connection_lost(self._bind_id, time.time())
        except Exception:
            log.exception("connection_lost_failed", bind=self._bind_id)


def _listening_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose accepted connections send small writes at once.

    ``socket.create_server`` makes its socket with protocol 0, and asyncio turns Nagle's
    algorithm off only on sockets whose protocol says TCP: the simulator's PDUs then waited
    for the ESME's delayed ACK (40 ms) whenever one was unacknowledged. Accepted sockets
    inherit the option from this one.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host.strip("[]"), port), family=family, reuse_port=False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.redactor = Redactor.of(config.secret_sources, config.secret_pattern)
        self.recorder = (
            Recorder(config.record_file, secret_sources=config.secret_sources) if config.record_file else None
        )
        observers = self.recorder.observer if self.recorder is not None else None
        self.core = Smsc(config, time.time(), observers)
        self.core.on_output = self._schedule_flush
        self.waiter = MtWaiter()
        self.feed = Feed()
        self.core.store.listeners.append(self.waiter.notify)
        self.core.store.watchers.append(self.feed.publish)
        self.phonebook: list[Entry] = []
        self.phonebook_error: str | None = None
        self.guard: Guard | None = None  # set by the control app
        self.script_runner: ScriptRunner | None = None  # set by the control app
        self.transports: dict[int, asyncio.Transport] = {}
        self.all_closed = asyncio.Event()
        self.smpp_port = 0
        self.http_port = 0
        self._smpp_server: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._flush_pending = False

    async def startup(self) -> None:
        loop = asyncio.get_running_loop()
        self._load_phonebook()
        smpp_sock = _listening_socket(self.config.host, self.config.port)
        try:
            http_sock = _listening_socket(self.config.http_host, self.config.http_port)
        except OSError:
            smpp_sock.close()
            raise
        self.smpp_port = smpp_sock.getsockname()[1]
        self.http_port = http_sock.getsockname()[1]
        self._smpp_server = await loop.create_server(lambda: SmppProtocol(self), sock=smpp_sock)
        self._runner = web.AppRunner(make_app(self), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, http_sock).start()
        self._ticker = asyncio.create_task(self._tick_forever())
        log.info(
            "listening",
            smpp=f"{self.config.host}:{self.smpp_port}",
            http=f"{self.config.http_host}:{self.http_port}",
            record=self.config.record_file or "(off)",
            token="required" if self.config.token else "none",
        )

    def _load_phonebook(self) -> None:
        if not self.config.phonebook:
            return
        try:
            self.phonebook = load_phonebook(self.config.phonebook, date.today())
        except PhonebookError as err:
            self.phonebook_error = str(err)
            log.warning("phonebook_unreadable", error=str(err))

    async def main_loop(self, stop: asyncio.Event) -> None:
        await stop.wait()

    async def shutdown(self) -> None:
        self.feed.close()
        if self.script_runner is not None:
            await self.script_runner.cancel()
        if self._smpp_server is not None:
            self._smpp_server.close()
        self.core.unbind_all(time.time())
        self._flush()
        if self.transports:
            self.all_closed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.all_closed.wait(), 1.0)
        for transport in list(self.transports.values()):
            transport.abort()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._runner is not None:
            await self._runner.cleanup()
        if self.recorder is not None:
            self.recorder.close()
        log.info("stopped")

    def _schedule_flush(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        limit = self.config.write_buffer_limit
        for bind_id, data, action in self.core.take_output():
            transport = self.transports.get(bind_id)
            if transport is None or transport.is_closing():
                continue
            if data:
                transport.write(data)
            if action == "abort":
                transport.abort()
            elif action == "close":
                transport.close()
            elif transport.get_write_buffer_size() > limit:
                log.warning("slow_reader_aborted", bind=bind_id)
                transport.abort()

    async def _tick_forever(self) -> None:
        last_flush = time.monotonic()
        while True:
            await asyncio.sleep(TICK)
            try:
                self.core.tick(time.time())
            except Exception:
                log.exception("tick_failed")
            if self.recorder is not None and time.monotonic() - last_flush >= RECORD_FLUSH:
                self.recorder.flush()
                last_flush = time.monotonic()


@contextlib.asynccontextmanager
async def run_server(config: SimulatorConfig) -> AsyncIterator[Simulator]:
    """`async with run_server(config) as sim:` a running simulator (ports in sim.*_port)."""
    sim = Simulator(config)
    await sim.startup()
    try:
        yield sim
    finally:
        await sim.shutdown()
