"""Logging setup: structlog for our code, the stdlib and aiosmpplib, with MSISDNs masked.

One stream, one format (JSON lines, or a console view on a terminal): structlog renders
our events and writes them under the lock of the handler it puts on the stdlib root
logger, whose ``ProcessorFormatter`` renders SQLAlchemy, asyncio, aiohttp and alembic
records the same way.  Every line passes `mask_msisdns`: phone numbers are shortened to
``371291***56``, secrets are redacted and SMS texts are truncated, or redacted entirely
when the event says ``sensitive=True``.

aiosmpplib logs through its own ``StructuredLogger`` outside the ``logging`` tree;
`aiosmpplib_handler` returns the handler to pass as its ``log_handler``: it parses the
library's ``event >>> {json}`` records, drops message contents and PDUs, and re-emits
them through structlog.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import json
import logging
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any, TextIO, cast

import structlog
from structlog.typing import EventDict, ExcInfo, FilteringBoundLogger, Processor, WrappedLogger

__all__ = [
    "REDACTED",
    "AiosmpplibBridge",
    "aiosmpplib_handler",
    "bind_mo",
    "clear_mo",
    "configure_logging",
    "get_logger",
    "log_failure",
    "mask_msisdns",
    "mask_text",
    "reset_logging",
]

REDACTED = "[redacted]"
TEXT_LIMIT = 40

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_QUIET = ("sqlalchemy.engine", "alembic", "aiohttp.access")

# --- masking -----------------------------------------------------------------------

# Pass 1 (only when the text has a "+"): "+371 2912 3456", digits in space/hyphen groups.
_SPACED = re.compile(r"(?<![^\W_])\+[0-9]{1,4}(?:[ -][0-9]{1,8}){1,5}(?![^\W_])")
# Pass 2: every run of 8+ digits; _is_protected then looks at its neighbours in Python.
_RUN = re.compile(r"[0-9]{8,}")
_UUID = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
_MAX_PREFIX, _MAX_SUFFIX = 6, 4  # letters that may touch a number: "V29123456", "STOP29123456"
_CACHED_LEN, _CACHE_SIZE = 64, 4096
_masked_cache: dict[str, str] = {}

_SECRET_SUFFIXES = ("password", "passwd", "secret", "secret_key", "sealed")
_SENSITIVE_CONTENT = frozenset({"text", "short_message", "message", "password", "sealed", "body"})
_TRUNCATED = frozenset({"text", "short_message"})
_MSISDN_KEYS = frozenset({"msisdn", "sender", "recipient", "source_addr", "destination_addr", "phone"})
_NOT_MASKED = frozenset(  # rendered by us or structlog, or the SMSC's (often decimal) message ids
    {"timestamp", "level", "logger", "exc_info", "_record", "_from_structlog"}
    | {"message_id", "smsc_message_id", "receipted_message_id"}
)
# What a key means for its value; computed once per key name.
_PLAIN, _SKIP, _SECRET, _CONTENT_KEY, _TEXT, _MSISDN = range(6)
_key_kinds: dict[str, int] = {}
_SCALARS = (int, float, bool, type(None))


def _mask_digits(token: str, head: int, tail: int) -> str:
    """Keep the first *head* and last *tail* digits of *token*; separators stay."""
    total = sum(ch.isdigit() for ch in token)
    seen = 0
    out = []
    for ch in token:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen <= head or seen > total - tail else "*")
        else:
            out.append(ch)
    return "".join(out)


def _mask_digit_run(digits: str, plus: bool) -> str | None:
    """``29123456`` → ``29****56``; international forms keep 6 + 2 digits; None: no phone number.

    No more than six digits stay in a row, so masking a masked text changes nothing.
    """
    n = len(digits)
    if not plus and digits.startswith("00") and n >= 10:
        n -= 2  # "00" is the international prefix; it counts among the six digits shown
    if n == 8 and not plus and len(digits) == 8:
        return f"{digits[:2]}****{digits[-2:]}"
    if not 8 <= n <= 15:
        return None
    head = min(6, len(digits) - 5)  # always hide at least three digits
    return f"{digits[:head]}{'*' * (len(digits) - head - 2)}{digits[-2:]}"


def _glued(s: str, i: int, step: int, max_letters: int) -> bool:
    """Is the run edge at *i* part of a longer token (letters mixed with digits, a long word)?"""
    letters = 0
    while 0 <= i < len(s) and s[i].isalpha():
        letters += 1
        if letters > max_letters:
            return True
        i += step
    return 0 <= i < len(s) and s[i].isalnum()


def _is_protected(s: str, start: int, end: int) -> bool:
    """Digits that are no phone number: a decimal fraction, a UUID group, part of a hex id."""
    before = s[start - 1] if start else ""
    if before == "." and start >= 2 and s[start - 2].isdigit():
        return True
    if before == "-" or s[end : end + 1] == "-":
        if any(u.start() <= start and end <= u.end() for u in _UUID.finditer(s)):
            return True
    if before == "+":
        return False
    return _glued(s, start - 1, -1, _MAX_PREFIX) or _glued(s, end, 1, _MAX_SUFFIX)


def _mask_run(match: re.Match[str]) -> str:
    digits = match.group()
    s, start = match.string, match.start()
    if _is_protected(s, start, match.end()):
        return digits
    return _mask_digit_run(digits, plus=start > 0 and s[start - 1] == "+") or digits


def _mask_spaced(match: re.Match[str]) -> str:
    token = match.group()
    count = sum(ch.isdigit() for ch in token)
    return _mask_digits(token, min(6, count - 5), 2) if 8 <= count <= 15 else token


def mask_text(s: str) -> str:
    """Mask every phone number in *s*: ``37129123456`` → ``371291***56``, ``29123456`` → ``29****56``.

    A run of 8-15 digits (after an optional ``+`` or ``00``) is masked unless it is glued
    to a digit or to letters mixed with digits (a hex id), is a UUID group or the fraction
    of a decimal (``47.123456789``).  A few letters before or after do not protect it:
    ``V29123456 5`` is an SOS-SMS.  ``29123456.5`` is masked: no amount has 8 integer
    digits, a mistyped SMS may.
    """
    if len(s) < 8:
        return s
    known = _masked_cache.get(s)
    if known is not None:
        return known
    masked = _SPACED.sub(_mask_spaced, s) if "+" in s else s
    masked = _RUN.sub(_mask_run, masked)
    if len(s) <= _CACHED_LEN:  # event names, ids and numbers recur line after line
        if len(_masked_cache) >= _CACHE_SIZE:
            _masked_cache.clear()
        _masked_cache[s] = masked
    return masked


def _classify(key: str) -> int:
    if key in _NOT_MASKED:
        kind = _SKIP
    elif key.lower().endswith(_SECRET_SUFFIXES):
        kind = _SECRET
    elif key in _TRUNCATED:
        kind = _TEXT
    elif key in _SENSITIVE_CONTENT:
        kind = _CONTENT_KEY
    else:
        kind = _MSISDN if key in _MSISDN_KEYS else _PLAIN
    if len(_key_kinds) < 4096:
        _key_kinds[key] = kind
    return kind


def _truncate(s: str) -> str:
    return s if len(s) <= TEXT_LIMIT else s[: TEXT_LIMIT - 1] + "…"


def _clean(key: object, value: Any, sensitive: bool) -> Any:
    """The loggable form of ``key=value``; *key* is the nearest enclosing key for list items."""
    kind = _PLAIN
    if type(key) is str:
        found = _key_kinds.get(key)
        kind = _classify(key) if found is None else found
        if kind == _SECRET or (sensitive and kind in (_TEXT, _CONTENT_KEY)):
            return REDACTED
        if kind == _SKIP:
            return value
    vtype = type(value)
    if vtype is str:
        return _truncate(mask_text(value)) if kind == _TEXT else mask_text(value)
    if vtype in _SCALARS:
        return mask_text(str(value)) if kind == _MSISDN and vtype is int else value
    if isinstance(value, dict):
        return {k: _clean(k, v, sensitive) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(key, v, sensitive) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"  # raw bytes may hold a message: never rendered
    return _clean(key, str(value), sensitive)


def mask_msisdns(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Processor: mask phone numbers in every value, redact secrets, truncate or redact SMS texts."""
    sensitive = event_dict.get("sensitive") is True
    kinds = _key_kinds
    for key, value in event_dict.items():
        kind = kinds.get(key)
        if kind == _SKIP:
            continue
        vtype = type(value)
        if kind == _PLAIN:  # the common case, kept inline
            if vtype is str:
                if len(value) >= 8:
                    event_dict[key] = mask_text(value)
                continue
            if vtype in _SCALARS:
                continue
        event_dict[key] = _clean(key, value, sensitive)
    return event_dict


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


