"""``M 29123456 4.13``: request a monthly top-up; it waits for ``JA`` (one pending per sender)."""

from __future__ import annotations

from grammar import RequestMonthly

from .context import Context
from .model import Outgoing, PendingRequest, Reply
from .rules import check_amount, check_karte, check_sender
from .templates import render

__all__ = ["handle"]


async def handle(cmd: RequestMonthly, ctx: Context) -> Reply:
    uow, rules = ctx.uow, ctx.rules
    sender = check_sender(await uow.subscribers.get(ctx.sender, lock=True))
    check_amount(cmd.amount, rules, monthly=True)
    check_karte(cmd.karte, await uow.subscribers.get(cmd.karte), ctx.today, rules)
    await uow.pending.put(PendingRequest(sender.msisdn, cmd.karte, cmd.amount, ctx.now))
    hours = int(rules.confirm_window.total_seconds() // 3600)
    text = render("monthly_invite", sender.language, karte=cmd.karte, amount=cmd.amount, hours=hours)
    return Reply("monthly_requested", (Outgoing(sender.msisdn, text),))
