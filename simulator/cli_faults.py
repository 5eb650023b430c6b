"""`smsc-sim fault …` and `smsc-sim receipts …`: fault injection and receipt rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .cli_support import fail, run_with_client
from .client import JSON

__all__ = ["fault", "receipts"]

RECEIPT_STATUSES = ["DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "DELETED", "ACCEPTD", "UNKNOWN"]


def _show_fault(f: JSON) -> str:
    bounds = []
    if f.get("remaining") is not None:
        bounds.append(f"{f['remaining']} submits left")
    if f.get("seconds_left") is not None:
        bounds.append(f"{f['seconds_left']} s left")
    extra = ""
    if f.get("ratio") is not None:
        extra += f" ratio:{f['ratio']}"
    if f.get("delay") is not None:
        extra += f" delay:{f['delay']}s"
    return f"#{f['id']} {f['kind']}{extra} ({', '.join(bounds)}; applied {f['applied']})"


def _add(ctx: click.Context, kind: str, count: int | None, seconds: float | None, **extra: Any) -> None:
    if count is None and seconds is None:
        fail("give a number of submits (N) and/or --for SECONDS", 2)
    body = {"kind": kind, "count": count, "seconds": seconds, **extra}
    data = run_with_client(ctx, lambda c: c.request("POST", "/api/faults", body))
    click.echo(f"added {_show_fault(data)}")


def _bounded(func: Callable[..., None]) -> Callable[..., None]:
    func = click.argument("count", metavar="[N]", type=click.IntRange(1), required=False)(func)
    return click.option(
        "--for",
        "seconds",
        type=click.FloatRange(0, 86400, min_open=True),
        help="Active for this many seconds (with N: whichever ends first).",
    )(func)


@click.group()
def fault() -> None:
    """Inject faults: each applies to the next N submits and/or for --for SECONDS."""


@fault.command()
@_bounded
@click.option(
    "--ratio", type=click.FloatRange(0, 1, min_open=True), help="Throttle only this share of the submits (e.g. 0.3)."
)
@click.option("--seed", type=int, help="Seed of the random choice (with --ratio).")
@click.pass_context
def throttle(
    ctx: click.Context, count: int | None, seconds: float | None, ratio: float | None, seed: int | None
) -> None:
    """Answer submits with ESME_RTHROTTLED (0x58)."""
    _add(ctx, "throttle", count, seconds, ratio=ratio, seed=seed)


@fault.command("queue-full")
@_bounded
@click.option("--ratio", type=click.FloatRange(0, 1, min_open=True), help="Refuse only this share of the submits.")
@click.option("--seed", type=int, help="Seed of the random choice (with --ratio).")
@click.pass_context
def queue_full(
    ctx: click.Context, count: int | None, seconds: float | None, ratio: float | None, seed: int | None
) -> None:
    """Answer submits with ESME_RMSGQFUL (0x14)."""
    _add(ctx, "queue_full", count, seconds, ratio=ratio, seed=seed)


@fault.command()
@_bounded
@click.pass_context
def withhold(ctx: click.Context, count: int | None, seconds: float | None) -> None:
    """Accept submits but never send their submit_sm_resp."""
    _add(ctx, "withhold", count, seconds)


@fault.command()
@click.argument("delay", type=click.FloatRange(0, 3600, min_open=True))
@_bounded
@click.pass_context
def delay(ctx: click.Context, delay: float, count: int | None, seconds: float | None) -> None:
    """Send submit_sm_resp DELAY seconds late."""
    _add(ctx, "delay", count, seconds, delay=delay)


@fault.command("receipt-first")
@_bounded
@click.pass_context
def receipt_first(ctx: click.Context, count: int | None, seconds: float | None) -> None:
    """Send the delivery receipt before the submit_sm_resp."""
    _add(ctx, "receipt_first", count, seconds)


@fault.command()
@click.argument("bind", type=int, required=False)
@click.option("--all", "drop_all", is_flag=True, help="Drop every connection.")
@click.pass_context
def drop(ctx: click.Context, bind: int | None, drop_all: bool) -> None:
    """Cut connection BIND (see `smsc-sim binds`), or --all, without unbinding."""
    if bind is None and not drop_all:
        fail("give a BIND id or --all", 2)
    body = {"all": True} if drop_all else {"bind": bind}
    data = run_with_client(ctx, lambda c: c.request("POST", "/api/drop", body))
    dropped = data["dropped"]
    click.echo(f"dropped {', '.join(map(str, dropped))}" if dropped else "nothing to drop")


@fault.command("list")
@click.pass_context
def list_faults(ctx: click.Context) -> None:
    """Show the active faults."""
    data = run_with_client(ctx, lambda c: c.request("GET", "/api/faults"))
    for f in data["faults"]:
        click.echo(_show_fault(f))
    if not data["faults"]:
        click.echo("no active faults")


@fault.command()
@click.pass_context
def clear(ctx: click.Context) -> None:
    """Remove every fault."""
    data = run_with_client(ctx, lambda c: c.request("DELETE", "/api/faults"))
    click.echo(f"cleared {data['cleared']} fault(s)")


@click.group()
def receipts() -> None:
    """Delivery-receipt rules: outcome and delay per destination glob (first match wins)."""


def _show_rules(data: JSON) -> None:
    for rule in data["rules"]:
        click.echo(f"{rule['pattern']:<20} {rule['status']}  after {rule['delay']:g} s")
    click.echo("*                    DELIVRD  after 0 s  (default)")


@receipts.command("list")
@click.pass_context
def list_rules(ctx: click.Context) -> None:
    """Show the rules in the order they are tried."""
    _show_rules(run_with_client(ctx, lambda c: c.request("GET", "/api/receipts")))


@receipts.command()
@click.argument("pattern")
@click.argument("status", type=click.Choice(RECEIPT_STATUSES, case_sensitive=False))
@click.option(
    "--delay",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 86400),
    help="Seconds between the submit and its receipt.",
)
@click.pass_context
def add(ctx: click.Context, pattern: str, status: str, delay: float) -> None:
    """Receipts for destinations matching PATTERN (glob, e.g. '37129*') report STATUS."""
    body = {"pattern": pattern, "status": status.upper(), "delay": delay}
    _show_rules(run_with_client(ctx, lambda c: c.request("POST", "/api/receipts", body)))


@receipts.command("clear")
@click.pass_context
def clear_rules(ctx: click.Context) -> None:
    """Remove every rule (back to DELIVRD at once)."""
    _show_rules(run_with_client(ctx, lambda c: c.request("DELETE", "/api/receipts")))
