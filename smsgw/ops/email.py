"""Sending the queued e-mails (the password-change notice) over SMTP with aiosmtplib.

Each notice is claimed with a lease, sent, and marked ``sent``; a failure is
retried with a doubling backoff (30 s, 1 min, 2 min … capped at an hour) until
``[email] max_attempts``, then marked ``failed``. The notice never contains
the password (the template says only that it was changed). STARTTLS is used
whenever SMTP credentials are set, unless ``[email] starttls = false``; errors are
logged and stored masked (the server may quote the recipient's address).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
import structlog

from ..config import EmailConfig
from ..db.database import Database
from ..db.emails import Email
from ..log_masking import mask_text

__all__ = ["EmailSender"]

log = structlog.get_logger("smsgw.email")


class EmailSender:
    def __init__(
        self,
        db: Database,
        config: EmailConfig,
        *,
        interval: float = 5.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._config = config
        self._interval = interval
        self._now = now
        self._wake = asyncio.Event()
        self.sent = 0
        self.failures = 0

    def notify(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                while await self.send_due():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("email_queue_failed")
            self._wake.clear()
            try:  # not wait_for: on 3.11 it swallows a cancel that comes with a wake (shutdown could hang)
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def send_due(self, limit: int = 20) -> int:
        """Send what is due now; returns how many were tried."""
        now = self._now()
        lease = now + timedelta(seconds=self._config.timeout * 3 + 30)
        emails = await self._db.write(lambda uow: uow.emails.claim(now, lease, limit))
        for email in emails:
            await self._send_one(email)
        return len(emails)

    async def _send_one(self, email: Email) -> None:
        message = EmailMessage()
        message["From"] = self._config.sender
        message["To"] = email.recipient
        message["Subject"] = email.subject
        message.set_content(email.body)
        cfg = self._config
        try:
            await aiosmtplib.send(
                message,
                hostname=cfg.host,
                port=cfg.port,
                username=cfg.username or None,
                password=cfg.password or None,
                start_tls=cfg.use_starttls,
                timeout=cfg.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            self.failures += 1
            give_up = email.attempts >= cfg.max_attempts
            delay = min(3600.0, 30.0 * 2 ** (email.attempts - 1))
            at = self._now() + timedelta(seconds=delay)
            # An SMTP server's answer may quote the address (or a number in it): masked, in the log and the table.
            detail = mask_text(f"{type(error).__name__}: {error}")[:200]
            await self._db.write(lambda uow: uow.emails.retry(email.id, at, detail, give_up=give_up))
            log.warning("email_failed", email_id=email.id, attempt=email.attempts, give_up=give_up, error=detail)
            return
        await self._db.write(lambda uow: uow.emails.sent(email.id))
        self.sent += 1
        log.info("email_sent", email_id=email.id, attempt=email.attempts)
