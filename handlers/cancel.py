"""``STOP`` / ``STOP 29123456``: cancel monthly top-ups from next month; drop a pending request.

The current month's last-day top-up still runs; the reply says when the last one is.
"""

from __future__ import annotations

from grammar import CancelMonthly

from .context import Context
from .errors import NothingToCancel
from .model import Outgoing, Reply
from .rules import check_sender, last_day_of_month, month_key
from .templates import render

__all__ = ["handle"]


async def handle(cmd: CancelMonthly, ctx: Context) -> Reply:
    uow = ctx.uow
    sender = check_sender(await uow.subscribers.get(ctx.sender, lock=True))
    this_month = month_key(ctx.today)
    orders = await uow.orders.for_sender(sender.msisdn, this_month)
    if cmd.karte is not None:
        orders = [order for order in orders if order.karte == cmd.karte]
    dropped = False
    pending = await uow.pending.get(sender.msisdn)
    if pending is not None and (cmd.karte is None or pending.karte == cmd.karte):
        dropped = await uow.pending.delete(sender.msisdn)
    for order in orders:
        await uow.orders.end_after(order.id, this_month)
    last = last_day_of_month(ctx.today)
    lang = sender.language
    if orders:
        text = (
            render("stop_all", lang, date=last)
            if cmd.karte is None
            else render("stop_one", lang, karte=cmd.karte, date=last)
        )
        return Reply("monthly_cancelled", (Outgoing(sender.msisdn, text),))
    if dropped:
        return Reply("pending_cancelled", (Outgoing(sender.msisdn, render("stop_pending", lang)),))
    raise NothingToCancel(cmd.karte)
