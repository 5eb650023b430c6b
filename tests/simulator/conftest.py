"""Fixtures for the simulator's tests.

PDUs sent *to* the simulator are built here with struct, independently of
`smpp`; PDUs coming *from* it are decoded by python-smpplib (an independent
implementation), so no test checks our codec against itself.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import smpplib.client
import smpplib.consts
import smpplib.smpp
import structlog

from simulator.config import SimulatorConfig, parse_config
from simulator.server import Simulator, run_server
from simulator.smsc import Smsc

from .helpers import Esme

warnings.filterwarnings("ignore", category=DeprecationWarning, module="smpplib")

TEST_SETTINGS: dict[str, Any] = {
    "port": 0,
    "http_port": 0,
    "record_file": "",
    "mo_redelivery_timeout": 0.6,
    "mo_retry_delay": 0.2,
    "bind_timeout": 5.0,
    "idle_timeout": 10.0,
}


@pytest.fixture(autouse=True)
def _simulator_logs_through_the_stdlib() -> Iterator[None]:
    """The simulator's structlog events go to the stdlib, where pytest captures them per test."""
    structlog.configure(
        processors=[structlog.processors.KeyValueRenderer(key_order=["event"])],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    yield
    structlog.reset_defaults()


def make_config(**overrides: Any) -> SimulatorConfig:
    return parse_config({**TEST_SETTINGS, **overrides}, "test")


# ---- raw PDUs (independent of smpp) ----------------------------------------------------


def cstr(text: str) -> bytes:
    return text.encode("latin-1") + b"\0"


def pdu(command_id: int, seq: int, body: bytes = b"", status: int = 0) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


def bind_body(system_id: str = "smsgw", password: str = "demo1234") -> bytes:
    return cstr(system_id) + cstr(password) + cstr("") + bytes((0x34, 0, 0)) + cstr("")


def submit_body(
    source: str,
    destination: str,
    message: bytes,
    *,
    dc: int = 0,
    esm: int = 0,
    rd: int = 0,
    tlvs: bytes = b"",
) -> bytes:
    return (
        cstr("")
        + bytes((0, 1))
        + cstr(source)
        + bytes((1, 1))
        + cstr(destination)
        + bytes((esm, 0, 0))
        + cstr("")
        + cstr("")
        + bytes((rd, 0, dc, 0, len(message)))
        + message
        + tlvs
    )


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


_PARSER = smpplib.client.Client("127.0.0.1", 1, allow_unknown_opt_params=True)


def parse_stream(data: bytes) -> list[Any]:
    """smpplib PDU objects from a byte stream written by the simulator."""
    pdus = []
    while data:
        length = struct.unpack(">I", data[:4])[0]
        pdus.append(smpplib.smpp.parse_pdu(data[:length], client=_PARSER, allow_unknown_opt_params=True))
        data = data[length:]
    return pdus


# ---- the sans-IO core with a fake clock -------------------------------------------------


class CoreHarness:
    """Drives `Smsc` with bytes and a fake clock; collects what it writes per bind."""

    def __init__(self, **overrides: Any) -> None:
        self.now = 1_000_000.0
        self.core = Smsc(make_config(**overrides), self.now)
        self.written: dict[int, bytearray] = {}
        self.actions: dict[int, str] = {}

    def connect(self, mode: int = 0x09, seq: int = 1) -> int:
        bind_id = self.core.open_session("test:1", self.now)
        self.send(bind_id, pdu(mode, seq, bind_body()))
        data = self.read_raw(bind_id)
        length = struct.unpack(">I", data[:4])[0]
        [resp] = parse_stream(data[:length])
        assert resp.command.startswith("bind") and resp.status == 0, resp.status
        self.written[bind_id] = bytearray(data[length:])  # whatever followed the bind_resp
        return bind_id

    def send(self, bind_id: int, data: bytes) -> None:
        self.core.receive(bind_id, data, self.now)
        self._collect()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.core.tick(self.now)
        self._collect()

    def read_raw(self, bind_id: int) -> bytes:
        self._collect()
        return bytes(self.written.pop(bind_id, b""))

    def read(self, bind_id: int) -> list[Any]:
        return parse_stream(self.read_raw(bind_id))

    def _collect(self) -> None:
        for bind_id, data, action in self.core.take_output():
            self.written.setdefault(bind_id, bytearray()).extend(data)
            if action:
                self.actions[bind_id] = action


@pytest.fixture
def harness() -> Callable[..., CoreHarness]:
    return CoreHarness


# ---- a real server on 127.0.0.1, in a thread ---------------------------------------------


class RunningSim:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.sim: Simulator | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"simulator did not start: {self._error}")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:  # surfaced by the constructor
            self._error = err
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with run_server(self.config) as sim:
            self.sim = sim
            self._ready.set()
            await self._stop.wait()

    @property
    def smpp_port(self) -> int:
        assert self.sim is not None
        return self.sim.smpp_port

    @property
    def http_port(self) -> int:
        assert self.sim is not None
        return self.sim.http_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def api(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, payload = err.code, err.read()
        result = json.loads(payload)
        assert status == expect or (expect == 200 and status in (200, 201, 202)), (status, result)
        return result

    def inject(self, source: str, destination: str, text: str, **options: Any) -> Any:
        body = {"source": source, "destination": destination, "text": text, **options}
        return self.api("POST", "/api/mo", body)

    def call(self, fn: Callable[[Smsc], Any]) -> Any:
        """Run `fn(core)` on the server's loop (thread-safe inspection)."""
        assert self._loop is not None and self.sim is not None
        sim = self.sim

        async def go() -> Any:
            return fn(sim.core)

        return asyncio.run_coroutine_threadsafe(go(), self._loop).result(10)

    def close(self) -> None:
        """Stop the server (again: a no-op)."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def write_config(self, path: Path) -> Path:
        path.write_text(f'[simulator]\nhost = "127.0.0.1"\nhttp_port = {self.http_port}\nport = {self.smpp_port}\n')
        return path


@pytest.fixture
def start_sim() -> Iterator[Callable[..., RunningSim]]:
    started: list[RunningSim] = []

    def start(**overrides: Any) -> RunningSim:
        running = RunningSim(make_config(**overrides))
        started.append(running)
        return running

    yield start
    for running in started:
        running.close()


@pytest.fixture
def sim(start_sim: Callable[..., RunningSim]) -> RunningSim:
    return start_sim()


@pytest.fixture
def esme(sim: RunningSim) -> Iterator[Esme]:
    """A python-smpplib transceiver bound to `sim`."""
    client = Esme(sim.smpp_port)
    client.bind()
    yield client
    client.close()


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


def raw_connect(port: int, timeout: float = 3.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return sock


def recv_pdu(sock: socket.socket) -> tuple[int, int, int, bytes]:
    """(command_id, status, sequence, body) of the next PDU on a raw socket."""
    header = _recv_exact(sock, 16)
    length, command_id, status, seq = struct.unpack(">IIII", header)
    return command_id, status, seq, _recv_exact(sock, length - 16)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data
