"""The ``smsgw`` command line (SPEC §9). Every error is one line on stderr and a non-zero exit.

Exit codes: 0 success; 1 a negative answer (``password check``) or an internal
error; 2 bad usage, bad input or bad configuration.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from .audit import audited
from .config import RUN_NEEDS, Config, ConfigError, load_config
from .sealing import SealingError

__all__ = ["main"]

T = TypeVar("T")


class Failure(Exception):
    """A user-facing error: printed as one line, exit status ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _fail(message: str, code: int = 2) -> NoReturn:
    raise Failure(message, code)


def _config(ctx: click.Context, *, needs: tuple[tuple[str, str], ...] = ()) -> Config:
    """The configuration; *needs*: keys this command cannot do without (all problems listed, exit 2)."""
    obj = ctx.find_root().obj
    if obj.get("config") is None:
        try:
            obj["config"] = load_config(obj["config_path"], needs=needs, needed_by=f"smsgw {ctx.info_name}")
        except ConfigError as exc:
            _fail(str(exc))
    return obj["config"]  # type: ignore[no-any-return]


def _logged(ctx: click.Context) -> Config:
    """The config, with logging set up on stderr for this command (audit lines, warnings)."""
    config = _config(ctx)
    root = ctx.find_root()
    if not root.obj.get("logging"):
        from .logs import configure_logging, reset_logging

        configure_logging(config.logging.format, config.logging.level)
        root.obj["logging"] = True
        root.call_on_close(reset_logging)
    return config


def _run(ctx: click.Context, work: Callable[[Any], Awaitable[T]], *, migrate: bool | None = None) -> T:
    """Build the app from the config, run ``work(app)``, close the app."""
    from .bootstrap import build

    config = _logged(ctx)

    async def main() -> T:
        app = await build(config, migrate=migrate)
        try:
            return await work(app)
        finally:
            await app.close()

    return asyncio.run(main())


def _say(message: str) -> None:
    """Each line of *message* on stderr, prefixed ``smsgw: ``."""
    for line in message.splitlines() or [""]:
        click.echo(f"smsgw: {line}", err=True)


class _Group(click.Group):
    """Turns every exception into one line on stderr: no traceback reaches the user."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """A usage error is one line (``smsgw: …``, exit 2), as the README promises, not click's three."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "smsgw"
            _say(f"{exc.format_message()} (see '{command} --help')")
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            _say(exc.format_message())
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            _say("interrupted")
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)  # ctx.exit(n) comes back here as n

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Failure as exc:
            _say(str(exc))
            ctx.exit(exc.code)
        except SealingError as exc:  # no key, or a broken one: a configuration problem
            click.echo(f"smsgw: {exc}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            _say("interrupted")
            ctx.exit(130)
        except Exception as exc:
            _say(_describe(exc))
            ctx.exit(1)


def _describe(exc: BaseException) -> str:
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, OperationalError | DBAPIError):
        detail = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
        return f"database error: {detail}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename or ''}".rstrip(": ")
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"internal error: {type(exc).__name__}{': ' + text if text else ''}"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    default="config.toml",
    show_default=True,
    metavar="PATH",
    help="The configuration file.",
)
@click.version_option(package_name="smsgw", prog_name="smsgw")
@click.pass_context
def main(ctx: click.Context, config_path: str) -> None:
    """smsgw: the SMS command gateway for My LMT password (1640) and SOS-SMS (1643)."""
    ctx.obj = {"config_path": config_path, "config": None}


# --- run / demo -----------------------------------------------------------------------


@main.command("run")
@click.option("--demo", is_flag=True, hidden=True, help="Run as part of smsgw demo (its own credentials and key).")
@click.pass_context
def run(ctx: click.Context, demo: bool) -> None:
    """Run the gateway: bind to [smpp] and serve until SIGTERM/SIGINT, then shut down cleanly.

    It refuses to start without a sealing key ([security] key_file or SMSGW_SECRET_KEY).
    """
    from .bootstrap import sealer_from
    from .cli_run import run_gateway

    config = _config(ctx, needs=RUN_NEEDS)
    sealer_from(config, required=True)  # fail closed, before anything starts
    run_gateway(config, demo=demo)


