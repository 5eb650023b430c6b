"""Benchmark the core entry point: one-off top-ups through ``Service.handle_mo``, no SMPP.

    python bench/core.py [--n 20000] [--concurrency 64] [--db sqlite|postgresql URL]

Each MO is a full unit of work on a fresh database (SQLite in WAL mode with
``synchronous=FULL`` by default): parse, redelivery check, eligibility, caps,
top-up and charge rows, Karte credit, MO record and two outbox rows, committed
before its result returns. Prints MOs per second (median of ``--runs``) and the
mean number of MOs per commit (``Service.handle_mo`` runs each MO as a batch of
one: the entry point ``smsgw mo`` uses, not the gateway's batching). A figure, not
a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet

from handlers.model import Kind, Subscriber, SubscriberStatus
from handlers.rules import Rules
from smsgw.db.database import open_database
from smsgw.db.migrate import upgrade
from smsgw.sealing import Sealer
from smsgw.service import InboundMo, Service
from smsgw.subscriber_import import import_subscribers


class _App:
    def __init__(self, db: object) -> None:
        self.db = db


async def one_run(url: str, n: int, concurrency: int) -> tuple[float, float]:
    await upgrade(url)
    db = open_database(url)
    service = Service(db, Rules(), Sealer(Fernet.generate_key()))
    people = [Subscriber(f"3712{i:07d}", Kind.POSTPAID, SubscriberStatus.ACTIVE) for i in range(n)]
    kartes = [
        Subscriber(f"3712{5_000_000 + i:07d}", Kind.KARTE, SubscriberStatus.ACTIVE, balance=Decimal(0))
        for i in range(n)
    ]
    await import_subscribers(_App(db), people + kartes)
    now = datetime.now(UTC)
    mos = [InboundMo(f"3712{i:07d}", "1643", f"V 2{5_000_000 + i:07d} 5", now) for i in range(n)]
    queue: asyncio.Queue[InboundMo] = asyncio.Queue()
    for mo in mos:
        queue.put_nowait(mo)
    outcomes: dict[str, int] = {}

    async def worker() -> None:
        while not queue.empty():
            result = await service.handle_mo(queue.get_nowait())
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1

    commits = service.runner.commits
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    batch = n / max(service.runner.commits - commits, 1)
    await db.close()
    if outcomes.get("topup_applied") != n:
        raise SystemExit(f"unexpected outcomes: {outcomes}")
    return n / elapsed, batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", default="", help="database URL (default: a fresh SQLite file per run)")
    args = parser.parse_args()
    rates, batches = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            url = args.url or f"sqlite+aiosqlite:///{tmp}/bench.db"
            rate, batch = asyncio.run(one_run(url, args.n, args.concurrency))
        rates.append(rate)
        batches.append(batch)
        print(f"run {run + 1}: {rate:,.0f} top-ups/s (mean batch {batch:.1f})", flush=True)
    print(
        f"core_topups_per_s={statistics.median(rates):.0f} min={min(rates):.0f} max={max(rates):.0f} "
        f"n={args.n} concurrency={args.concurrency}"
    )


if __name__ == "__main__":
    main()
