"""Ways to crash the one-process gateway (``smsgw run`` on SQLite), each forcing what it names.

``kill(stack, mode, rng, view, feed)`` crashes the gateway; it is not restarted.
``feed()`` injects the next MOs of the load: the modes that need MOs in flight
at a precise moment call it themselves. The commits are held with the SQLite
write lock taken from another connection (:class:`stalls.WriteLock`), never
with a fixed pause:

- ``sigkill``: SIGKILL at a random moment of the load.
- ``cut`` (the hard case): the write lock held, MOs fed and read by the
  gateway, the link dropped at the simulator, the lock released: the batch
  commits, and its deliver_sm_resp have no link to go to. The MOs are committed
  and unacknowledged; the gateway rebinds, the simulator redelivers them, and
  they must be recognised as redeliveries (by this gateway or, after the
  SIGKILL a random moment later, by the next).
- ``frozen``: the same MOs read under the lock, then the gateway SIGSTOPped
  (the lock released) until the simulator's response timeout has passed for
  every one of them and it has sent them again; SIGCONT: the batch commits and
  answers too late, the copies waiting in its socket are recognised; SIGKILL a
  random moment later.
- ``uncommitted``: MOs read under the lock, then SIGKILL while their batch
  waits for it: read, never committed, never acknowledged; the next gateway
  gets them from the SMSC as new.
- ``startup``: SIGKILL, a restart, SIGKILL again while it starts up.

``cut`` and ``frozen`` report their *hard cases*: MOs committed whose response
the SMSC did not take (:attr:`KillReport.hard_cases`); each of them comes back
and must be answered from the record as a redelivery.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.harness import Stack, wait_until

from .invariants import Sent, SimulatorView, read_db
from .stalls import WriteLock, wait_gateway_read, wait_quiet

__all__ = [
    "HARD_CASE_MODES",
    "KILL_MODES",
    "KillReport",
    "cut_link",
    "kill",
    "timed_out_and_sent_again",
]

KILL_MODES = ("sigkill", "cut", "frozen", "uncommitted", "startup")
HARD_CASE_MODES = frozenset({"cut", "frozen"})
SMSC_TIMEOUT_MARGIN = 15.0  # beyond the simulator's mo_redelivery_timeout, to see an MO sent again


@dataclass
class KillReport:
    mode: str
    hard_cases: int = 0  # committed, their deliver_sm_resp never taken by the SMSC
    injected: list[Sent] = field(default_factory=list)  # what ``feed`` injected during the crash
    notes: dict[str, Any] = field(default_factory=dict)


def kill(
    stack: Stack,
    mode: str,
    rng: random.Random,
    view: SimulatorView,
    feed: Callable[[], list[Sent]],
) -> KillReport:
    """Crash the gateway the way ``mode`` says (:data:`KILL_MODES`); it is dead afterwards."""
    gateway = stack.gateway
    assert gateway is not None and gateway.poll() is None, "the gateway is not running"
    report = KillReport(mode)
    if mode == "sigkill":
        stack.kill_gateway(signal.SIGKILL)
    elif mode == "cut":
        _cut(stack, view, feed, report)
        time.sleep(rng.uniform(0.0, 1.5))  # it rebinds and gets them again: recognised by it, or by the next
        stack.kill_gateway(signal.SIGKILL)
    elif mode == "frozen":
        _frozen(stack, view, feed, report, rng)
        time.sleep(rng.uniform(0.0, 1.5))
        stack.kill_gateway(signal.SIGKILL)
    elif mode == "uncommitted":
        wait_quiet(stack)
        with WriteLock(stack.db_path):
            report.injected = _fed_and_read(stack, view, feed)
            stack.kill_gateway(signal.SIGKILL)
        recorded = _recorded(stack, report.injected)
        assert recorded == 0, f"uncommitted: {recorded} MOs recorded although their batch never got the lock"
    elif mode == "startup":
        stack.kill_gateway(signal.SIGKILL)
        stack.start_gateway(wait_bound=False)
        time.sleep(rng.uniform(0.05, 1.5))
        stack.kill_gateway(signal.SIGKILL)
    else:
        raise ValueError(f"unknown kill mode {mode!r}")
    return report


def _fed_and_read(stack: Stack, view: SimulatorView, feed: Callable[[], list[Sent]]) -> list[Sent]:
    """``feed()``, then wait until the gateway has read what it injected."""
    injected = feed()
    assert injected, "nothing left to feed: the crash needs MOs in flight"
    wait_gateway_read(stack, view, injected)
    return injected


def _cut(stack: Stack, view: SimulatorView, feed: Callable[[], list[Sent]], report: KillReport) -> None:
    """MOs committed after their link was cut: their deliver_sm_resp go nowhere."""
    wait_quiet(stack)
    lock = WriteLock(stack.db_path).acquire()
    try:
        report.injected = _fed_and_read(stack, view, feed)
        cut_link(stack)
        unanswered = _unanswered(view, report.injected)
    finally:
        lock.release()
    report.hard_cases = _wait_recorded(stack, unanswered)


def _frozen(
    stack: Stack, view: SimulatorView, feed: Callable[[], list[Sent]], report: KillReport, rng: random.Random
) -> None:
    """MOs read, then the gateway stopped past the SMSC's response timeout; it commits them when resumed."""
    wait_quiet(stack)
    gateway = stack.gateway
    assert gateway is not None
    lock = WriteLock(stack.db_path).acquire()
    try:
        report.injected = _fed_and_read(stack, view, feed)
        gateway.send_signal(signal.SIGSTOP)
    finally:
        lock.release()
    try:
        timed_out_and_sent_again(view, report.injected)
        time.sleep(rng.uniform(0.0, 1.0))
        unanswered = _unanswered(view, report.injected)
    finally:
        gateway.send_signal(signal.SIGCONT)
    report.hard_cases = _wait_recorded(stack, unanswered)


def cut_link(stack: Stack) -> None:
    """Drop the gateway's link at the simulator; returns once the gateway logged the loss."""
    log = stack.gateway_logs[-1]
    lost = _count(log, '"smpp_link_lost"')
    assert stack.post("/api/drop", {"all": True})["dropped"], "no link to drop"
    wait_until(lambda: _count(log, '"smpp_link_lost"') > lost, 10, "the gateway saw its link cut")


def timed_out_and_sent_again(view: SimulatorView, mos: list[Sent]) -> None:
    """Wait until the simulator's response timeout passed for each of ``mos`` and it sent each again."""

    def sent_again() -> bool:
        return all(int(view.get(f"/api/mo/{m.key}")["attempts"]) >= 2 for m in mos)

    wait_until(sent_again, SMSC_TIMEOUT_MARGIN, "the simulator's response timeout and its second deliver_sm")


def _unanswered(view: SimulatorView, mos: list[Sent]) -> list[Sent]:
    states = view.mo_states(mos)
    return [m for m in mos if states[m.key] != "delivered"]


def _recorded(stack: Stack, mos: list[Sent]) -> int:
    rows = set(read_db(stack.db_path, "SELECT source, destination, text FROM mo_messages"))
    return sum(1 for m in mos if (m.source, m.destination, m.text) in rows)


def _wait_recorded(stack: Stack, mos: list[Sent], timeout: float = 15.0) -> int:
    """Wait until the held batch committed ``mos``; returns how many are recorded."""
    deadline = time.monotonic() + timeout
    while _recorded(stack, mos) < len(mos) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _recorded(stack, mos)


def _count(path: os.PathLike[str], needle: str) -> int:
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return log.read().count(needle)
    except FileNotFoundError:
        return 0