@main.command("demo")
@click.option("--reset", is_flag=True, help="Delete the demo's SQLite database first: start from fresh demo data.")
@click.pass_context
def demo(ctx: click.Context, reset: bool) -> None:
    """A first look: start the SMSC simulator and the gateway together, with demo subscribers.

    The testers' page is on the simulator's HTTP port. A port already in use stops the
    demo before anything starts; Ctrl-C ends the gateway and the simulator.
    """
    from .cli_run import demo_command
    from .demo import DemoError

    try:
        demo_command(_config(ctx, needs=RUN_NEEDS), ctx.find_root().obj["config_path"], reset=reset)
    except DemoError as exc:
        click.echo(f"smsgw demo: {exc}", err=True)
        ctx.exit(2)


# --- db ---------------------------------------------------------------------------


@main.group(cls=_Group)
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply every pending migration (also done when the gateway starts)."""
    from .db.migrate import upgrade

    config = _config(ctx)
    revision = asyncio.run(upgrade(config.database.url))
    click.echo(f"database at revision {revision}")


# --- subscribers ------------------------------------------------------------------


@main.group(cls=_Group)
def subscribers() -> None:
    """The subscriber directory."""


@subscribers.command("import")
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def subscribers_import(ctx: click.Context, csv_file: Path) -> None:
    """Upsert subscribers from a CSV file; any bad row and nothing is imported.

    Header: msisdn,kind,status,customer_type,sos_sms_allowed,language,email,karte_expires_on,balance
    """
    _logged(ctx)
    with audited("subscribers_import", file=str(csv_file)) as record:
        count = _import_subscribers(ctx, csv_file, record)
        record.update(outcome="imported", imported=count)
    click.echo(f"imported {count} subscriber(s)")


def _import_subscribers(ctx: click.Context, csv_file: Path, record: dict[str, Any]) -> int:
    from .importer import read_subscribers_file
    from .subscriber_import import import_subscribers

    try:
        data = sys.stdin.buffer.read() if str(csv_file) == "-" else csv_file.read_bytes()
    except FileNotFoundError:
        _fail(f"{csv_file}: file not found")
    except OSError as exc:
        _fail(f"{csv_file}: cannot read: {exc.strerror}")
    big = data.count(b"\n") > 20_000

    def validated(rows: int) -> None:
        click.echo(f"smsgw: checked {rows:,} rows…", err=True)

    def written(done: int, total: int) -> None:
        if big:
            click.echo(f"smsgw: written {done:,}/{total:,} ({done * 100 // total} %)", err=True)

    report = read_subscribers_file(data, progress=validated if big else None)
    for warning in report.warnings:
        click.echo(f"smsgw: {csv_file}: {warning}", err=True)
    if report.error_count:
        for error in report.errors:
            click.echo(f"{csv_file}: {error}", err=True)
        more = report.error_count - len(report.errors)
        if more > 0:
            click.echo(f"{csv_file}: … and {more} more bad rows", err=True)
        record.update(outcome="rejected", bad_rows=report.error_count, imported=0)
        _fail(f"{csv_file}: {report.error_count} bad row(s); nothing imported")
    if big:
        click.echo(f"smsgw: all {len(report.subscribers):,} rows are valid; writing them in one transaction", err=True)
    return _run(ctx, lambda app: import_subscribers(app, report.subscribers, progress=written))


# --- billing ----------------------------------------------------------------------


def _month(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise click.BadParameter(f"expected YYYY-MM, e.g. 2026-11 (got {value!r})")
    return int(match.group(1)), int(match.group(2))


def _date(_ctx: click.Context, _param: click.Parameter, value: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"expected a date YYYY-MM-DD, e.g. 2026-11-30 (got {value!r})") from None


@main.group(cls=_Group)
def billing() -> None:
    """Invoice charges."""


@billing.command("export")
@click.option("--month", required=True, callback=_month, metavar="YYYY-MM", help="Riga calendar month.")
@click.pass_context
def billing_export(ctx: click.Context, month: tuple[int, int]) -> None:
    """Write the month's charges as CSV on stdout: charged_at,sender,karte,amount,kind."""
    from .billing import csv_lines, month_range
    from .db.ledger import charges_in

    async def work(app: Any) -> None:
        start, end = month_range(*month, app.service.rules.tz)
        rows = await app.db.read(lambda uow: charges_in(uow.sql, start, end))
        for chunk in csv_lines(rows, app.service.rules.tz):
            sys.stdout.write(chunk)
        sys.stdout.flush()

    _run(ctx, work)


