"""Abuse: strangers and spoofed senders move no money, the password rate limit holds exactly,
and neither a password nor a full MSISDN leaks into the database or the gateway's log.

On the real service over a real SQLite file (``make_harness``, settable clock):

- ``test_strangers_and_spoofed_senders_cause_no_money_effects``: unknown numbers,
  alphanumeric senders, too long and too short numbers, other countries' numbers,
  a Karte number posing as a postpaid customer and the ``+371…``/``00371…``/national
  forms of a cancelled number send every SOS-SMS command (one-off top-ups with
  and without ``V``, ``M`` then ``JA``, ``STOP``), also to a short code that is not
  ours; then the month-end run. No top-up, charge, pending request, order or
  Karte credit results; the senders that cannot be answered get no reply queued.
- ``test_only_the_senders_own_number_confirms_its_request``: a customer's pending
  ``M`` is confirmed by ``JA`` from any of the four forms of their number, and by
  nothing that merely resembles it.
- ``test_password_rate_limit_holds_exactly``: 3 passwords in any hour, 5 in any
  24 hours, to the second, whatever form the number is typed in; past a limit
  one "try later", then silence; allowed again the moment the window passes.
- ``test_canary_password_is_not_in_the_database_files``: the plaintext of an issued
  password appears nowhere in the SQLite file or its WAL (only sealed in the outbox).

End to end (``tests/e2e/harness.py``: the real gateway and simulator as
processes, the gateway logging JSON at debug level):

- ``test_no_password_or_msisdn_in_the_gateway_log``: a scenario of top-ups,
  monthly requests, status, mistakes, strangers and three password requests;
  the passwords (read from the MTs the simulator received) appear neither in the
  gateway's log nor in its database files, and no full MSISDN appears in the log
  (``371`` followed by 8 digits, or a whole-word 8-digit number starting with 2).

Runtime: about 2 s without the end-to-end test, about 10 s with it.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handlers.model import SubscriberStatus
from smsgw.db import schema
from smsgw.service import InboundMo, MoResult
from smsgw.subscriber_import import import_subscribers
from tests.e2e.conftest import GatewayOnFake
from tests.e2e.conftest import gateway_on_fake as gateway_on_fake  # the fixture, for this module's tests
from tests.e2e.fake_smsc import DELIVER_SM, deliver_sm_body
from tests.e2e.harness import DEMO, Stack, wait_until
from tests.integration.conftest import DIRECTORY, Harness, _App, karte, make_harness, postpaid

ANNA, BERT = "37120000001", "37120000002"  # active private postpaid (lv, en with an e-mail)
GONE = "37120000005"  # a cancelled postpaid number
KARTE, KARTE_GONE = "37129000001", "37129000004"
SUBSCRIBERS = [
    *DIRECTORY,
    postpaid(GONE, status=SubscriberStatus.CANCELLED),
    karte(KARTE_GONE, status=SubscriberStatus.CANCELLED),
]


@pytest.fixture
async def h(sqlite_url: str) -> AsyncIterator[Harness]:
    harness = await make_harness(sqlite_url)
    await import_subscribers(_App(harness.db), SUBSCRIBERS)
    try:
        yield harness
    finally:
        await harness.db.close()


async def send(h: Harness, source: str, text: str, destination: str = "1643") -> MoResult:
    """One MO as ``smsgw mo`` sends it: always a new message (never taken for an SMSC redelivery)."""
    return await h.service.handle_mo(InboundMo(source, destination, text, h.clock()), recognise_redelivery=False)


async def _count(h: Harness, table: object) -> int:
    stmt = select(func.count()).select_from(table)  # type: ignore[arg-type]
    return int(await h.db.read(lambda uow: uow.sql.value(stmt)))


async def _balances(h: Harness) -> dict[str, object]:
    t = schema.subscribers
    rows = await h.db.read(lambda uow: uow.sql.rows(select(t.c.msisdn, t.c.balance_cents, t.c.karte_expires_on)))
    return {row[0]: (row[1], row[2]) for row in rows}


# ---- strangers and spoofed senders -----------------------------------------------------

SPOOFED = [
    # unknown, well-formed
    "37125555555",
    "+37125555555",
    "25555555",
    # alphanumeric
    "LMT",
    "SOS-SMS",
    "Anna",
    "37120000001A",
    # too long / too short / padded forms of a real customer's number
    "371200000011",
    "3712000000",
    "003712000000",
    "+371 20000001",
    " 37120000001",
    "37120000001\x00",
    "３７１２００００００１",  # full-width digits
    "\u00b9\u00b2\u00b3",  # "¹²³": Latin-1 octets an SMSC may send, digits to str.isdigit()
    "\u00b237120000001",
    "0037120000001" + "0" * 20,  # longer than any number (still within what an SMSC may send)
    # other countries, with the customer's 8 digits
    "+37020000001",
    "37020000001",
    "0037220000001",
    "4420000001",
    "+4920000001",
    # a Karte number posing as a postpaid customer, in every form
    KARTE,
    "+" + KARTE,
    "00" + KARTE,
    KARTE[3:],
    # a cancelled number in every form, and a cancelled Karte
    GONE,
    "+" + GONE,
    "00" + GONE,
    GONE[3:],
    KARTE_GONE,
    # odd or empty
    "",
    "+",
    "00371",
    "0",
]

MONEY_TEXTS = ["V 29000001 5", "29000001 21.34", "v +37129000002 1,42", "M 29000001 10", "JA", "STOP", "STOP 29000001"]


async def test_strangers_and_spoofed_senders_cause_no_money_effects(h: Harness) -> None:
    before = await _balances(h)
    outcomes: set[str] = set()
    for sender in SPOOFED:
        for text in MONEY_TEXTS:
            result = await send(h, sender, text)
            outcomes.add(result.outcome)
            digits = sender.removeprefix("+")
            if not (digits.isascii() and digits.isdigit() and 3 <= len(digits) <= 15):
                assert result.replies == (), (sender, text, result)  # cannot be answered: nothing queued
    # Valid commands from a real customer, to short codes that are not SOS-SMS, are no top-ups either.
    for destination in ("1640", "16430", "1643 ", "9999", "", "+1643"):
        result = await send(h, ANNA, "V 29000001 5", destination)
        outcomes.add(result.outcome)
    h.clock.now = h.clock.now.replace(day=30, hour=9)  # 30 Nov: the month's last day
    assert await h.service.run_monthly(date(2026, 11, 30)) == {}

    assert outcomes <= {
        "not_eligible_unknown",
        "not_eligible_inactive",
        "not_eligible_not_postpaid",
        "unknown_service",
        "not_understood_unknown_keyword",
    }, outcomes
    for table in (schema.topups, schema.charges, schema.pending_requests, schema.monthly_orders, schema.monthly_runs):
        assert await _count(h, table) == 0, table.name
    assert await _balances(h) == before
    mos = await _count(h, schema.mo_messages)
    assert mos == len(SPOOFED) * len(MONEY_TEXTS) + 6  # every one recorded, none applied


async def test_only_the_senders_own_number_confirms_its_request(h: Harness) -> None:
    lookalikes = ["+371 20000001", "3712000000", "371200000011", "+37020000001", "20000001 ", "2000000l", "LMT"]
    own_forms = [ANNA, "+" + ANNA, "00" + ANNA, ANNA[3:]]
    for i, form in enumerate(own_forms):
        amount = Decimal(5 + i)
        assert (await send(h, ANNA, f"M 29000001 {amount}")).outcome == "monthly_requested"
        for fake in lookalikes:
            assert (await send(h, fake, "JA")).outcome != "monthly_confirmed"
            assert await _count(h, schema.pending_requests) == 1
        assert (await send(h, form, "JA")).outcome == "monthly_confirmed", form
        amount_cents = await h.db.read(lambda uow: uow.sql.value(select(schema.monthly_orders.c.amount_cents)))
        assert amount_cents == int(amount * 100)
        assert await _count(h, schema.monthly_orders) == 1


_ANNA_REPLY = f"SELECT state, parts FROM outbox WHERE destination = '{ANNA}'"


@pytest.mark.e2e
def test_a_sender_no_submit_sm_can_answer_does_not_stop_the_replies(gateway_on_fake: GatewayOnFake) -> None:
    """Regression: a source address of Latin-1 "digits" (``¹²³``) once queued a reply that
    ``submit_sm`` refused with an exception out of the outbound loop; the gateway then
    reconnected again and again, re-sending other replies, for as long as the row lived."""
    stack, fake = gateway_on_fake()
    body = deliver_sm_body("X", "1643", b"HELP").replace(b"\x01\x01X\x00", b"\x01\x01\xb9\xb2\xb3\x00", 1)
    fake.send_request(DELIVER_SM, body)
    # A reply that was queued before the fix (or by any other path) is failed, not retried forever.
    con = sqlite3.connect(stack.db_path, timeout=10)
    with con:
        con.execute(
            "INSERT INTO outbox (source, destination, text, state, attempts, next_attempt_at, expires_at,"
            " created_at, updated_at) VALUES ('1643', '\u00b9\u00b2\u00b320000001', 'hi', 'queued', 0,"
            " '2000-01-01T00:00:00.000000Z', '2999-01-01T00:00:00.000000Z', '2000-01-01T00:00:00.000000Z',"
            " '2000-01-01T00:00:00.000000Z')"
        )
    con.close()
    fake.deliver(ANNA, "1643", b"HELP")
    wait_until(lambda: stack.query(_ANNA_REPLY) == [("submitted", 2)], 10, "the (two-part) reply to Anna")
    wait_until(
        lambda: (
            stack.query("SELECT state FROM outbox WHERE destination = '\u00b9\u00b2\u00b320000001'") == [("failed",)]
        ),
        10,
        "the unsendable reply given up",
    )
    time.sleep(1.0)
    assert fake.connections == 1 and len(fake.submits(to=ANNA)) == 2  # each part once: no reconnect, no resend
    assert stack.query("SELECT COUNT(*) FROM outbox WHERE destination = '\u00b9\u00b2\u00b3'") == [(0,)]
    assert not stack.events("outbound_loop_failed")


# ---- the password rate limit -----------------------------------------------------------------


async def _p(h: Harness, form: str) -> str:
    """Ask for a password from ``form`` (some form of ANNA's number); the outcome, with its replies checked."""
    result = await send(h, form, "P", "1640")
    expected_replies = {"password_issued": 1, "password_rate_limited": 1, "password_rate_limited_silent": 0}
    assert len(result.replies) == expected_replies[result.outcome], result
    assert all(m.to == ANNA for m in result.replies)
    return result.outcome


async def test_password_rate_limit_holds_exactly(h: Harness) -> None:
    forms = [ANNA, "+" + ANNA, "00" + ANNA, ANNA[3:]]  # the typed form does not open a new allowance
    start = h.clock.now
    ISSUED, TRY_LATER, SILENT = "password_issued", "password_rate_limited", "password_rate_limited_silent"

    async def at(offset: timedelta, expected: str) -> None:
        h.clock.now = start + offset
        outcome = await _p(h, forms[int(offset.total_seconds()) % 4])
        assert outcome == expected, (offset, outcome, expected)

    minute, second, hour = timedelta(minutes=1), timedelta(seconds=1), timedelta(hours=1)
    # Three in the first hour, then one "try later" and silence until that hour has passed.
    await at(0 * minute, ISSUED)
    await at(1 * minute, ISSUED)
    await at(2 * minute, ISSUED)
    await at(3 * minute, TRY_LATER)
    await at(4 * minute, SILENT)
    await at(30 * minute, SILENT)
    await at(hour - second, SILENT)
    # The first password leaves the hour exactly one hour after it was issued.
    await at(hour, ISSUED)  # 4th in 24 h
    await at(hour + second, TRY_LATER)  # the hour is full again (1 min, 2 min, 1 h): told once more
    await at(hour + minute - second, SILENT)
    await at(hour + minute, ISSUED)  # 5th in 24 h: the 1-minute password has left the hour
    # The day is full now: one "try later", then silence, also where the hour would have room.
    await at(hour + 2 * minute, TRY_LATER)
    await at(3 * hour, SILENT)
    await at(12 * hour, SILENT)
    await at(24 * hour - second, SILENT)
    # 24 hours after the first password there is room for one more in the day.
    await at(24 * hour, ISSUED)
    await at(24 * hour + second, TRY_LATER)
    await at(24 * hour + minute, ISSUED)  # the 1-minute password has left the day too
    await at(24 * hour + minute + second, TRY_LATER)

    issued = await h.db.read(
        lambda uow: uow.sql.value(
            select(func.count())
            .select_from(schema.password_requests)
            .where(schema.password_requests.c.outcome == "issued")
        )
    )
    assert issued == 7
    assert await _count(h, schema.temporary_passwords) == 1  # each one replaced the one before


async def test_password_rate_limit_is_per_number(h: Harness) -> None:
    for _ in range(3):
        assert await _p(h, ANNA) == "password_issued"
    assert await _p(h, ANNA) == "password_rate_limited"
    result = await send(h, BERT, "P", "1640")  # another customer is not affected
    assert result.outcome == "password_issued" and [m.to for m in result.replies] == [BERT]
    for stranger in ("37125555555", "LMT", "+37020000001"):  # unknown numbers get nothing at all
        for _ in range(6):
            result = await send(h, stranger, "P", "1640")
            assert result.outcome == "password_unknown_number" and result.replies == ()
    assert await _count(h, schema.temporary_passwords) == 2


# ---- the canary password -----------------------------------------------------------------------

_PASSWORD = re.compile(r"(?:password|parole): (\S{10}) ", re.IGNORECASE)


def _password_of(text: str) -> str:
    match = _PASSWORD.search(text)
    assert match is not None, text
    return match.group(1)


def _database_bytes(db_path: Path) -> bytes:
    """The SQLite file with its WAL and shared-memory index: everything the database wrote."""
    files = [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]
    assert db_path in files
    return b"".join(p.read_bytes() for p in files)


async def test_canary_password_is_not_in_the_database_files(h: Harness, sqlite_url: str) -> None:
    db_path = Path(sqlite_url.removeprefix("sqlite+aiosqlite:///"))
    passwords = []
    for sender in (ANNA, BERT):  # BERT has an e-mail address: the change notice is queued too
        result = await send(h, sender, "P", "1640")
        assert result.outcome == "password_issued"
        passwords.append(_password_of(result.replies[0].text))
    assert await _count(h, schema.email_outbox) == 1
    stored = _database_bytes(db_path)
    assert len(stored) > 10_000 and b"scrypt$" in stored  # the files were read, the hashes are there
    for password in passwords:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            assert password.encode(encoding) not in stored, password
    assert await h.service.check_password(BERT, passwords[1])  # and it was a real, working password


# ---- end to end: the gateway's log ----------------------------------------------------------------

#: A full MSISDN: 371 and 8 digits anywhere, or 8 digits starting with 2 as a whole word
#: (not after a decimal point: a fraction such as 0.21234567 is no phone number).
FULL_MSISDN = re.compile(r"371\d{8}|(?<![\w.])2\d{7}(?!\w)")


@pytest.mark.e2e
def test_no_password_or_msisdn_in_the_gateway_log(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    config = stack.config.read_text(encoding="utf-8")
    stack.config.write_text(config.replace('level = "info"', 'level = "debug"'), encoding="utf-8")
    try:
        stack.start_all([*DEMO, "37120000006,postpaid,active,private,false,lv,,,"])
        anna, bert = "37120000001", "37120000002"
        conversation = [
            (anna, "V 29000001 5", "1643", 1),
            (bert, "29000002 3,50", "1643", 1),
            (anna, "M +37129000002 4.13", "1643", 1),
            (anna, "JA", "1643", 1),
            (anna, "S", "1643", 1),
            (anna, "S 0037129000001", "1643", 1),
            (bert, "V 291234565 5", "1643", 1),  # a bad number is quoted in the reply
            (bert, "STOP 29000009", "1643", 1),
            ("37120000003", "V 29000001 5", "1643", 1),  # a company without SOS-SMS
            ("37120000005", "P", "1640", 1),  # a cancelled number
            (anna, "STOP", "1643", 1),
        ]
        for source, text, destination, replies in conversation:
            stack.converse(source, text, destination, expect=replies)
        cursor = stack.send("37125555555", "V 29000001 5")  # a stranger: one reply, effects none
        stack.replies(cursor, expect=1, to="37125555555")
        passwords = [
            _password_of(stack.converse(number, "P", "1640")[0])
            for number in (anna, bert, "37120000006")  # bert has an e-mail address
        ]
        stack.wait_acked()
        log = stack.log_text()
        events = stack.log_events()
        assert len([e for e in events if e.get("event") == "mo_processed"]) >= len(conversation) + 4
        assert any(e.get("level") == "debug" for e in events)  # the chattiest level was on
        for password in passwords:
            assert password not in log, password
            assert password.encode() not in _database_bytes(stack.db_path), password
        leaks = sorted({m.group(0) for m in FULL_MSISDN.finditer(log)})
        assert leaks == [], [line for line in log.splitlines() if FULL_MSISDN.search(line)][:5]
    finally:
        stack.stop()
