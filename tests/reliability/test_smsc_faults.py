"""SMSC faults under a steady load of top-ups: zero replies lost, zero effects doubled.

One simulator and one gateway serve the module; each test feeds its own burst of
top-ups (fresh senders: plain ones with two top-ups, pressure ones with four of
7 € of which exactly three fit under the daily cap) in small chunks while the
simulator misbehaves, checks that the fault really bit, then checks every
invariant (``invariants.check_invariants``), including that every reply the
gateway holds as accepted reached the SMSC and none ended failed or expired.
Replies may arrive twice (a submit resubmitted after its response was lost or
late — documented); effects may not.

Where a test needs MOs in flight at a precise moment (a drop, the SMSC's
response timeout), it holds the gateway's commits with the SQLite write lock
(``stalls.WriteLock``) and waits for the gateway to have read them, instead of
hoping a pause lands between a read and a commit.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Stack

from .chaos import SIMULATOR, SMPP, Population, feed_steadily, wait_clear_of_riga_midnight
from .crashes import cut_link, timed_out_and_sent_again
from .invariants import Expected, Sent, SimulatorView, check_invariants
from .stalls import WriteLock, wait_gateway_read, wait_quiet

TESTS = 7
POPULATION = Population(bursts=TESTS)
SUBMIT_TIMEOUT = 3.0  # the harness's [smpp] submit_timeout


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(Path(tmp_path_factory.mktemp("faults")), smpp=SMPP, simulator=SIMULATOR)
    try:
        stack.start_all(POPULATION.rows())
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def view(gw: Stack) -> Iterator[SimulatorView]:
    gw.clear_faults()
    v = SimulatorView(gw.sim_http)
    try:
        yield v
    finally:
        v.close()
        gw.clear_faults()


_bursts = iter(range(TESTS))


def new_load(gw: Stack) -> tuple[Expected, random.Random]:
    wait_clear_of_riga_midnight()
    return Expected(mt_cursor=gw.cursor()), random.Random(next(_bursts))


def counter(gw: Stack, name: str) -> int:
    return int(gw.status()["counters"].get(name, 0))


def duplicated_mts(view: SimulatorView, cursor: int) -> int:
    copies = Counter((m.destination, m.text) for m in view.mts(cursor))
    return sum(n - 1 for n in copies.values())


def assert_invariants(gw: Stack, view: SimulatorView, expected: Expected, settle: float = 40.0) -> None:
    problems = check_invariants(gw, expected, smsc=view, settle=settle)
    assert problems == [], problems[:20]


def test_links_dropped_repeatedly(gw: Stack, view: SimulatorView) -> None:
    expected, rng = new_load(gw)
    drops, redeliveries = counter(gw, "drops"), counter(gw, "redeliveries")
    burst = POPULATION.burst(0, rng)
    lock = WriteLock(gw.db_path)

    def hold_one_chunk(index: int) -> None:
        if index == 3:
            wait_quiet(gw)
            lock.acquire()  # this chunk is surely in flight at the next drop

    def drop_every_other_chunk(index: int, chunk: list[Sent]) -> None:
        if index % 2 == 1:
            try:
                if lock.held:
                    wait_gateway_read(gw, view, chunk)
                drop_when_bound(gw)
            finally:
                lock.release()

    feed_steadily(gw, burst, expected, chunk=4, interval=0.25, before=hold_one_chunk, between=drop_every_other_chunk)
    assert counter(gw, "drops") - drops >= 4, "the links were not dropped"
    assert_invariants(gw, view, expected)
    assert counter(gw, "redeliveries") > redeliveries, "no MO was in flight at a drop"


def test_thirty_percent_of_submits_throttled(gw: Stack, view: SimulatorView) -> None:
    expected, rng = new_load(gw)
    rejected = counter(gw, "submits_rejected")
    # Bounded by a count of submits, not by seconds: a loaded machine sends them later, not fewer of them.
    # Seeded: 16 of the first 40 submits are throttled, some of the rest answered queue-full.
    gw.fault("throttle", count=40, ratio=0.3, seed=7)
    gw.fault("queue_full", count=40, ratio=0.05, seed=8)
    feed_steadily(gw, POPULATION.burst(1, rng), expected, chunk=4, interval=0.15)
    assert_invariants(gw, view, expected)
    assert counter(gw, "submits_rejected") - rejected >= 10, "the throttling did not bite"


def test_withheld_responses_are_resubmitted(gw: Stack, view: SimulatorView) -> None:
    expected, rng = new_load(gw)
    gw.fault("withhold", count=12)
    feed_steadily(gw, POPULATION.burst(2, rng), expected, chunk=4, interval=0.1)
    assert_invariants(gw, view, expected)
    withheld = [m for m in gw.mts(expected.mt_cursor)[0] if m["status"] == "withheld"]
    assert len(withheld) == 12, "the simulator did not withhold the responses"
    assert duplicated_mts(view, expected.mt_cursor) >= 12  # each withheld part was submitted again


def test_responses_delayed_past_the_submit_timeout(gw: Stack, view: SimulatorView) -> None:
    expected, rng = new_load(gw)
    gw.fault("delay", count=12, delay=SUBMIT_TIMEOUT + 1.5)
    feed_steadily(gw, POPULATION.burst(3, rng), expected, chunk=4, interval=0.1)
    assert_invariants(gw, view, expected)
    delayed = [m for m in gw.mts(expected.mt_cursor)[0] if m["status"] == "delayed"]
    assert len(delayed) == 12, "the simulator did not delay the responses"
    assert duplicated_mts(view, expected.mt_cursor) >= 12  # resubmitted before the late response came
    last_late = max(float(m["t"]) for m in delayed) + SUBMIT_TIMEOUT + 1.5  # when the last late response is due
    time.sleep(max(0.0, last_late + 0.5 - time.time()))  # they arrive: they change nothing
    assert_invariants(gw, view, expected, settle=5.0)


def test_mos_redelivered_after_a_drop_while_in_flight(gw: Stack, view: SimulatorView) -> None:
    """MOs the gateway committed but could not acknowledge (the link dropped) come back: answered once."""
    expected, rng = new_load(gw)
    redeliveries = counter(gw, "redeliveries")
    logged = redelivery_lines(gw)
    burst = POPULATION.burst(4, rng)

    lock = WriteLock(gw.db_path)

    def stop_commits(index: int) -> None:
        if index in (2, 6):
            gw.wait_until(gw.bound_ids, timeout=15, what="the gateway bound")
            wait_quiet(gw)
            lock.acquire()  # this chunk's MOs will be read, not committed

    def drop_then_commit(index: int, chunk: list[Sent]) -> None:
        if lock.held:
            try:
                wait_gateway_read(gw, view, chunk)
                cut_link(gw)
            finally:
                lock.release()  # now they commit; their deliver_sm_resp has no link to go to

    feed_steadily(gw, burst, expected, chunk=4, interval=0.1, before=stop_commits, between=drop_then_commit)
    assert_invariants(gw, view, expected)
    assert counter(gw, "redeliveries") > redeliveries, "no MO was in flight at a drop"
    assert redelivery_lines(gw) > logged, "no committed MO came back as a redelivery"


def test_mos_redelivered_after_the_response_timeout(gw: Stack, view: SimulatorView) -> None:
    """The gateway is slower than the SMSC's response timeout: redeliveries arrive while the originals commit."""
    expected, rng = new_load(gw)
    timeouts = counter(gw, "deliver_timeouts")
    logged = redelivery_lines(gw)

    lock = WriteLock(gw.db_path)

    def stop_commits(index: int) -> None:
        if index == 3:
            wait_quiet(gw)
            lock.acquire()

    def stall(index: int, chunk: list[Sent]) -> None:
        if lock.held:
            try:  # past mo_redelivery_timeout (3 s): the simulator sends them again while they wait
                timed_out_and_sent_again(view, chunk)
            finally:
                lock.release()

    feed_steadily(gw, POPULATION.burst(5, rng), expected, chunk=4, interval=0.1, before=stop_commits, between=stall)
    assert_invariants(gw, view, expected)
    assert counter(gw, "deliver_timeouts") > timeouts, "no deliver_sm timed out at the simulator"
    assert redelivery_lines(gw) > logged, "no redelivery was recognised"


def test_every_fault_at_once(gw: Stack, view: SimulatorView) -> None:
    expected, rng = new_load(gw)
    gw.fault("throttle", seconds=6.0, ratio=0.3, seed=11)
    gw.fault("withhold", count=5)
    gw.fault("delay", count=5, delay=SUBMIT_TIMEOUT + 1.0)
    gw.fault("receipt_first", count=10)

    def drop_sometimes(index: int, chunk: list[Sent]) -> None:
        if index in (3, 7):
            drop_when_bound(gw)

    feed_steadily(gw, POPULATION.burst(6, rng), expected, chunk=4, interval=0.15, between=drop_sometimes)
    assert_invariants(gw, view, expected)


def drop_when_bound(gw: Stack) -> None:
    """Cut the gateway's link at the simulator, once it is bound again after the last cut."""
    gw.wait_until(gw.bound_ids, timeout=15, what="the gateway bound")
    assert gw.post("/api/drop", {"all": True})["dropped"]


def redelivery_lines(gw: Stack) -> int:
    return sum(1 for e in gw.events("mo_processed") if e.get("redelivery"))
