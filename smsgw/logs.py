"""Logging setup: structlog for our code, the stdlib and aiosmpplib, one line per event, nothing personal.

One stream, one format (JSON lines, or a console view on a terminal): structlog renders
our events and writes them under the lock of the handler it puts on the stdlib root
logger, whose ``ProcessorFormatter`` renders the stdlib's records (SQLAlchemy,
asyncio, aiohttp, alembic) the same way. Every line passes `mask_msisdns`
(``smsgw.log_fields``): phone numbers and e-mail addresses are masked
(``smsgw.log_masking``), secrets redacted, SMS texts cut or redacted.

Libraries speak only when something is wrong: their stdlib loggers stay at warning
(or above our level) whatever our level is, unless ``[logging] libraries = true``
asks for them — only then do aiosqlite's and SQLAlchemy's statement logs appear.
aiosmpplib logs through the bridge of ``smsgw.log_bridge``, which demotes its
duplicates of our own events to debug.

This module re-exports the logging API of the gateway: `configure_logging`,
`get_logger`, `bind_mo` / `clear_mo` (``smsgw.log_context``), `mask_text`, and the
aiosmpplib bridge.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from typing import Any, TextIO, cast

import structlog
from structlog.typing import ExcInfo, FilteringBoundLogger, Processor

from .log_bridge import AiosmpplibBridge, aiosmpplib_handler
from .log_context import bind_mo, clear_mo, set_log_key, subscriber_fields, subscriber_key
from .log_fields import REDACTED, TEXT_LIMIT, mask_msisdns
from .log_masking import mask_msisdn, mask_text

__all__ = [
    "LIBRARY_LOGGERS",
    "REDACTED",
    "TEXT_LIMIT",
    "AiosmpplibBridge",
    "aiosmpplib_handler",
    "bind_mo",
    "clear_mo",
    "configure_logging",
    "get_logger",
    "log_failure",
    "mask_msisdn",
    "mask_msisdns",
    "mask_text",
    "reset_logging",
    "set_log_key",
    "subscriber_fields",
    "subscriber_key",
]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
#: The stdlib loggers of the libraries we know to be chatty: held at warning unless
#: ``[logging] libraries`` (statements with their parameters, every aiosqlite call, access lines).
LIBRARY_LOGGERS = ("sqlalchemy", "aiosqlite", "asyncpg", "alembic", "aiohttp", "asyncio", "aiosmtplib")
#: Our own stdlib loggers: they follow ``[logging] level``.
_OURS = ("smsgw", "handlers", "grammar", "simulator")


def _masked_traceback(sio: TextIO, exc_info: ExcInfo) -> None:
    """Console exception formatter: a plain traceback (no locals), masked."""
    sio.write("\n" + mask_text("".join(traceback.format_exception(*exc_info))))


# --- configuration -----------------------------------------------------------------


class _SmsgwHandler(logging.StreamHandler[TextIO]):
    """The root handler we install; a failure never prints the record (it may hold PII)."""

    def handleError(self, record: logging.LogRecord) -> None:
        _report_failure(f"a {record.levelname} record from {record.name}")


def _report_failure(what: str) -> None:
    try:
        if sys.__stderr__ is not None:
            sys.__stderr__.write(f"smsgw.logs: failed to write {what}\n")
    except Exception:  # nothing left to report to
        pass


class _Sink:
    """structlog's output: each rendered line is written under the stdlib handler's lock."""

    def __init__(self, handler: _SmsgwHandler, name: str) -> None:
        self._handler = handler
        self.name = name  # for add_logger_name

    def msg(self, message: str) -> None:
        handler = self._handler
        try:
            with handler.lock or contextlib.nullcontext():
                handler.stream.write(message + "\n")
                handler.stream.flush()
        except Exception:  # logging must not raise into the caller
            _report_failure("a structlog line")

    debug = info = warning = warn = error = err = critical = fatal = exception = failure = log = msg


class _SinkFactory:
    """structlog's logger factory: one `_Sink` per logger name."""

    def __init__(self, handler: _SmsgwHandler) -> None:
        self._handler = handler
        self._sinks: dict[str, _Sink] = {}

    def __call__(self, *args: Any) -> _Sink:
        name = str(args[0]) if args else ""
        sink = self._sinks.get(name)
        if sink is None:
            sink = self._sinks[name] = _Sink(self._handler, name)
        return sink


_saved_levels: dict[str, int] = {}


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


def _shared_chain(json_lines: bool) -> list[Processor]:
    chain: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.processors.StackInfoRenderer(),
    ]
    if json_lines:
        chain.append(structlog.processors.format_exc_info)  # before masking: tracebacks are masked too
    chain.append(mask_msisdns)
    return chain


def _renderer(json_lines: bool, colors: bool) -> Processor:
    if json_lines:
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=_masked_traceback)


def _set_level(name: str, level: int) -> None:
    logger = logging.getLogger(name)
    _saved_levels.setdefault(name, logger.level)
    logger.setLevel(level)


def _remove_our_handler() -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _SmsgwHandler)]:
        root.removeHandler(handler)


def configure_logging(
    fmt: str = "auto", level: str = "info", *, libraries: bool = False, stream: TextIO | None = None
) -> None:
    """Configure structlog and the stdlib root logger; calling it again replaces the previous setup.

    *libraries*: let the stdlib loggers of libraries (SQLAlchemy statements, aiosqlite
    calls, asyncio, aiohttp access lines) through at *level*; otherwise they and any
    other foreign logger say only warnings and errors.
    """
    numeric = _LEVELS.get(level.lower())
    if numeric is None or fmt not in ("auto", "json", "console"):
        raise ValueError(f"bad logging configuration: format={fmt!r} level={level!r}")
    out = stream if stream is not None else sys.stderr
    tty = _isatty(out)
    json_lines = fmt == "json" or (fmt == "auto" and not tty)
    chain = _shared_chain(json_lines)
    renderer = _renderer(json_lines, tty)

    handler = _SmsgwHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=chain,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    _remove_our_handler()
    logging.getLogger().addHandler(handler)
    foreign = numeric if libraries else max(numeric, logging.WARNING)
    _set_level("", foreign)
    for name in LIBRARY_LOGGERS:
        _set_level(name, foreign)
    for name in _OURS:
        _set_level(name, numeric)

    structlog.configure(  # our events skip the stdlib (LogRecords, caller lookup): a third cheaper
        processors=[*chain, renderer],
        logger_factory=_SinkFactory(handler),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=False,  # capture_logs() and reconfiguration keep working
    )


def reset_logging() -> None:
    """Undo `configure_logging`: our handler removed, logger levels restored, structlog defaults."""
    _remove_our_handler()
    for name, previous in _saved_levels.items():
        logging.getLogger(name).setLevel(previous)
    _saved_levels.clear()
    structlog.reset_defaults()


def get_logger(name: str) -> FilteringBoundLogger:
    """A structlog logger named *name* (shown as ``logger`` in each line)."""
    return cast(FilteringBoundLogger, structlog.get_logger(name))


def log_failure(logger: Any, event: str, error: BaseException, **fields: Any) -> None:
    """Log a failure caught in an ``except`` block.

    A lost database worker or link (``ConnectionError``) is an expected kind of
    failure: one line saying so. Anything else is a bug: with its traceback.
    """
    if isinstance(error, ConnectionError):
        logger.error(event, error=str(error) or type(error).__name__, **fields)
    else:
        logger.exception(event, **fields)
