"""The asyncio server: a thin protocol feeding the sans-IO core, the control API, timers.

Lifecycle in named phases (cf. uvicorn/server.py): `startup` (listen on SMPP and HTTP),
`main_loop` (until the stop event is set, e.g. by a signal handler), `shutdown` (unbind
the ESMEs, close connections, flush the recording).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator

from aiohttp import web

from .config import SimulatorConfig
from .control import make_app
from .recorder import Recorder
from .smsc import Smsc

__all__ = ["Simulator", "run_server"]

log = logging.getLogger(__name__)

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
        self._bind_id = self._sim.core.open_session(f"{peer[0]}:{peer[1]}", time.time())
        self._sim.transports[self._bind_id] = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._sim.core.receive(self._bind_id, data, time.time())
        except Exception:  # a bug costs this connection, never the server
            log.exception("receive_failed bind=%s", self._bind_id)
            transport = self._sim.transports.get(self._bind_id)
            if transport is not None:
                transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._sim.transports.pop(self._bind_id, None)
        if not self._sim.transports:
            self._sim.all_closed.set()
        try:
            self._sim.core.connection_lost(self._bind_id, time.time())
        except Exception:
            log.exception("connection_lost_failed bind=%s", self._bind_id)


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.create_server((host, port), reuse_port=False)
    sock.setblocking(False)
    return sock


class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.recorder = Recorder(config.record_file) if config.record_file else None
        observers = self.recorder.observer if self.recorder is not None else None
        self.core = Smsc(config, time.time(), observers)
        self.core.on_output = self._schedule_flush
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
        smpp_sock = _listening_socket(self.config.host, self.config.port)
        http_sock = _listening_socket(self.config.host, self.config.http_port)
        self.smpp_port = smpp_sock.getsockname()[1]
        self.http_port = http_sock.getsockname()[1]
        self._smpp_server = await loop.create_server(lambda: SmppProtocol(self), sock=smpp_sock)
        self._runner = web.AppRunner(make_app(self), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, http_sock).start()
        self._ticker = asyncio.create_task(self._tick_forever())
        log.info(
            "listening smpp=%s:%s http=%s:%s record=%s",
            self.config.host,
            self.smpp_port,
            self.config.host,
            self.http_port,
            self.config.record_file or "(off)",
        )

    async def main_loop(self, stop: asyncio.Event) -> None:
        await stop.wait()

    async def shutdown(self) -> None:
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
                log.warning("slow_reader_aborted bind=%s", bind_id)
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
