"""The three defects of issue 12, each tried on three real instances sharing one PostgreSQL.

1. An MO and its redelivery racing on two instances apply once: the first
   instance's commit is held (a side connection locks the Karte's row, which its
   batch updates) until the SMSC, tired of waiting, sends the MO to another
   bind; that instance must see the first one's commit before it decides.
2. A long MO whose parts reach different instances is completed once, promptly,
   by whichever instance stores the last part.
3. The submit window's room is never negative (no claim with a negative limit)
   and no instance logs an exception, with windows full and the SMSC throttling.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from smsgw.db.batch_store import asyncpg_dsn
from tests.postgres import PostgresServer
from tests.reliability.invariants import Expected, Sent

from .cluster import SIMULATOR, SMPP, Cluster, new_database
from .pg_invariants import PgCopy, check_cluster, fetch_pg

SENDERS = [str(37124000000 + i) for i in range(60)]
KARTES = [str(37129500000 + i) for i in range(60)]
ROWS = [f"{s},postpaid,active,private,false,lv,,," for s in SENDERS] + [
    f"{k},karte,active,private,false,lv,,2030-12-31,0.00" for k in KARTES
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Iterator[Cluster]:
    made = Cluster(
        Path(tmp_path_factory.mktemp("defects")),
        new_database(postgres_server),
        smpp={**SMPP, "window": 3},
        simulator=SIMULATOR,
        outbox={"takeover": 10.0},
    )
    try:
        made.start(ROWS)
        yield made
    finally:
        made.stop()
        traces = made.traces()
        assert traces == [], traces


@pytest.fixture
def copy(cluster: Cluster, tmp_path: Path) -> PgCopy:
    return PgCopy(cluster.database_url, tmp_path / "copy.db", cluster.stack.sim_http)


class RowLock:
    """A side connection holding ``SELECT … FOR UPDATE`` on one subscriber row until released."""

    def __init__(self, database_url: str, msisdn: str) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._msisdn = msisdn
        self._locked = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._hold()), daemon=True)

    async def _hold(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            async with conn.transaction():
                await conn.execute("SELECT 1 FROM subscribers WHERE msisdn = $1 FOR UPDATE", self._msisdn)
                self._locked.set()
                await asyncio.get_running_loop().run_in_executor(None, self._release.wait, 60)
        finally:
            await conn.close()

    def __enter__(self) -> RowLock:
        self._thread.start()
        assert self._locked.wait(10), "the side connection did not get the row lock"
        return self

    def __exit__(self, *exc: Any) -> None:
        self._release.set()
        self._thread.join(10)


def _processed(cluster: Cluster, mo_id: str) -> list[tuple[str, bool]]:
    return [(name, bool(e.get("redelivery"))) for name, e in cluster.events("mo_processed") if e.get("mo_id") == mo_id]


def test_an_mo_and_its_redelivery_on_two_instances_apply_once(cluster: Cluster, copy: PgCopy) -> None:
    sender, karte = SENDERS[0], KARTES[0]
    stack = cluster.stack
    expected = Expected(mt_cursor=stack.cursor())
    text = f"V {karte[3:]} 5"
    with RowLock(cluster.database_url, karte):
        reply = stack.post("/api/mo", {"source": sender, "destination": "1643", "text": text})
        expected.add(Sent(str(reply["id"]), sender, text, "1643", karte, 500))
        expected.topups[sender] = 1
        # The first instance's batch is stuck on the Karte's row; the SMSC's 3 s timeout
        # sends the MO to the next bind, whose batch must wait for the first one's locks.
        stack.wait_until(lambda: stack.mo(reply["id"])["attempts"] >= 2, 10, "the SMSC sent the MO again")
        time.sleep(1.0)
    assert check_cluster(copy, expected, settle=20.0) == []
    [(mo_id,)] = fetch_pg(cluster.database_url, "SELECT id FROM mo_messages WHERE source = $1", sender)
    seen = _processed(cluster, mo_id)
    first = [name for name, again in seen if not again]
    copies = [name for name, again in seen if again]
    assert len(first) == 1 and copies, seen  # decided once, answered from the record after
    assert set(copies) - set(first), f"the redelivery never reached another instance: {seen}"
    assert fetch_pg(cluster.database_url, "SELECT count(*) FROM topups WHERE sender = $1", sender) == [(1,)]
    assert cluster.traces() == []


def test_long_mos_split_over_instances_are_completed_once_promptly(cluster: Cluster, copy: PgCopy) -> None:
    stack = cluster.stack
    expected = Expected(mt_cursor=stack.cursor())
    senders, kartes = SENDERS[10:34], KARTES[10:34]
    cluster.scrape_all()
    parts_before = {i.name: i.counter("smsgw_mo_parts_total") for i in cluster.instances}
    texts = [f"V {k[3:]} {2 + n % 5}" + " " * 200 for n, k in enumerate(kartes)]  # two parts each
    began = time.monotonic()
    mos = [{"source": s, "destination": "1643", "text": t} for s, t in zip(senders, texts, strict=True)]
    reply = stack.post("/api/mo", mos)
    for s, t, k, record in zip(senders, texts, kartes, reply["mos"], strict=True):
        assert record["parts"] == 2
        expected.add(Sent(str(record["id"]), s, t, "1643", k, int(t.split()[2]) * 100))
        expected.topups[s] = 1
    answered = {m["destination"] for m in stack.replies(int(reply["cursor"]), expect=2 * len(senders), timeout=20)}
    took = time.monotonic() - began
    assert set(senders) <= answered
    assert took < 10.0, f"{len(senders)} long MOs answered only after {took:.1f} s"
    assert check_cluster(copy, expected, settle=20.0) == []
    rows = fetch_pg(cluster.database_url, "SELECT source, text FROM mo_messages WHERE source = ANY($1)", senders)
    assert sorted(rows) == sorted(zip(senders, texts, strict=True)), "each long MO recorded once, whole"
    assert fetch_pg(cluster.database_url, "SELECT count(*) FROM mo_parts WHERE mo_id IS NULL") == [(0,)]
    cluster.scrape_all()
    spread = {i.name: i.counter("smsgw_mo_parts_total") - parts_before[i.name] for i in cluster.instances}
    assert all(n > 0 for n in spread.values()), f"the parts did not reach every instance: {spread}"
    assert cluster.traces() == []  # a batch completing many long MOs once gave up on them (batch_split)


def test_window_room_never_negative_and_no_instance_logs_an_exception(cluster: Cluster, copy: PgCopy) -> None:
    stack = cluster.stack
    expected = Expected(mt_cursor=stack.cursor())
    senders, kartes = SENDERS[34:60], KARTES[34:60]
    stack.fault("throttle", ratio=0.3, seconds=4.0, seed=12)
    stack.fault("delay", delay=0.5, seconds=4.0)
    mos = [{"source": s, "destination": "1643", "text": f"V {k[3:]} 2"} for s, k in zip(senders, kartes, strict=True)]
    reply = stack.post("/api/mo", mos)
    for s, k, record in zip(senders, kartes, reply["mos"], strict=True):
        expected.add(Sent(str(record["id"]), s, f"V {k[3:]} 2", "1643", k, 200))
        expected.topups[s] = 1
    worst: dict[str, float] = {}
    deadline = time.monotonic() + 6.0
    while time.monotonic() < deadline:
        for instance in cluster.instances:
            metrics = instance.scrape()
            room = metrics["smsgw_submit_window"] - metrics["smsgw_submits_outstanding"]
            worst[instance.name] = min(room, worst.get(instance.name, room))
        time.sleep(0.1)
    assert check_cluster(copy, expected, settle=30.0) == []
    assert all(room >= 0 for room in worst.values()), worst
    cluster.scrape_all()
    assert cluster.counter("smsgw_throttled_total") > 0, (
        "the SMSC never throttled: the windows were never under pressure"
    )
    failures = [
        (n, e["event"]) for n in ("outbox_claim_failed", "batch_failed", "batch_split") for n, e in cluster.events(n)
    ]
    assert failures == []
    assert cluster.traces() == []