def configure_logging(fmt: str = "auto", level: str = "info", *, stream: TextIO | None = None) -> None:
    """Configure structlog and the stdlib root logger; calling it again replaces the previous setup."""
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
    _set_level("", numeric)
    for name in _QUIET:
        debug_access = name == "aiohttp.access" and numeric == logging.DEBUG
        _set_level(name, logging.DEBUG if debug_access else max(numeric, logging.WARNING))

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


def bind_mo(mo_id: str, **fields: Any) -> None:
    """Start one MO's unit of work: forget the previous context, then bind ``mo_id`` (and *fields*)."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(mo_id=mo_id, **fields)


def log_failure(logger: Any, event: str, error: BaseException, **fields: Any) -> None:
    """Log a failure caught in an ``except`` block.

    A lost database worker or link (``ConnectionError``) is an expected kind of
    failure: one line saying so. Anything else is a bug: with its traceback.
    """
    if isinstance(error, ConnectionError):
        logger.error(event, error=str(error) or type(error).__name__, **fields)
    else:
        logger.exception(event, **fields)


def clear_mo() -> None:
    """End the unit of work: later lines carry no ``mo_id``."""
    structlog.contextvars.clear_contextvars()


# --- aiosmpplib --------------------------------------------------------------------

_SEPARATOR = " >>> "
_LIBRARY_DROPPED = frozenset({"log_level", "level", "timestamp"})
_RESERVED = frozenset({"event", "logger", "sensitive", "exc_info"})
_CONTENT = frozenset(
    {"short_message", "message", "message_payload", "text", "body", "pdu", "optional_params", "_encoded_message"}
)
_PLACEHOLDER = re.compile(r"%[-#0 +]*[0-9.]*[sdrifxXe]")
_NOT_SNAKE = re.compile(r"[^0-9a-z]+")


@functools.lru_cache(maxsize=256)
def _event_name(text: str) -> str:
    """``'Unable to parse PDU'`` → ``'unable_to_parse_pdu'``; empty or odd → ``'smpp_library'``."""
    name = _NOT_SNAKE.sub("_", _PLACEHOLDER.sub("", text).lower()).strip("_")[:64].rstrip("_")
    return name if name[:1].isalpha() else "smpp_library"


def _parse_mapping(text: str) -> dict[str, Any] | None:
    """A JSON object, or the ``repr`` of a dict (the library's ``log({...})`` form)."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except Exception:  # try the next form
            continue
        return value if isinstance(value, dict) else None
    return None


def _reduce(value: Any) -> Any:
    """Library values minus message contents, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if k in _CONTENT else _reduce(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_reduce(v) for v in value]
    return value


def _library_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in data.items():
        key = str(key)
        if key in _LIBRARY_DROPPED:
            continue
        if key == "pdu":
            fields["pdu_bytes"] = len(value) // 2 if isinstance(value, str) else None
        elif key in _CONTENT:
            fields[f"{key}_len"] = len(value) if isinstance(value, str | list | dict) else None
        else:
            fields[f"lib_{key}" if key in _RESERVED else key] = _reduce(value)
    return {k: _clean(k, v, False) for k, v in fields.items()}  # masked even where no processor runs


def _unparsed(tail: str) -> dict[str, Any]:
    """A tail that is no JSON: an error text is kept (masked, cut); broken JSON only by length."""
    if not tail:
        return {}
    if tail.lstrip().startswith("{"):
        return {"unparsed_chars": len(tail)}
    return {"unparsed": mask_text(tail)[:200]}


def _parse_record(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    """The event name and fields of one library record (``record.msg`` is read, not formatted)."""
    msg = record.msg
    if isinstance(msg, dict):
        data: dict[str, Any] = dict(msg)
        head = str(data.pop("event", ""))
    else:
        head, _, tail = str(msg).partition(_SEPARATOR)
        parsed = _parse_mapping(tail)
        data = _unparsed(tail) if parsed is None else parsed
        leading = _parse_mapping(head)  # log({...}) with metadata: "{'a': 1} >>> {json}"
        if leading is not None:
            data = {**leading, **data}
            head = str(data.pop("event", ""))
    fields = _library_fields(data)
    if record.args:
        try:
            fields["detail"] = mask_text(head % record.args)
        except Exception:
            fields["detail"] = mask_text(repr(record.args))
    return mask_text(_event_name(head)), fields


_METHODS = ((logging.CRITICAL, "critical"), (logging.ERROR, "error"), (logging.WARNING, "warning"))


def _method_name(levelno: int) -> str:
    for threshold, name in _METHODS:
        if levelno >= threshold:
            return name
    return "info" if levelno >= logging.INFO else "debug"


class AiosmpplibBridge(logging.Handler):
    """Re-emits aiosmpplib's records through structlog (logger ``aiosmpplib``); never raises.

    aiosmpplib replaces this handler's formatter with ``%(message)s``; it is not used.
    """

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._log = structlog.get_logger("aiosmpplib")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event, fields = _parse_record(record)
            if record.exc_info:
                fields["exc_info"] = record.exc_info
            log: Callable[..., Any] = getattr(self._log, _method_name(record.levelno))
            log(event, **fields)
        except Exception:
            self._emit_raw(record)

    def _emit_raw(self, record: logging.LogRecord) -> None:
        try:
            raw = record.msg if isinstance(record.msg, str) else repr(record.msg)
            head, _, _ = raw.partition(_SEPARATOR)
            self._log.error("smpp_library", raw=mask_text(head)[:200], unparsed=True)
        except Exception:  # a log handler must not raise into the SMPP loop
            pass


def aiosmpplib_handler() -> logging.Handler:
    """The handler to pass as aiosmpplib's ``log_handler=``."""
    return AiosmpplibBridge()
