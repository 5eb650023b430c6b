"""The guarantees of SPEC §6, checked from the outside after a crash or a fault.

``check_invariants(stack, expected)`` reads the gateway's SQLite file (read-only,
while the gateway may still be writing) and what the SMSC recorded (the
simulator's control API, or a :class:`SmscView` of another SMSC), first gives
the system a bounded time to settle, and returns the violations it finds (an
empty list when every guarantee holds):

a. every MO the SMSC saw acknowledged is recorded, exactly once (one
   ``mo_messages`` row per injected MO; each injected MO has a unique
   (sender, text), so matching is exact); no row the SMSC never sent;
b. each accepted top-up is applied exactly once: one ``topups`` row per MO
   whose outcome is ``topup_applied``, none for the others, with the Karte and
   amount of its text; per sender, the number of top-ups the load was designed
   to produce;
c. the caps: per sender, one-off top-ups per Riga day ≤ 21.34 € and all
   top-ups per Riga month ≤ 42.69 € (SQL over every top-up in the file);
d. invoice charges ↔ top-ups one to one (joined both ways; sender, Karte,
   amount and kind equal), and, with ``billing=True``, ``smsgw billing
   export`` lists exactly the charges;
e. every reply in a final state (``submitted``, ``delivered``,
   ``undeliverable``, ``rejected``, ``smsc_expired``, ``failed``, ``expired``),
   none ``queued`` or ``sending``; every recorded MO queued its replies once;
f. every sender got at least one reply MT at the SMSC;
g. (with ``replies_reach_smsc=True``, the default) no reply lost: every reply
   the gateway holds as accepted was received by the SMSC (matched on
   destination and text, as a multiset), none ended ``failed`` or ``expired``.

:func:`acked_but_unrecorded` is (a) alone, without waiting: true at every
instant, so tests call it right after a SIGKILL, before anything can catch up.
"""

from __future__ import annotations

import functools
import http.client
import json
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

__all__ = [
    "DAILY_CAP_CENTS",
    "FINAL_STATES",
    "MONTHLY_CAP_CENTS",
    "Expected",
    "Mt",
    "Sent",
    "SimulatorView",
    "SmscView",
    "acked_but_unrecorded",
    "check_invariants",
    "read_db",
]

DAILY_CAP_CENTS = 2134
MONTHLY_CAP_CENTS = 4269
FINAL_STATES = frozenset({"submitted", "delivered", "undeliverable", "rejected", "smsc_expired", "failed", "expired"})
RECEIVED_STATES = frozenset({"submitted", "delivered", "undeliverable", "rejected", "smsc_expired"})
RIGA = ZoneInfo("Europe/Riga")


@dataclass(frozen=True, slots=True)
class Sent:
    """One MO injected at the SMSC. ``karte``/``amount_cents``: the top-up its text asks for."""

    key: str  # the SMSC's id for it (simulator MO id), or any unique name
    source: str
    text: str
    destination: str = "1643"
    karte: str | None = None
    amount_cents: int | None = None


@dataclass
class Expected:
    """What a load was designed to produce.

    ``topups``: per sender, the exact number of top-ups it must end with in the
    whole database (every sender of ``mos`` must appear). ``mt_cursor``: the
    simulator's MT cursor from before the first of these MOs (replies to them
    come at or after it).
    """

    mos: list[Sent] = field(default_factory=list)
    topups: dict[str, int] = field(default_factory=dict)
    mt_cursor: int = 0

    def add(self, sent: Sent) -> None:
        self.mos.append(sent)
        self.topups.setdefault(sent.source, 0)

    @property
    def senders(self) -> set[str]:
        return {m.source for m in self.mos}


@dataclass(frozen=True, slots=True)
class Mt:
    source: str
    destination: str
    text: str | None  # None when the SMSC view cannot decode it (then destination alone counts)


class SmscView(Protocol):
    """What the SMSC saw: the state of each injected MO, and the MTs it received."""

    def mo_states(self, mos: Sequence[Sent]) -> dict[str, str]:
        """``key`` → ``queued``/``sent``/``delivered``/``failed`` (``delivered``: acknowledged)."""
        ...

    def mts(self, cursor: int) -> list[Mt]:
        """Every MT (reassembled) received from ``cursor`` on."""
        ...


