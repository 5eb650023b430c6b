"""``smsgw trace``: a subscriber's MOs, outcomes and replies read back from a real database (both kinds)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from smsgw.db.outbox import PartAccepted
from smsgw.trace import TraceError, number_forms, read_trace, render

from .conftest import Harness


async def test_trace_shows_recent_mos_outcomes_and_reply_states(harness: Harness, database_url: str) -> None:
    await harness.mo("+37120000001", "V 29000001 5")  # the SMSC wrote the sender with a plus
    harness.clock.advance(minutes=1)
    await harness.mo("37120000001", "V 29000001 99")
    harness.clock.advance(minutes=1)
    await harness.mo("37120000002", "S")  # someone else
    now = harness.clock()
    claimed = await harness.db.write(
        lambda uow: uow.outbox.claim(now=now, lease_until=now + timedelta(minutes=5), limit=10, owner="t")
    )
    assert len(claimed) == 4
    accepted = [PartAccepted(c.id, 1, f"m{c.id}", 1, True) for c in claimed]
    await harness.db.write(lambda uow: uow.outbox.accepted(accepted, now))
    await harness.db.write(lambda uow: uow.outbox.receipt((f"m{claimed[0].id}",), "delivered", now))

    trace = await read_trace(database_url, "20000001", limit=10)

    assert trace.number == "37120000001"
    assert trace.directory is not None and trace.directory.startswith("postpaid, private, active")
    assert [mo.text for mo in trace.mos] == ["V 29000001 99", "V 29000001 5"]  # newest first
    bad, good = trace.mos
    assert good.outcome == "topup_applied" and good.command == "TopUp"
    assert bad.outcome == "amount_out_of_range" and [r.state for r in bad.replies] == ["submitted"]
    assert {r.destination for r in good.replies} == {"37120000001", "37129000001"}
    assert {r.state for r in good.replies} == {"delivered", "submitted"}
    assert trace.other_replies == ()

    karte = await read_trace(database_url, "+37129000001")
    assert karte.mos == () and [r.source for r in karte.other_replies] == ["1643"]
    assert karte.directory is not None and karte.directory.startswith("karte")

    lines = render(trace, ["sub_abc"], ZoneInfo("Europe/Riga"))
    assert lines[0] == "subscriber  37120000001"
    assert lines[1].startswith("log key     sub_abc")
    assert any('"V 29000001 5"' in line and "TopUp → topup_applied" in line for line in lines)
    assert any("reply to 37129000001: " in line for line in lines)
    assert any("2026-11-18 12:00:00 +0200" in line for line in lines)  # Riga time


async def test_an_unknown_number_has_an_empty_trace(harness: Harness, database_url: str) -> None:
    trace = await read_trace(database_url, "29999999")
    assert (trace.directory, trace.mos, trace.other_replies) == (None, (), ())
    assert "not in the subscriber directory" in "\n".join(render(trace, [], ZoneInfo("Europe/Riga")))


async def test_a_missing_sqlite_file_is_never_created(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "none.db"
    with pytest.raises(TraceError, match="no database at"):
        await read_trace(f"sqlite+aiosqlite:///{path}", "29123456")
    assert not path.exists()


def test_number_forms() -> None:
    assert number_forms(" 29123456 ") == ("37129123456", "+37129123456", "0037129123456", "29123456")
    assert number_forms("+4915123456789") == ("+4915123456789",)
