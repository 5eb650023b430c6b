"""Several ``smsgw run`` instances on one PostgreSQL, all bound to one simulator, as real processes.

:class:`Cluster` keeps the e2e harness's :class:`~tests.e2e.harness.Stack` for the
simulator (its config, control API and subscriber import) and adds gateway
instances: each its own config file (its own ``[http]`` port, its own
``[outbox] instance`` name, the same ``[smpp]`` account and ``[database] url``),
its own JSON log per start, and ways to kill, stop and restart it, read its
metrics and its resident memory. ``faketime`` runs the instances under
libfaketime with one shared offset (their clocks agree with each other).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from tests.e2e.harness import SMSGW, Stack, free_port
from tests.postgres import PostgresServer

__all__ = ["LIBFAKETIME", "SIMULATOR", "SMPP", "Cluster", "Instance", "new_database", "parse_metrics"]

LIBFAKETIME = next(
    iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), Path("/nonexistent/libfaketime.so.1")
)

#: Lines of an instance's log that say something went wrong in our code.
_TRACE_MARKS = ('"exception"', "Traceback")


#: Tuned like the reliability suite: the simulator redelivers an unacknowledged MO after 3 s
#: (at once to another bind when a connection ends) and never gives up within a test; the
#: instances reconnect within half a second.
SIMULATOR = {"mo_window": 32, "mo_redelivery_attempts": 1000, "max_connections": 64}
SMPP = {"reconnect_min": 0.1, "reconnect_max": 0.5}


def new_database(server: PostgresServer) -> str:
    name = f"s_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user=server.user, database="postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return server.url(name)


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text as {series (name and labels as written): value}; comments skipped."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        with contextlib.suppress(ValueError):
            values[name] = float(value)
    return values


@dataclass
class Instance:
    """One gateway instance: its name, config file, ops port and the processes it ran (one log per start)."""

    name: str
    folder: Path
    config: Path
    ops_port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    starts: int = 0
    # Counters of the processes that died (a restart starts them from zero again).
    carried: dict[str, float] = field(default_factory=dict)
    last_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        assert not self.alive, f"{self.name} is running"
        self.starts += 1
        path = self.folder / f"{self.name}-{self.starts}.log"
        self.logs.append(path)
        with open(path, "ab") as log:
            self.process = subprocess.Popen(
                [SMSGW, "--config", str(self.config), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )
        self.last_metrics = {}

    def signal(self, sig: int, timeout: float = 30.0) -> int:
        """Send ``sig`` and wait for the process to end; returns its exit status."""
        assert self.process is not None
        if sig == signal.SIGKILL:
            self.carry()
        self.process.send_signal(sig)
        status = self.process.wait(timeout=timeout)
        if sig != signal.SIGKILL:
            self.carry()
        return status

    def carry(self) -> None:
        """Keep the counters of the process about to die (scraped now, or the last scrape)."""
        with contextlib.suppress(OSError, AssertionError):
            self.scrape()
        for key, value in self.last_metrics.items():
            if key.endswith("_total"):
                self.carried[key] = self.carried.get(key, 0.0) + value
        self.last_metrics = {}

    def scrape(self) -> dict[str, float]:
        """The instance's /metrics now (OSError if it does not answer)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ops_port}/metrics", timeout=5) as response:
            self.last_metrics = parse_metrics(response.read().decode())
        return self.last_metrics

    def counter(self, name: str) -> float:
        """A counter summed over every process of this instance (the dead ones' last scrape included)."""
        return self.carried.get(name, 0.0) + self.last_metrics.get(name, 0.0)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ops_port}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def rss_kib(self) -> int:
        if not self.alive:
            return 0
        assert self.process is not None
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def log_text(self) -> str:
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in self.logs if p.exists())

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found = []
        for line in self.log_text().splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and (name is None or event.get("event") == name):
                    found.append(event)
        return found

    def last_events(self) -> list[dict[str, Any]]:
        """The events of the latest start only."""
        if not self.logs or not self.logs[-1].exists():
            return []
        found = []
        for line in self.logs[-1].read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    found.append(event)
        return found

    def traces(self) -> list[str]:
        """Log lines with an exception or a traceback (none is the expectation)."""
        return [line[:600] for line in self.log_text().splitlines() if any(m in line for m in _TRACE_MARKS)]


