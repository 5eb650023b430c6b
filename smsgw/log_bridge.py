"""aiosmpplib's log records re-emitted through structlog, reduced, masked, and without duplicates.

aiosmpplib logs through its own ``StructuredLogger`` outside the ``logging`` tree;
`aiosmpplib_handler` returns the handler to pass as its ``log_handler``: it parses
the library's ``event >>> {json}`` records, drops message contents and PDUs, and
re-emits them through structlog (logger ``aiosmpplib``).

One line per event: the library's errors about a failed connection or a refused
bind repeat what our own ``smpp_connect_failed``, ``smpp_bind_refused`` and
``smpp_link_lost`` already say; they come out at debug level (`DUPLICATES`).
"""

from __future__ import annotations

import ast
import functools
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import structlog

from .log_fields import REDACTED, clean_value
from .log_masking import mask_text

__all__ = ["DUPLICATES", "AiosmpplibBridge", "aiosmpplib_handler"]

#: Library messages (their start) that repeat one of our events, and the exception
#: types (``repr`` prefixes) for which ours says it; ``()``: whatever the exception.
DUPLICATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Error response received from SMSC", ()),  # smpp_bind_refused
    ("Timed out while connecting to SMSC", ()),  # smpp_connect_failed
    ("Connection lost while connecting to SMSC", ()),  # smpp_connect_failed / smpp_link_lost
    # smpp_connect_failed (OSError); an EOF while binding is said by no one else: kept
    ("Error while reading from SMSC", ("ConnectionRefusedError", "ConnectionResetError", "OSError", "gaierror")),
    ("Delaying next connect attempt", ()),
)

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
    return {k: clean_value(k, v, False) for k, v in fields.items()}  # masked even where no processor runs


def _unparsed(tail: str) -> dict[str, Any]:
    """A tail that is no JSON: an error text is kept (masked, cut); broken JSON only by length."""
    if not tail:
        return {}
    if tail.lstrip().startswith("{"):
        return {"unparsed_chars": len(tail)}
    return {"unparsed": mask_text(tail)[:200]}


def _parse_record(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    """The message and fields of one library record (``record.msg`` is read, not formatted)."""
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
    return head, fields


def _duplicate(head: str, fields: dict[str, Any]) -> bool:
    """Does this library message repeat one of our own events (`DUPLICATES`)?"""
    for start, exceptions in DUPLICATES:
        if head.startswith(start):
            if not exceptions:
                return True
            error = str(fields.get("exception", ""))
            return error.startswith(exceptions)
    return False


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
            head, fields = _parse_record(record)
            if record.exc_info:
                fields["exc_info"] = record.exc_info
            method = "debug" if _duplicate(head, fields) else _method_name(record.levelno)
            log: Callable[..., Any] = getattr(self._log, method)
            log(mask_text(_event_name(head)), **fields)
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
