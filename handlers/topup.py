"""``V 29123456 5`` / ``29123456 5``: a one-off top-up charged to the sender's invoice."""

from __future__ import annotations

from grammar import TopUp

from .context import Context
from .model import Language, Outgoing, Reply, TopUpKind
from .rules import (
    check_amount,
    check_caps,
    check_karte,
    check_sender,
    day_bounds,
    month_bounds,
    new_expiry,
)
from .templates import render

__all__ = ["handle"]


async def handle(cmd: TopUp, ctx: Context) -> Reply:
    uow, rules = ctx.uow, ctx.rules
    sender = check_sender(await uow.subscribers.get(ctx.sender, lock=True))
    check_amount(cmd.amount, rules, monthly=False)
    karte = check_karte(cmd.karte, await uow.subscribers.get(cmd.karte, lock=True), ctx.today, rules)
    totals = await uow.ledger.totals(sender.msisdn, day_bounds(ctx.now, rules.tz), month_bounds(ctx.now, rules.tz))
    check_caps(cmd.amount, totals, rules)

    await uow.ledger.add(
        sender=sender.msisdn,
        karte=karte.msisdn,
        amount=cmd.amount,
        kind=TopUpKind.ONE_OFF,
        at=ctx.now,
        mo_id=ctx.mo_id,
    )
    expires = new_expiry(karte.karte_expires_on, ctx.today, cmd.amount, rules)
    await uow.subscribers.credit_karte(karte.msisdn, cmd.amount, expires)
    return Reply(
        "topup_applied",
        (
            Outgoing(sender.msisdn, render("topup_done", sender.language, karte=karte.msisdn, amount=cmd.amount)),
            Outgoing(
                karte.msisdn,
                render("topup_received", karte.language or Language.LV, sender=sender.msisdn, amount=cmd.amount),
            ),
        ),
    )
