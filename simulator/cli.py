"""`smsc-sim`: run the SMSC simulator and drive it (inject MOs, read replies, play scripts).

Every command takes `--config PATH` (default config.toml) before its name and reads the
`[simulator]` table; the driving commands talk to a running `smsc-sim serve` over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

import click
from click.core import ParameterSource

from .cli_faults import fault, receipts
from .cli_support import Settings, fail, run_with_client, settings
from .client import JSON, Client, collect_mts, mt_line
from .config import ConfigError, parse_config
from .inject import ENCODINGS, SPLITS
from .logs import FORMATS, LEVELS, configure_logging
from .script import ScriptError, load_script, run_script
from .script_report import step_lines, verdict_line

EXIT_NOT_DELIVERED = 1  # send: the MO did not reach the gateway (queued, unacknowledged or failed)
EXIT_NO_REPLY = 4  # send: the gateway acknowledged the MO but sent no reply in time

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    default="config.toml",
    show_default=True,
    metavar="PATH",
    help="TOML file whose [simulator] table configures the simulator.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str) -> None:
    """SMSC simulator: an SMPP 3.4 server that testers drive to play subscribers."""
    explicit = ctx.get_parameter_source("config_path") is not ParameterSource.DEFAULT
    ctx.obj = Settings(config_path, explicit)


@cli.command()
@click.option("--port", type=int, help="SMPP port (overrides the config; 0 = any free port).")
@click.option("--http-port", type=int, help="Control API and page port (overrides the config).")
@click.option("--record-file", help="JSON-lines PDU recording, written 0600 ('' = off, the default).")
@click.option("--phonebook", metavar="CSV", help="Subscribers CSV whose numbers the page suggests.")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(list(LEVELS)))
@click.option(
    "--log-format",
    default="auto",
    show_default=True,
    type=click.Choice(FORMATS),
    help="JSON lines, or the console view (auto: console on a terminal).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    port: int | None,
    http_port: int | None,
    record_file: str | None,
    phonebook: str | None,
    log_level: str,
    log_format: str,
) -> None:
    """Run the simulator until SIGINT/SIGTERM; the testers' page is at http://HTTP_HOST:HTTP_PORT/."""
    config = settings(ctx).config()
    overrides = {"port": port, "http_port": http_port, "record_file": record_file, "phonebook": phonebook}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        try:
            config = parse_config({**config.model_dump(), **overrides}, "command line")
        except ConfigError as err:
            fail(str(err), 2)
    configure_logging(log_format, log_level)
    from .server import run_server

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with run_server(config) as sim:
            await sim.main_loop(stop)

    try:
        asyncio.run(go())
    except OSError as err:
        fail(f"cannot start: {err}")
    except KeyboardInterrupt:  # before the signal handlers were in place
        sys.exit(130)


@cli.command()
@click.pass_context
def page(ctx: click.Context) -> None:
    """Print the address of the testers' page (with the token in its #fragment, when one is set).

    The fragment never leaves the browser: the page keeps the token in the tab's
    sessionStorage and sends it only to this simulator.
    """
    config = settings(ctx).config()
    url = settings(ctx).url + "/"
    click.echo(f"{url}#token={config.token}" if config.token else url)


@cli.command()
@click.argument("source", metavar="FROM")
@click.argument("destination", metavar="TO")
@click.argument("text")
@click.option(
    "--wait", default=10.0, show_default=True, type=click.FloatRange(0, 300), help="Seconds to wait for replies."
)
@click.option("--encoding", default="auto", show_default=True, type=click.Choice(ENCODINGS))
@click.option("--split", default="udh8", show_default=True, type=click.Choice(SPLITS), help="How a long text is split.")
@click.pass_context
def send(
    ctx: click.Context,
    source: str,
    destination: str,
    text: str,
    wait: float,
    encoding: str,
    split: str,
) -> None:
    """Inject an MO from FROM to TO and print the MTs that come back from TO.

    One line per MT: to<TAB>from<TAB>text (a newline in text written as \\n). Returns
    once a reply came and no further one for 1 s, or after --wait.

    \b
    Exit status:
      0  replies came
      1  no reply, and the MO did not reach the gateway (queued with no receiver
         bound, sent but not acknowledged, or failed)
      4  no reply, although the gateway acknowledged the MO (deliver_sm_resp OK):
         it chose not to answer, or answered later than --wait
      2  bad usage or config; 3 the simulator cannot be reached
    """

    async def go(client: Client) -> tuple[JSON, list[JSON]]:
        mo = await client.inject_mo(source, destination, text, encoding, split)
        replies = await collect_mts(client, int(mo["cursor"]), wait=wait, source=destination)
        if not replies:
            mo = {**mo, **await client.request("GET", f"/api/mo/{mo['id']}")}
        return mo, replies

    mo, replies = run_with_client(ctx, go)
    for mt in replies:
        click.echo(mt_line(mt))
    if replies:
        return
    state = mo.get("state")
    if state == "delivered":
        fail(
            f"the MO was delivered and acknowledged by the gateway, but no reply came from {destination} "
            f"within {wait:g} s",
            EXIT_NO_REPLY,
        )
    if state == "failed":
        why = f"the MO failed: the gateway did not acknowledge it after {mo.get('attempts')} attempts"
    elif state == "sent":
        why = "the MO was sent to the gateway but not acknowledged yet"
    elif not mo.get("receivers"):
        why = "no receiver is bound: the MO is queued"
    else:
        why = "the MO is still queued"
    fail(f"no reply from {destination} within {wait:g} s ({why})", EXIT_NOT_DELIVERED)


