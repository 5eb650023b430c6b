"""Loads whose outcome is known in advance, and ways to crash the gateway, for the reliability suite.

**Load.** Each burst uses senders never used before (so its caps start from
zero) and a small pool of Kartes. A *plain* sender sends two one-off top-ups
with distinct texts (both are applied); a *pressure* sender sends four of 7 €
to four Kartes at once (whatever the order, exactly three fit under the daily
cap of 21.34 €: the fourth is refused). Every (sender, text) is unique, so an
MO at the SMSC and its row in the database match exactly.

**Crashes.** ``kill`` modes, each a way a real process dies:

- ``sigkill``: SIGKILL of the gateway at a random moment of the burst;
- ``frozen``: SIGSTOP, a pause in which the database worker process commits
  what it was given, then SIGKILL: MOs committed whose deliver_sm_resp was
  never written (the hard case, counted);
- ``cut``: SIGSTOP, the link dropped at the SMSC, SIGCONT (the gateway sees
  the loss, rebinds and receives redeliveries of MOs it committed), then
  SIGKILL a moment later;
- ``all``: SIGKILL of the gateway and its database worker together (a power
  cut: the worker's open transaction is lost);
- ``worker``: SIGKILL of the database worker alone (the gateway lives on);
- ``startup``: SIGKILL, restart, SIGKILL again while it starts, restart.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.harness import Stack, wait_until

from .invariants import RIGA, Expected, Sent, SimulatorView, read_db

__all__ = [
    "KILL_MODES",
    "SIMULATOR",
    "SMPP",
    "Burst",
    "Population",
    "add_database_keys",
    "feed_steadily",
    "gateway_rss_kib",
    "inject",
    "kill",
    "process_children",
    "redeliveries_seen",
    "resume",
    "stop_worker",
    "wait_clear_of_riga_midnight",
]

SIMULATOR = {"mo_window": 32, "mo_redelivery_attempts": 1000}
SMPP = {"reconnect_min": 0.1, "reconnect_max": 0.5}


def add_database_keys(stack: Stack, keys: dict[str, Any]) -> None:
    """Add keys to the ``[database]`` table of a stack's config (before its gateway starts)."""
    text = stack.config.read_text(encoding="utf-8")
    line = f'url = "{stack.database_url}"\n'
    assert line in text, "the harness config has no [database] url line"
    added = "".join(f"{k} = {json.dumps(v) if isinstance(v, str) else v}\n" for k, v in keys.items())
    stack.config.write_text(text.replace(line, line + added, 1), encoding="utf-8")


KILL_MODES = ("sigkill", "frozen", "cut", "all", "worker", "startup")
KARTES = 8
PRESSURE_AMOUNT = 7  # four of them: exactly three fit under the daily cap


@dataclass
class Population:
    """Numbered subscribers: ``bursts`` × ``senders_per_burst`` fresh senders and a few Kartes."""

    bursts: int
    plain: int = 16
    pressure: int = 2
    first_sender: int = 37122000000
    first_karte: int = 37129300000

    @property
    def per_burst(self) -> int:
        return self.plain + self.pressure

    def kartes(self) -> list[str]:
        return [str(self.first_karte + i) for i in range(KARTES)]

    def rows(self, bursts: range | None = None) -> list[str]:
        bursts = bursts if bursts is not None else range(self.bursts)
        rows = [
            f"{self.first_sender + b * self.per_burst + i},postpaid,active,private,false,en,,,"
            for b in bursts
            for i in range(self.per_burst)
        ]
        if bursts.start == 0:
            rows += [f"{k},karte,active,private,false,en,,2030-12-31,0.00" for k in self.kartes()]
        return rows

    def burst(self, number: int, rng: random.Random) -> Burst:
        if number >= self.bursts:
            raise ValueError(f"burst {number}: only {self.bursts} bursts of subscribers were imported")
        kartes = self.kartes()
        base = self.first_sender + number * self.per_burst
        messages: list[tuple[str, str, str, int]] = []
        topups: dict[str, int] = {}
        for i in range(self.plain):
            sender = str(base + i)
            a, b = rng.sample(kartes, 2)
            cents_a, cents_b = rng.randrange(142, 500), rng.randrange(142, 500)
            messages.append((sender, f"V {a[3:]} {cents_a // 100}.{cents_a % 100:02d}", a, cents_a))
            messages.append((sender, f"{b[3:]} {cents_b // 100},{cents_b % 100:02d}", b, cents_b))
            topups[sender] = 2
        forms = ("V {k} {a}", "v {k} {a},00", "{k} {a}.0", "V{k} {a}")
        for i in range(self.pressure):
            sender = str(base + self.plain + i)
            for form, karte in zip(forms, rng.sample(kartes, 4), strict=True):
                text = form.format(k=karte[3:], a=PRESSURE_AMOUNT)
                messages.append((sender, text, karte, PRESSURE_AMOUNT * 100))
            topups[sender] = 3
        rng.shuffle(messages)
        return Burst(messages, topups)


