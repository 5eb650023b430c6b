"""The simulator's logging: structlog, in the gateway's format, so one stream reads as one.

JSON lines (`timestamp`, `level`, `logger`, `event` and the event's keys) when the output
is not a terminal or `--log-format json`; structlog's console renderer on a terminal or
with `--log-format console`. The stdlib loggers (aiohttp, asyncio, the session's) go
through the same renderer. The simulator never imports the gateway (`smsgw.logs`): this
mirrors its setup. Its events name bind ids, peers and MO ids, never a phone number or a
message text.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import Processor

__all__ = ["FORMATS", "LEVELS", "configure_logging"]

FORMATS = ("auto", "json", "console")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_QUIET = ("aiohttp.access", "asyncio")


class _SimulatorHandler(logging.StreamHandler[TextIO]):
    """The root handler we install (found again and replaced on reconfiguration)."""


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def configure_logging(fmt: str = "auto", level: str = "info", *, stream: TextIO | None = None) -> None:
    """structlog and the stdlib root logger, writing to `stream` (stderr)."""
    if fmt not in FORMATS or level not in LEVELS:
        raise ValueError(f"bad logging configuration: format={fmt!r} level={level!r}")
    out = stream if stream is not None else sys.stderr
    tty = _isatty(out)
    json_lines = fmt == "json" or (fmt == "auto" and not tty)
    chain: list[Processor] = [  # the simulator never logs a stack: no StackInfoRenderer
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]
    if json_lines:
        chain.append(structlog.processors.format_exc_info)
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=tty)
    )
    handler = _SimulatorHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=chain,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SimulatorHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(LEVELS[level], logging.WARNING))
    structlog.configure(
        processors=[*chain, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        cache_logger_on_first_use=False,
    )
