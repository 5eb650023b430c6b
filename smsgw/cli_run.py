"""``smsgw run`` and ``smsgw demo``: the long-running commands."""

from __future__ import annotations

import asyncio
import signal

import click

from .config import Config
from .log_context import log_keys, set_log_key
from .ops.startup_checks import startup_warnings

__all__ = ["demo_command", "run_gateway", "use_log_key"]


def use_log_key(config: Config) -> None:
    """Log lines about an MO carry the subscriber pseudonym under the current ``[security]`` key."""
    keys = log_keys(config.security)
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

    async def main() -> None:
        app = await build(config, live=True)
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
        finally:
            await app.close()

    asyncio.run(main())


def demo_command(config: Config, config_path: str, *, reset: bool = False) -> None:
    """Start smsc-sim, load the demo subscribers, and run the gateway against the simulator (``demo.py``)."""
    from .demo import run_demo

    if not str(config.database.url).startswith("sqlite"):
        click.echo("smsgw demo: note: using the configured database, not the embedded one", err=True)
    run_demo(config, config_path, reset=reset, banner=lambda text: click.echo(text, err=True))
