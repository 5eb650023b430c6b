"""A slow disk: commits that take 0–2 s never let a response precede its commit, nor lose or double anything.

The gateway runs ``smsgw run`` on SQLite with ``[database] test_commit_delay =
2.0``: every batch's commit first sleeps a random 0..2 s in the event loop, so
the whole gateway stalls meanwhile (by design: docs/reliability.md) and an MO
waits for the batch in progress and then for its own. The SMSCs here give up
waiting for a deliver_sm_resp after 1 s, shorter than many of those waits:
they send MOs again while the originals are still committing, and the gateway
must answer each copy from the record (never apply it twice).

- Against an independent SMSC that redelivers like a real one
  (:class:`smsc_driver.RedeliveringSmsc` on the e2e suite's ``FakeSmsc``): at the
  instant each ESME_ROK deliver_sm_resp is read, the MO's row, its top-up, its
  invoice charge and its replies are already committed (looked up in the SQLite
  file from the SMSC's reader thread, before anything else happens). Three
  rounds, each a burst of top-ups with a SIGKILL of the gateway in the middle
  and a restart: in every round each top-up is in the billing export exactly
  once and every sender is answered.
- Against the simulator: the same burst and crash, watched from the outside by
  polling (every MO the simulator holds as acknowledged is in the database).

Each test must also show that the fault bit: some MO outlived the SMSC's
timeout and its copy was answered from the record. The commit delays are
random, so if the crash rounds did not produce that, single top-ups from fresh
senders follow, one at a time, until one does (at most :data:`PROBES`; each
has about even odds).

(With the database worker process of the first design, a SIGKILL of the
gateway also left MOs committed by the surviving worker and never answered. In
one process the response follows the commit within the same turn of the event
loop, so a SIGKILL no longer leaves that case behind: the copies that test
recognition here come from the SMSC's response timeout. The crash cycles force
the case with a cut link: ``crashes.py``.)
"""

from __future__ import annotations

import random
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.e2e.fake_smsc import DELIVER_SM_RESP, FakeSmsc, Pdu
from tests.e2e.harness import Stack, wait_gateway_bound

from .chaos import SMPP, Burst, Population, add_database_keys, inject, redeliveries_seen, wait_clear_of_riga_midnight
from .conftest import MakeStack
from .invariants import Expected, Sent, SimulatorView, acked_but_unrecorded, check_invariants
from .smsc_driver import FakeSmscView, RedeliveringSmsc

COMMIT_DELAY = 2.0
SMSC_TIMEOUT = 1.0  # the SMSC's wait for a deliver_sm_resp: shorter than many slow commits
ROUNDS = 3
PROBES = 16
SLOW = {"test_commit_delay": COMMIT_DELAY}
#: Senders of the single top-ups sent until a copy was recognised (after the rounds' senders).
PROBE_SENDERS = Population(bursts=1, plain=PROBES, pressure=0, first_sender=37122900000)

# At the instant the SMSC reads a deliver_sm_resp: the MO's outcome and what its transaction wrote.
_AT_RESPONSE = """
SELECT m.outcome,
       (SELECT count(*) FROM topups t WHERE t.mo_id = m.id),
       (SELECT count(*) FROM charges c JOIN topups t ON t.id = c.topup_id WHERE t.mo_id = m.id),
       (SELECT count(*) FROM outbox o WHERE o.mo_id = m.id)
FROM mo_messages m WHERE m.source = ? AND m.destination = ? AND m.text = ?
"""


class CommitWitness:
    """``on_pdu`` hook: looks in the database the moment each ESME_ROK deliver_sm_resp is read."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.driver: RedeliveringSmsc | None = None
        self.checked = 0
        self.early: list[str] = []
        self._con: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __call__(self, pdu: Pdu) -> None:
        if pdu.command_id != DELIVER_SM_RESP or pdu.status != 0 or self.driver is None:
            return
        mo = self.driver.mo_for(pdu.session, pdu.sequence)
        if mo is None:
            self.early.append(f"a deliver_sm_resp to unknown sequence {pdu.sequence} of session {pdu.session}")
            return
        with self._lock:
            if self._con is None:
                self._con = sqlite3.connect(self.db_path, timeout=30, check_same_thread=False)
            rows = self._con.execute(_AT_RESPONSE, (mo.source, mo.destination, mo.text)).fetchall()
            self.checked += 1
        if len(rows) != 1:
            self.early.append(f"{mo.source} {mo.text!r}: acknowledged with {len(rows)} rows committed")
            return
        outcome, topups, charges, replies = rows[0]
        applied = 1 if outcome == "topup_applied" else 0
        if (topups, charges) != (applied, applied) or replies == 0:
            self.early.append(
                f"{mo.source} {mo.text!r} ({outcome}): acknowledged with {topups} top-ups, "
                f"{charges} charges and {replies} replies committed"
            )

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


def probe_rows() -> list[str]:
    """The probe senders' subscriber rows (their Kartes are the rounds' Kartes)."""
    return [row for row in PROBE_SENDERS.rows() if ",postpaid," in row]


def probes(rng: random.Random) -> list[tuple[str, str, str, int]]:
    """One top-up from each probe sender: (source, text, karte, cents)."""
    first: dict[str, tuple[str, str, str, int]] = {}
    for message in PROBE_SENDERS.burst(0, rng).messages:
        first.setdefault(message[0], message)
    return list(first.values())


def until_a_copy_is_recognised(stack: Stack, send_and_wait: Callable[[Sent], None], rng: random.Random) -> Expected:
    """Single top-ups until the gateway answered some MO's copy from the record; returns what was sent."""
    expected = Expected()
    for index, (source, text, karte, cents) in enumerate(probes(rng)):
        if redeliveries_seen(stack) > 0:
            break
        probe = Sent(f"probe-{index}", source, text, "1643", karte, cents)
        expected.add(probe)
        expected.topups[source] = 1
        send_and_wait(probe)
    return expected


