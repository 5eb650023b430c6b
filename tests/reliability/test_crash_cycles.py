"""Crash cycles: the gateway killed at random moments under a steady load of top-ups, every guarantee after each.

One simulator and one gateway (``smsgw run``, SQLite with its database worker
process) for the whole run. Each cycle injects a burst of one-off top-ups from
fresh senders in small chunks (the load goes on while the gateway is down: the
simulator keeps the MOs), crashes the gateway at a random moment in one of the
ways of :data:`chaos.KILL_MODES` (rotating, so 20 cycles try each at least
three times; the moment and pauses come from a seeded RNG), checks at once that
nothing the SMSC saw acknowledged is missing from the database, restarts it,
and checks every invariant (``invariants.check_invariants``) once the system
settled. The hard case — committed, never acknowledged, then redelivered — is
forced by ``frozen`` and ``cut`` and must have happened (and been recognised)
before the run ends.

``RELIABILITY_CYCLES`` (default 20) sets the number of cycles and
``RELIABILITY_SEED`` the seed; the long run is documented in docs/reliability.md.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter

from tests.e2e.harness import Stack

from .chaos import (
    KILL_MODES,
    Burst,
    Population,
    gateway_alive,
    inject,
    kill,
    redeliveries_seen,
    wait_clear_of_riga_midnight,
)
from .conftest import MakeStack
from .invariants import Expected, Sent, SimulatorView, acked_but_unrecorded, check_invariants

CYCLES = int(os.environ.get("RELIABILITY_CYCLES", "20"))
SEED = int(os.environ.get("RELIABILITY_SEED", "1643"))
CHUNK = 6  # MOs per injection; a burst is 16 × 2 + 2 × 4 = 40 MOs


def crash_cycle(
    stack: Stack, view: SimulatorView, population: Population, number: int, rng: random.Random, mode: str
) -> tuple[Expected, int]:
    """One cycle; returns what it injected and how many committed MOs went unacknowledged (hard cases)."""
    wait_clear_of_riga_midnight()
    burst = population.burst(number, rng)
    expected = Expected(mt_cursor=stack.cursor())
    chunks = [burst.messages[i : i + CHUNK] for i in range(0, len(burst.messages), CHUNK)]
    kill_after = rng.randrange(1, len(chunks) - 1)  # chunks injected before the crash; the rest during and after
    pending = list(chunks)
    sent: list[Sent] = []

    def feed() -> list[Sent]:
        return inject(stack, Burst(pending.pop(0)), expected) if pending else []

    hard = 0
    for index in range(len(chunks)):
        if not pending:
            break
        sent += feed()
        if index + 1 == kill_after:
            time.sleep(rng.uniform(0.0, 0.04))
            report = kill(stack, mode, rng, view, feed)
            sent += report.injected
            hard = report.hard_cases
            lost = acked_but_unrecorded(stack.db_path, view, sent)
            assert lost == [], f"cycle {number} ({mode}): right after the crash: {lost}"
        else:
            time.sleep(rng.uniform(0.0, 0.03))
    expected.topups.update(burst.topups)
    if not gateway_alive(stack):
        stack.start_gateway()
    return expected, hard


def test_gateway_killed_at_random_moments_loses_and_doubles_nothing(make_stack: MakeStack) -> None:
    rng = random.Random(SEED)
    population = Population(bursts=CYCLES)
    # The simulator keeps every MO and MT of the run: the last check reads them all.
    stack = make_stack(population.rows(), simulator={"history_limit": max(100_000, 400 * CYCLES)})
    view = SimulatorView(stack.sim_http)
    everything = Expected(mt_cursor=stack.cursor())
    hard_cases: Counter[str] = Counter()
    started = time.monotonic()
    try:
        for number in range(CYCLES):
            mode = KILL_MODES[number % len(KILL_MODES)]
            expected, hard = crash_cycle(stack, view, population, number, rng, mode)
            hard_cases[mode] += hard
            # The database worker killed alone between a commit and its result: that MO's replies,
            # born claimed, wait for their lease (60 s here) before they are sent (docs/reliability.md).
            problems = check_invariants(stack, expected, smsc=view, settle=80.0 if mode == "worker" else 30.0)
            assert problems == [], f"cycle {number} ({mode}): {problems[:20]}"
            everything.mos += expected.mos
            everything.topups.update(expected.topups)
        redelivered = redeliveries_seen(stack)
        # After the last cycle, over the whole run, with the billing export as an operator reads it.
        problems = check_invariants(stack, everything, smsc=view, settle=30.0, billing=True)
        assert problems == [], problems[:20]
    finally:
        view.close()
    elapsed = time.monotonic() - started
    print(
        f"\n{CYCLES} crash cycles in {elapsed:.1f} s ({elapsed / CYCLES:.2f} s per cycle); "
        f"committed-but-unacknowledged at the crash: {dict(hard_cases)}; redeliveries recognised: {redelivered}"
    )
    assert sum(hard_cases.values()) > 0, "no MO was committed and left unacknowledged: the hard case never happened"
    assert redelivered > 0, "no redelivery of a committed MO was recognised: the hard case was not exercised"
