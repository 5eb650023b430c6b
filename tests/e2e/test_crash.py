"""SIGKILL in the middle of a burst of top-ups: after a restart, each one is charged exactly once.

The real simulator redelivers every MO whose deliver_sm_resp it did not get (on
the dropped connection, and after ``mo_redelivery_timeout``). Two bursts of 150
one-off top-ups, one per sender, each interrupted by SIGKILL of the gateway and
a restart: in the end every MO is delivered, each sender is charged once per
burst (no redelivery applied twice, nothing acknowledged lost), every sender and
every Karte got a reply, and the outbox holds nothing unsent (SPEC §6).
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

from .harness import Stack, db_query, numbered_subscribers, wait_until

COUNT = 150
KILL_AFTER = 50


def delivered(stack: Stack) -> int:
    return int(stack.get("/api/status")["counters"].get("mos_delivered", 0))


def unsent(stack: Stack) -> int:
    rows = db_query(stack.db_path, "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')")
    return int(rows[0][0])


def redeliveries(stack: Stack) -> int:
    return sum(1 for e in stack.log_events() if e.get("event") == "mo_processed" and e.get("redelivery"))


def freeze_and_cut(stack: Stack) -> None:
    """Freeze the gateway, cut its connection at the simulator, let it run on.

    The MOs it was processing are committed, but their deliver_sm_resp go nowhere
    (the connection is reset): the simulator will redeliver MOs that already took
    effect, and the gateway must recognise them.
    """
    gateway = stack.gateway
    assert gateway is not None
    lost = stack.log_text().count("smpp_link_lost")
    gateway.send_signal(signal.SIGSTOP)
    try:
        stack.post("/api/drop", {"all": True})
    finally:
        gateway.send_signal(signal.SIGCONT)
    wait_until(lambda: stack.log_text().count("smpp_link_lost") > lost, 5, "the gateway saw its link cut")


def test_sigkill_during_bursts_applies_every_top_up_exactly_once(tmp_path: Path) -> None:
    senders, kartes, rows = numbered_subscribers(COUNT)
    stack = Stack(tmp_path, simulator={"mo_window": 32})
    stack.import_subscribers(rows)
    stack.start_simulator()
    stack.start_gateway()
    cut_at: list[int] = []
    try:
        for burst, amount in enumerate((5, 4)):
            base = delivered(stack)
            cursor = stack.cursor()
            stack.post(
                "/api/mo",
                [
                    {"source": s, "destination": "1643", "text": f"V {k[3:]} {amount}"}
                    for s, k in zip(senders, kartes, strict=True)
                ],
            )
            deadline = time.monotonic() + 20
            while delivered(stack) < base + KILL_AFTER and time.monotonic() < deadline:
                time.sleep(0.002)
            cut_at.append(delivered(stack) - base)
            if burst == 1:  # the second time, make sure committed MOs go unacknowledged first
                for _ in range(5):
                    freeze_and_cut(stack)
                    stack.wait_for_binds(1)  # it binds again by itself; the simulator redelivers
                    until = time.monotonic() + 1.5
                    while not redeliveries(stack) and time.monotonic() < until:
                        time.sleep(0.05)
                    if redeliveries(stack) or delivered(stack) == base + COUNT:
                        break
            assert stack.kill_gateway(signal.SIGKILL) == -signal.SIGKILL
            stack.start_gateway()

            wait_until(lambda base=base: delivered(stack) == base + COUNT, 30, f"burst {burst}: every MO delivered")
            waiting = set(senders) | set(kartes)
            while waiting:  # every sender and every Karte gets its reply of this burst
                batch, cursor = stack.mts(cursor, wait=1.0)
                waiting -= {m["destination"] for m in batch if m["source"] == "1643"}
                assert time.monotonic() < deadline + 30, f"burst {burst}: no reply to {sorted(waiting)[:5]}…"
            wait_until(lambda: unsent(stack) == 0, 15, f"burst {burst}: the outbox empties")

        assert all(KILL_AFTER <= k < COUNT for k in cut_at), f"not interrupted in the middle of a burst: {cut_at}"
        billing = stack.billing()
        assert len(billing) == 2 * COUNT
        per_sender = Counter((r["sender"], r["karte"], r["amount"], r["kind"]) for r in billing)
        expected = Counter(
            (s, k, amount, "one_off") for s, k in zip(senders, kartes, strict=True) for amount in ("5.00", "4.00")
        )
        assert per_sender == expected
        assert db_query(stack.db_path, "SELECT count(*) FROM mo_messages") == [(2 * COUNT,)]
        assert unsent(stack) == 0
        assert redeliveries(stack) >= 1, "no committed MO was redelivered: the hard case was not exercised"
    finally:
        stack.stop()