# --- monthly ----------------------------------------------------------------------


@main.group(cls=_Group)
def monthly() -> None:
    """Monthly top-ups."""


@monthly.command("run")
@click.option("--date", "run_date", required=True, callback=_date, metavar="YYYY-MM-DD")
@click.pass_context
def monthly_run(ctx: click.Context, run_date: date) -> None:
    """Execute the monthly top-ups due on DATE (a no-op unless it is a month's last day, or if they ran)."""
    from handlers.rules import is_last_day_of_month

    _logged(ctx)
    with audited("monthly_run", date=run_date.isoformat()) as record:
        if not is_last_day_of_month(run_date):
            record["outcome"] = "not_last_day"
            click.echo(f"{run_date.isoformat()} is not the last day of its month: nothing to do")
            return
        counts = _run(ctx, lambda app: app.service.run_monthly(run_date))
        record.update(outcome="ran" if counts else "nothing_due", orders=sum(counts.values()), counts=counts)
    if not counts:
        click.echo(f"no monthly top-ups due on {run_date.isoformat()}")
        return
    for outcome, count in sorted(counts.items()):
        click.echo(f"{outcome}: {count}")


# --- password -----------------------------------------------------------------------


@main.group(cls=_Group)
def password() -> None:
    """My LMT temporary passwords."""


@password.command("check")
@click.argument("msisdn")
@click.pass_context
def password_check(ctx: click.Context, msisdn: str) -> None:
    """Read a password on stdin; exit 0 and consume it if it is MSISDN's valid temporary password, else 1."""
    secret = sys.stdin.readline().rstrip("\r\n")
    _logged(ctx)
    with audited("password_check", msisdn=msisdn) as record:
        ok = _run(ctx, lambda app: app.service.check_password(msisdn, secret))
        record["outcome"] = "valid" if ok else "invalid"
    if ok:
        click.echo("valid: the temporary password is now used")
        return
    click.echo("invalid", err=True)
    ctx.exit(1)


# --- mo -------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


@main.command("mo")
@click.argument("source", metavar="FROM")
@click.argument("destination", metavar="TO")
@click.argument("text", metavar="TEXT")
@click.pass_context
def mo(ctx: click.Context, source: str, destination: str, text: str) -> None:
    """Process one MO without an SMSC and print the replies it queued: to<TAB>from<TAB>text."""
    from .service import InboundMo

    async def work(app: Any) -> Any:
        now = datetime.now(UTC)
        return await app.service.handle_mo(
            InboundMo(source.strip(), destination.strip(), text, now), recognise_redelivery=False
        )

    _logged(ctx)
    with audited("mo", msisdn=source.strip(), short_code=destination.strip()) as record:
        result = _run(ctx, work)
        record.update(outcome=result.outcome, command=result.command, replies=len(result.replies), mo_id=result.mo_id)
    for reply in result.replies:
        click.echo(f"{reply.to}\t{result.source}\t{_escape(reply.text)}")


# --- trace ------------------------------------------------------------------------------


@main.command("trace")
@click.argument("msisdn")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="MOs and replies shown.")
@click.pass_context
def trace(ctx: click.Context, msisdn: str, limit: int) -> None:
    """For support: MSISDN's log key, recent MOs with their outcomes, and replies with their delivery states."""
    from .trace import TraceError, trace_lines

    try:
        lines = trace_lines(_config(ctx), msisdn, limit=limit)
    except TraceError as exc:
        _fail(str(exc))
    for line in lines:
        click.echo(line)


from . import cli_keys as _cli_keys  # noqa: E402  (registers ``smsgw key``)

del _cli_keys
