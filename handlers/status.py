"""``S`` (every Karte topped up this month) and ``S 29123456`` (spent on that Karte)."""

from __future__ import annotations

from decimal import Decimal

from grammar import Status, national

from .context import Context
from .model import Language, Outgoing, Reply
from .rules import check_sender, month_bounds
from .templates import fits_two_parts, format_plain_amount, render

__all__ = ["handle"]


def _status_list(items: list[tuple[str, Decimal]], total: Decimal, left: Decimal, lang: Language) -> str:
    """As many ``29123456 5,00`` items as fit in two SMS parts, then ``+N``."""
    shown = len(items)
    while True:
        words = [f"{national(karte)} {format_plain_amount(amount, lang)}" for karte, amount in items[:shown]]
        if shown < len(items):
            words.append(f"+{len(items) - shown}")
        text = render("status_list", lang, items="; ".join(words), total=total, left=left)
        if shown == 0 or fits_two_parts(text):
            return text
        shown -= 1


async def handle(cmd: Status, ctx: Context) -> Reply:
    uow, rules = ctx.uow, ctx.rules
    sender = check_sender(await uow.subscribers.get(ctx.sender))
    lang = sender.language
    items = await uow.ledger.by_karte(sender.msisdn, month_bounds(ctx.now, rules.tz))
    if cmd.karte is not None:
        spent = sum((amount for karte, amount in items if karte == cmd.karte), Decimal("0.00"))
        order = await uow.orders.get(sender.msisdn, cmd.karte)
        monthly = ""
        if order is not None and order.last_month is None:
            monthly = render("status_karte_monthly", lang, amount=order.amount)
        text = render("status_karte", lang, karte=cmd.karte, amount=spent, monthly=monthly)
        return Reply("status_karte", (Outgoing(sender.msisdn, text),))
    if not items:
        return Reply("status", (Outgoing(sender.msisdn, render("status_none", lang, cap=rules.monthly_cap)),))
    total = sum((amount for _, amount in items), Decimal("0.00"))
    left = max(rules.monthly_cap - total, Decimal("0.00"))
    return Reply("status", (Outgoing(sender.msisdn, _status_list(items, total, left, lang)),))
