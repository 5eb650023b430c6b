"""Three instances on one PostgreSQL under a steady load, in rounds of faults; the guarantees after each.

Rounds cycle through SIGKILL (the others take over its replies, then it is
restarted), SIGTERM (a clean stop and a restart), a dropped bind, and SIGKILL
with an immediate restart (it takes its own replies back at start-up). After every round the
invariants of ``tests/reliability/invariants.py`` hold over the whole database:
every acknowledged MO recorded once, each top-up once, no cap passed, every
reply final and at the SMSC, every sender answered. The replies a killed
instance owed are sent within ``[outbox] takeover`` + 5 s of the kill; the
duplicates (replies the SMSC got twice) are at most the submit window per kill
and never more than the instances counted as possible duplicates or resubmits;
no instance logs an exception.

``SCALEOUT_ROUNDS`` (default 4: each mode once) and ``SCALEOUT_SEED`` scale and
vary it; ``-s`` prints each round.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

from tests.reliability.invariants import Expected

from .cluster import Cluster
from .conftest import MakeCluster
from .faults import MODES, duplicates, run_fault
from .load import Feeder, Population
from .pg_invariants import PgCopy, acked_but_unrecorded_pg, check_cluster

ROUNDS = int(os.environ.get("SCALEOUT_ROUNDS", str(len(MODES))))
SEED = int(os.environ.get("SCALEOUT_SEED", str(random.randrange(1 << 30))))
TAKEOVER = 10.0
WINDOW = 10  # [smpp] window, the default


def test_instances_keep_every_guarantee_through_kills_stops_and_drops(
    make_cluster: MakeCluster, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    population = Population(bursts=ROUNDS, plain=24, pressure=4)
    cluster = make_cluster(population.rows(), outbox={"takeover": TAKEOVER})
    stack = cluster.stack
    copy = PgCopy(cluster.database_url, tmp_path / "copy.db", stack.sim_http, lambda m: stack.billing(m))
    expected = Expected(mt_cursor=stack.cursor())
    feeder = Feeder(stack, expected, interval=0.1)
    print(f"\nscale-out: {ROUNDS} rounds, seed {SEED}")
    last_victim = ""
    kills = 0
    for number in range(ROUNDS):
        mode = MODES[number % len(MODES)]
        cluster.scrape_all()
        before = _tally(cluster, expected)
        takeovers_of = Counter(e.get("instance") for _, e in cluster.events("outbox_takeover"))
        began = time.monotonic()
        feeder.start(population.burst(number, rng))
        time.sleep(rng.uniform(0.5, 2.0))  # a random moment of the burst
        report = run_fault(cluster, mode, rng, takeover=TAKEOVER, last_victim=last_victim)
        if mode.startswith("sigkill"):
            kills += 1
            missing = acked_but_unrecorded_pg(copy, expected)
            assert missing == [], f"round {number} ({mode}): {missing}"
        last_victim = report.victim or last_victim
        feeder.join()
        problems = check_cluster(copy, expected, settle=45.0)
        cluster.scrape_all()
        after = _tally(cluster, expected)
        doubled, maybe, resubmits, taken = (a - b for a, b in zip(after, before, strict=True))
        print(
            f"round {number}: {mode} {report.victim or report.notes} owed={report.owed} "
            f"sent after {report.takeover_seconds} s by {report.taken_by}; duplicates {doubled:.0f}, "
            f"counted {maybe:.0f} possible + {resubmits:.0f} resubmits, taken over {taken:.0f} "
            f"({time.monotonic() - began:.1f} s)"
        )
        assert problems == [], f"round {number} ({mode}, seed {SEED}): {problems}"
        if mode.startswith("sigkill"):
            # The simulator held its submit responses back a moment before the kill: replies were owed.
            assert report.owed > 0, report
            assert report.takeover_seconds is not None, f"round {number}: the killed instance's replies were not sent"
            assert doubled <= WINDOW and maybe <= WINDOW, f"round {number}: more than a window of duplicates"
        if mode == "sigkill":
            assert report.takeover_seconds is not None and report.takeover_seconds <= TAKEOVER + 5.0, report
            assert report.victim not in report.taken_by, report  # the others sent them while it was dead
            assert taken >= report.owed, (taken, report)
            takers = [name for name, e in cluster.events("outbox_takeover") if e.get("instance") == report.victim]
            assert len(takers) > takeovers_of[report.victim], "no outbox_takeover logged for the dead instance"
            assert report.victim not in takers, takers
        if mode == "sigkill_restart":  # it took its own back at start-up, long before the others could
            assert report.takeover_seconds is not None and report.takeover_seconds < TAKEOVER, report
            victim = next(i for i in cluster.instances if i.name == report.victim)
            resumed = [e.get("replies") for e in victim.last_events() if e.get("event") == "outbox_claims_resumed"]
            assert resumed == [report.owed], (resumed, report)
        if mode == "sigterm":
            assert report.notes["exit"] == 0, report
        if mode == "drop":
            assert report.notes["binds_after"] == len(cluster.instances), report
        assert doubled <= maybe + resubmits, f"round {number}: a duplicate reply no instance counted"
        assert cluster.traces() == [], cluster.traces()

    total, maybe, resubmits, taken = _tally(cluster, expected)
    print(
        f"in all: duplicates {total:.0f}, counted {maybe:.0f} + {resubmits:.0f}, taken over {taken:.0f}, "
        f"MOs {feeder.injected}"
    )
    assert check_cluster(copy, expected, settle=10.0, billing=True) == []


def _tally(cluster: Cluster, expected: Expected) -> tuple[float, float, float, float]:
    """(duplicates at the SMSC, possible duplicates counted, resubmits counted, replies taken over)."""
    return (
        float(duplicates(cluster, expected.mt_cursor)),
        cluster.counter("smsgw_maybe_duplicate_parts_total"),
        cluster.counter("smsgw_resubmits_total"),
        cluster.counter("smsgw_takeovers_total"),
    )
