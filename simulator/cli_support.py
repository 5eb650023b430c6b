"""What every `smsc-sim` command shares: the config, the API client, one-line errors."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import click

from .client import ApiError, Client, Unreachable
from .config import ConfigError, SimulatorConfig, load_config
from .guard import host_name

__all__ = ["Settings", "fail", "run_with_client", "settings"]

T = TypeVar("T")


@dataclass(slots=True)
class Settings:
    config_path: str
    explicit: bool
    _config: SimulatorConfig | None = None

    def config(self) -> SimulatorConfig:
        """The validated `[simulator]` section (exit 2 with one line if it is wrong)."""
        if self._config is None:
            try:
                self._config, note = load_config(self.config_path, explicit=self.explicit)
            except ConfigError as err:
                click.echo(str(err), err=True)
                sys.exit(2)
            if note:
                click.echo(f"smsc-sim: {note}", err=True)
        return self._config

    @property
    def url(self) -> str:
        config = self.config()
        host = config.http_host if config.http_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host_name(host)}:{config.http_port}"


def settings(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj
    assert isinstance(obj, Settings)
    return obj


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"smsc-sim: {message}", err=True)
    sys.exit(code)


def run_with_client(ctx: click.Context, action: Callable[[Client], Awaitable[T]]) -> T:
    """Run `action` with an API client; unreachable or refused → one line, exit 3 / 1."""
    url = settings(ctx).url

    token = settings(ctx).config().token

    async def go() -> T:
        async with Client(url, token) as client:
            return await action(client)

    try:
        return asyncio.run(go())
    except Unreachable as err:
        fail(str(err), 3)
    except ApiError as err:
        fail(str(err), 1)
