"""`smsgw demo` for testers: busy ports, --reset, Ctrl-C in a terminal, one log stream (issue 13)."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import SMSGW, free_port, subscribers_csv


def write_config(folder: Path) -> Path:
    smpp, sim_http, ops = free_port(), free_port(), free_port()
    config = folder / "config.toml"
    config.write_text(
        f'[smpp]\nhost = "127.0.0.1"\nport = {smpp}\nsystem_id = "smsgw"\npassword = "demo1234"\n'
        f'[http]\nhost = "127.0.0.1"\nport = {ops}\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{folder / "demo.db"}"\n'
        f'[security]\nkey_file = "{folder / "demo.key"}"\n'
        '[password]\nscrypt_n = 1024\n[logging]\nformat = "auto"\n'
        f'[simulator]\nhost = "127.0.0.1"\nport = {smpp}\nsystem_id = "smsgw"\npassword = "demo1234"\n'
        f"http_port = {sim_http}\n",
        encoding="utf-8",
    )
    return config


def demo_processes(config: Path) -> list[int]:
    """Every process whose command line names this demo's config (the demo and its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if str(config).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


class Terminal:
    """`smsgw demo` on a pseudo-terminal, as a tester runs it."""

    def __init__(self, config: Path, *args: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the demo
            os.chdir(config.parent)
            os.execv(SMSGW, [SMSGW, "--config", str(config), "demo", *args])
        self.output = b""
        self.status: int | None = None

    def read(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.output += data

    def wait_for(self, text: bytes, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline or self.exited():
                raise AssertionError(f"{text!r} not seen:\n{self.text}")
            self.read(0.1)

    def exited(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status is not None

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    def close(self) -> None:
        if not self.exited():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def terminal() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for t in opened:
        t.close()


def test_ctrl_c_in_a_terminal_ends_everything_within_two_seconds(tmp_path: Path, terminal: list[Terminal]) -> None:
    config = write_config(tmp_path)
    demo = Terminal(config)
    terminal.append(demo)
    demo.wait_for(b"Ctrl-C stops the gateway and the simulator.")
    running = demo_processes(config)
    assert len(running) >= 3, running  # the demo, the simulator, the gateway (and its worker)
    assert b"The testers' page: http://127.0.0.1:" in demo.output
    os.write(demo.fd, b"\x03")  # the terminal sends SIGINT to its foreground process group
    pressed = time.monotonic()
    while demo_processes(config) and time.monotonic() - pressed < 5:
        time.sleep(0.02)
    took = time.monotonic() - pressed
    demo.read(0.3)
    assert demo_processes(config) == [], demo.text
    assert took < 2.0, f"{took:.2f} s"
    assert demo.exited() and demo.status == 0
    assert "Traceback" not in demo.text and "KeyboardInterrupt" not in demo.text
    assert demo.text.rstrip().endswith("smsgw demo: stopped")


def test_a_port_in_use_stops_the_demo_before_anything_starts(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    sim_http = int(config.read_text().split("http_port = ")[1].split()[0])
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", sim_http))
        holder.listen()
        done = subprocess.run(
            [SMSGW, "--config", str(config), "demo"], capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"smsgw demo: port {sim_http} on 127.0.0.1 is in use (the simulator's page and API")
    assert not (tmp_path / "demo.db").exists()  # nothing imported into anybody's database
    assert demo_processes(config) == []


def test_reset_starts_from_fresh_demo_data_and_the_logs_are_one_stream(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    extra = tmp_path / "extra.csv"
    extra.write_text(subscribers_csv(["37126666666,postpaid,active,private,false,lv,,,"]), encoding="utf-8")
    subprocess.run([SMSGW, "--config", str(config), "subscribers", "import", str(extra)], check=True, timeout=60)
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen([SMSGW, "--config", str(config), "demo", "--reset"], stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 60
            while b"Ctrl-C stops" not in log.read_bytes():
                assert demo.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            with sqlite3.connect(tmp_path / "demo.db") as db:
                numbers = {row[0] for row in db.execute("SELECT msisdn FROM subscribers")}
            demo.send_signal(signal.SIGTERM)
            assert demo.wait(5) == 0
        finally:
            if demo.poll() is None:
                demo.kill()
    assert "37126666666" not in numbers and {"37120000001", "37129000005"} <= numbers
    text = log.read_text()
    assert "--reset: deleted" in text and "Traceback" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    loggers = {line["logger"].split(".")[0] for line in lines}
    assert {"simulator", "smsgw"} <= loggers  # both processes, in one format: JSON lines (not a terminal)
    assert all({"event", "level", "logger", "timestamp"} <= line.keys() for line in lines)