class Cluster:
    """A simulator, and ``size`` gateway instances on the PostgreSQL database ``database_url``."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        *,
        size: int = 3,
        smpp: dict[str, Any] | None = None,
        simulator: dict[str, Any] | None = None,
        outbox: dict[str, Any] | None = None,
        extra: str = "",
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.database_url = database_url
        self.stack = Stack(folder, smpp=smpp, simulator=simulator, database_url=database_url, extra=extra)
        self.outbox = {"takeover": 10.0, **(outbox or {})}
        self.instances = [self._instance(n) for n in range(1, size + 1)]

    def _instance(self, number: int) -> Instance:
        name = f"gw{number}"
        port = free_port()
        base = self.stack.config.read_text(encoding="utf-8")
        http = f'[http]\nhost = "127.0.0.1"\nport = {self.stack.ops_port}\n'
        assert http in base, "the harness config has no [http] table as expected"
        outbox = "".join(f"{k} = {json.dumps(v)}\n" for k, v in {**self.outbox, "instance": name}.items())
        text = base.replace(http, f'[http]\nhost = "127.0.0.1"\nport = {port}\n') + f"\n[outbox]\n{outbox}"
        config = self.folder / f"{name}.toml"
        config.write_text(text, encoding="utf-8")
        return Instance(name, self.folder, config, port)

    # --- processes --------------------------------------------------------------------------

    def start(self, rows: list[str], *, instances: bool = True) -> None:
        """The subscribers, the simulator, then (``instances``) every instance at once, until all are bound."""
        self.stack.import_subscribers(rows)
        self.stack.start_simulator()
        if instances:
            self.start_instances()

    def start_instances(self) -> None:
        for instance in self.instances:
            instance.start()
        self.wait_bound(self.instances)

    def fake_time(self, offset: float) -> None:
        """Run every instance (from its next start) ``offset`` seconds ahead of the real clock."""
        assert LIBFAKETIME.exists(), f"{LIBFAKETIME} is missing (apt-get install faketime)"
        for instance in self.instances:
            instance.env = {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"{offset:+.3f}"}

    def wait_bound(self, instances: list[Instance], timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(instances)
        while waiting:
            for instance in waiting:
                if not instance.alive:
                    raise AssertionError(f"{instance.name} exited:\n{instance.log_text()[-3000:]}")
            waiting = [i for i in waiting if not i.healthy()]
            if waiting and time.monotonic() > deadline:
                raise AssertionError(f"not bound within {timeout} s: {[i.name for i in waiting]}")
            time.sleep(0.1)

    def restart(self, instance: Instance, *, wait: bool = True) -> None:
        instance.start()
        if wait:
            self.wait_bound([instance])

    def stop(self) -> None:
        for instance in self.instances:
            if instance.alive:
                assert instance.process is not None
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            if instance.process is not None:
                try:
                    instance.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    instance.process.kill()
                    instance.process.wait()
        self.stack.stop()

    # --- what they say ----------------------------------------------------------------------

    def scrape_all(self) -> None:
        for instance in self.instances:
            if instance.alive:
                with contextlib.suppress(OSError):
                    instance.scrape()

    def counter(self, name: str) -> float:
        return sum(i.counter(name) for i in self.instances)

    def traces(self) -> list[str]:
        return [f"{i.name}: {line}" for i in self.instances for line in i.traces()]

    def events(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        return [(i.name, e) for i in self.instances for e in i.events(name)]

    def bound_binds(self) -> list[int]:
        return [int(b["id"]) for b in self.stack.get("/api/binds")["binds"] if str(b["state"]).startswith("bound")]
