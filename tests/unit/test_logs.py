"""Logging: JSON/console rendering, stdlib bridging, MO context, MSISDN masking, aiosmpplib bridge.

Every test that configures logging goes through the autouse fixture, which puts the
root logger, the quiet loggers, structlog and the context variables back as they were.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import structlog
from aiosmpplib import ESME
from aiosmpplib.log import TRACE, StructuredLogger
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from smsgw.logs import (
    REDACTED,
    AiosmpplibBridge,
    aiosmpplib_handler,
    bind_mo,
    clear_mo,
    configure_logging,
    get_logger,
    mask_msisdns,
    mask_text,
    reset_logging,
)

PASSWORD = "Ab3dEf9hJk"
PASSWORD_SMS = f"Your temporary My LMT password: {PASSWORD} (valid 24 h, single use)"
FULL_NUMBERS = re.compile(r"37129123456|29123456|29876543")
_TOUCHED = ("", "sqlalchemy", "sqlalchemy.engine", "aiosqlite", "alembic", "aiohttp", "asyncio", "smsgw", "aiosmpplib")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    loggers = {name: logging.getLogger(name) for name in _TOUCHED}
    levels = {name: logger.level for name, logger in loggers.items()}
    handlers = list(logging.getLogger().handlers)
    structlog.contextvars.clear_contextvars()
    yield
    reset_logging()
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    for name, level in levels.items():
        loggers[name].setLevel(level)


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def json_out(out: io.StringIO) -> io.StringIO:
    configure_logging("json", "debug", stream=out)
    return out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(buf: io.StringIO) -> list[dict[str, Any]]:
    """Every output line parsed as one JSON object (fails on anything else)."""
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def _library_logger(level: str = "DEBUG") -> StructuredLogger:
    return StructuredLogger("esmeX", level, {"smsc_host": "127.0.0.1"}, aiosmpplib_handler())


# ---- rendering ----------------------------------------------------------------------


def test_json_lines_carry_event_level_timestamp_logger(json_out: io.StringIO) -> None:
    log = get_logger("smsgw.test")
    log.info("mo_received", short_code="1643", parts=1)
    log.warning("reply_throttled", delay=1.5)

    first, second = _lines(json_out)
    assert first["event"] == "mo_received" and second["event"] == "reply_throttled"
    assert (first["level"], second["level"]) == ("info", "warning")
    assert first["logger"] == "smsgw.test"
    assert first["short_code"] == "1643" and first["parts"] == 1 and second["delay"] == 1.5
    stamp = datetime.fromisoformat(first["timestamp"])
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_exception_is_one_json_line_with_masked_traceback(json_out: io.StringIO) -> None:
    try:
        raise ValueError("no subscriber 37129123456")
    except ValueError:
        get_logger("smsgw.test").exception("lookup_failed")

    (line,) = _lines(json_out)
    assert line["level"] == "error"
    assert "ValueError: no subscriber 371291***56" in line["exception"]
    assert "37129123456" not in json_out.getvalue()


def test_console_when_forced(out: io.StringIO) -> None:
    configure_logging("console", "info", stream=out)
    get_logger("smsgw.test").info("mo_received", sender="37129123456", short_code="1643")

    text = out.getvalue()
    assert "mo_received" in text and "sender=371291***56" in text and "short_code=1643" in text
    assert "\x1b[" not in text  # no colours when the stream is no terminal
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_console_traceback_is_masked_and_shows_no_locals(out: io.StringIO) -> None:
    configure_logging("console", "info", stream=out)

    def fail() -> None:
        local_secret = "hunter2-" + PASSWORD
        raise RuntimeError(f"failed for 29123456 ({len(local_secret)})")

    try:
        fail()
    except RuntimeError:
        get_logger("smsgw.test").exception("handler_crashed")

    text = out.getvalue()
    assert "Traceback" in text and "RuntimeError: failed for 29****56" in text
    assert PASSWORD not in text and "29123456" not in text


@pytest.mark.parametrize(
    ("stream", "is_json", "coloured"),
    [(io.StringIO(), True, False), (_Terminal(), False, True)],
    ids=["pipe-json", "terminal-console"],
)
def test_auto_format_follows_the_stream(stream: io.StringIO, is_json: bool, coloured: bool) -> None:
    configure_logging("auto", "info", stream=stream)
    get_logger("smsgw.test").info("started", port=2775)

    first = stream.getvalue().splitlines()[0]
    assert first.startswith("{") is is_json
    assert ("\x1b[" in first) is coloured


def test_stdlib_loggers_come_out_as_masked_json(json_out: io.StringIO) -> None:
    logging.getLogger("sqlalchemy.engine").warning("slow query for %s", "37129123456")
    logging.getLogger("sqlalchemy.engine").info("SELECT 1")  # quieted
    logging.getLogger("asyncio").error("Task exception was never retrieved: 29123456")

    first, second = _lines(json_out)
    assert first["logger"] == "sqlalchemy.engine" and first["level"] == "warning"
    assert first["event"] == "slow query for 371291***56"
    assert "timestamp" in first
    assert second["logger"] == "asyncio" and second["event"].endswith("29****56")
    assert not FULL_NUMBERS.search(json_out.getvalue())


_CHATTY = ("sqlalchemy.engine.Engine", "aiosqlite", "alembic.runtime.migration", "aiohttp.access", "asyncio")


@pytest.mark.parametrize("level", ["debug", "info", "warning"])
def test_library_chatter_stays_below_our_level_unless_asked_for(out: io.StringIO, level: str) -> None:
    configure_logging("json", level, stream=out)
    for name in _CHATTY:
        logging.getLogger(name).debug("chatter")
        logging.getLogger(name).info("chatter")
    logging.getLogger("sqlalchemy.pool").warning("a library's warning")
    logging.getLogger("smsgw.other").warning("ours")

    assert [line["event"] for line in _lines(out)] == ["a library's warning", "ours"]


def test_the_libraries_switch_lets_their_lines_through_at_our_level(out: io.StringIO) -> None:
    configure_logging("json", "info", libraries=True, stream=out)
    for name in _CHATTY:
        logging.getLogger(name).debug("dropped: below our level")
        logging.getLogger(name).info("chatter")

    assert [line["logger"] for line in _lines(out)] == list(_CHATTY)


async def test_statements_are_logged_only_with_the_libraries_switch(out: io.StringIO, tmp_path: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def one_query() -> None:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT :number"), {"number": "37129123456"})
        finally:
            await engine.dispose()

    configure_logging("json", "debug", stream=out)
    await one_query()
    assert out.getvalue() == ""

    configure_logging("json", "debug", libraries=True, stream=out)
    await one_query()
    lines = _lines(out)
    assert any(line["logger"] == "aiosqlite" and "executing" in line["event"] for line in lines)
    assert any(line["logger"].startswith("sqlalchemy.engine") and "SELECT" in line["event"] for line in lines)
    assert "37129123456" not in out.getvalue()


def test_level_filters_structlog_and_stdlib(out: io.StringIO) -> None:
    configure_logging("json", "warning", stream=out)
    log = get_logger("smsgw.test")
    log.info("dropped")
    log.debug("dropped")
    logging.getLogger("smsgw.other").info("dropped")
    log.warning("kept")
    logging.getLogger("smsgw.other").error("kept too")

    assert [line["event"] for line in _lines(out)] == ["kept", "kept too"]


def test_configure_again_replaces_instead_of_duplicating(out: io.StringIO) -> None:
    other = io.StringIO()
    configure_logging("json", "info", stream=out)
    configure_logging("json", "info", stream=out)
    configure_logging("json", "info", stream=other)
    get_logger("smsgw.test").info("once")
    logging.getLogger("x").warning("once too")

    assert out.getvalue() == ""
    assert [line["event"] for line in _lines(other)] == ["once", "once too"]


def test_reset_logging_restores_levels_and_handlers(out: io.StringIO) -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level, logging.getLogger("sqlalchemy").level, logging.getLogger("smsgw").level)
    configure_logging("json", "debug", stream=out)
    reset_logging()

    after = (list(root.handlers), root.level, logging.getLogger("sqlalchemy").level, logging.getLogger("smsgw").level)
    assert after == before
    logging.getLogger("x").error("after reset")
    assert out.getvalue() == ""


def test_a_broken_stream_never_raises_nor_prints_the_line(capfd: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    stream.close()

    get_logger("smsgw.test").info("mo_received", sender="37129123456")
    logging.getLogger("sqlalchemy.engine").warning("lookup 37129123456")
    _library_logger().error("Unable to parse PDU", destination_addr="37129123456")

    err = capfd.readouterr().err
    assert err.count("smsgw.logs: failed to write") == 3
    assert "3712912" not in err


@pytest.mark.parametrize(("fmt", "level"), [("xml", "info"), ("json", "verbose"), ("auto", "")])
def test_bad_configuration_is_refused(fmt: str, level: str) -> None:
    with pytest.raises(ValueError, match="bad logging configuration"):
        configure_logging(fmt, level)


# ---- MO context ---------------------------------------------------------------------


def test_mo_id_on_every_line_of_the_unit_of_work_and_not_after(json_out: io.StringIO) -> None:
    log = get_logger("smsgw.bus")
    bind_mo("mo-1", short_code="1643")
    log.info("mo_recorded")
    logging.getLogger("sqlalchemy.engine").warning("deadlock, retrying")
    _library_logger().warning("Throttle handler result:", throttled=True)
    bind_mo("mo-2")  # the next unit of work forgets mo-1's fields
    log.info("mo_recorded")
    clear_mo()
    log.info("idle")
    logging.getLogger("asyncio").warning("idle too")

    lines = _lines(json_out)
    assert [line.get("mo_id") for line in lines] == ["mo-1", "mo-1", "mo-1", "mo-2", None, None]
    assert [line.get("short_code") for line in lines] == ["1643", "1643", "1643", None, None, None]


async def test_concurrent_mos_keep_their_own_id(json_out: io.StringIO) -> None:
    log = get_logger("smsgw.bus")

    async def unit_of_work(mo_id: str) -> None:
        bind_mo(mo_id)
        for step in range(3):
            await asyncio.sleep(0)
            log.info("step", step=step, expect=mo_id)
        clear_mo()

    await asyncio.gather(*(unit_of_work(f"mo-{i}") for i in range(5)))

    lines = [line for line in _lines(json_out) if line["event"] == "step"]  # not asyncio's own lines
    assert len(lines) == 15
    assert all(line["mo_id"] == line["expect"] for line in lines)


def test_capture_logs_sees_our_events() -> None:
    with capture_logs() as logs:
        bind_mo("mo-9")
        get_logger("smsgw.test").info("topup_applied", amount="5.00")

    assert logs == [{"event": "topup_applied", "amount": "5.00", "log_level": "info"}]


# ---- masking --------------------------------------------------------------------------

MASKING = [
    # international forms: first 6 and last 2 digits
    ("37129123456", "371291***56"),
    ("+37129123456", "+371291***56"),
    ("0037129123456", "003712*****56"),
    ("+4915123456789", "+491512*****89"),
    # national 8-digit: first 2 and last 2
    ("29123456", "29****56"),
    # short international numbers still hide at least three digits
    ("+29123456", "+291***56"),
    ("123456789", "1234***89"),
    # spaced and hyphenated international forms
    ("+371 2912 3456", "+371 291* **56"),
    ("tel. +371 29123456.", "tel. +371 291***56."),
    ("+371-29123456", "+371-291***56"),
    # inside sentences and punctuation
    ("MO from 37129123456 to 1643: V 29876543 5", "MO from 371291***56 to 1643: V 29****43 5"),
    ("msisdn=37129123456,karte=29123456;", "msisdn=371291***56,karte=29****56;"),
    ("(29123456)", "(29****56)"),
    ('"37129123456"', '"371291***56"'),
    ("mo_37129123456", "mo_371291***56"),
    # SOS-SMS typed without a space, Latvian letters, a currency word after
    ("V29123456 5", "V29****56 5"),
    ("STOP29123456", "STOP29****56"),
    ("ā29123456", "ā29****56"),
    ("29123456eur", "29****56eur"),
    ("29123456.5", "29****56.5"),
    # left alone: short numbers, counts, ports, years
    ("1643", "1643"),
    ("sent 1234567 parts", "sent 1234567 parts"),
    ("port 2775, year 2026, short code 1640", "port 2775, year 2026, short code 1640"),
    # glued to letters, even in a hex-looking token: masked (an id has its own unmasked key)
    # left alone: hex message ids, UUIDs, over-long digit runs
    ("id 1a2013b32db", "id 1a2013b32db"),
    ("receipt id:a29123456b1 stat:DELIVRD", "receipt id:a29****56b1 stat:DELIVRD"),
    ("550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"),
    ("12345678-1234-4234-8234-123456789012", "12345678-1234-4234-8234-123456789012"),
    ("abcdefgh29123456", "abcdefgh29****56"),
    ("x5f0c3e3e8d2b4a37129123456789abcd", "x5f0c3e3e8d2b4a371291******89abcd"),
    ("iccid 89371012345678901234", "iccid 89371012345678901234"),
    # left alone: ISO timestamps and decimal amounts
    ("2026-11-22T03:09:47", "2026-11-22T03:09:47"),
    ("2026-11-22T03:09:47.123456789+00:00", "2026-11-22T03:09:47.123456789+00:00"),
    ("21.34 EUR", "21.34 EUR"),
    ("amount 4,13 of 42.69", "amount 4,13 of 42.69"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), MASKING, ids=[repr(t) for t, _ in MASKING])
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@given(
    before=st.text(alphabet=" ,;:()[]<>=/'\"\n\tV", max_size=5),
    number=st.from_regex(r"\A(\+|00)?[1-9][0-9]{7,14}\Z"),
    after=st.text(alphabet=" ,;:()[]<>=/'\"\n\t€", max_size=5),
)
def test_a_number_between_separators_never_survives(before: str, number: str, after: str) -> None:
    masked = mask_text(before + number + after)
    assert number.lstrip("+") not in masked
    assert mask_text(masked) == masked  # masking twice changes nothing


@given(st.text())
def test_mask_text_takes_any_text(text: str) -> None:
    assert len(mask_text(text)) == len(text)


def _masked(**event: Any) -> dict[str, Any]:
    return dict(mask_msisdns(None, "info", dict(event)))


def test_processor_masks_nested_values_and_the_event() -> None:
    event = _masked(
        event="lookup 37129123456",
        sender="37129123456",
        targets=["29123456", ("+37129876543", 5)],
        mo={"from": "37129123456", "parts": [{"to": "29876543"}]},
        msisdn=37129123456,  # an int in a number field
        count=123456789,  # an int elsewhere is a count
        amount="21.34",
        ok=True,
        nothing=None,
        smsc_message_id="12345678901",  # the SMSC's decimal id, kept for correlation
    )
    assert event == {
        "event": "lookup 371291***56",
        "sender": "371291***56",
        "targets": ["29****56", ["+371298***43", 5]],
        "mo": {"from": "371291***56", "parts": [{"to": "29****43"}]},
        "msisdn": "371291***56",
        "count": 123456789,
        "amount": "21.34",
        "ok": True,
        "nothing": None,
        "smsc_message_id": "12345678901",
    }


def test_processor_renders_bytes_and_objects_safely() -> None:
    class Command:
        def __str__(self) -> str:
            return "TopUp(karte='29123456', amount=5)"

    event = _masked(raw=PASSWORD_SMS.encode(), cmd=Command())
    assert event == {"raw": f"<{len(PASSWORD_SMS)} bytes>", "cmd": "TopUp(karte='29****56', amount=5)"}


def test_secret_keys_are_redacted_anywhere() -> None:
    event = _masked(
        password="pw", secret="s", secret_key="k", sealed="blob", smpp_password="pw2",
        config={"smpp": {"password": "pw3", "host": "127.0.0.1"}},
        users=[{"password": "pw4"}],
    )  # fmt: skip
    assert event == {
        "password": REDACTED,
        "secret": REDACTED,
        "secret_key": REDACTED,
        "sealed": REDACTED,
        "smpp_password": REDACTED,
        "config": {"smpp": {"password": REDACTED, "host": "127.0.0.1"}},
        "users": [{"password": REDACTED}],
    }


def test_texts_are_masked_then_truncated() -> None:
    long = "Sveiki! 37129123456 papildina Karti 29123456 par 5 EUR, paldies."
    event = _masked(text=long, short_message=long, message=long, reply={"text": long})

    assert event["text"] == event["short_message"] == event["reply"]["text"]
    assert event["text"] == "Sveiki! 371291***56 papildina Karti 29*…"
    assert len(event["text"]) == 40
    assert event["message"] == mask_text(long)  # not an SMS text field: masked, not cut


def test_sensitive_events_redact_their_texts_entirely() -> None:
    event = _masked(
        event="password_sent", sensitive=True, text=PASSWORD_SMS, short_message=PASSWORD_SMS,
        message=PASSWORD_SMS, body=PASSWORD_SMS, reply={"text": PASSWORD_SMS}, recipient="37129123456",
    )  # fmt: skip
    assert event == {
        "event": "password_sent",
        "sensitive": True,
        "text": REDACTED,
        "short_message": REDACTED,
        "message": REDACTED,
        "body": REDACTED,
        "reply": {"text": REDACTED},
        "recipient": "371291***56",
    }


# ---- the planted password -------------------------------------------------------------


def test_a_password_sms_never_reaches_the_output(json_out: io.StringIO) -> None:
    gsm_hex = PASSWORD_SMS.encode("ascii").hex()
    ucs2_hex = PASSWORD_SMS.encode("utf-16-be").hex()
    pdu_hex = "0000005b00000004000000000000002a" + "000101" + "3337313239313233343536" + gsm_hex

    bind_mo("mo-7", sender="37129123456")
    get_logger("smsgw.password").info("reply_queued", text=PASSWORD_SMS, sensitive=True, recipient="37129123456")
    library = _library_logger("TRACE")
    library.error(
        "Unable to parse PDU", pdu=pdu_hex, short_message=PASSWORD_SMS, destination_addr="37129123456", sequence_num=42
    )
    library.error("Could not send", message=PASSWORD_SMS, request={"short_message": PASSWORD_SMS, "pdu": ucs2_hex})
    library.trace("Received message", pdu=ucs2_hex)

    output = json_out.getvalue()
    lines = _lines(json_out)
    assert len(lines) == 4
    assert PASSWORD not in output
    for secret_hex in (gsm_hex, ucs2_hex, PASSWORD.encode().hex(), PASSWORD.encode("utf-16-be").hex()):
        assert secret_hex not in output
    assert not FULL_NUMBERS.search(output)
    assert all(line["mo_id"] == "mo-7" for line in lines)


# ---- the aiosmpplib bridge --------------------------------------------------------------


def test_bridge_with_a_real_structured_logger(json_out: io.StringIO) -> None:
    handler = aiosmpplib_handler()
    library = StructuredLogger("esmeX", "DEBUG", {"smsc_host": "127.0.0.1"}, handler)
    library.error("Unable to parse PDU", pdu="00ab" * 8, short_message="P 37129123456", sequence_num=7)

    assert isinstance(handler.formatter, logging.Formatter)  # the library replaced it; not used
    (line,) = _lines(json_out)
    assert line["logger"] == "aiosmpplib"
    assert line["event"] == "unable_to_parse_pdu"
    assert line["level"] == "error"
    assert line["smsc_host"] == "127.0.0.1" and line["sequence_num"] == 7
    assert line["pdu_bytes"] == 16 and line["short_message_len"] == 13
    assert "pdu" not in line and "short_message" not in line and "log_level" not in line
    assert "37129123456" not in json_out.getvalue() and "00ab00ab" not in json_out.getvalue()
    datetime.fromisoformat(line["timestamp"])  # ours (UTC), not the library's local time


@pytest.mark.parametrize(
    ("call", "level"),
    [
        (lambda log: log.trace("Received message"), "debug"),
        (lambda log: log.debug("Dequeue cycle start"), "debug"),
        (lambda log: log.info("Starting ESME"), "info"),
        (lambda log: log.warning("Received unexpected SMPP request"), "warning"),
        (lambda log: log.error("Timed out while waiting for ENQUIRE_LINK response"), "error"),
        (lambda log: log.critical("Meltdown"), "critical"),
    ],
)
def test_bridge_maps_levels(json_out: io.StringIO, call: Any, level: str) -> None:
    call(_library_logger("TRACE"))
    (line,) = _lines(json_out)
    assert line["level"] == level


def test_bridge_keeps_the_exception_masked(json_out: io.StringIO) -> None:
    try:
        raise ValueError("bad deliver_sm from 37129123456")
    except ValueError:
        _library_logger().exception("Unable to parse PDU", pdu="00")

    (line,) = _lines(json_out)
    assert line["event"] == "unable_to_parse_pdu" and line["level"] == "error"
    assert "ValueError: bad deliver_sm from 371291***56" in line["exception"]


def test_bridge_formats_arguments_into_detail(json_out: io.StringIO) -> None:
    library = _library_logger()
    library.info("Connected to SMSC, trying to bind as a %s", "transceiver")
    library.info("Delaying next connect attempt by %s seconds", 5.0)

    first, second = _lines(json_out)
    assert first["event"] == "connected_to_smsc_trying_to_bind_as_a"
    assert first["detail"] == "Connected to SMSC, trying to bind as a transceiver"
    assert second["event"] == "delaying_next_connect_attempt_by_seconds"


def test_bridge_reduces_nested_message_contents(json_out: io.StringIO) -> None:
    _library_logger().warning(
        "Could not get receipted message ID from delivery receipt",
        receipt={"id": "1a2013b32db", "stat": "DELIVRD", "text": PASSWORD_SMS},
        request={"short_message": PASSWORD_SMS, "password": "bindpw", "optional_params": [{"value": PASSWORD}]},
    )
    (line,) = _lines(json_out)
    assert line["receipt"] == {"id": "1a2013b32db", "stat": "DELIVRD", "text": REDACTED}
    assert line["request"] == {"short_message": REDACTED, "password": REDACTED, "optional_params": REDACTED}


@pytest.mark.parametrize(
    ("msg", "args", "event", "fields"),
    [
        # the message is the JSON only (event/level/timestamp keys)
        ('{"event": "bound", "level": "INFO", "timestamp": "2026-11-22T05:09:47", "n": 1}', (), "bound", {"n": 1}),
        # log({...}) with metadata: a dict's repr, then the JSON
        (
            "{'event': 'x', 'name': 'Jayz 29123456'} >>> {\"smsc_host\": \"h\"}",
            (),
            "x",
            {"name": "Jayz 29****56", "smsc_host": "h"},
        ),
        # BreachHandler's heartbeat: msg is a dict
        (
            {"event": "aiosmpplib.BreachHandler.heartbeat", "heartbeatInterval": 1800.0},
            (),
            "aiosmpplib_breachhandler_heartbeat",
            {"heartbeatInterval": 1800.0},
        ),
        # no JSON at all (timestamps and levels turned off, no metadata)
        ("Sent SMPP message", (), "sent_smpp_message", {}),
        ("Sent >>> {}", (), "sent", {}),
        # the library's own JSON error instead of JSON
        (
            "Oops >>> aiosmpplib.StructuredLogger error: TypeError('bytes')",
            (),
            "oops",
            {"unparsed": "aiosmpplib.StructuredLogger error: TypeError('bytes')"},
        ),
        # broken JSON that holds a message: only its length is kept
        ('Oops >>> {"short_message": "' + PASSWORD_SMS, (), "oops", {"unparsed_chars": len(PASSWORD_SMS) + 19}),
        # SimpleHook.sending's trace(TRACE, "Sending message", pdu=...): arguments that do not fit
        (
            '5 >>> {"pdu": "' + PASSWORD.encode().hex() + '"}',
            ("Sending message",),
            "smpp_library",
            {"pdu_bytes": 10, "detail": "('Sending message',)"},
        ),
        # a reserved key from the library is renamed, not lost
        (
            'Hi >>> {"event": "e", "logger": "l", "sensitive": false}',
            (),
            "hi",
            {"lib_event": "e", "lib_logger": "l", "lib_sensitive": False},
        ),
    ],
)
def test_bridge_record_shapes(
    json_out: io.StringIO, msg: object, args: tuple[object, ...], event: str, fields: dict[str, Any]
) -> None:
    record = logging.makeLogRecord({"msg": msg, "args": args, "levelno": logging.INFO, "levelname": "INFO"})
    AiosmpplibBridge().emit(record)

    (line,) = _lines(json_out)
    assert line["event"] == event
    assert {k: v for k, v in line.items() if k not in ("event", "level", "logger", "timestamp")} == fields
    assert PASSWORD not in json_out.getvalue()


def test_bridge_never_raises(json_out: io.StringIO) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no str for you")

        def __repr__(self) -> str:
            raise RuntimeError("no repr either")

    bridge = AiosmpplibBridge()
    bridge.emit(logging.makeLogRecord({"msg": Hostile(), "levelno": logging.ERROR}))
    bridge.emit(logging.makeLogRecord({"msg": "Fine 37129123456 >>> {}", "levelno": 999}))

    structlog.configure(processors=[_explode])  # even a broken pipeline does not reach the library
    bridge.emit(logging.makeLogRecord({"msg": "Fine", "levelno": logging.INFO}))

    (line,) = _lines(json_out)
    assert line["event"] == "fine_371291***56" and line["level"] == "critical"
    assert set(line) == {"event", "level", "logger", "timestamp"}


def _explode(logger: Any, method_name: str, event_dict: Any) -> Any:
    raise RuntimeError("processor failure")


def test_bridge_masks_even_under_capture_logs() -> None:
    with capture_logs() as logs:
        _library_logger().error("Unable to parse PDU", pdu="abcd", short_message="x", destination_addr="37129123456")
        _library_logger().info("Retrying 37129123456")

    assert logs == [
        {
            "event": "unable_to_parse_pdu",
            "log_level": "error",
            "pdu_bytes": 2,
            "short_message_len": 1,
            "destination_addr": "371291***56",
            "smsc_host": "127.0.0.1",
        },
        {"event": "retrying_371291***56", "log_level": "info", "smsc_host": "127.0.0.1"},
    ]


async def test_esme_wires_the_bridge_and_its_hook_pdu_trace_is_reduced(json_out: io.StringIO) -> None:
    handler = aiosmpplib_handler()
    esme = ESME("127.0.0.1", 2775, "smsgw", "secret", log_level=TRACE, log_handler=handler)
    pdu = bytes.fromhex("0000003c0000000500000000000000070000013337313239313233343536000000") + PASSWORD_SMS.encode()

    await esme.hook.received(None, pdu, "client")

    (line,) = [line for line in _lines(json_out) if line["logger"] != "asyncio"]
    assert line["event"] == "received_message" and line["level"] == "debug" and line["logger"] == "aiosmpplib"
    assert line["pdu_bytes"] == len(pdu)
    assert line["smsc_host"] == "127.0.0.1" and line["system_id"] == "smsgw"
    assert PASSWORD not in json_out.getvalue() and pdu.hex() not in json_out.getvalue()


# ---- one line per event -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "exception"),
    [
        ("Error response received from SMSC: BIND_TRANSCEIVER_RESP: ESME_RINVPASWD", "SmppError()"),
        ("Timed out while connecting to SMSC", "TimeoutError()"),
        ("Connection lost while connecting to SMSC", "ConnectionResetError()"),
        ("Error while reading from SMSC", "ConnectionRefusedError(111, 'Connect call failed')"),
    ],
)
def test_library_duplicates_of_our_connection_events_are_debug_lines(
    out: io.StringIO, message: str, exception: str
) -> None:
    configure_logging("json", "info", stream=out)
    _library_logger().error(message, exception=exception)
    assert out.getvalue() == ""  # smpp_bind_refused / smpp_connect_failed say it

    configure_logging("json", "debug", stream=out)
    _library_logger().error(message, exception=exception)
    (line,) = _lines(out)
    assert line["level"] == "debug" and line["logger"] == "aiosmpplib"


def test_a_library_error_nobody_else_reports_stays_an_error(json_out: io.StringIO) -> None:
    _library_logger().error("Error while reading from SMSC", exception="IncompleteReadError('0 bytes read')")
    _library_logger().error("Timed out while waiting for ENQUIRE_LINK response")

    assert [line["level"] for line in _lines(json_out)] == ["error", "error"]
