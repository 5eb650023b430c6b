"""``JA``: confirm the pending monthly request within the confirmation window."""

from __future__ import annotations

from grammar import Confirm

from .context import Context
from .errors import NoPendingRequest, PendingRequestExpired
from .model import Outgoing, Reply
from .rules import check_karte, check_sender, confirmation_expired, next_monthly_run
from .templates import format_plain_amount, render

__all__ = ["handle"]


async def handle(cmd: Confirm, ctx: Context) -> Reply:
    uow, rules = ctx.uow, ctx.rules
    sender = check_sender(await uow.subscribers.get(ctx.sender, lock=True))
    pending = await uow.pending.get(sender.msisdn)
    if pending is None:
        raise NoPendingRequest()
    if confirmation_expired(pending.requested_at, ctx.now, rules):
        hours = int(rules.confirm_window.total_seconds() // 3600)
        raise PendingRequestExpired(
            pending.karte, pending.amount, hours, plain=format_plain_amount(pending.amount, sender.language)
        )
    check_karte(pending.karte, await uow.subscribers.get(pending.karte), ctx.today, rules)
    await uow.pending.delete(sender.msisdn)
    existing = await uow.orders.get(sender.msisdn, pending.karte)
    await uow.orders.save(sender.msisdn, pending.karte, pending.amount, ctx.now)
    key = "monthly_changed" if existing is not None and existing.last_month is None else "monthly_confirmed"
    text = render(
        key, sender.language, karte=pending.karte, amount=pending.amount, date=next_monthly_run(ctx.now, rules)
    )
    return Reply("monthly_confirmed", (Outgoing(sender.msisdn, text),))
