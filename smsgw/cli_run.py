"""``smsgw run`` and ``smsgw demo``: the long-running commands."""

from __future__ import annotations

import asyncio
import signal

import click

from .config import Config

__all__ = ["demo_command", "run_gateway"]


def run_gateway(config: Config, *, before_serving: str | None = None) -> None:
    """Bind and serve until SIGTERM/SIGINT; return after a clean shutdown."""
    from .bootstrap import build
    from .gateway.runtime import Gateway
    from .logs import aiosmpplib_handler, configure_logging

    configure_logging(config.logging.format, config.logging.level)

    async def main() -> None:
        app = await build(config, live=True)
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
