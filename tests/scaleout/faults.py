"""The faults of a scale-out round and what is measured around them: takeover time, duplicates.

- ``sigkill``: SIGKILL of one instance at a random moment of a burst; it stays
  dead until every reply it owed (claimed by it and not yet accepted) was sent
  by the others: the takeover, timed from the kill. Then it is restarted.
- ``sigkill_restart``: SIGKILL and an immediate restart: the restarted instance
  takes its own replies back at start-up (``outbox_claims_resumed``) and makes
  them due at once: they go out (from whichever instance claims them first) long
  before the others could have taken them over.
- ``sigterm``: a clean stop of another instance (its replies go back to the
  queue for the others), then a restart.
- ``drop``: the simulator cuts one bind without an unbind; that instance rebinds.

Before a kill the simulator delays its submit responses for a moment, so the
victim dies with submits on the wire: the parts a taker must submit again (and
counts in ``smsgw_maybe_duplicate_parts_total``).
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.reliability.invariants import RECEIVED_STATES, SimulatorView

from .cluster import Cluster, Instance
from .pg_invariants import fetch_pg

__all__ = ["MODES", "RoundReport", "duplicates", "owed_by", "run_fault"]

MODES = ("sigkill", "sigterm", "drop", "sigkill_restart")
_OPEN = ("queued", "sending")


@dataclass
class RoundReport:
    mode: str
    victim: str = ""
    owed: int = 0  # replies the victim held, not yet accepted, when it died
    takeover_seconds: float | None = None  # kill → the last of them accepted
    taken_by: dict[str, int] = field(default_factory=dict)  # who holds them afterwards
    notes: dict[str, object] = field(default_factory=dict)


def owed_by(cluster: Cluster, name: str) -> list[int]:
    """Ids of the replies ``name`` holds that the SMSC has not accepted yet."""
    rows = fetch_pg(
        cluster.database_url, "SELECT id FROM outbox WHERE claimed_by = $1 AND state = ANY($2)", name, _OPEN
    )
    return [int(r[0]) for r in rows]


def _open_among(cluster: Cluster, ids: list[int]) -> int:
    rows = fetch_pg(
        cluster.database_url, "SELECT count(*) FROM outbox WHERE id = ANY($1) AND state = ANY($2)", ids, _OPEN
    )
    return int(rows[0][0])


def _holders(cluster: Cluster, ids: list[int]) -> dict[str, int]:
    rows = fetch_pg(cluster.database_url, "SELECT claimed_by, count(*) FROM outbox WHERE id = ANY($1) GROUP BY 1", ids)
    return {str(name): int(n) for name, n in rows}


def _wait_sent(cluster: Cluster, ids: list[int], since: float, timeout: float) -> float | None:
    """Seconds from ``since`` until none of ``ids`` is open any more (None: not within ``timeout``)."""
    while time.monotonic() - since < timeout:
        if not ids or _open_among(cluster, ids) == 0:
            return time.monotonic() - since
        time.sleep(0.1)
    return None


def _kill(cluster: Cluster, victim: Instance, rng: random.Random) -> tuple[list[int], float]:
    """Submits on the wire (responses delayed), then SIGKILL; returns (owed ids, when killed)."""
    cluster.stack.fault("delay", delay=1.0, seconds=1.5)
    time.sleep(rng.uniform(0.4, 1.0))
    cluster.scrape_all()
    victim.signal(signal.SIGKILL)
    killed = time.monotonic()
    return owed_by(cluster, victim.name), killed


def run_fault(
    cluster: Cluster, mode: str, rng: random.Random, *, takeover: float, last_victim: str = ""
) -> RoundReport:
    """Apply ``mode`` (the instance chosen at random, never the last victim for a stop or kill)."""
    report = RoundReport(mode)
    candidates = [i for i in cluster.instances if i.alive and i.name != last_victim] or cluster.instances
    victim = rng.choice(candidates)
    if mode in ("sigkill", "sigkill_restart"):
        report.victim = victim.name
        owed, killed = _kill(cluster, victim, rng)
        report.owed = len(owed)
        if mode == "sigkill_restart":
            cluster.restart(victim, wait=False)
        waited = _wait_sent(cluster, owed, killed, takeover + 20.0)
        report.takeover_seconds = None if waited is None else round(waited, 2)
        report.taken_by = _holders(cluster, owed) if owed else {}
        if mode == "sigkill":
            cluster.restart(victim)
        else:
            cluster.wait_bound([victim])
    elif mode == "sigterm":
        report.victim = victim.name
        cluster.scrape_all()
        status = victim.signal(signal.SIGTERM)
        report.notes["exit"] = status
        cluster.restart(victim)
    elif mode == "drop":
        binds = cluster.bound_binds()
        target = rng.choice(binds)
        report.notes["dropped"] = cluster.stack.post("/api/drop", {"bind": target})["dropped"]
        deadline = time.monotonic() + 15
        while len(cluster.bound_binds()) < len(cluster.instances) and time.monotonic() < deadline:
            time.sleep(0.1)
        report.notes["binds_after"] = len(cluster.bound_binds())
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return report


def duplicates(cluster: Cluster, cursor: int) -> int:
    """Replies the SMSC received more often than the database holds them as accepted (all instances together)."""
    view = SimulatorView(cluster.stack.sim_http)
    try:
        received = Counter((m.destination, m.text) for m in view.mts(cursor))
    finally:
        view.close()
    rows = fetch_pg(cluster.database_url, "SELECT destination, text, state FROM outbox")
    accepted = Counter((d, t) for d, t, s in rows if s in RECEIVED_STATES)
    return sum(max(0, n - accepted[key]) for key, n in received.items())