@dataclass
class Burst:
    messages: list[tuple[str, str, str, int]]  # source, text, karte, cents
    topups: dict[str, int] = field(default_factory=dict)


def inject(stack: Stack, burst: Burst, expected: Expected, *, chunk: int = 0) -> list[Sent]:
    """Inject a burst at the simulator (all at once, or in chunks of ``chunk``); adds it to ``expected``."""
    size = chunk or len(burst.messages)
    sent: list[Sent] = []
    for start in range(0, len(burst.messages), size):
        part = burst.messages[start : start + size]
        reply = stack.post("/api/mo", [{"source": s, "destination": "1643", "text": t} for s, t, _, _ in part])
        for (source, text, karte, cents), record in zip(part, reply["mos"], strict=True):
            sent.append(Sent(str(record["id"]), source, text, "1643", karte, cents))
    for mo in sent:
        expected.add(mo)
    for sender, count in burst.topups.items():
        expected.topups[sender] = expected.topups.get(sender, 0) + count
    return sent


def wait_clear_of_riga_midnight(margin: float = 90.0) -> None:
    """Sleep past Riga midnight if it is less than ``margin`` s away (the daily cap resets then)."""
    now = datetime.now(RIGA)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    left = (midnight - now).total_seconds()
    if left < margin:
        time.sleep(left + 1.0)


# --- processes ----------------------------------------------------------------------------


