"""The last-day-of-month execution of one monthly order (the scheduler's and ``monthly run``'s work).

Each order runs at most once per month: the execution is recorded with a unique
(order, month) key in the same transaction as its top-up, so a second runner —
after a restart, or another gateway instance — finds it done and does nothing.
A run that would pass the monthly cap, or whose sender or Karte can no longer
take part, is skipped for that month and the sender is told.
"""

from __future__ import annotations

from datetime import date, datetime

from .context import Context
from .errors import Refusal
from .model import Language, MonthlyOrder, Outgoing, Reply, TopUpKind
from .rules import (
    check_karte,
    check_sender,
    month_bounds,
    month_key,
    monthly_cap_allows,
    new_expiry,
)
from .templates import render

__all__ = ["execute"]


async def execute(order: MonthlyOrder, run_date: date, ctx: Context) -> Reply:
    """Execute ``order`` for the month of ``run_date``; ``ctx.now`` is the charge time."""
    uow = ctx.uow
    month = month_key(run_date)
    if not await uow.orders.claim_run(order.id, month, ctx.now):
        return Reply("monthly_already_ran")
    reply = await _run(order, run_date, ctx)
    await uow.orders.finish_run(order.id, month, reply.outcome)
    return reply


async def _run(order: MonthlyOrder, run_date: date, ctx: Context) -> Reply:
    uow, rules = ctx.uow, ctx.rules
    month = month_key(run_date)
    sender = await uow.subscribers.get(order.sender, lock=True)
    lang = sender.language if sender is not None else Language.LV
    try:
        check_sender(sender)
    except Refusal:
        text = render("monthly_skipped_sender", lang, karte=order.karte)
        return _skipped(order, "monthly_skipped_sender", text, sender is not None and sender.active)
    karte = await uow.subscribers.get(order.karte, lock=True)
    try:
        karte = check_karte(order.karte, karte, run_date, rules)
    except Refusal:
        return _skipped(order, "monthly_skipped_karte", render("monthly_skipped_karte", lang, karte=order.karte))
    month_range = month_bounds(ctx.now, rules.tz)
    totals = await uow.ledger.totals(order.sender, month_range, month_range)
    if not monthly_cap_allows(order.amount, totals.this_month, rules):
        text = render("monthly_skipped_cap", lang, karte=order.karte, amount=order.amount, cap=rules.monthly_cap)
        return _skipped(order, "monthly_skipped_cap", text)

    await uow.ledger.add(
        sender=order.sender,
        karte=order.karte,
        amount=order.amount,
        kind=TopUpKind.MONTHLY,
        at=ctx.now,
        order_id=order.id,
        period=month,
    )
    await uow.subscribers.credit_karte(
        karte.msisdn, order.amount, new_expiry(karte.karte_expires_on, run_date, order.amount, rules)
    )
    return Reply(
        "monthly_executed",
        (
            Outgoing(order.sender, render("monthly_done", lang, karte=order.karte, amount=order.amount)),
            Outgoing(order.karte, render("topup_received", karte.language, sender=order.sender, amount=order.amount)),
        ),
    )


def _skipped(order: MonthlyOrder, outcome: str, text: str, tell: bool = True) -> Reply:
    return Reply(outcome, (Outgoing(order.sender, text),) if tell else ())


def charge_time(run_date: date, ctx: Context) -> datetime:
    """Monthly charges are dated the run date at the configured run time (Riga)."""
    return datetime.combine(run_date, ctx.rules.monthly_run_at, tzinfo=ctx.rules.tz)
