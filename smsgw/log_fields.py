"""The structlog processor that makes every log line safe: numbers masked, secrets redacted, texts cut.

`mask_msisdns` looks at each key of an event: secrets (``password``, ``secret_key``,
``token`` …) are replaced by ``[redacted]``; SMS texts are masked and cut to
``TEXT_LIMIT`` characters, or redacted when the event says ``sensitive=True``;
every other string is passed through `mask_text`, at any depth of dicts and
lists. Keys we render ourselves (``timestamp``, ``mo_id``, ``subscriber``, the
SMSC's message ids) are left as they are.
"""

from __future__ import annotations

from typing import Any

from structlog.typing import EventDict, WrappedLogger

from .log_masking import mask_text

__all__ = ["REDACTED", "TEXT_LIMIT", "clean_value", "mask_msisdns"]

REDACTED = "[redacted]"
TEXT_LIMIT = 40

_SECRET_SUFFIXES = ("password", "passwd", "secret", "secret_key", "sealed", "token", "dsn")
_SENSITIVE_CONTENT = frozenset({"text", "short_message", "message", "password", "sealed", "body"})
_TRUNCATED = frozenset({"text", "short_message"})
_MSISDN_KEYS = frozenset({"msisdn", "sender", "recipient", "source_addr", "destination_addr", "phone"})
_NOT_MASKED = frozenset(  # rendered by us or structlog, or the SMSC's (often decimal) message ids
    {"timestamp", "level", "logger", "exc_info", "_record", "_from_structlog", "mo_id", "subscriber"}
    | {"message_id", "smsc_message_id", "receipted_message_id"}
)
# What a key means for its value; computed once per key name.
_PLAIN, _SKIP, _SECRET, _CONTENT_KEY, _TEXT, _MSISDN = range(6)
_key_kinds: dict[str, int] = {}
_SCALARS = (int, float, bool, type(None))


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


def clean_value(key: object, value: Any, sensitive: bool) -> Any:
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
        return {k: clean_value(k, v, sensitive) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [clean_value(key, v, sensitive) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"  # raw bytes may hold a message: never rendered
    return clean_value(key, str(value), sensitive)


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
        event_dict[key] = clean_value(key, value, sensitive)
    return event_dict
