"""A steady, bounded load of top-ups whose outcome is known in advance, spread over the instances.

Each burst uses fresh senders (caps start from zero) and a few Kartes. A *plain*
sender sends two one-off top-ups with different texts (both apply, whatever the
day); a *pressure* sender sends four of 7 € (exactly three fit under the daily
cap of 21.34 €). A sender's MOs are injected one after the other in one request:
the simulator hands MOs round-robin to its binds, so they reach different
instances within milliseconds of each other — the case the advisory locks on the
senders are for. Every (sender, text) is unique, so the SMSC's MOs and the
database's rows match exactly (``tests/reliability/invariants.py``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from tests.e2e.harness import Stack
from tests.reliability.invariants import Expected, Sent

__all__ = ["Feeder", "Population"]

KARTES = 8
PRESSURE_AMOUNT = 7


@dataclass
class Population:
    """``bursts`` × (``plain`` + ``pressure``) numbered senders, and ``KARTES`` Kartes."""

    bursts: int
    plain: int = 12
    pressure: int = 2
    first_sender: int = 37123000000
    first_karte: int = 37129400000

    @property
    def per_burst(self) -> int:
        return self.plain + self.pressure

    def kartes(self) -> list[str]:
        return [str(self.first_karte + i) for i in range(KARTES)]

    def rows(self) -> list[str]:
        rows = [
            f"{self.first_sender + i},postpaid,active,private,false,en,,," for i in range(self.bursts * self.per_burst)
        ]
        return rows + [f"{k},karte,active,private,false,en,,2030-12-31,0.00" for k in self.kartes()]

    def burst(self, number: int, rng: random.Random) -> list[tuple[str, list[tuple[str, str, int]], int]]:
        """Per sender: (sender, [(text, karte, cents)], top-ups it must end with); senders in random order."""
        if number >= self.bursts:
            raise ValueError(f"burst {number}: only {self.bursts} bursts of senders were imported")
        kartes = self.kartes()
        base = self.first_sender + number * self.per_burst
        senders: list[tuple[str, list[tuple[str, str, int]], int]] = []
        for i in range(self.plain):
            a, b = rng.sample(kartes, 2)
            ca, cb = rng.randrange(142, 500), rng.randrange(142, 500)
            texts = [(f"V {a[3:]} {ca // 100}.{ca % 100:02d}", a, ca), (f"{b[3:]} {cb // 100},{cb % 100:02d}", b, cb)]
            senders.append((str(base + i), texts, 2))
        forms = ("V {k} {a}", "v {k} {a},00", "{k} {a}.0", "V{k} {a}")
        for i in range(self.pressure):
            picked = rng.sample(kartes, 4)
            texts = [
                (form.format(k=k[3:], a=PRESSURE_AMOUNT), k, PRESSURE_AMOUNT * 100)
                for form, k in zip(forms, picked, strict=True)
            ]
            senders.append((str(base + self.plain + i), texts, 3))
        rng.shuffle(senders)
        return senders


def inject_sender(
    stack: Stack, sender: str, texts: list[tuple[str, str, int]], topups: int, expected: Expected, lock: threading.Lock
) -> list[Sent]:
    """One sender's MOs in one request (consecutive: round-robin puts them on different binds)."""
    reply = stack.post("/api/mo", [{"source": sender, "destination": "1643", "text": t} for t, _, _ in texts])
    sent = [
        Sent(str(record["id"]), sender, text, "1643", karte, cents)
        for (text, karte, cents), record in zip(texts, reply["mos"], strict=True)
    ]
    with lock:
        for mo in sent:
            expected.add(mo)
        expected.topups[sender] = expected.topups.get(sender, 0) + topups
    return sent


@dataclass
class Feeder:
    """Injects bursts sender by sender every ``interval`` s on a thread; bounded by the bursts given."""

    stack: Stack
    expected: Expected
    interval: float = 0.05
    lock: threading.Lock = field(default_factory=threading.Lock)
    injected: int = 0
    _thread: threading.Thread | None = None
    _error: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self, senders: list[tuple[str, list[tuple[str, str, int]], int]]) -> None:
        assert self._thread is None or not self._thread.is_alive()
        self._error = None
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(senders,), daemon=True)
        self._thread.start()

    def _run(self, senders: list[tuple[str, list[tuple[str, str, int]], int]]) -> None:
        try:
            for sender, texts, topups in senders:
                if self._stop.is_set():
                    return
                self.injected += len(inject_sender(self.stack, sender, texts, topups, self.expected, self.lock))
                self._stop.wait(self.interval)
        except BaseException as error:  # reported by join()
            self._error = error

    def stop(self) -> None:
        """No more senders after the one being injected (its MOs stay expected whole)."""
        self._stop.set()

    def join(self, timeout: float = 60.0) -> None:
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the feeder did not finish within {timeout} s"
        if self._error is not None:
            raise self._error
