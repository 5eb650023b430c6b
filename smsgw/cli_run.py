"""``smsgw run`` and ``smsgw demo``: the long-running commands."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from importlib import resources
from pathlib import Path

import click

from .config import Config

__all__ = ["demo_command", "run_gateway"]


def run_gateway(config: Config, *, before_serving: str | None = None, demo: bool = False) -> None:
    """Bind and serve until SIGTERM/SIGINT; return after a clean shutdown."""
    from .bootstrap import build
    from .gateway.runtime import Gateway
    from .logs import aiosmpplib_handler, configure_logging

    configure_logging(config.logging.format, config.logging.level)
    if not demo:  # the demo's key sits beside its config and database on purpose
        _warn_about_key_placement(config)

    async def main() -> None:
        app = await build(config, worker=config.database.writer == "process", require_key=True)
        try:
            gateway = Gateway(app, log_handler=aiosmpplib_handler())
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            if before_serving:
                click.echo(before_serving, err=True)
            await gateway.serve(stop)
        finally:
            await app.close()

    asyncio.run(main())


def _warn_about_key_placement(config: Config) -> None:
    """A key file beside the SQLite database ends up in the same backups: say so at start."""
    from sqlalchemy import make_url

    from .logs import get_logger
    from .sealing import key_file_path

    if not config.security.key_file or not config.database.url.startswith("sqlite"):
        return
    key = key_file_path(config.security.key_file, config.path)
    database = Path(make_url(config.database.url).database or "").resolve()
    if key.parent == database.parent:
        get_logger("smsgw.security").warning(
            "key_file_beside_database", key_file=str(key), hint="move it out of the database's folder and backups"
        )


def _with_demo_key(config: Config) -> Config:
    """The demo's config; with no key configured, one in ``smsgw-demo.key`` beside the config (made if absent)."""
    from .keys import new_key_file
    from .sealing import key_file_path

    if config.security.key_file or config.security.secret_key:
        return config
    path = key_file_path("smsgw-demo.key", config.path)
    if not path.exists():
        new_key_file(path)
        click.echo(f"smsgw demo: made a sealing key for the demo in {path}", err=True)
    security = config.security.model_copy(update={"key_file": str(path)})
    return config.model_copy(update={"security": security})


def _wait_for_simulator(url: str, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"the simulator exited with status {process.returncode} (see its output above)")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        time.sleep(0.2)
    raise click.ClickException(f"the simulator did not answer at {url} within {timeout:.0f} s")


def demo_command(config: Config, config_path: str) -> None:
    """Start smsc-sim, load the demo subscribers, and run the gateway against the simulator."""
    from .importer import read_subscribers_file
    from .subscriber_import import import_subscribers

    config = _with_demo_key(config)
    sim = config.simulator
    host, http_port = sim.get("host", "127.0.0.1"), sim.get("http_port", 8775)
    if not str(config.database.url).startswith("sqlite"):
        click.echo("smsgw demo: note: using the configured database, not the embedded one", err=True)
    simulator = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--config", config_path, "serve"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_for_simulator(f"http://{host}:{http_port}/api/health", simulator)
        from .bootstrap import build

        data = resources.files("smsgw.data").joinpath("demo_subscribers.csv").read_bytes()
        report = read_subscribers_file(data)

        async def load() -> int:
            app = await build(config)
            try:
                return await import_subscribers(app, report.subscribers)
            finally:
                await app.close()

        count = asyncio.run(load())
        here = Path.cwd()
        sim_cmd = ".venv/bin/smsc-sim" if (here / ".venv" / "bin" / "smsc-sim").exists() else "smsc-sim"
        banner = (
            f"\nsmsgw demo: the SMSC simulator listens on {sim.get('host', '127.0.0.1')}:{sim.get('port', 2775)} "
            f"(control API on port {http_port}); {count} demo subscribers loaded.\n"
            "Play a subscriber from another terminal in this folder:\n"
            f"  {sim_cmd} send 37120000001 1643 'V 29000001 5'\n"
            f"  {sim_cmd} send 37120000002 1643 'M 29000002 4.13'   then   {sim_cmd} send 37120000002 1643 JA\n"
            f"  {sim_cmd} send 37120000001 1643 HELP\n"
            f"  {sim_cmd} send 37120000002 1640 P\n"
            f"  {sim_cmd} play simulator/scripts/sos_one_off.txt      (scripted conversations)\n"
            "Ctrl-C stops the gateway and the simulator.\n"
        )
        run_gateway(config, before_serving=banner, demo=True)
    finally:
        simulator.terminate()
        try:
            simulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            simulator.kill()
