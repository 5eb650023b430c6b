"""``smsgw run`` and ``smsgw demo``: the long-running commands."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from .config import Config
from .log_context import log_keys, set_log_key
from .ops.startup_checks import startup_warnings

__all__ = ["demo_command", "run_gateway", "use_log_key"]


def use_log_key(config: Config) -> None:
    """Log lines about an MO carry the subscriber pseudonym under the current ``[security]`` key."""
    keys = log_keys(config.security, config.path)
    set_log_key(keys[0] if keys else None)


def run_gateway(config: Config, *, before_serving: str | None = None, demo: bool = False) -> None:
    """Bind and serve until SIGTERM/SIGINT; return after a clean shutdown (*demo*: against our own simulator)."""
    from .bootstrap import build
    from .gateway.runtime import Gateway
    from .logs import aiosmpplib_handler, configure_logging, get_logger

    configure_logging(config.logging.format, config.logging.level, libraries=config.logging.libraries)
    log = get_logger("smsgw.run")
    for warning in startup_warnings(config, demo=demo):
        log.warning(warning.event, hint=warning.hint)
    if not demo:  # the demo's key sits beside its config and database on purpose
        _warn_about_key_placement(config)

    async def main() -> bool:
        app = await build(config, live=True, require_key=True)
        use_log_key(config)
        try:
            gateway = Gateway(app, log_handler=aiosmpplib_handler())
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            if before_serving:
                click.echo(before_serving, err=True)
            await gateway.serve(stop)
            return gateway.failed
        finally:
            await app.close()

    if asyncio.run(main()):
        raise SystemExit(1)


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
    """The demo's config with a key: the configured key file, else ``smsgw-demo.key`` beside the config;
    made if absent (a demo may make its own key; ``smsgw run`` never does)."""
    from .keys import new_key_file
    from .sealing import key_file_path

    if config.security.secret_key:
        return config
    path = key_file_path(config.security.key_file or "smsgw-demo.key", config.path)
    if config.security.key_file and path.exists():
        return config
    if not path.exists():
        new_key_file(path)
        click.echo(f"smsgw demo: made a sealing key for the demo in {path}", err=True)
    security = config.security.model_copy(update={"key_file": str(path)})
    return config.model_copy(update={"security": security})


def demo_command(config: Config, config_path: str, *, reset: bool = False) -> None:
    """Start smsc-sim, load the demo subscribers, and run the gateway against the simulator (``demo.py``)."""
    from .demo import check_ports, run_demo

    check_ports(config)  # a port in use stops the demo before anything, the key included, is made
    config = _with_demo_key(config)

    if not str(config.database.url).startswith("sqlite"):
        click.echo("smsgw demo: note: using the configured database, not the embedded one", err=True)
    run_demo(config, config_path, reset=reset, banner=lambda text: click.echo(text, err=True))