def process_children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (the gateway's database worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def gateway_rss_kib(stack: Stack) -> int:
    """Resident memory of the gateway process (VmRSS, KiB); 0 if it is not running."""
    proc = stack.gateway
    if proc is None or proc.poll() is not None:
        return 0
    try:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def committed_unacknowledged(stack: Stack, view: SimulatorView, mos: list[Sent]) -> int:
    """MOs of ``mos`` recorded in the database that the SMSC does not hold as acknowledged."""
    recorded = set(read_db(stack.db_path, "SELECT source, text FROM mo_messages"))
    states = view.mo_states([m for m in mos if (m.source, m.text) in recorded])
    return sum(1 for state in states.values() if state != "delivered")


def redeliveries_seen(stack: Stack) -> int:
    """MOs the gateway answered from the record as the SMSC's redelivery (its ``mo_processed`` lines)."""
    return sum(1 for e in stack.log_events() if e.get("event") == "mo_processed" and e.get("redelivery"))


def _link_lost_count(stack: Stack) -> int:
    return stack.log_text().count('"smpp_link_lost"')


@dataclass
class KillReport:
    mode: str
    hard_cases: int = 0  # committed but not acknowledged when the gateway died
    injected: list[Sent] = field(default_factory=list)  # what ``feed`` injected during the crash
    notes: dict[str, Any] = field(default_factory=dict)


def _commit_unanswered(stack: Stack, view: SimulatorView, feed: Callable[[], list[Sent]], report: KillReport) -> None:
    """Leave the gateway SIGSTOPped with MOs committed whose deliver_sm_resp it never wrote.

    The database worker is stopped first; ``feed`` injects MOs, the gateway reads
    them and hands them to the stopped worker; then the gateway is stopped and
    the worker let go: it commits them, and their results wait, unread, for a
    gateway that will never answer the SMSC.
    """
    gateway = stack.gateway
    assert gateway is not None
    # The SMSC must have room in its window for the new MOs: not full of older ones
    # (redeliveries after the last crash, receipts) that wait for the stopped worker too.
    wait_until(lambda: _smsc_has_room(stack), 10, "room in the SMSC's window")
    workers = process_children(gateway.pid)
    for pid in workers:
        _signal(pid, signal.SIGSTOP)
    try:
        report.injected = feed()
        wait_until(
            lambda: all(s != "queued" for s in view.mo_states(report.injected).values()),
            5,
            "the SMSC wrote the MOs to the gateway",
        )
        time.sleep(0.1)  # the gateway reads them and writes their units to the worker
        gateway.send_signal(signal.SIGSTOP)
    finally:
        for pid in workers:
            _signal(pid, signal.SIGCONT)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        recorded = set(read_db(stack.db_path, "SELECT source, text FROM mo_messages"))
        if all((m.source, m.text) in recorded for m in report.injected):
            break
        time.sleep(0.05)
    report.hard_cases = committed_unacknowledged(stack, view, report.injected)
    report.notes["workers"] = len(workers)


def kill(
    stack: Stack,
    mode: str,
    rng: random.Random,
    view: SimulatorView,
    feed: Callable[[], list[Sent]],
) -> KillReport:
    """Crash the gateway (or its worker) the way ``mode`` says; the gateway is NOT restarted.

    ``feed()`` injects the next MOs of the load (``frozen`` and ``cut`` call it
    themselves, to have MOs in flight at the right moment); after every mode but
    ``worker`` the gateway is dead.
    """
    gateway = stack.gateway
    assert gateway is not None and gateway.poll() is None, "the gateway is not running"
    report = KillReport(mode)
    if mode == "sigkill":
        stack.kill_gateway(signal.SIGKILL)
    elif mode == "frozen":
        _commit_unanswered(stack, view, feed, report)
        stack.kill_gateway(signal.SIGKILL)
    elif mode == "cut":
        lost = _link_lost_count(stack)
        try:
            _commit_unanswered(stack, view, feed, report)
            stack.post("/api/drop", {"all": True})
        finally:
            gateway.send_signal(signal.SIGCONT)
        wait_until(lambda: _link_lost_count(stack) > lost, 10, "the gateway saw its link cut")
        time.sleep(rng.uniform(0.3, 1.5))  # it rebinds; the MOs it committed come back as redeliveries
        stack.kill_gateway(signal.SIGKILL)
    elif mode == "all":
        workers = process_children(gateway.pid)
        gateway.send_signal(signal.SIGSTOP)  # nothing new reaches the worker meanwhile
        for pid in workers:
            _signal(pid, signal.SIGKILL)
        stack.kill_gateway(signal.SIGKILL)
        report.notes["workers"] = len(workers)
    elif mode == "worker":
        workers = process_children(gateway.pid)
        for pid in workers:
            _signal(pid, signal.SIGKILL)
        report.notes["workers"] = len(workers)
    elif mode == "startup":
        stack.kill_gateway(signal.SIGKILL)
        stack.start_gateway(wait_bound=False)
        time.sleep(rng.uniform(0.05, 1.5))
        again = stack.gateway
        assert again is not None
        for pid in process_children(again.pid):
            _signal(pid, signal.SIGKILL)
        stack.kill_gateway(signal.SIGKILL)
    else:
        raise ValueError(f"unknown kill mode {mode!r}")
    return report


def _smsc_has_room(stack: Stack, room: int = 12) -> bool:
    status = stack.status()
    outstanding = sum(int(b.get("outstanding_delivers", 0)) for b in status["binds"])
    return int(status["queued"]) == 0 and outstanding + room <= int(SIMULATOR["mo_window"])


def gateway_alive(stack: Stack) -> bool:
    proc: subprocess.Popen[bytes] | None = stack.gateway
    return proc is not None and proc.poll() is None


def feed_steadily(
    stack: Stack,
    burst: Burst,
    expected: Expected,
    *,
    chunk: int = 4,
    interval: float = 0.1,
    between: Callable[[int], None] | None = None,
    before: Callable[[int], None] | None = None,
) -> list[Sent]:
    """Inject ``burst`` in chunks every ``interval`` s, calling ``before``/``between(chunk index)`` around each."""
    sent: list[Sent] = []
    for index, start in enumerate(range(0, len(burst.messages), chunk)):
        if before is not None:
            before(index)
        sent += inject(stack, Burst(burst.messages[start : start + chunk]), expected)
        if between is not None:
            between(index)
        time.sleep(interval)
    expected.topups.update(burst.topups)
    return sent


def stop_worker(stack: Stack) -> list[int]:
    """SIGSTOP the gateway's database worker process(es): MOs stay uncommitted, in flight."""
    gateway = stack.gateway
    assert gateway is not None
    workers = process_children(gateway.pid)
    assert workers, "the gateway has no database worker process"
    for pid in workers:
        _signal(pid, signal.SIGSTOP)
    return workers


def resume(pids: list[int]) -> None:
    for pid in pids:
        _signal(pid, signal.SIGCONT)