def test_slow_commits_with_crashes_against_a_redelivering_smsc(tmp_path: Path) -> None:
    rng = random.Random(2134)
    population = Population(bursts=ROUNDS)
    stack = Stack(tmp_path, smpp=SMPP)
    add_database_keys(stack, SLOW)
    stack.import_subscribers([*population.rows(), *probe_rows()])
    witness = CommitWitness(stack.db_path)
    fake = FakeSmsc(port=stack.smpp_port, on_pdu=witness)
    driver = RedeliveringSmsc(fake, timeout=SMSC_TIMEOUT)
    witness.driver = driver
    view = FakeSmscView(driver)
    everything = Expected()
    try:
        stack.start_gateway(wait_bound=False)
        fake.wait_bound(1)
        wait_gateway_bound(stack, 1)
        for number in range(ROUNDS):
            wait_clear_of_riga_midnight()
            burst = population.burst(number, rng)
            expected = Expected(mt_cursor=len(fake.submits()))
            sent = [Sent(f"r{number}-{i}", s, t, "1643", k, c) for i, (s, t, k, c) in enumerate(burst.messages)]
            for mo in sent:
                expected.add(mo)
            expected.topups.update(burst.topups)
            driver.send(sent)
            crash_at = time.monotonic() + rng.uniform(1.0, 3.0)  # commits under way, some acknowledged
            while time.monotonic() < crash_at:
                driver.pump()
                time.sleep(0.05)
            assert stack.kill_gateway(signal.SIGKILL) == -signal.SIGKILL
            assert acked_but_unrecorded(stack.db_path, view, sent) == [], f"round {number}: right after the crash"
            binds = fake.binds
            stack.start_gateway(wait_bound=False)
            fake.wait_bound(binds + 1)
            driver.run_until_acked(90)

            problems = check_invariants(stack, expected, smsc=view, settle=60.0)
            assert problems == [], f"round {number}: {problems[:20]}"
            billed = Counter((r["sender"], r["karte"], r["amount"]) for r in stack.billing())
            want = Counter((m.source, m.karte, f"{(m.amount_cents or 0) / 100:.2f}") for m in sent)
            assert all(billed[key] <= 1 for key in want if key in billed), "a top-up billed twice"
            everything.mos += expected.mos
            everything.topups.update(expected.topups)

        def send_and_wait(probe: Sent) -> None:
            driver.send([probe])
            driver.run_until_acked(30)

        probed = until_a_copy_is_recognised(stack, send_and_wait, rng)
        everything.mos += probed.mos
        everything.topups.update(probed.topups)
        problems = check_invariants(stack, everything, smsc=view, settle=30.0, billing=True)
        assert problems == [], problems[:20]
    finally:
        fake.release()
        stack.stop()
        fake.close()
        witness.close()
    assert fake.errors == []
    assert witness.early == [], f"deliver_sm_resp before the commit: {witness.early[:10]}"
    assert witness.checked >= len(everything.mos), witness.checked
    assert driver.timeouts > 0, "no MO outlived the SMSC's response timeout: the commits were not slow"
    assert redeliveries_seen(stack) > 0, "no redelivery of a committed MO was recognised"
    print(
        f"\nredelivered {driver.redeliveries}, of which after the timeout {driver.timeouts}; "
        f"recognised {redeliveries_seen(stack)}; probes {len(probed.mos)}"
    )


def test_slow_commits_with_a_crash_under_the_simulator(make_stack: MakeStack) -> None:
    rng = random.Random(4269)
    population = Population(bursts=1, plain=24)
    rows = [*population.rows(), *probe_rows()]
    stack = make_stack(rows, database=SLOW, simulator={"mo_redelivery_timeout": SMSC_TIMEOUT})
    view = SimulatorView(stack.sim_http)
    expected = Expected(mt_cursor=stack.cursor())
    unrecorded: list[str] = []
    try:
        wait_clear_of_riga_midnight()
        sent = inject(stack, population.burst(0, rng), expected)
        crash_at = time.monotonic() + rng.uniform(1.5, 3.5)
        while time.monotonic() < crash_at:  # the simulator's view, then the database's: never acked first
            unrecorded += acked_but_unrecorded(stack.db_path, view, sent)
            time.sleep(0.05)
        stack.kill_gateway(signal.SIGKILL)
        unrecorded += acked_but_unrecorded(stack.db_path, view, sent)
        stack.start_gateway()
        problems = check_invariants(stack, expected, smsc=view, settle=90.0, billing=True)
        assert problems == [], problems[:20]

        def send_and_wait(probe: Sent) -> None:
            message = (probe.source, probe.text, probe.karte or "", probe.amount_cents or 0)
            [injected] = inject(stack, Burst([message], {probe.source: 1}), expected)
            stack.wait_until(lambda: stack.mo(injected.key)["state"] == "delivered", 30, "the probe acknowledged")

        probed = until_a_copy_is_recognised(stack, send_and_wait, rng)
        problems = check_invariants(stack, expected, smsc=view, settle=30.0, billing=True)
        assert problems == [], problems[:20]
        timeouts = int(stack.status()["counters"].get("deliver_timeouts", 0))
    finally:
        view.close()
    assert unrecorded == [], unrecorded[:10]
    assert timeouts > 0, "no MO outlived the SMSC's response timeout: the commits were not slow"
    assert redeliveries_seen(stack) > 0, f"no redelivery of a committed MO was recognised ({len(probed.mos)} probes)"
    print(f"\nSMSC timeouts {timeouts}; recognised {redeliveries_seen(stack)}; probes {len(probed.mos)}")
