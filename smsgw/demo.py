"""``smsgw demo``: the simulator and the gateway together, with demo subscribers, for testers.

One supervising process starts three children, each in a session of its own (so a
terminal's Ctrl-C reaches only the supervisor, which then ends them in order): the
simulator (``python -m simulator serve``, its page suggesting the demo subscribers), the
import of the demo subscribers (``smsgw subscribers import``, while the simulator starts)
and the gateway (``smsgw run``). Before anything starts, every port the demo needs is
checked: one in use stops the demo with one line, and nothing is started or imported.
The demo subscribers' Karte expiry dates are moved by the days passed since the file was
written (the "expired 3 months ago" Karte stays so), in a copy that both the import and the page's phonebook read.
Ctrl-C or SIGTERM ends the gateway (SIGTERM: it unbinds), then the simulator, within
two seconds (SIGKILL to whatever is left of a process group), with no traceback.
A child that dies takes the demo down with it; the children die with the supervisor.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from .config import Config

__all__ = ["DEMO_DATA_AS_OF", "DemoError", "check_ports", "demo_csv_as_of", "reset_database", "run_demo"]

# The Karte expiry dates of smsgw/data/demo_subscribers.csv are written as of this day; the
# demo moves them by as many days as have passed since, so that "expired 3 months ago" stays true.
DEMO_DATA_AS_OF = date(2026, 12, 1)
STOP_BUDGET = 2.0  # seconds from Ctrl-C to every process gone
GATEWAY_SHARE = 1.3  # of which the gateway may use this much to unbind and stop
START_TIMEOUT = 30.0


class DemoError(Exception):
    """The demo cannot start or go on: one line for the user."""


class _Stopped(BaseException):
    """SIGINT or SIGTERM reached the supervisor."""


@dataclass(frozen=True, slots=True)
class _Port:
    what: str
    host: str
    port: int


def _ports(config: Config) -> list[_Port]:
    sim = config.simulator
    return [
        _Port(
            "the simulator's SMPP port, [simulator] port",
            str(sim.get("host", "127.0.0.1")),
            int(sim.get("port", 2775)),
        ),
        _Port(
            "the simulator's page and API, [simulator] http_port",
            str(sim.get("http_host", "127.0.0.1")),
            int(sim.get("http_port", 8775)),
        ),
        _Port("the gateway's metrics and health, [http] port", config.http.host, config.http.port),
    ]


def _in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers themselves bind
        try:
            probe.bind((host.strip("[]"), port))
        except OSError:
            return True
    return False


def check_ports(config: Config) -> None:
    """DemoError naming the first port the demo needs that something else holds."""
    for port in _ports(config):
        if port.port and _in_use(port.host, port.port):
            raise DemoError(
                f"port {port.port} on {port.host} is in use ({port.what}): is another demo or simulator running? "
                "Stop it, or give this demo other ports in its config"
            )


def reset_database(config: Config) -> list[Path]:
    """Delete the demo's SQLite database files (the next import starts from fresh demo data)."""
    from sqlalchemy.engine import make_url

    url = make_url(config.database.url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        raise DemoError("--reset deletes the embedded SQLite database only; empty PostgreSQL yourself")
    base = Path(url.database)
    removed = []
    for path in (base, *(base.with_name(base.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def demo_csv_as_of(text: str, today: date) -> str:
    """The demo subscribers with every Karte's expiry moved by the days from DEMO_DATA_AS_OF to `today`."""
    shift = today - DEMO_DATA_AS_OF
    rows = list(csv.DictReader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        if row.get("karte_expires_on"):
            row["karte_expires_on"] = (date.fromisoformat(row["karte_expires_on"]) + shift).isoformat()
        writer.writerow(row)
    return out.getvalue()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: the supervisor's death ends it


class _Children:
    """The demo's processes, each the leader of its own process group."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self._env = env or {}

    def start(self, name: str, args: list[str], **options: Any) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            args,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self._env},
            **options,
        )
        self.running[name] = process
        return process

    def check(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                raise DemoError(f"the {name} exited with status {process.returncode} (see its output above)")

    def stop(self) -> None:
        """End every child in order (gateway first), within STOP_BUDGET seconds in all."""
        deadline = time.monotonic() + STOP_BUDGET
        order = sorted(self.running, key=lambda name: name != "gateway")
        for name in order:
            process = self.running[name]
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
            share = GATEWAY_SHARE if name == "gateway" else STOP_BUDGET
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.05, min(deadline, time.monotonic() + share) - time.monotonic() - 0.1))
        for process in self.running.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # what is left, and the group's other processes
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.2)


def _get(url: str, token: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, b""
    except OSError:
        return 0, b""


def _wait(what: str, ready: Callable[[], bool], children: _Children, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        children.check()
        if time.monotonic() > deadline:
            raise DemoError(f"{what} did not come up within {timeout:.0f} s")
        time.sleep(0.1)


@contextlib.contextmanager
def _signals_stop_the_demo() -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise _Stopped

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig in previous:  # a second Ctrl-C while the children end changes nothing
            signal.signal(sig, signal.SIG_IGN)


def _key_environment(config: Config) -> dict[str, str]:
    """The key file's keys for the children, in their environment: the demo may have made its own
    (``smsgw-demo.key`` beside the config) that the config file does not name."""
    from .sealing import key_file_path, read_key_file

    if config.security.secret_key or os.environ.get("SMSGW_SECRET_KEY") or not config.security.key_file:
        return {}  # the children read the same key from the environment or the config
    keys = read_key_file(key_file_path(config.security.key_file, config.path))
    return {"SMSGW_SECRET_KEY": ",".join(key.decode("ascii") for key in keys)}


def _url_host(host: str) -> str:
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"[{host}]" if ":" in host else host


def run_demo(config: Config, config_path: str, *, reset: bool, banner: Callable[[str], None]) -> None:
    """Run the demo until Ctrl-C/SIGTERM (returns) or a child dies (DemoError)."""
    check_ports(config)
    if reset:
        removed = reset_database(config)
        deleted = ", ".join(map(str, removed)) or "no database yet"
        banner(f"smsgw demo: --reset: deleted {deleted}; starting from fresh demo data")
    sim = config.simulator
    page = f"http://{_url_host(str(sim.get('http_host', '127.0.0.1')))}:{sim.get('http_port', 8775)}"
    token = os.environ.get("SMSC_SIM_TOKEN", str(sim.get("token", "")))
    health = f"http://{_url_host(config.http.host)}:{config.http.port}/healthz"
    children = _Children(_key_environment(config))
    shipped = resources.files("smsgw.data").joinpath("demo_subscribers.csv").read_text(encoding="utf-8")
    smsgw = [sys.executable, "-m", "smsgw", "--config", config_path]
    stopped = False
    with tempfile.TemporaryDirectory(prefix="smsgw-demo-") as folder, _signals_stop_the_demo():
        csv_path = Path(folder) / "demo_subscribers.csv"
        csv_path.write_text(demo_csv_as_of(shipped, date.today()), encoding="utf-8")
        try:
            logging = ["--log-format", config.logging.format, "--log-level", config.logging.level]
            simulator = [sys.executable, "-m", "simulator", "--config", config_path, "serve"]
            children.start("simulator", [*simulator, "--phonebook", str(csv_path), *logging])
            importing = [*smsgw, "subscribers", "import", str(csv_path)]
            importer = children.start("import", importing, stdout=subprocess.PIPE)
            out, _ = importer.communicate()
            if importer.returncode != 0:
                raise DemoError("importing the demo subscribers failed (see above)")
            del children.running["import"]
            _wait("the simulator", lambda: _get(f"{page}/api/health")[0] == 200, children)
            children.start("gateway", [*smsgw, "run", "--demo"])
            _wait("the gateway's bind", lambda: _get(health)[0] == 200, children)
            banner(_banner(config, page, token, out.decode(errors="replace").strip()))
            while True:
                children.check()
                time.sleep(0.2)
        except _Stopped:
            stopped = True
        finally:
            children.stop()
    if stopped:
        banner("smsgw demo: stopped")


def _banner(config: Config, page: str, token: str, imported: str) -> str:
    sim = config.simulator
    here = Path.cwd()
    cmd = ".venv/bin/smsc-sim" if (here / ".venv" / "bin" / "smsc-sim").exists() else "smsc-sim"
    page_url = f"{page}/#token={token}" if token else f"{page}/"
    return (
        f"\nsmsgw demo: the SMSC simulator listens on {sim.get('host', '127.0.0.1')}:{sim.get('port', 2775)}, "
        f"the gateway is bound to it; {imported or 'demo subscribers imported'}.\n"
        f"The testers' page: {page_url}\n"
        "Or play a subscriber from another terminal in this folder:\n"
        f"  {cmd} send 37120000001 1643 'V 29000001 5'\n"
        f"  {cmd} send 37120000002 1643 'M 29000002 4.13'   then   {cmd} send 37120000002 1643 JA\n"
        f"  {cmd} send 37120000002 1640 P\n"
        f"  {cmd} traffic 37120000001                       (a number's conversation)\n"
        f"  {cmd} play simulator/scripts/sos_one_off.txt    (scripted conversations)\n"
        "Ctrl-C stops the gateway and the simulator.\n"
    )
