"""The gateway's life: clean SIGTERM with MOs in flight, refused credentials, a crash with replies
claimed but unacknowledged, and MOs to a short code it does not serve.
"""

from __future__ import annotations

import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from handlers.model import Language
from handlers.templates import render

from .harness import DEMO, Stack, running_stack

LV, EN = Language.LV, Language.EN
KARTE = "37129000001"
IN_FLIGHT = [f"3712600{i:04d}" for i in range(40)]
CRASH = [f"3712700{i:04d}" for i in range(5)]  # English: one-part replies, all five within the window
EXTRA = [f"{n},postpaid,active,private,false,lv,,," for n in IN_FLIGHT] + [
    f"{n},postpaid,active,private,false,en,,," for n in CRASH
]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("lifecycle")), [*DEMO, *EXTRA]) as stack:
        yield stack


def healthz(stack: Stack) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.ops_port}/healthz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_sigterm_with_mos_in_flight_loses_nothing_acknowledged(gw: Stack) -> None:
    amounts = {s: Decimal(2 + i % 7) for i, s in enumerate(IN_FLIGHT)}
    delivered_before = gw.status()["counters"].get("mos_delivered", 0)
    injected = gw.post(
        "/api/mo", [{"source": s, "destination": "1643", "text": f"V 29000001 {amounts[s]}"} for s in IN_FLIGHT]
    )
    # SIGTERM as soon as the first MOs are acknowledged, with the rest on their way.
    gw.wait_until(
        lambda: gw.status()["counters"].get("mos_delivered", 0) > delivered_before, timeout=10, what="a first MO done"
    )
    assert gw.kill_gateway(signal.SIGTERM) == 0
    events = [e["event"] for e in gw.log_events()]
    assert "smpp_unbound" in events  # the simulator answered our unbind
    assert events[-1] == "gateway_stopped"

    # Every MO the SMSC saw acknowledged has its charge; none has two.
    ids = {mo["source"]: mo["id"] for mo in injected["mos"]}
    acknowledged = {s for s in IN_FLIGHT if gw.mo(ids[s])["state"] == "delivered"}
    charged = [c[0] for c in gw.charges() if c[0] in amounts]
    assert acknowledged, "no MO was acknowledged before the SIGTERM"
    assert acknowledged <= set(charged), sorted(acknowledged - set(charged))
    assert len(charged) == len(set(charged))
    rows = {r["sender"]: r for r in gw.billing() if r["sender"] in acknowledged}
    assert {s: Decimal(r["amount"]) for s, r in rows.items()} == {s: amounts[s] for s in acknowledged}

    # After a restart the SMSC redelivers the rest: every MO takes effect exactly once.
    gw.start_gateway()
    gw.wait_until(
        lambda: all(gw.mo(ids[s])["state"] == "delivered" for s in IN_FLIGHT),
        timeout=20,
        what="every MO acknowledged after the restart",
    )
    charged = sorted(c[0] for c in gw.charges() if c[0] in amounts)
    assert charged == sorted(IN_FLIGHT)

    def replied() -> dict[str, set[str]] | None:
        mts, _ = gw.mts(0)
        texts = {s: {m["text"] for m in mts if m["destination"] == s} for s in IN_FLIGHT}
        return texts if all(texts.values()) else None

    texts = gw.wait_until(replied, timeout=10, what="a reply to every sender")
    assert texts == {s: {render("topup_done", LV, karte=KARTE, amount=amounts[s])} for s in IN_FLIGHT}


def test_restart_finishes_replies_claimed_but_not_acknowledged(gw: Stack) -> None:
    gw.clear_faults()
    gw.fault("withhold", seconds=60)
    cursor = gw.cursor()
    gw.post("/api/mo", [{"source": s, "destination": "1643", "text": "S"} for s in CRASH])
    # The replies went out (the simulator recorded them) but no submit_sm_resp came back.
    withheld = gw.replies(cursor, expect=len(CRASH), timeout=10)
    assert {m["status"] for m in withheld} == {"withheld"}
    gw.wait_until(
        lambda: [r["state"] for r in gw.outbox() if r["destination"] in CRASH] == ["sending"] * len(CRASH),
        timeout=5,
        what="replies claimed and unacknowledged",
    )
    assert gw.kill_gateway(signal.SIGKILL) == -signal.SIGKILL
    gw.clear_faults()

    cursor = gw.cursor()
    gw.start_gateway()
    mts = gw.replies(cursor, expect=len(CRASH), timeout=15)
    expected = render("status_none", EN, cap=Decimal("42.69"))
    assert sorted(m["destination"] for m in mts if m["text"] == expected) == sorted(CRASH)
    assert {m["status"] for m in mts} == {"accepted"}
    gw.wait_until(
        lambda: {r["state"] for r in gw.outbox() if r["destination"] in CRASH} == {"delivered"},
        timeout=10,
        what="every reply delivered",
    )


def test_mo_to_another_short_code_is_acknowledged_and_not_answered(gw: Stack) -> None:
    sender = "37120000001"
    cursor = gw.cursor()
    mos = gw.post("/api/mo", [{"source": sender, "destination": "1641", "text": t} for t in ("P", "HELP")])["mos"]
    for mo in mos:
        gw.wait_until(lambda mo=mo: gw.mo(mo["id"])["state"] == "delivered", timeout=10, what="MO acknowledged")
    gw.silence(sender, cursor, seconds=1.0)
    assert [gw.mo(mo["id"])["attempts"] for mo in mos] == [1, 1]  # acknowledged at once, not redelivered
    outcomes = gw.query("SELECT outcome FROM mo_messages WHERE destination = '1641'")
    assert outcomes == [("unknown_service",), ("unknown_service",)]


def test_refused_bind_is_retried_until_the_smsc_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The gateway's password (from the environment, overriding the file) is not the simulator's.
    monkeypatch.setenv("SMSGW_SMPP_PASSWORD", "other123")
    stack = Stack(tmp_path, smpp={"reconnect_min": 0.2, "reconnect_max": 1.0})
    try:
        stack.start_all(DEMO, wait_bound=False)
        started = time.monotonic()
        refused = stack.wait_until(
            lambda: len(stack.events("smpp_bind_refused")) >= 3 and stack.events("smpp_bind_refused"),
            timeout=15,
            what="three refused binds",
        )
        assert time.monotonic() - started < 10
        assert {e["level"] for e in refused} == {"error"}
        assert {e["status"] for e in refused} == {"ESME_RINVPASWD"}
        assert "other123" not in stack.log_text() and "demo1234" not in stack.log_text()
        assert stack.gateway is not None and stack.gateway.poll() is None  # still running, still trying
        assert stack.bound_ids() == set()
        assert healthz(stack) == 503

        # The SMSC starts accepting that password: the gateway binds without a restart.
        stack.restart_simulator(env={"SMSC_SIM_PASSWORD": "other123"})
        stack.wait_for_rebind(set(), timeout=15)
        assert stack.converse("37120000001", "S?") == [render("help_status", LV)]
        assert healthz(stack) == 200
        assert stack.gateway.poll() is None
    finally:
        stack.stop()
