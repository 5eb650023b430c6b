"""The gateway's log as an on-call engineer reads it (issue 14): traceable, one line per event, nothing personal.

- every line about an MO carries the short code, the masked sender and the
  subscriber pseudonym that ``smsgw trace`` prints, and no full number appears
  anywhere in the log;
- a refused bind and a failed connection are said once, by us (aiosmpplib's own
  errors about them are debug lines);
- at debug level, no aiosqlite or SQLAlchemy chatter without ``[logging] libraries``.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import DEMO, Stack, wait_until

NUMBERS = [row.split(",")[0] for row in DEMO]  # 371…: the international forms


@pytest.fixture
def debug_stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    stack.config.write_text(stack.config.read_text().replace('level = "info"', 'level = "debug"'))
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop()


def _no_full_number(text: str) -> None:
    for number in NUMBERS:
        assert number not in text and number[3:] not in text, number


def test_a_subscribers_lines_are_found_by_the_key_trace_prints(debug_stack: Stack) -> None:
    stack = debug_stack
    stack.converse("37120000001", "V 29000001 5")
    stack.converse("37120000001", "P", destination="1640")
    stack.converse("37120000001", "HELP " + "lūdzu " * 30)  # a long MO: three parts
    stack.converse("37120000002", "HELP")
    wait_until(lambda: len(stack.events("mo_processed")) >= 4, 10, "four mo_processed lines")

    trace = stack.smsgw("trace", "20000001").stdout.splitlines()
    key = trace[1].split()[2]
    assert key.startswith("sub_")
    mine = [e for e in stack.log_events() if e.get("subscriber") == key]
    processed = [e for e in mine if e["event"] == "mo_processed"]
    assert sorted(e["short_code"] for e in processed) == ["1640", "1643", "1643"]
    assert {e["sender"] for e in processed} == {"371200***01"}
    parts = [e for e in mine if e["event"] == "mo_part_stored"]  # lines logged while the MO is handled
    assert len(parts) == 2 and {(e["short_code"], e["sender"]) for e in parts} == {("1643", "371200***01")}
    others = [e for e in stack.events("mo_processed") if e.get("subscriber") != key]
    assert [e["sender"] for e in others] == ["371200***02"] and others[0]["subscriber"].startswith("sub_")
    # the shipped demo password is in use: said at start
    assert stack.events("demo_credentials_in_use")
    # debug level, yet no library chatter: aiosqlite's calls and SQLAlchemy's statements stay out
    loggers = {e.get("logger", "") for e in stack.log_events()}
    assert not {name for name in loggers if name.startswith(("aiosqlite", "sqlalchemy"))}
    assert any(e["event"] == "reply_submitted" for e in stack.log_events())  # our debug lines are there
    _no_full_number(stack.log_text())


def test_a_refused_bind_and_a_lost_smsc_are_said_once_by_us(tmp_path: Path) -> None:
    stack = Stack(tmp_path, smpp={"reconnect_min": 0.2, "reconnect_max": 0.5})
    try:
        stack.start_all()
        stack.restart_simulator(env={"SMSC_SIM_PASSWORD": "wrong123"})
        wait_until(lambda: len(stack.events("smpp_bind_refused")) >= 2, 20, "two refused binds")
        assert stack.simulator is not None
        stack.simulator.send_signal(signal.SIGKILL)
        stack.simulator.wait(timeout=10)
        wait_until(lambda: len(stack.events("smpp_connect_failed")) >= 2, 20, "two failed connections")
    finally:
        stack.stop()
    library = [e for e in stack.log_events() if e.get("logger") == "aiosmpplib" and e["level"] != "debug"]
    assert library == []
    refused = stack.events("smpp_bind_refused")
    assert {e["status"] for e in refused} == {"ESME_RINVPASWD"} and all(e["level"] == "error" for e in refused)
    assert "Traceback" not in stack.log_text()
    assert "wrong123" not in stack.log_text() and "demo1234" not in stack.log_text()