class SimulatorView:
    """The real simulator's records, over its control API (one kept-alive HTTP connection)."""

    def __init__(self, http_port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, http_port
        self._conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> Any:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self._conn.request("GET", path)
                response = self._conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            if response.status == 404:
                return None
            if response.status != 200:
                raise AssertionError(f"GET {path}: HTTP {response.status}: {body[:200]!r}")
            return json.loads(body)
        raise AssertionError("unreachable")

    def mo_states(self, mos: Sequence[Sent]) -> dict[str, str]:
        states = {}
        for mo in mos:
            record = self.get(f"/api/mo/{mo.key}")
            states[mo.key] = "evicted" if record is None else str(record["state"])
        return states

    def mts(self, cursor: int) -> list[Mt]:
        found: list[Mt] = []
        for _ in range(10_000):  # pages of 10,000: bounded far beyond any run
            data = self.get(f"/api/mt?cursor={cursor}&limit=10000")
            batch = data["mts"]
            found.extend(Mt(m["source"], m["destination"], m["text"]) for m in batch)
            if not batch or int(data["cursor"]) <= cursor:
                break
            cursor = int(data["cursor"])
            if len(batch) < 10000:
                break
        return found

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --- the database side ---------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 20)
def _riga(stamp: str, fmt: str) -> str:
    # Cached: every check reads every top-up of the file again (a long run has tens of thousands).
    instant = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return instant.astimezone(RIGA).strftime(fmt)


