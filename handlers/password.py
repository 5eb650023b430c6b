"""1640 ``P``: a new temporary My LMT password by SMS, and the portal's check of it.

The password is prepared outside the transaction (``Context.new_password``: random
from ``secrets``, hashed with scrypt) and stored only as that hash. It is valid
for ``Rules.password_valid`` and for one login; it replaces an earlier temporary
password, while the current password keeps working until the temporary one is
used. Rate limit: ``password_per_hour`` and ``password_per_day``; past that one
"try later" reply, then silence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from grammar import ResetPassword

from .context import Context
from .errors import Silence
from .model import Outgoing, Reply
from .ports import Transaction, UnitOfWork
from .rules import password_decision
from .templates import render

__all__ = [
    "PasswordVerifier",
    "check_temporary_password",
    "consume_temporary_password",
    "handle",
    "verify_portal_password",
]

#: ``verify(password, stored_hash)``: the slow hash, e.g. ``verify_password`` in a worker thread.
PasswordVerifier = Callable[[str, str], Awaitable[bool]]


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


async def check_temporary_password(
    msisdn: str,
    password: str,
    *,
    read: Transaction,
    write: Transaction,
    verify: PasswordVerifier,
    decoy: str,
    now: datetime,
) -> bool:
    """True, and the password is consumed, if ``password`` is ``msisdn``'s valid temporary one.

    It works exactly once. In three steps, so that a storm of logins never holds the
    database's write lock through a slow hash:

    1. read the stored hash (no write transaction);
    2. ``verify`` the password against it (scrypt, slow), or against ``decoy`` (a hash of
       the same cost that nothing matches) when the number has none: the check takes
       as long whether or not the number has a temporary password;
    3. consume it in a short write transaction whose one statement matches this very
       hash, unused and unexpired (``PasswordStore.mark_used``): two concurrent checks
       cannot both win, and a password replaced in between consumes nothing.

    Using it retires the current My LMT password (until then the current one kept
    working); the subscriber sets a new one in the portal.
    """
    stored = await read(lambda uow: uow.passwords.temporary(msisdn))
    password_hash = decoy if stored is None else stored[0]
    matches = await verify(password, password_hash)
    if stored is None or not matches:
        return False
    _, expires_at, used_at = stored
    if used_at is not None or now >= expires_at:
        return False
    return await write(lambda uow: consume_temporary_password(msisdn, password_hash, uow=uow, now=now))


async def consume_temporary_password(msisdn: str, password_hash: str, *, uow: UnitOfWork, now: datetime) -> bool:
    """Step 3 of the check, in the caller's (write) unit of work: False if it was used, replaced or expired."""
    if not await uow.passwords.mark_used(msisdn, password_hash, now):
        return False
    # The login with the temporary password ends the old password; the portal then
    # has the subscriber choose a new one (set_portal_password with its hash).
    await uow.subscribers.set_portal_password(msisdn, None)
    return True


async def verify_portal_password(
    msisdn: str,
    password: str,
    *,
    read: Transaction,
    write: Transaction,
    verify: PasswordVerifier,
    decoy: str,
    now: datetime,
) -> bool:
    """The portal's login check: the current password, or else a valid temporary one (consumed)."""
    current = await read(lambda uow: uow.subscribers.portal_password(msisdn))
    if await verify(password, decoy if current is None else current) and current is not None:
        return True
    return await check_temporary_password(msisdn, password, read=read, write=write, verify=verify, decoy=decoy, now=now)
