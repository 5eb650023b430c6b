"""Every instance's scheduler running across a month end: each confirmed monthly order executed once.

The instances run under libfaketime, all with one offset (their clocks agree),
started a moment after the month's last-day run time (``[sos] monthly_run_at``,
set to 23:59:40 here so that the month ends half a minute later): each
scheduler ticks at start-up — all three on the last day, racing for the same
orders — and again 30 s later, in the next month, where nothing is due. One
instance is SIGKILLed and restarted in between (its start-up tick is in the new
month). Plain top-ups flow meanwhile across the Riga midnight. The orders were
requested and confirmed before, with ``smsgw mo`` (the same batch path as SMS).
"""

from __future__ import annotations

import calendar
import os
import random
import signal
import subprocess
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.harness import SMSGW
from tests.reliability.invariants import RIGA, Expected

from .cluster import LIBFAKETIME
from .conftest import MakeCluster
from .load import Feeder, Population
from .pg_invariants import PgCopy, check_cluster, fetch_pg

RUN_AT = "23:59:40"
ORDERS = [(str(37125000000 + i), str(37129600000 + i), 3 + i) for i in range(4)]  # sender, Karte, euros
ROWS = [f"{s},postpaid,active,private,false,lv,,," for s, _, _ in ORDERS] + [
    f"{k},karte,active,private,false,lv,,2030-12-31,0.00" for _, k, _ in ORDERS
]


def _last_day_ahead() -> date:
    """The last day of this month (or the next, if that is today or tomorrow) in Riga."""
    today = datetime.now(RIGA).date()
    day = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    if (day - today).days < 2:
        first = day + timedelta(days=1)
        day = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return day


def _confirm_orders(config: Path, folder: Path) -> None:
    """``M`` then ``JA`` for every order, senders side by side (``smsgw mo``, the batch path)."""
    for text in ("M {karte} {amount}", "JA"):
        procs = [
            subprocess.Popen(
                [SMSGW, "--config", str(config), "mo", sender, "1643", text.format(karte=karte[3:], amount=amount)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=folder,
            )
            for sender, karte, amount in ORDERS
        ]
        for proc in procs:
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()


def test_each_monthly_order_runs_once_with_every_scheduler_across_the_month_end(
    make_cluster: MakeCluster, tmp_path: Path
) -> None:
    if not LIBFAKETIME.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {LIBFAKETIME} is missing (scripts/test installs the faketime package)")
        pytest.skip("libfaketime is not installed (apt-get install faketime); set CI=true to require it")
    last_day = _last_day_ahead()
    hour, minute, second = (int(x) for x in RUN_AT.split(":"))
    run_at = datetime(last_day.year, last_day.month, last_day.day, hour, minute, second, tzinfo=RIGA)
    midnight = run_at.replace(hour=0, minute=0, second=0) + timedelta(days=1)
    population = Population(bursts=2, plain=20, pressure=0, first_sender=37126000000)
    cluster = make_cluster([*ROWS, *population.rows()], extra=f'[sos]\nmonthly_run_at = "{RUN_AT}"\n', instances=False)
    _confirm_orders(cluster.stack.config, cluster.folder)
    offset = run_at.timestamp() + 0.5 - time.time()
    cluster.fake_time(offset)
    cluster.start_instances()

    stack = cluster.stack
    copy = PgCopy(cluster.database_url, tmp_path / "copy.db", stack.sim_http, lambda m: stack.billing(m))
    expected = Expected(mt_cursor=stack.cursor())
    feeder = Feeder(stack, expected, interval=0.4)
    rng = random.Random(3)
    feeder.start(population.burst(0, rng))
    # After every scheduler's first tick (the run), before midnight: SIGKILL one, restart it.
    victim = cluster.instances[rng.randrange(3)]
    time.sleep(max(0.0, run_at.timestamp() + 8.0 - (time.time() + offset)))
    victim.signal(signal.SIGKILL)
    time.sleep(max(0.0, midnight.timestamp() + 2.0 - (time.time() + offset)))
    cluster.restart(victim)
    feeder.join()
    feeder.start(population.burst(1, rng))
    feeder.join()
    assert midnight.timestamp() < time.time() + offset
    # Every scheduler ticks again 30 s after its start, in the new month: wait for that.
    started = [
        datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00"))
        for _, e in cluster.events("gateway_started")
        if datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")) > run_at
    ]
    assert len(started) == 4, started  # three on the last day, the restart in the new month
    first = sorted(started)[:3]
    assert all(s < midnight for s in first) and max(started) > midnight, started
    # The two that lived on tick again 30 s after their start-up tick, in the new month.
    time.sleep(max(0.0, max(first).timestamp() + 31.5 - (time.time() + offset)))

    for sender, _, _ in ORDERS:
        expected.topups[sender] = 1  # the monthly one
    assert check_cluster(copy, expected, settle=30.0, billing=True) == []
    month = f"{last_day:%Y-%m}"
    charges = fetch_pg(
        cluster.database_url,
        "SELECT t.sender, t.karte, t.amount_cents, t.period, c.charged_at FROM charges c JOIN topups t"
        " ON t.id = c.topup_id WHERE t.kind = 'monthly' ORDER BY t.sender",
    )
    assert [(s, k, a, p) for s, k, a, p, _ in charges] == [(s, k, e * 100, month) for s, k, e in ORDERS], charges
    runs = [e for _, e in cluster.events("monthly_run")]
    assert sum(int(e.get("monthly_executed", 0)) for e in runs) == len(ORDERS), runs
    assert {e["date"] for e in runs} == {last_day.isoformat()}, runs
    assert cluster.traces() == []