def read_db(db_path: Path, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    """One read-only query on the gateway's SQLite file, with ``riga_day(ts)`` and ``riga_month(ts)``."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        con.create_function("riga_day", 1, lambda s: _riga(s, "%Y-%m-%d"), deterministic=True)
        con.create_function("riga_month", 1, lambda s: _riga(s, "%Y-%m"), deterministic=True)
        return con.execute(sql, tuple(params)).fetchall()
    finally:
        con.close()


@dataclass
class _Snapshot:
    mos: list[tuple[str, str, str, str, str]]  # id, source, destination, text, outcome
    topups: list[tuple[int, str, str, int, str, str | None]]  # id, sender, karte, cents, kind, mo_id
    outbox: list[tuple[int, str | None, str, str, str, str]]  # id, mo_id, source, destination, state, text


def _snapshot(db_path: Path) -> _Snapshot:
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        con.execute("BEGIN")  # one consistent read across the three tables
        mos = con.execute("SELECT id, source, destination, text, outcome FROM mo_messages").fetchall()
        topups = con.execute("SELECT id, sender, karte, amount_cents, kind, mo_id FROM topups").fetchall()
        outbox = con.execute("SELECT id, mo_id, source, destination, state, text FROM outbox").fetchall()
        con.execute("COMMIT")
    finally:
        con.close()
    return _Snapshot(mos, topups, outbox)


def _cap_violations(db_path: Path) -> list[str]:
    problems = []
    daily = read_db(
        db_path,
        "SELECT sender, riga_day(created_at) AS d, SUM(amount_cents) FROM topups WHERE kind = 'one_off' "
        "GROUP BY sender, d HAVING SUM(amount_cents) > ?",
        (DAILY_CAP_CENTS,),
    )
    problems += [f"(c) daily cap: {s} topped up {c / 100:.2f} € one-off on {d}" for s, d, c in daily]
    monthly = read_db(
        db_path,
        "SELECT sender, riga_month(created_at) AS m, SUM(amount_cents) FROM topups "
        "GROUP BY sender, m HAVING SUM(amount_cents) > ?",
        (MONTHLY_CAP_CENTS,),
    )
    problems += [f"(c) monthly cap: {s} topped up {c / 100:.2f} € in {m}" for s, m, c in monthly]
    return problems


def _charge_violations(db_path: Path) -> list[str]:
    problems = []
    lonely = read_db(
        db_path, "SELECT t.id, t.sender FROM topups t LEFT JOIN charges c ON c.topup_id = t.id WHERE c.id IS NULL"
    )
    problems += [f"(d) top-up {i} of {s} has no invoice charge" for i, s in lonely]
    orphans = read_db(
        db_path, "SELECT c.id, c.sender FROM charges c LEFT JOIN topups t ON t.id = c.topup_id WHERE t.id IS NULL"
    )
    problems += [f"(d) charge {i} of {s} pairs with no top-up" for i, s in orphans]
    doubled = read_db(db_path, "SELECT topup_id, COUNT(*) FROM charges GROUP BY topup_id HAVING COUNT(*) > 1")
    problems += [f"(d) top-up {t} has {n} charges" for t, n in doubled]
    unequal = read_db(
        db_path,
        "SELECT c.id, t.id FROM charges c JOIN topups t ON t.id = c.topup_id WHERE c.sender != t.sender "
        "OR c.karte != t.karte OR c.amount_cents != t.amount_cents OR c.kind != t.kind",
    )
    problems += [f"(d) charge {c} differs from its top-up {t}" for c, t in unequal]
    return problems


def _billing_violations(stack: Any) -> list[str]:
    rows = read_db(
        stack.db_path, "SELECT c.sender, c.karte, c.amount_cents, c.kind, riga_month(c.charged_at) FROM charges c"
    )
    want = Counter((s, k, f"{a / 100:.2f}", kind) for s, k, a, kind, _ in rows)
    got: Counter[tuple[str, str, str, str]] = Counter()
    for month in sorted({r[4] for r in rows}):
        try:
            exported = stack.billing(month)
        except (AssertionError, subprocess.SubprocessError) as error:
            return [f"(d) billing export {month} failed: {error}"]
        got.update((r["sender"], r["karte"], r["amount"], r["kind"]) for r in exported)
    if got == want:
        return []
    return [f"(d) billing export differs from the charges: missing {dict(want - got)}, extra {dict(got - want)}"]


def acked_but_unrecorded(db_path: Path, smsc: SmscView, mos: Sequence[Sent]) -> list[str]:
    """(a) now: MOs the SMSC holds as acknowledged that have no ``mo_messages`` row (read after the SMSC)."""
    states = smsc.mo_states(mos)  # the SMSC first: a row committed later cannot excuse an earlier ack
    rows = read_db(db_path, "SELECT source, destination, text FROM mo_messages")
    recorded = set(rows)
    return [
        f"(a) {m.source} {m.text!r}: acknowledged to the SMSC but not recorded"
        for m in mos
        if states.get(m.key) == "delivered" and (m.source, m.destination, m.text) not in recorded
    ]


# --- the check ---------------------------------------------------------------------------------


def _violations(
    stack: Any, smsc: SmscView, expected: Expected, *, replies_reach_smsc: bool
) -> tuple[list[str], list[str]]:
    """(violations, of which those that time may still resolve)."""
    db_path: Path = stack.db_path
    problems: list[str] = []
    pending: list[str] = []
    states = smsc.mo_states(expected.mos)
    snap = _snapshot(db_path)
    ours = {(m.source, m.destination, m.text): m for m in expected.mos}
    senders = expected.senders

    # (a) recorded exactly once; nothing recorded that was never sent
    rows_by_key: dict[tuple[str, str, str], list[tuple[str, str, str, str, str]]] = {}
    for row in snap.mos:
        rows_by_key.setdefault((row[1], row[2], row[3]), []).append(row)
    for key, mo in ours.items():
        rows = rows_by_key.get(key, [])
        state = states.get(mo.key)
        if state != "delivered":
            pending.append(f"(a) {mo.source} {mo.text!r}: the SMSC has it {state}, not acknowledged")
        if len(rows) > 1:
            problems.append(f"(a) {mo.source} {mo.text!r}: recorded {len(rows)} times (a redelivery taken as new)")
        elif not rows and state == "delivered":
            problems.append(f"(a) {mo.source} {mo.text!r}: acknowledged to the SMSC but not recorded")
    for key in rows_by_key:
        if key[0] in senders and key not in ours:
            problems.append(f"(a) {key[0]} {key[2]!r}: recorded but never sent by the SMSC")

    # (b) each accepted top-up applied exactly once, per sender as designed
    topups_by_mo: dict[str | None, list[tuple[int, str, str, int, str, str | None]]] = {}
    for t in snap.topups:
        topups_by_mo.setdefault(t[5], []).append(t)
    per_sender: Counter[str] = Counter(t[1] for t in snap.topups)
    for key, rows in rows_by_key.items():
        mo = ours.get(key)
        if mo is None:
            continue
        for mo_id, _, _, _, outcome in rows:
            applied = topups_by_mo.get(mo_id, [])
            want = 1 if outcome == "topup_applied" else 0
            if len(applied) != want:
                problems.append(f"(b) {mo.source} {mo.text!r} ({outcome}): {len(applied)} top-ups, expected {want}")
            for _, sender, karte, cents, kind, _ in applied:
                if (sender, kind) != (mo.source, "one_off") or (
                    mo.karte is not None and (karte, cents) != (mo.karte, mo.amount_cents)
                ):
                    problems.append(f"(b) {mo.source} {mo.text!r}: applied as {sender} → {karte} {cents} ¢ {kind}")
    for sender, count in expected.topups.items():
        if per_sender[sender] != count:
            where = pending if per_sender[sender] < count else problems
            where.append(f"(b) {sender}: {per_sender[sender]} top-ups, expected exactly {count}")

    # (c), (d)
    problems += _cap_violations(db_path)
    problems += _charge_violations(db_path)

    # (e) every reply in a final state; each MO queued its replies once
    ids = {row[0] for rows in rows_by_key.values() for row in rows if (row[1], row[2], row[3]) in ours}
    for outbox_id, _, _, destination, state, _ in snap.outbox:
        if state not in FINAL_STATES:
            pending.append(f"(e) reply {outbox_id} to {destination} is still {state}")
    replies_per_mo = Counter(r[1] for r in snap.outbox if r[1] in ids)
    copies = Counter((r[1], r[3], r[5]) for r in snap.outbox if r[1] in ids)
    problems += [f"(e) MO {mo_id} queued its reply to {d} {n} times" for (mo_id, d, _), n in copies.items() if n > 1]
    problems += [f"(e) MO {mo_id} queued no reply" for mo_id in ids if replies_per_mo[mo_id] == 0]

    # (f) every sender answered; (g) no reply lost
    mts = smsc.mts(expected.mt_cursor)
    answered = {m.destination for m in mts if m.source in {mo.destination for mo in expected.mos}}
    for sender in sorted(senders - answered):
        pending.append(f"(f) {sender} got no reply at the SMSC")
    if replies_reach_smsc:
        received = Counter((m.destination, m.text) for m in mts)
        by_destination = Counter(m.destination for m in mts if m.text is None)
        accepted: Counter[tuple[str, str]] = Counter()
        for _, mo_id, source, destination, state, text in snap.outbox:
            if mo_id not in ids:
                continue
            if state in ("failed", "expired"):
                problems.append(f"(g) the reply to {destination} of MO {mo_id} ended {state}")
            elif state in RECEIVED_STATES and source != "1640":
                accepted[(destination, text)] += 1
        for (destination, text), count in accepted.items():
            have = received[(destination, text)] + by_destination[destination]
            if have < count:
                problems.append(f"(g) {count - have} of {count} replies to {destination} accepted but not at the SMSC")
    problems += pending
    return problems, pending


def check_invariants(
    stack: Any,
    expected: Expected,
    *,
    smsc: SmscView | None = None,
    settle: float = 30.0,
    billing: bool = False,
    replies_reach_smsc: bool = True,
) -> list[str]:
    """The violated guarantees (empty: all hold), after waiting up to ``settle`` s for the system to settle.

    ``stack`` is a :class:`tests.e2e.harness.Stack` (its ``db_path``; its
    simulator unless ``smsc`` is given; ``billing`` runs ``smsgw billing export``).
    A violation that time cannot resolve (a double, a lost MO) is not waited for.
    """
    view = smsc if smsc is not None else SimulatorView(stack.sim_http)
    try:
        deadline = time.monotonic() + settle
        while True:
            problems, pending = _violations(stack, view, expected, replies_reach_smsc=replies_reach_smsc)
            if len(problems) == len(pending) and pending and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            break
        if not problems and billing:
            problems += _billing_violations(stack)
        if pending and len(problems) == len(pending):
            problems.append(f"not settled within {settle:.0f} s")
        elif pending:
            problems.append("stopped waiting to settle: the first violations above cannot resolve")
        return problems
    finally:
        if smsc is None:
            view.close()
