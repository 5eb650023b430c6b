"""SIGKILL in the middle of a burst of top-ups: after a restart, each one is charged exactly once.

The real simulator redelivers every MO whose deliver_sm_resp it did not get (on
the dropped connection, and after ``mo_redelivery_timeout``). Two bursts of 150
one-off top-ups, one per sender, each interrupted by SIGKILL of the gateway and
a restart: in the end every MO is delivered, each sender is charged once per
burst (no redelivery applied twice, nothing acknowledged lost), every sender and
every Karte got a reply, and the outbox holds nothing unsent (SPEC §6).

The middle of a burst is made, not waited for: the first 50 MOs are answered
(and their replies' receipts), then the SQLite write lock is held from another
connection while the rest is sent, so the gateway reads a full window of MOs
(32) it cannot commit. The first burst kills it so (read, never committed: none
may have been acknowledged); the second cuts the link first and lets the batch
commit with no link for its responses, then kills it: those MOs are committed
and unacknowledged, and every one of them must come back and be recognised as
a redelivery (the gateway may have taken the rest of the burst after its
rebind, before the kill).
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

from tests.reliability.stalls import WriteLock, unread_bytes, wait_quiet

from .harness import Stack, db_query, numbered_subscribers, wait_until

COUNT = 150
KILL_AFTER = 50
WINDOW = 32  # the simulator's MO window: deliver_sm outstanding at once


def delivered(stack: Stack) -> int:
    return int(stack.get("/api/status")["counters"].get("mos_delivered", 0))


def unsent(stack: Stack) -> int:
    rows = db_query(stack.db_path, "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')")
    return int(rows[0][0])


def redeliveries(stack: Stack) -> int:
    return sum(1 for e in stack.log_events() if e.get("event") == "mo_processed" and e.get("redelivery"))


def held_by_the_gateway(stack: Stack, ids: list[str]) -> int:
    """How many of these MOs the simulator sent, once its window is full and the gateway read every byte; else 0."""
    status = stack.status()
    if sum(int(b["outstanding_delivers"]) for b in status["binds"]) < WINDOW or unread_bytes(stack.smpp_port) != 0:
        return 0
    return sum(1 for mo_id in ids if stack.mo(mo_id)["state"] == "sent")


def cut_link(stack: Stack) -> None:
    """Drop the gateway's connection at the simulator; returns once the gateway saw it."""
    lost = stack.log_text().count("smpp_link_lost")
    assert stack.post("/api/drop", {"all": True})["dropped"]
    wait_until(lambda: stack.log_text().count("smpp_link_lost") > lost, 10, "the gateway saw its link cut")


def recorded(stack: Stack) -> int:
    return int(db_query(stack.db_path, "SELECT count(*) FROM mo_messages")[0][0])


def test_sigkill_during_bursts_applies_every_top_up_exactly_once(tmp_path: Path) -> None:
    senders, kartes, rows = numbered_subscribers(COUNT)
    stack = Stack(tmp_path, simulator={"mo_window": WINDOW})
    stack.import_subscribers(rows)
    stack.start_simulator()
    stack.start_gateway()
    cut_at: list[int] = []
    held_windows: list[int] = []  # MOs of each burst read by the gateway while it could not commit
    try:
        for burst, amount in enumerate((5, 4)):
            base, first = delivered(stack), recorded(stack)
            cursor = stack.cursor()
            mos = [
                {"source": s, "destination": "1643", "text": f"V {k[3:]} {amount}"}
                for s, k in zip(senders, kartes, strict=True)
            ]
            stack.post("/api/mo", mos[:KILL_AFTER])
            wait_until(lambda base=base: delivered(stack) == base + KILL_AFTER, 20, f"burst {burst}: the first MOs")
            # Their replies' receipts answered too: the window the lock fills is the burst's alone.
            wait_until(lambda: unsent(stack) == 0, 20, f"burst {burst}: the first MOs' replies sent")
            wait_quiet(stack)
            with WriteLock(stack.db_path):  # the rest is read but not committed
                ids = [str(m["id"]) for m in stack.post("/api/mo", mos[KILL_AFTER:])["mos"]]
                window = stack.wait_until(lambda ids=ids: held_by_the_gateway(stack, ids), 15, "the gateway's window")
                held_windows.append(window)
                if burst == 0:
                    assert stack.kill_gateway(signal.SIGKILL) == -signal.SIGKILL  # with a batch waiting for the lock
                else:
                    cut_link(stack)  # the batch commits after this: its deliver_sm_resp have no link to go to
            if burst == 1:  # committed MOs unacknowledged, redelivered to the next gateway
                held = first + KILL_AFTER + window
                wait_until(lambda held=held: recorded(stack) >= held, 10, "the held batch committed")
                assert stack.kill_gateway(signal.SIGKILL) == -signal.SIGKILL
            cut_at.append(delivered(stack) - base)
            stack.start_gateway()
            deadline = time.monotonic() + 30

            wait_until(lambda base=base: delivered(stack) == base + COUNT, 30, f"burst {burst}: every MO delivered")
            waiting = set(senders) | set(kartes)
            while waiting:  # every sender and every Karte gets its reply of this burst
                batch, cursor = stack.mts(cursor, wait=1.0)
                waiting -= {m["destination"] for m in batch if m["source"] == "1643"}
                assert time.monotonic() < deadline, f"burst {burst}: no reply to {sorted(waiting)[:5]}…"
            wait_until(lambda: unsent(stack) == 0, 15, f"burst {burst}: the outbox empties")

        assert cut_at[0] == KILL_AFTER, f"acknowledged while their batch waited for the lock: {cut_at}"
        assert held_windows == [WINDOW, WINDOW], held_windows
        billing = stack.billing()
        assert len(billing) == 2 * COUNT
        per_sender = Counter((r["sender"], r["karte"], r["amount"], r["kind"]) for r in billing)
        expected = Counter(
            (s, k, amount, "one_off") for s, k in zip(senders, kartes, strict=True) for amount in ("5.00", "4.00")
        )
        assert per_sender == expected
        assert db_query(stack.db_path, "SELECT count(*) FROM mo_messages") == [(2 * COUNT,)]
        assert unsent(stack) == 0
        # Each MO of the window committed after the cut came back and was answered from the record.
        assert redeliveries(stack) >= held_windows[1], f"{redeliveries(stack)} redeliveries recognised"
    finally:
        stack.stop()
