"""The password-change e-mail over real SMTP (aiosmtpd on 127.0.0.1), with retries."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from smsgw.config import EmailConfig
from smsgw.db import schema
from smsgw.ops.email import EmailSender
from tests.e2e.harness import free_port

from .conftest import Harness


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def _email_rows(h: Harness) -> list[Any]:
    table = schema.email_outbox
    stmt = select(table.c.state, table.c.attempts, table.c.last_error)
    return list(await h.db.read(lambda uow: uow.sql.rows(stmt)))


async def test_password_notice_is_sent_by_smtp_without_the_password(harness: Harness, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp
    result = await harness.mo("37120000002", "P", destination="1640")
    password = result.replies[0].text.split(": ")[1].split(" ")[0]
    sender = EmailSender(harness.db, EmailConfig(enabled=True, host="127.0.0.1", port=port), now=harness.clock)
    assert await sender.send_due() == 1
    [message] = inbox.messages
    assert message["To"] == "ann@example.com"
    assert "password" in message["Subject"].lower()
    body = message.get_payload(decode=True).decode()
    assert "20000002" in body and password not in body and password not in message.as_string()
    assert [(r.state, r.attempts) for r in await _email_rows(harness)] == [("sent", 1)]
    assert await sender.send_due() == 0  # sent once


async def test_an_unreachable_server_is_retried_with_backoff_then_given_up(harness: Harness) -> None:
    await harness.mo("37120000002", "P", destination="1640")
    config = EmailConfig(enabled=True, host="127.0.0.1", port=free_port(), timeout=2.0, max_attempts=2)
    sender = EmailSender(harness.db, config, now=harness.clock)
    assert await sender.send_due() == 1
    [row] = await _email_rows(harness)
    assert row.state == "queued" and row.attempts == 1 and row.last_error
    assert await sender.send_due() == 0  # not due yet: backoff
    harness.clock.advance(seconds=31)
    assert await sender.send_due() == 1
    [row] = await _email_rows(harness)
    assert row.state == "failed" and row.attempts == 2


async def test_the_notice_goes_out_after_the_server_comes_back(harness: Harness, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp
    await harness.mo("37120000002", "P", destination="1640")
    down = EmailSender(harness.db, EmailConfig(enabled=True, host="127.0.0.1", port=free_port()), now=harness.clock)
    await down.send_due()
    harness.clock.advance(minutes=1)
    up = EmailSender(harness.db, EmailConfig(enabled=True, host="127.0.0.1", port=port), now=harness.clock)
    assert await up.send_due() == 1
    assert len(inbox.messages) == 1


class _Refusing(_Inbox):
    async def handle_RCPT(  # aiosmtpd calls it by this name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        return f"550 <{address}> unknown, call +371 2912 3456"


async def test_smtp_errors_are_masked_in_the_log_and_the_table(harness: Harness) -> None:
    from structlog.testing import capture_logs

    port = free_port()
    controller = Controller(_Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await harness.mo("37120000002", "P", destination="1640")
        sender = EmailSender(harness.db, EmailConfig(enabled=True, host="127.0.0.1", port=port), now=harness.clock)
        with capture_logs() as logs:
            assert await sender.send_due() == 1
    finally:
        controller.stop()
    [row] = await _email_rows(harness)
    [failed] = [line for line in logs if line["event"] == "email_failed"]
    for text in (row.last_error, failed["error"]):
        assert "550" in text and "@example.com" in text
        assert "ann@example.com" not in text and "2912 3456" not in text


async def test_credentials_are_never_sent_without_starttls(harness: Harness, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp  # a plain server: it offers no STARTTLS
    await harness.mo("37120000002", "P", destination="1640")
    config = EmailConfig(enabled=True, host="127.0.0.1", port=port, username="gw", password="smtp-secret")
    assert config.use_starttls
    assert await EmailSender(harness.db, config, now=harness.clock).send_due() == 1
    [row] = await _email_rows(harness)
    assert row.state == "queued" and "STARTTLS" in row.last_error and "smtp-secret" not in row.last_error
    assert inbox.messages == []


@pytest.mark.parametrize(
    ("starttls", "username", "expected"),
    [("auto", "", False), ("auto", "gw", True), (True, "", True), (False, "gw", False)],
)
def test_starttls_auto_follows_the_credentials(starttls: Any, username: str, expected: bool) -> None:
    assert EmailConfig(starttls=starttls, username=username).use_starttls is expected
