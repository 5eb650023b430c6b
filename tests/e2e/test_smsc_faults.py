"""The SMSC misbehaves (simulator faults); replies still get through, quickly, and receipts settle them.

Throttling and queue-full answers, a share of throttled submits, withheld
submit_sm_resp, dropped connections, receipts before responses, receipt ids in
another base, and the outbound window. One stack serves the module; every test
uses its own senders and clears the faults it set (fixture ``clean``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from handlers.model import Language
from handlers.templates import render

from .harness import DEMO, Stack, running_stack

LV, EN = Language.LV, Language.EN
WINDOW = 10  # the harness's [smpp] window
SUBMIT_TIMEOUT = 3.0  # the harness's [smpp] submit_timeout
CLOCK_SLACK = 0.1  # the simulator stamps a submit when it reads it, a little after the gateway sent it
KARTE, KARTE_EN = "37129000001", "37129000002"
RATIO_SENDERS = [f"3712300{i:04d}" for i in range(20)]
SENDERS = {
    "throttle": "37123100001",
    "queue_full": "37123100002",
    "withhold": "37123100003",
    "drop": "37123100004",
    "receipts": "37123100005",
}
ENGLISH = {SENDERS["withhold"]}  # English replies fit one part each
EXTRA = [
    f"{n},postpaid,active,private,false,{'en' if n in ENGLISH else 'lv'},,,"
    for n in [*RATIO_SENDERS, *SENDERS.values()]
]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("faults")), [*DEMO, *EXTRA]) as stack:
        yield stack


@pytest.fixture(autouse=True)
def clean(gw: Stack) -> Iterator[None]:
    gw.clear_faults()
    yield
    gw.clear_faults()


def done(amount: str, karte: str = KARTE) -> str:
    return render("topup_done", LV, karte=karte, amount=Decimal(amount))


def counter(stack: Stack, name: str) -> int:
    return int(stack.status()["counters"].get(name, 0))


def new_outbox_rows(stack: Stack, after: int) -> list[dict[str, object]]:
    return [r for r in stack.outbox() if int(r["id"]) > after]  # type: ignore[call-overload]


def last_outbox_id(stack: Stack) -> int:
    rows = stack.query("SELECT COALESCE(MAX(id), 0) FROM outbox")
    return int(rows[0][0])


# --- (a) throttling, (b) a share of submits throttled ------------------------------------------


@pytest.mark.parametrize("kind", ["throttle", "queue_full"])
def test_refused_submits_are_retried_within_seconds(gw: Stack, kind: str) -> None:
    sender = SENDERS[kind]
    rejected = counter(gw, "submits_rejected")
    gw.fault(kind, count=3)
    started = time.monotonic()
    cursor = gw.send(sender, "V 29000001 3")
    [to_sender] = gw.replies(cursor, expect=1, to=sender, timeout=15)
    [to_karte] = gw.replies(cursor, expect=1, to=KARTE, timeout=15)
    elapsed = time.monotonic() - started
    assert to_sender["text"] == done("3")
    assert to_karte["text"] == render("topup_received", LV, sender=sender, amount=Decimal("3"))
    assert counter(gw, "submits_rejected") - rejected == 3  # the fault did refuse three submits
    assert elapsed < 10, f"replies took {elapsed:.1f} s after 3 refusals"
    assert gw.charges(sender) == [(sender, KARTE, 300, "one_off")]


def test_a_share_of_throttled_submits_still_delivers_every_reply(gw: Stack) -> None:
    rejected = counter(gw, "submits_rejected")
    gw.fault("throttle", count=40, ratio=0.3, seed=7)
    cursor = gw.cursor()
    started = time.monotonic()
    gw.post(
        "/api/mo",
        [{"source": s, "destination": "1643", "text": f"V 29000002 {2 + i % 5}"} for i, s in enumerate(RATIO_SENDERS)],
    )
    mts = gw.replies(cursor, expect=2 * len(RATIO_SENDERS), timeout=40)
    elapsed = time.monotonic() - started
    assert counter(gw, "submits_rejected") - rejected >= 5  # ~30 % of 40: the fault did bite
    by_sender = {s: [m["text"] for m in mts if m["destination"] == s] for s in RATIO_SENDERS}
    assert by_sender == {s: [done(str(2 + i % 5), KARTE_EN)] for i, s in enumerate(RATIO_SENDERS)}
    assert len([m for m in mts if m["destination"] == KARTE_EN]) == len(RATIO_SENDERS)
    assert elapsed < 30, elapsed
    time.sleep(0.3)  # nothing sent twice
    batch, _ = gw.mts(cursor)
    assert len(batch) == 2 * len(RATIO_SENDERS)
    assert sorted(c[0] for c in gw.charges() if c[0] in RATIO_SENDERS) == sorted(RATIO_SENDERS)


# --- (c) withheld responses ---------------------------------------------------------------


def test_withheld_responses_are_resubmitted_after_the_submit_timeout(gw: Stack) -> None:
    sender = SENDERS["withhold"]
    after = last_outbox_id(gw)
    gw.fault("withhold", count=2)  # English sender and Karte user: two one-part replies, two submits
    cursor = gw.send(sender, "V 29000002 4")
    mts = gw.replies(cursor, expect=4, timeout=15)  # two withheld submits, then the two again
    expected = [
        (sender, render("topup_done", EN, karte=KARTE_EN, amount=Decimal("4"))),
        (KARTE_EN, render("topup_received", EN, sender=sender, amount=Decimal("4"))),
    ]
    for to, text in expected:
        copies = [m for m in mts if m["destination"] == to]
        assert [m["text"] for m in copies] == [text, text], copies
        first, again = copies
        assert (first["status"], again["status"]) == ("withheld", "accepted")
        assert 2.5 <= float(again["t"]) - float(first["t"]) < 8, (first["t"], again["t"])  # [smpp] submit_timeout = 3
    gw.wait_until(
        lambda: [r["state"] for r in new_outbox_rows(gw, after)] == ["delivered", "delivered"],
        timeout=10,
        what="both replies delivered",
    )
    assert gw.charges(sender) == [(sender, KARTE_EN, 400, "one_off")]


# --- (d) a dropped link -------------------------------------------------------------------


def test_dropped_link_rebinds_and_delivers_what_waited(gw: Stack) -> None:
    sender = SENDERS["drop"]
    old = gw.bound_ids()
    assert old
    assert gw.post("/api/drop", {"all": True})["dropped"]
    # Injected while nobody is bound: the simulator keeps it until the gateway is back.
    waiting = gw.post("/api/mo", {"source": sender, "destination": "1643", "text": "S"})
    assert waiting["receivers"] == 0
    gw.wait_for_rebind(old, timeout=15)
    [reply] = gw.replies(int(waiting["cursor"]), expect=1, to=sender, timeout=15)
    assert reply["text"] == render("status_none", LV, cap=Decimal("42.69"))
    gw.wait_until(lambda: gw.mo(waiting["id"])["state"] == "delivered", timeout=10, what="MO acknowledged")
    # And the new session serves as usual.
    assert gw.converse(sender, "V 29000001 2") == [done("2")]


# --- (e) receipts -------------------------------------------------------------------------


def test_receipts_settle_reply_states(gw: Stack) -> None:
    sender = SENDERS["receipts"]

    def top_up_states(text: str) -> dict[str, str]:
        after = last_outbox_id(gw)
        cursor = gw.send(sender, text)
        gw.replies(cursor, expect=2, timeout=10)

        def settled() -> dict[str, str] | None:
            rows = new_outbox_rows(gw, after)
            states = {str(r["destination"]): str(r["state"]) for r in rows}
            final = len(rows) == 2 and not {"queued", "sending", "submitted"} & set(states.values())
            return states if final else None

        result: dict[str, str] = gw.wait_until(settled, timeout=10, what="receipts applied")
        return result

    # DELIVRD for both.
    assert top_up_states("V 29000001 2") == {sender: "delivered", KARTE: "delivered"}
    # The Karte's handset cannot be reached: its notice ends undeliverable, the sender's reply delivered.
    gw.post("/api/receipts", {"pattern": KARTE_EN, "status": "UNDELIV"})
    assert top_up_states("V 29000002 2") == {sender: "delivered", KARTE_EN: "undeliverable"}
    gw.post("/api/receipts", {}, method="DELETE")
    # Receipts that arrive before their submit_sm_resp are still applied.
    gw.fault("receipt_first", count=2)  # both replies (one part each)
    assert top_up_states("V 29000001 3") == {sender: "delivered", KARTE: "delivered"}
    assert gw.get("/api/faults")["faults"] == []  # both parts got their receipt first


def test_receipts_with_ids_in_another_base(tmp_path: Path) -> None:
    options = {"simulator": {"message_id_format": "decimal", "receipt_id_format": "hex"}}
    with running_stack(tmp_path, DEMO, **options) as stack:
        cursor = stack.send("37120000001", "V 29000001 5")
        mts = stack.replies(cursor, expect=2)
        assert all(mid.isdigit() for m in mts for mid in m["message_ids"])  # decimal ids in submit_sm_resp
        stack.wait_until(
            lambda: [r["state"] for r in stack.outbox()] == ["delivered", "delivered"],
            timeout=10,
            what="both replies delivered (receipts carry hex ids)",
        )


# --- (f) the outbound window ---------------------------------------------------------------


def test_outbound_window_limits_outstanding_submits(gw: Stack) -> None:
    """[smpp] window = 10: ten submits wait unanswered, and the next goes out only when one leaves the window.

    Judged on the simulator's own record of when each submit_sm arrived, not by
    sampling it within a fixed time: a loaded machine delays everything, but the
    order of arrivals and the submit timeout between them stay what they are.
    """
    senders = [f"3712400{i:04d}" for i in range(25)]  # unknown numbers: each gets one refusal
    gw.fault("withhold", count=WINDOW)  # the first ten submits are never answered
    cursor = gw.cursor()
    gw.post("/api/mo", [{"source": s, "destination": "1643", "text": "S"} for s in senders])
    # Once the gateway resubmits (after the submit timeout), everyone gets the reply.
    mts = gw.replies(cursor, expect=len(senders) + WINDOW, timeout=30)
    expected = render("not_eligible_unknown", LV)
    for sender in senders:
        assert expected in [m["text"] for m in mts if m["destination"] == sender], sender
    assert all(int(m["parts"]) == 1 for m in mts)  # one submit_sm each
    arrivals = sorted(mts, key=lambda m: float(m["t"]))
    withheld = [float(m["t"]) for m in arrivals if m["status"] == "withheld"]
    assert len(withheld) == WINDOW and [m["status"] for m in arrivals[:WINDOW]] == ["withheld"] * WINDOW
    assert withheld[-1] - withheld[0] < SUBMIT_TIMEOUT  # all ten were out at once: the window was filled
    # Every later submit found a place: a withheld one timed out, or an accepted one was answered.
    for index, mt in enumerate(arrivals[WINDOW:], start=WINDOW):
        at = float(mt["t"])
        freed = sum(1 for t in withheld if t + SUBMIT_TIMEOUT - CLOCK_SLACK <= at)
        freed += sum(1 for m in arrivals[WINDOW:index] if m["status"] == "accepted")
        assert index - freed < WINDOW, f"submit {index + 1} at {at:.3f} while {index - freed} were unanswered"


def test_no_traceback_in_the_gateway_log_after_these_faults(gw: Stack) -> None:
    """Operations read this log: the SMSC's faults above are warnings, never tracebacks (runs last here)."""
    text = gw.log_text()
    assert "Traceback" not in text
    assert "never retrieved" not in text
