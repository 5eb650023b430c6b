"""The gateway serves over SMPP: a top-up through the real simulator, and a clean SIGTERM."""

from __future__ import annotations

import signal

from .harness import Stack


def test_top_up_over_smpp_and_clean_shutdown(stack: Stack) -> None:
    cursor = stack.send("37120000001", "V 29000001 5")
    mts = stack.replies(cursor, expect=2)
    assert {m["destination"] for m in mts} == {"37120000001", "37129000001"}
    assert [r["amount"] for r in stack.billing()] == ["5.00"]
    assert stack.kill_gateway(signal.SIGTERM) == 0
    events = [e["event"] for e in stack.log_events()]
    assert "smpp_unbound" in events and events[-1] == "gateway_stopped"
