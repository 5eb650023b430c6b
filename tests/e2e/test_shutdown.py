"""SIGTERM ends ``smsgw run`` within a second in every state, keeping everything committed.

The states: bound (idle, and with MOs in flight), connecting (a TCP peer that never
answers the bind), backing off between connection attempts, and mid-batch (a batch
waiting for the SQLite write lock another process holds). The clock starts at the
signal and stops when the process has exited; "within a second" leaves a little room
for a loaded machine, measured and printed.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import DEMO, Stack, free_port, wait_until

LIMIT = 1.0


def _stop_timed(stack: Stack) -> float:
    gateway = stack.gateway
    assert gateway is not None and gateway.poll() is None, "the gateway is not running"
    began = time.monotonic()
    gateway.send_signal(signal.SIGTERM)
    code = gateway.wait(timeout=15)
    took = time.monotonic() - began
    print(f"shutdown took {took:.3f} s")
    assert code == 0, stack.log_text()[-2000:]
    assert "Traceback" not in stack.log_text()
    assert stack.events("gateway_stopped")
    return took


@pytest.fixture
def silent_peer() -> Iterator[int]:
    """A TCP listener that accepts and never says a word (a bind that never gets its response)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


def test_bound_and_idle(stack: Stack) -> None:
    assert _stop_timed(stack) < LIMIT


def _inject(stack: Stack, source: str, text: str) -> str:
    return str(stack.post("/api/mo", {"source": source, "destination": "1643", "text": text})["id"])


def test_bound_with_mos_in_flight(stack: Stack) -> None:
    sent = [_inject(stack, "37120000001", "S"), _inject(stack, "37120000002", "HELP")]
    assert _stop_timed(stack) < LIMIT
    recorded = {row[0] for row in stack.query("SELECT text FROM mo_messages")}
    for mo_id, text in zip(sent, ("S", "HELP"), strict=True):
        if stack.mo(mo_id)["state"] == "delivered":
            assert text in recorded, "an MO was acknowledged but not recorded"


def _bind_to(stack: Stack, port: int) -> None:
    """Point the gateway's [smpp] port (only) elsewhere."""
    text = stack.config.read_text(encoding="utf-8")
    line = f"port = {stack.smpp_port}\n"
    assert line in text
    stack.config.write_text(text.replace(line, f"port = {port}\n", 1), encoding="utf-8")


def test_connecting(tmp_path: Path, silent_peer: int) -> None:
    stack = Stack(tmp_path, smpp={"socket_timeout": 30.0})
    _bind_to(stack, silent_peer)
    stack.import_subscribers(DEMO)
    stack.start_gateway(wait_bound=False)
    try:
        # Started (signal handlers in place) and connecting: not a fixed sleep, which a slow start outlasts.
        wait_until(lambda: len(stack.events("ops_http_listening")) >= 1, 15, "the gateway started")
        time.sleep(0.5)  # connected, the bind sent, its response never coming
        assert _stop_timed(stack) < LIMIT
    finally:
        stack.stop()


def test_backing_off(tmp_path: Path) -> None:
    stack = Stack(tmp_path, smpp={"reconnect_min": 20.0, "reconnect_max": 30.0})
    _bind_to(stack, free_port())  # nothing listens there: every attempt fails, then the gateway waits
    stack.import_subscribers(DEMO)
    stack.start_gateway(wait_bound=False)
    try:
        wait_until(lambda: len(stack.events("smpp_connect_failed")) >= 1, 15, "a failed connection attempt")
        time.sleep(0.3)  # now sleeping 10-20 s before the next attempt
        assert _stop_timed(stack) < LIMIT
    finally:
        stack.stop()


def test_mid_batch_waiting_for_the_write_lock(stack: Stack) -> None:
    lock = sqlite3.connect(stack.db_path, timeout=10, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock: the batch waits on it
        mo_id = _inject(stack, "37120000001", "V 29000001 5")
        wait_until(lambda: stack.mo(mo_id)["state"] != "queued", 5, "the MO written to the gateway")
        time.sleep(0.3)
        took = _stop_timed(stack)
    finally:
        lock.close()
    assert took < LIMIT
    # Nothing was committed, so nothing was acknowledged: the SMSC keeps the MO for later.
    assert stack.query("SELECT COUNT(*) FROM mo_messages") == [(0,)]
    assert stack.mo(mo_id)["state"] != "delivered"
