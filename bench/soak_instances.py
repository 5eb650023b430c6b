#!/usr/bin/env python3
"""Soak: three gateway instances on one PostgreSQL for a long time, with a fault every few minutes.

    .venv/bin/python bench/soak_instances.py                         # 30 minutes, 20 MOs/s, a fault every 3 min
    .venv/bin/python bench/soak_instances.py --seconds 150 --fault-every 30   # a quick look

It starts a throwaway PostgreSQL server (Debian's binaries, ``tests/postgres.py``),
the simulator and ``--instances`` ``smsgw run`` processes on 127.0.0.1 in a
temporary folder (the scale-out suite's cluster, ``tests/scaleout/``), imports
fresh senders and injects SOS-SMS top-ups at ``--rate`` per second, one sender's
MOs back to back so that they reach different instances. Every ``--fault-every``
seconds it applies the next fault of the rotation: SIGKILL of one instance (kept
down until the others sent the replies it owed, then restarted), SIGTERM and
restart, one bind dropped by the SMSC, SIGKILL and an immediate restart. It
prints each instance's resident memory every ``--sample-every`` seconds, stops
injecting after ``--seconds`` (at most ``rate × seconds`` MOs), lets the system
settle, and prints the invariants of docs/reliability.md over the whole
database, the faults with their takeover times and duplicates, and the memory
of each instance from first to last sample. Exit status 0 when every invariant
holds, 1 otherwise. Run it from the repository root with the test extra installed.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postgres import PostgresServer, find_binaries  # noqa: E402
from tests.reliability.invariants import RIGA, Expected  # noqa: E402
from tests.scaleout.cluster import SIMULATOR, SMPP, Cluster, new_database  # noqa: E402
from tests.scaleout.faults import MODES, RoundReport, duplicates, run_fault  # noqa: E402
from tests.scaleout.load import Feeder, Population  # noqa: E402
from tests.scaleout.pg_invariants import PgCopy, check_cluster  # noqa: E402

PLAIN, PRESSURE = 24, 4
MOS_PER_SENDER = (2 * PLAIN + 4 * PRESSURE) / (PLAIN + PRESSURE)


def _midnight_within(seconds: float) -> bool:
    now = datetime.now(RIGA)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds() < seconds


def _mb(kib: int) -> str:
    return f"{kib / 1024:7.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1800.0, help="how long to inject (default 1800)")
    parser.add_argument("--rate", type=float, default=20.0, help="MOs per second (default 20)")
    parser.add_argument("--fault-every", type=float, default=180.0, help="seconds between faults (default 180)")
    parser.add_argument("--sample-every", type=float, default=30.0, help="seconds between memory samples")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--takeover", type=float, default=10.0, help="[outbox] takeover of the instances")
    parser.add_argument("--settle", type=float, default=120.0, help="seconds allowed to settle at the end")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep the logs in this folder")
    args = parser.parse_args()
    binaries = find_binaries()
    if binaries is None:
        print("soak_instances: PostgreSQL binaries not found (apt-get install postgresql)", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    # The daily cap resets at Riga midnight: senders pressing on it only when none falls within the run.
    pressure = 0 if _midnight_within(args.seconds + args.settle + 120) else PRESSURE
    senders_needed = math.ceil(args.rate * args.seconds / MOS_PER_SENDER) + PLAIN + pressure
    population = Population(bursts=math.ceil(senders_needed / (PLAIN + pressure)), plain=PLAIN, pressure=pressure)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="smsgw-soak-instances-"))
    folder.mkdir(parents=True, exist_ok=True)
    server = PostgresServer(binaries)
    server.start()
    cluster: Cluster | None = None
    try:
        cluster = Cluster(
            folder / "cluster",
            new_database(server),
            size=args.instances,
            smpp=SMPP,
            simulator=SIMULATOR,
            outbox={"takeover": args.takeover},
        )
        print(
            f"soak: {args.instances} instances, {args.seconds:.0f} s at {args.rate:g} MOs/s, a fault every "
            f"{args.fault_every:.0f} s, seed {seed}, {population.bursts * population.per_burst} senders, in {folder}"
        )
        cluster.start(population.rows())
        return _soak(cluster, population, args, rng, folder)
    finally:
        if cluster is not None:
            cluster.stop()
        server.stop()
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _soak(cluster: Cluster, population: Population, args: argparse.Namespace, rng: random.Random, folder: Path) -> int:
    stack = cluster.stack
    expected = Expected(mt_cursor=stack.cursor())
    copy = PgCopy(cluster.database_url, folder / "copy.db", stack.sim_http, lambda m: stack.billing(m))
    senders = [s for b in range(population.bursts) for s in population.burst(b, rng)]
    feeder = Feeder(stack, expected, interval=MOS_PER_SENDER / args.rate)
    samples: list[tuple[float, list[int]]] = []
    faults: list[RoundReport] = []
    began = time.monotonic()
    next_fault = began + args.fault_every
    next_sample = began
    last_victim = ""
    feeder.start(senders)
    while time.monotonic() - began < args.seconds:
        now = time.monotonic()
        if now >= next_sample:
            samples.append((now - began, [i.rss_kib() for i in cluster.instances]))
            print(
                f"  {now - began:7.0f} s  RSS MB "
                + " ".join(_mb(k) for k in samples[-1][1])
                + f"   MOs injected {feeder.injected}",
                flush=True,
            )
            next_sample = now + args.sample_every
        if now >= next_fault:
            mode = MODES[len(faults) % len(MODES)]
            report = run_fault(cluster, mode, rng, takeover=args.takeover, last_victim=last_victim)
            last_victim = report.victim or last_victim
            faults.append(report)
            print(
                f"  {time.monotonic() - began:7.0f} s  fault {mode} {report.victim or report.notes}"
                f" owed={report.owed} sent after {report.takeover_seconds} s by {report.taken_by}",
                flush=True,
            )
            next_fault = time.monotonic() + args.fault_every
        time.sleep(0.2)
    feeder.stop()
    feeder.join(timeout=30)
    for instance in cluster.instances:
        if not instance.alive:
            cluster.restart(instance)
    problems = check_cluster(copy, expected, settle=args.settle, billing=True)
    cluster.scrape_all()
    samples.append((time.monotonic() - began, [i.rss_kib() for i in cluster.instances]))
    _summary(cluster, expected, feeder, faults, samples, problems, time.monotonic() - began)
    return 1 if problems or cluster.traces() else 0


def _summary(
    cluster: Cluster,
    expected: Expected,
    feeder: Feeder,
    faults: list[RoundReport],
    samples: list[tuple[float, list[int]]],
    problems: list[str],
    elapsed: float,
) -> None:
    print(f"\n{feeder.injected} MOs from {len(expected.senders)} senders in {elapsed:.0f} s")
    print(f"faults: {len(faults)}")
    for report in faults:
        print(
            f"  {report.mode:16} {report.victim or '':4} owed {report.owed:3}  sent after {report.takeover_seconds} s"
        )
    dups = duplicates(cluster, expected.mt_cursor)
    print(
        f"duplicates at the SMSC {dups}; counted possible {cluster.counter('smsgw_maybe_duplicate_parts_total'):.0f},"
        f" resubmits {cluster.counter('smsgw_resubmits_total'):.0f},"
        f" taken over {cluster.counter('smsgw_takeovers_total'):.0f}"
    )
    print("resident memory, MB (first sample → last):")
    first, last = samples[0][1], samples[-1][1]
    for instance, a, b in zip(cluster.instances, first, last, strict=True):
        print(f"  {instance.name}: {_mb(a)} → {_mb(b)}   ({instance.starts} starts)")
    traces = cluster.traces()
    print(f"exceptions logged: {len(traces)}")
    for line in traces[:5]:
        print("  " + line[:300])
    if problems:
        print(f"INVARIANTS BROKEN ({len(problems)}):")
        for line in problems[:40]:
            print("  " + line)
    else:
        print("every invariant held (a–g, billing export included)")


if __name__ == "__main__":
    sys.exit(main())
