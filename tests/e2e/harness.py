"""End-to-end harness: the real simulator and the real gateway as processes on 127.0.0.1.

``Stack`` writes a config into a temporary folder (fresh SQLite file, free ports),
starts ``python -m simulator serve`` and ``smsgw run`` as subprocesses, and gives
tests what a tester has: inject MOs and read the MTs through the simulator's
control API, run ``smsgw`` commands on the same configuration, signal or kill
the gateway, and read its JSON log.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import aiohttp

from smsgw.keys import new_key_file
from tests.ports import free_port

__all__ = ["Stack", "free_port", "running_stack", "subscribers_csv"]

HEADER = "msisdn,kind,status,customer_type,sos_sms_allowed,language,email,karte_expires_on,balance"
SMSGW = str(Path(sys.executable).with_name("smsgw"))


def subscribers_csv(rows: Iterable[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


DEMO = [
    "37120000001,postpaid,active,private,false,lv,,,",
    "37120000002,postpaid,active,private,false,en,anna@example.com,,",
    "37120000003,postpaid,active,legal,false,lv,,,",
    "37120000004,postpaid,active,legal,true,lv,,,",
    "37120000005,postpaid,cancelled,private,false,lv,,,",
    "37129000001,karte,active,private,false,lv,,2027-12-31,2.50",
    "37129000002,karte,active,private,false,en,,2027-12-31,0.00",
    "37129000003,karte,cancelled,private,false,lv,,2027-12-31,0.00",
]


class Stack:
    def __init__(
        self,
        folder: Path,
        *,
        smpp: dict[str, Any] | None = None,
        simulator: dict[str, Any] | None = None,
        database_url: str | None = None,
        extra: str = "",
    ) -> None:
        self.folder = folder
        self.smpp_port = free_port()
        self.sim_http = free_port()
        self.ops_port = free_port()
        self.db_path = folder / "gw.db"
        self.database_url = database_url or f"sqlite+aiosqlite:///{self.db_path}"
        self.config = folder / "config.toml"
        self.key_file = folder / "keys" / "gw.key"  # not beside the database: smsgw run would warn
        if not self.key_file.exists():
            self.key_file.parent.mkdir(exist_ok=True)
            new_key_file(self.key_file)
        smpp_extra = {"enquire_link_interval": 5.0, "submit_timeout": 3.0, **(smpp or {})}
        # secret_sources = []: these tests read a temporary password from the SMS the simulator got,
        # to prove it works (a tester's simulator masks it: docs/simulator.md).
        sim_extra = {
            "record_file": "",
            "mo_redelivery_timeout": 3.0,
            "mo_retry_delay": 1.0,
            "secret_sources": [],
            **(simulator or {}),
        }
        self.config.write_text(
            "[smpp]\n"
            f'host = "127.0.0.1"\nport = {self.smpp_port}\nsystem_id = "smsgw"\npassword = "demo1234"\n'
            + "".join(f"{k} = {_toml(v)}\n" for k, v in smpp_extra.items())
            + f'[http]\nhost = "127.0.0.1"\nport = {self.ops_port}\n'
            + f'[database]\nurl = "{self.database_url}"\n'
            + f'[security]\nkey_file = "{self.key_file}"\n'
            + '[password]\nscrypt_n = 1024\n[logging]\nformat = "json"\nlevel = "info"\n'
            + f'[simulator]\nhost = "127.0.0.1"\nport = {self.smpp_port}\nsystem_id = "smsgw"\npassword = "demo1234"\n'
            + f"http_port = {self.sim_http}\n"
            + "".join(f"{k} = {_toml(v)}\n" for k, v in sim_extra.items())
            + extra,
            encoding="utf-8",
        )
        self.simulator: subprocess.Popen[bytes] | None = None
        self.gateway: subprocess.Popen[bytes] | None = None
        self.gateway_logs: list[Path] = []
        self.base = f"http://127.0.0.1:{self.sim_http}"
        self._session: aiohttp.ClientSession | None = None

    # --- processes -----------------------------------------------------------------------

    def start_simulator(self) -> None:
        log = open(self.folder / "simulator.log", "ab")
        self.simulator = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--config", str(self.config), "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
        )
        _wait_http(f"{self.base}/api/health", self.simulator)

    def start_gateway(self, *, wait_bound: bool = True) -> subprocess.Popen[bytes]:
        path = self.folder / f"gateway-{len(self.gateway_logs) + 1}.log"
        self.gateway_logs.append(path)
        log = open(path, "ab")
        self.gateway = subprocess.Popen(
            [SMSGW, "--config", str(self.config), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        if wait_bound:
            self.wait_for_binds(1)
        return self.gateway

    def wait_for_binds(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gateway is not None and self.gateway.poll() is not None:
                raise AssertionError(f"the gateway exited with {self.gateway.returncode}:\n{self.log_text()[-3000:]}")
            if len(self.get("/api/binds")["binds"]) == count:
                return
            time.sleep(0.1)
        raise AssertionError(f"expected {count} binds within {timeout} s:\n{self.log_text()[-3000:]}")

    def kill_gateway(self, sig: int = signal.SIGKILL) -> int:
        assert self.gateway is not None
        self.gateway.send_signal(sig)
        return self.gateway.wait(timeout=30)

    def stop(self) -> None:
        for proc in (self.gateway, self.simulator):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    # --- the gateway's command line and log -------------------------------------------------

    def smsgw(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [SMSGW, "--config", str(self.config), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.folder,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"smsgw {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def import_subscribers(self, rows: Iterable[str]) -> None:
        path = self.folder / "subscribers.csv"
        path.write_text(subscribers_csv(rows), encoding="utf-8")
        self.smsgw("subscribers", "import", str(path))

    def billing(self, month: str | None = None) -> list[dict[str, str]]:
        month = month or time.strftime("%Y-%m")
        return list(csv.DictReader(io.StringIO(self.smsgw("billing", "export", "--month", month).stdout)))

    def log_text(self) -> str:
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in self.gateway_logs if p.exists())

    def log_events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.log_text().splitlines():
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
        return events

    # --- the simulator's control API ---------------------------------------------------------

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        import urllib.parse
        import urllib.request

        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        with urllib.request.urlopen(self.base + path + query, timeout=30) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def post(self, path: str, body: Any, method: str = "POST") -> dict[str, Any]:
        import urllib.request

        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def cursor(self) -> int:
        return int(self.get("/api/mt", cursor=-1)["cursor"])

    def send(self, source: str, text: str, destination: str = "1643", **options: str) -> int:
        """Inject an MO; returns the MT cursor from before it, to read its replies from."""
        reply = self.post("/api/mo", {"source": source, "destination": destination, "text": text, **options})
        return int(reply["cursor"])

    def mts(self, cursor: int, *, wait: float = 0.0) -> tuple[list[dict[str, Any]], int]:
        data = self.get("/api/mt", cursor=cursor, wait=wait)
        return data["mts"], int(data["cursor"])

    def replies(
        self, cursor: int, *, expect: int, to: str | None = None, timeout: float = 15.0
    ) -> list[dict[str, Any]]:
        """MTs from ``cursor`` on, until ``expect`` of them (addressed to ``to``, if given) arrived."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch, cursor = self.mts(cursor, wait=min(1.0, max(0.0, deadline - time.monotonic())))
            found.extend(m for m in batch if to is None or m["destination"] == to)
            if len(found) >= expect:
                return found
        raise AssertionError(f"expected {expect} MTs{' to ' + to if to else ''}, got {found}")

    def converse(
        self, source: str, text: str, destination: str = "1643", *, expect: int = 1, timeout: float = 15.0
    ) -> list[str]:
        """Send one MO and return the texts of the replies to its sender (waits for ``expect``)."""
        cursor = self.send(source, text, destination)
        return [m["text"] for m in self.replies(cursor, expect=expect, to=source, timeout=timeout)]

    def silence(self, source: str, cursor: int, seconds: float = 1.5) -> None:
        time.sleep(seconds)
        batch, _ = self.mts(cursor)
        assert [m for m in batch if m["destination"] == source] == [], batch

    # --- helpers added for the end-to-end suites ----------------------------------------------

    def start_all(self, rows: Iterable[str] = DEMO, *, wait_bound: bool = True) -> None:
        """Start the simulator while the subscribers are imported, then the gateway.

        The same as ``start_simulator(); import_subscribers(rows); start_gateway()``
        but the simulator's start-up overlaps the import (about a second less).
        """
        log = open(self.folder / "simulator.log", "ab")
        self.simulator = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--config", str(self.config), "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
        )
        self.import_subscribers(rows)
        _wait_http(f"{self.base}/api/health", self.simulator)
        self.start_gateway(wait_bound=wait_bound)

    def restart_simulator(self, env: dict[str, str] | None = None) -> None:
        """Stop the simulator (SIGTERM) and start it again on the same ports (``env`` added)."""
        assert self.simulator is not None
        self.simulator.send_signal(signal.SIGTERM)
        self.simulator.wait(timeout=15)
        log = open(self.folder / "simulator.log", "ab")
        self.simulator = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--config", str(self.config), "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            env={**os.environ, **(env or {})},
        )
        _wait_http(f"{self.base}/api/health", self.simulator)

    def bound_ids(self) -> set[int]:
        """Ids of the simulator's connections that are bound."""
        return {int(b["id"]) for b in self.get("/api/binds")["binds"] if str(b["state"]).startswith("bound")}

    def wait_for_rebind(self, old: set[int], timeout: float = 15.0) -> int:
        """Wait for a bound connection that is not one of ``old``; returns its id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = self.bound_ids() - old
            if new:
                return min(new)
            time.sleep(0.05)
        raise AssertionError(f"no new bind within {timeout} s:\n{self.log_text()[-3000:]}")

    def fault(self, kind: str, **options: Any) -> dict[str, Any]:
        return self.post("/api/faults", {"kind": kind, **options})

    def clear_faults(self) -> None:
        self.post("/api/faults", {}, method="DELETE")
        self.post("/api/receipts", {}, method="DELETE")

    def status(self) -> dict[str, Any]:
        return self.get("/api/status")

    def mo(self, mo_id: str) -> dict[str, Any]:
        return self.get(f"/api/mo/{mo_id}")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the gateway's SQLite database (read-only; the gateway may be writing)."""
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def wait_until(self, check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        """Poll ``check`` until it returns something truthy (returned) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(0.05)
        raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")

    def wait_acked(self, timeout: float = 10.0) -> None:
        """Wait until the gateway knows the SMSC received every deliver_sm_resp it wrote.

        Until then an MO with the same text from the same number is taken for the
        SMSC's redelivery of the first (README: Redeliveries); a test that sends one
        text twice on purpose waits for this in between, as a human's typing would.
        """
        self.wait_until(
            lambda: self.query("SELECT COUNT(*) FROM mo_messages WHERE NOT acked")[0][0] == 0,
            timeout,
            "every MO acknowledged",
        )

    def outbox(self, destination: str | None = None) -> list[dict[str, Any]]:
        """The gateway's reply outbox rows (id, destination, state, text), oldest first."""
        sql = "SELECT id, source, destination, state, text FROM outbox"
        rows = (
            self.query(sql + " WHERE destination = ? ORDER BY id", (destination,))
            if destination
            else self.query(sql + " ORDER BY id")
        )
        keys = ("id", "source", "destination", "state", "text")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def charges(self, sender: str | None = None) -> list[tuple[str, str, int, str]]:
        """(sender, karte, amount_cents, kind) of every charge (read from the database)."""
        sql = "SELECT sender, karte, amount_cents, kind FROM charges"
        if sender is None:
            return [tuple(r) for r in self.query(sql + " ORDER BY id")]  # type: ignore[misc]
        return [tuple(r) for r in self.query(sql + " WHERE sender = ? ORDER BY id", (sender,))]  # type: ignore[misc]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.log_events() if e.get("event") == name]


@contextlib.contextmanager
def running_stack(folder: Path, rows: Iterable[str] = DEMO, **options: Any) -> Iterator[Stack]:
    """A started simulator + gateway (``Stack(folder, **options)``), stopped afterwards."""
    stack = Stack(folder, **options)
    try:
        stack.start_all(rows)
        yield stack
    finally:
        stack.stop()


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return str(value)


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {url} answered")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


# --- helpers for tests that look inside (added with the redelivery / crash tests) ----------


def numbered_subscribers(
    count: int, *, first_sender: int = 37121000000, first_karte: int = 37129100000
) -> tuple[list[str], list[str], list[str]]:
    """``count`` active private postpaid senders and ``count`` active Kartes: (senders, kartes, CSV rows)."""
    senders = [str(first_sender + i) for i in range(count)]
    kartes = [str(first_karte + i) for i in range(count)]
    rows = [f"{s},postpaid,active,private,false,en,,," for s in senders]
    rows += [f"{k},karte,active,private,false,en,,2030-12-31,0.00" for k in kartes]
    return senders, kartes, rows


def db_query(db_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of one read-only query on the gateway's SQLite file, read while the gateway runs."""
    import sqlite3

    con = sqlite3.connect(db_path, timeout=10)
    try:
        return list(con.execute(sql, params))
    finally:
        con.close()


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``predicate()`` until true; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)


def wait_gateway_bound(stack: Stack, binds: int, timeout: float = 20.0) -> None:
    """Wait until the gateway itself logged its ``binds``-th bind (an SMSC sees the bind earlier)."""
    wait_until(
        lambda: any(e.get("event") == "smpp_bound" and e.get("binds") == binds for e in stack.log_events()),
        timeout,
        f"the gateway's bind number {binds}",
    )
