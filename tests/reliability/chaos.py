"""Loads whose outcome is known in advance, for the reliability suite (the crashes are in ``crashes.py``).

Each burst uses senders never used before (so its caps start from zero) and a
small pool of Kartes. A *plain* sender sends two one-off top-ups with distinct
texts (both are applied); a *pressure* sender sends four of 7 € to four Kartes
at once (whatever the order, exactly three fit under the daily cap of
21.34 €: the fourth is refused). Every (sender, text) is unique, so an MO at
the SMSC and its row in the database match exactly.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.harness import Stack

from .invariants import RIGA, Expected, Sent

__all__ = [
    "SIMULATOR",
    "SMPP",
    "Burst",
    "Population",
    "add_database_keys",
    "feed_steadily",
    "gateway_alive",
    "gateway_rss_kib",
    "inject",
    "redeliveries_seen",
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


def feed_steadily(
    stack: Stack,
    burst: Burst,
    expected: Expected,
    *,
    chunk: int = 4,
    interval: float = 0.1,
    between: Callable[[int, list[Sent]], None] | None = None,
    before: Callable[[int], None] | None = None,
) -> list[Sent]:
    """Inject ``burst`` in chunks every ``interval`` s.

    ``before(chunk index)`` is called before each chunk, ``between(chunk index, its MOs)`` after it.
    """
    sent: list[Sent] = []
    for index, start in enumerate(range(0, len(burst.messages), chunk)):
        if before is not None:
            before(index)
        injected = inject(stack, Burst(burst.messages[start : start + chunk]), expected)
        sent += injected
        if between is not None:
            between(index, injected)
        time.sleep(interval)
    expected.topups.update(burst.topups)
    return sent


# --- the gateway's process and log -------------------------------------------------------


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


def gateway_alive(stack: Stack) -> bool:
    proc: subprocess.Popen[bytes] | None = stack.gateway
    return proc is not None and proc.poll() is None


_REDELIVERIES_IN_ENDED_LOGS: dict[Path, int] = {}


def redeliveries_seen(stack: Stack) -> int:
    """MOs the gateway answered from the record as the SMSC's redelivery (``mo_processed`` with ``redelivery``).

    The log of a gateway process that ended is counted once and remembered: a
    run of 1,000 crash cycles asks after every cycle.
    """
    total = 0
    logs = stack.gateway_logs
    for index, path in enumerate(logs):
        ended = index < len(logs) - 1 or not gateway_alive(stack)
        if ended and path in _REDELIVERIES_IN_ENDED_LOGS:
            total += _REDELIVERIES_IN_ENDED_LOGS[path]
            continue
        count = _redelivery_lines(path)
        if ended:
            _REDELIVERIES_IN_ENDED_LOGS[path] = count
        total += count
    return total


def _redelivery_lines(path: Path) -> int:
    count = 0
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            for line in log:
                if '"mo_processed"' not in line:
                    continue
                with contextlib.suppress(ValueError):
                    event = json.loads(line)
                    count += 1 if event.get("event") == "mo_processed" and event.get("redelivery") else 0
    except FileNotFoundError:
        pass
    return count
