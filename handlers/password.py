"""1640 ``P``: a new temporary My LMT password by SMS, and the portal's check of it.

The password is prepared outside the transaction (``Context.new_password``: random
from ``secrets``, hashed with scrypt) and stored only as that hash. It is valid
for ``Rules.password_valid`` and for one login; it replaces an earlier temporary
password, while the current password keeps working until the temporary one is
used. Rate limit: ``password_per_hour`` and ``password_per_day``; past that one
"try later" reply, then silence.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from grammar import ResetPassword

from .context import Context
from .credentials import verify_password
from .errors import Silence
from .model import Outgoing, Reply
from .ports import UnitOfWork
from .rules import password_decision
from .templates import render

__all__ = ["check_temporary_password", "handle", "verify_portal_password"]


async def handle(cmd: ResetPassword, ctx: Context) -> Reply:
    uow, rules = ctx.uow, ctx.rules
    subscriber = await uow.subscribers.get(ctx.sender, lock=True)
    if subscriber is None:
        raise Silence("password_unknown_number")
    if not subscriber.active:
        await uow.passwords.record_request(subscriber.msisdn, ctx.now, "refused")
        text = render("password_not_active", subscriber.language)
        return Reply("password_not_active", (Outgoing(subscriber.msisdn, text),))

    history = await uow.passwords.recent_requests(subscriber.msisdn, ctx.now - timedelta(hours=24))
    decision = password_decision(history, ctx.now, rules)
    if decision == "issue":
        await uow.passwords.record_request(subscriber.msisdn, ctx.now, "issued")
    else:
        await uow.passwords.record_request(subscriber.msisdn, ctx.now, decision)
    if decision == "silent":
        return Reply("password_rate_limited_silent")
    if decision == "try_later":
        text = render("password_try_later", subscriber.language)
        return Reply("password_rate_limited", (Outgoing(subscriber.msisdn, text),))

    temporary = ctx.new_password()
    await uow.passwords.put_temporary(subscriber.msisdn, temporary.hash, ctx.now, ctx.now + rules.password_valid)
    if subscriber.email:
        at = ctx.now.astimezone(rules.tz).strftime("%d.%m.%Y %H:%M")
        await uow.emails.queue(
            subscriber.email,
            render("email_password_subject", subscriber.language),
            render("email_password_body", subscriber.language, number=subscriber.msisdn, at=at),
            ctx.now,
        )
    hours = int(rules.password_valid.total_seconds() // 3600)
    text = render("password_sent", subscriber.language, password=temporary.plain, hours=hours)
    return Reply("password_issued", (Outgoing(subscriber.msisdn, text, sensitive=True),))


async def check_temporary_password(msisdn: str, password: str, *, uow: UnitOfWork, now: datetime) -> bool:
    """True, and the password is consumed, if ``password`` is ``msisdn``'s valid temporary one.

    It works exactly once. Using it retires the current My LMT password (until then
    the current one kept working); the subscriber sets a new one in the portal.
    """
    stored = await uow.passwords.temporary(msisdn)
    if stored is None:
        return False
    password_hash, expires_at, used_at = stored
    if used_at is not None or now >= expires_at or not verify_password(password, password_hash):
        return False
    if not await uow.passwords.mark_used(msisdn, now):
        return False
    # The login with the temporary password ends the old password; the portal then
    # has the subscriber choose a new one (set_portal_password with its hash).
    await uow.subscribers.set_portal_password(msisdn, None)
    return True


async def verify_portal_password(msisdn: str, password: str, *, uow: UnitOfWork, now: datetime) -> bool:
    """The portal's login check: the current password, or else a valid temporary one (consumed)."""
    current = await uow.subscribers.portal_password(msisdn)
    if current is not None and verify_password(password, current):
        return True
    return await check_temporary_password(msisdn, password, uow=uow, now=now)
