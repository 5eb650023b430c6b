"""Crash cycles: the gateway killed at random moments under a steady load of top-ups, every guarantee after each.

One simulator and one gateway (``smsgw run``: one process on SQLite) for the
whole run. Each cycle injects a burst of one-off top-ups from fresh senders in
small chunks (the load goes on while the gateway is down: the simulator keeps
the MOs), crashes the gateway at a random moment in one of the ways of
:data:`crashes.KILL_MODES` (rotating, so 20 cycles try each four times; the
moment and pauses come from a seeded RNG), checks at once that nothing the SMSC
saw acknowledged is missing from the database, restarts it, and checks every
invariant (``invariants.check_invariants``) once the system settled. The hard
case — committed, never acknowledged, then redelivered — is forced by ``cut``
and ``frozen`` (the commits held with the SQLite write lock, not left to
timing): every such cycle must have produced it, and the gateway must have
answered each of those MOs from the record as a redelivery by the time the
cycle settled.

``RELIABILITY_CYCLES`` (default 20) sets the number of cycles and
``RELIABILITY_SEED`` the seed; the long run is documented in docs/reliability.md.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter

from tests.e2e.harness import Stack

from .chaos import Burst, Population, gateway_alive, inject, redeliveries_seen, wait_clear_of_riga_midnight
from .conftest import MakeStack
from .crashes import HARD_CASE_MODES, KILL_MODES, kill
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
            recognised = redeliveries_seen(stack)
            expected, hard = crash_cycle(stack, view, population, number, rng, mode)
            hard_cases[mode] += hard
            problems = check_invariants(stack, expected, smsc=view, settle=30.0)
            assert problems == [], f"cycle {number} ({mode}): {problems[:20]}"
            if mode in HARD_CASE_MODES:
                assert hard > 0, f"cycle {number} ({mode}): no MO was committed and left unacknowledged"
                # Each came back from the SMSC and was answered from the record, never applied again.
                again = redeliveries_seen(stack) - recognised
                assert again >= hard, f"cycle {number} ({mode}): {hard} hard cases, {again} redeliveries recognised"
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