@cli.command()
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
@click.pass_context
def traffic(ctx: click.Context, number: str, as_json: bool) -> None:
    """List the recorded MOs and MTs from or to NUMBER."""
    data = run_with_client(ctx, lambda c: c.request("GET", f"/api/traffic/{number}"))
    if as_json:
        click.echo(_dumps(data))
        return
    for r in data["traffic"]:
        if r["kind"] == "mo":
            state = f"{r['state']} ({r['attempts']} sent)"
        else:
            receipts = ",".join(sorted(set(r["receipts"].values()))) or "-"
            state = f"{r['status']} receipt:{receipts}"
        parts = f" [{r['parts']} parts]" if r["parts"] > 1 else ""
        text = mt_line(r).split("\t", 2)[2]
        click.echo(
            f"{r['time']}  {r['kind'].upper()}  {r['source']} -> {r['destination']}  {r['id']}  {state}{parts}  {text}"
        )
    if not data["traffic"]:
        click.echo(f"no traffic recorded for {number}", err=True)


@cli.command()
@click.pass_context
def binds(ctx: click.Context) -> None:
    """List the SMPP connections and their state."""
    data = run_with_client(ctx, lambda c: c.request("GET", "/api/binds"))
    for b in data["binds"]:
        click.echo(
            f"{b['id']:>4}  {b['peer']:<21} {b['state']:<10} {b['system_id'] or '-':<15} "
            f"submits:{b['submits']} delivers:{b['delivers']} "
            f"outstanding:{b['outstanding_delivers']}"
        )
    if not data["binds"]:
        click.echo("no connections", err=True)


@cli.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Counters, queue and faults as JSON."""
    click.echo(_dumps(run_with_client(ctx, lambda c: c.request("GET", "/api/status"))))


@cli.command()
@click.argument("scripts", metavar="SCRIPT...", nargs=-1, required=True)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds to wait for the MTs expected after each MO.",
)
@click.option(
    "--silence",
    "--quiet",
    "silence",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0, 600),
    help="Seconds of silence that prove a '<!' line (--quiet is its old name).",
)
@click.option("-q", "--brief", is_flag=True, help="Only OK/FAILED per expectation (the texts of failed steps).")
@click.pass_context
def play(ctx: click.Context, scripts: tuple[str, ...], timeout: float, silence: float, brief: bool) -> None:
    """Play scripted conversations; exit 0 if every expectation was met, else 1.

    Each step is printed with the MO's text, each expectation with the text of the MT
    that met it, and, for a failure, what was expected against what came.

    \b
    A script is a UTF-8 text file of lines:
      # comment
      > FROM TO TEXT...   send an MO (\\n in TEXT is a newline)
      < TO FROM REGEX     expect an MT whose text matches (re.search, ignoring case)
      <! TO FROM          expect no (further) MT to TO from FROM
      wait SECONDS        pause
    After each '>', its '<' lines must all be matched within --timeout.
    """
    try:
        loaded = [load_script(path) for path in scripts]
    except ScriptError as err:
        fail(str(err), 2)

    def show(step: Any) -> None:
        for line in step_lines(step, brief=brief):
            click.echo(line)

    async def go(client: Client) -> bool:
        results = []
        for script in loaded:
            click.echo(script.name)
            report = await run_script(client, script, within=timeout, quiet=silence, on_step=show)
            click.echo(verdict_line(report))
            results.append(report.ok)
        return all(results)

    if not run_with_client(ctx, go):
        sys.exit(1)


cli.add_command(fault)
cli.add_command(receipts)


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False)


def main() -> None:
    """Console entry point: never a traceback (set SMSC_SIM_DEBUG=1 to see one)."""
    try:
        cli(prog_name="smsc-sim")
    except Exception as err:
        if os.environ.get("SMSC_SIM_DEBUG"):
            raise
        fail(f"internal error: {type(err).__name__}: {err}", 70)
