"""``smsgw key new`` and ``smsgw key rotate``: the sealing key, made and rotated on purpose.

Nothing else makes a key (``smsgw demo`` excepted, beside its own config): a
gateway without one refuses to start. See docs/operations.md, "The sealing key".
"""

from __future__ import annotations

from pathlib import Path

import click

from .audit import audited
from .cli import Failure, _config, _fail, _Group, _logged, main
from .keys import new_key, new_key_file, rotate_key_file
from .sealing import key_file_path

__all__ = ["key"]


def _log_to_stderr(ctx: click.Context) -> None:
    """Logging (the audit line) on stderr, as configured, or with the defaults when there is no config."""
    try:
        _logged(ctx)
    except Failure:  # --file and --print work without a config file
        from .logs import configure_logging, reset_logging

        root = ctx.find_root()
        if not root.obj.get("logging"):
            configure_logging()
            root.obj["logging"] = True
            root.call_on_close(reset_logging)


def _configured_file(ctx: click.Context, given: Path | None) -> Path:
    if given is not None:
        return given.expanduser().resolve()
    config = _config(ctx)
    if not config.security.key_file:
        _fail("no [security] key_file is configured: give --file PATH, or --print a key for SMSGW_SECRET_KEY")
    return key_file_path(config.security.key_file, config.path)


@main.group(cls=_Group)
def key() -> None:
    """The key that seals password SMS while they wait in the outbox."""


@key.command("new")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), help="Write the new key here.")
@click.option("--print", "to_stdout", is_flag=True, help="Print a new key (for SMSGW_SECRET_KEY); write nothing.")
@click.pass_context
def key_new(ctx: click.Context, file: Path | None, to_stdout: bool) -> None:
    """Make a new key: a new key file (mode 0600, never overwriting one), or a key on stdout.

    Without options it writes the configured [security] key_file.
    """
    _log_to_stderr(ctx)
    if to_stdout:
        if file is not None:
            _fail("--print and --file exclude each other")
        with audited("key_new", target="stdout"):
            click.echo(new_key())
        return
    path = _configured_file(ctx, file)
    with audited("key_new", target=str(path)) as record:
        new_key_file(path)
        record["outcome"] = "written"
    click.echo(f"wrote a new key to {path} (mode 0600)")
    if file is not None:
        click.echo(f'use it with [security] key_file = "{path}"; keep it out of the database\'s folder and backups')


@key.command("rotate")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), help="The key file to rotate.")
@click.pass_context
def key_rotate(ctx: click.Context, file: Path | None) -> None:
    """Put a new key first in the key file; the old ones stay to open what they sealed.

    Restart the gateway afterwards. Remove an old key once no reply sealed with it
    can be waiting any more ([smpp] reply_validity after the restart).
    """
    _log_to_stderr(ctx)
    path = _configured_file(ctx, file)
    with audited("key_rotate", target=str(path)) as record:
        count = rotate_key_file(path)
        record.update(outcome="rotated", keys=count)
    click.echo(f"{path}: a new key seals from now on; {count - 1} older key(s) kept to open what they sealed")
    click.echo("restart the gateway (every instance sharing the database) to use it")
