"""Configuration problems as an operator reads them: every one, one per line, no secret echoed.

`describe` turns pydantic's validation errors, plus the keys a command needs that
are not set, into lines like::

    config.toml: [smpp] port: Input should be a valid integer (got 'abc')
    config.toml: [smpp] sytem_id: unknown key (did you mean system_id?)
    config.toml: [smpp] password: String should have at most 8 characters (set by SMSGW_SMPP_PASSWORD; value not shown)

A misspelt key is named with the nearest known key, and the known key it
stands for is not reported missing as well. Values of secret keys (passwords,
keys, tokens, database URLs) are never shown, whether they come from the file or
from the environment.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

__all__ = ["describe", "is_secret", "missing_required"]

_SECRET_NAME = re.compile(r"password|passwd|secret|token|(?:^|_)keys?$", re.IGNORECASE)
_SECRET_TABLE_KEYS = frozenset({("database", "url")})  # may hold user:password@


def is_secret(table: str, key: str) -> bool:
    """Is the value of ``[table] key`` a secret (never echoed)?"""
    return (table, key) in _SECRET_TABLE_KEYS or bool(_SECRET_NAME.search(key))


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model whose field a location (minus its last part) points into."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or str(part).isdigit():
            continue  # an item of a list
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
        args = getattr(current, "__args__", ())
        if args and not (isinstance(current, type) and issubclass(current, BaseModel)):
            current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _known_keys(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items() if name != "path"]


def _where(loc: Sequence[str | int]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) >= 2:
        return f"[{parts[0]}] {'.'.join(parts[1:])}"
    return f"[{parts[0]}]" if parts else "(top level)"


def _suggestion(model: type[BaseModel], loc: Sequence[str | int]) -> str | None:
    known = _known_keys(_model_at(model, loc))
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return close[0] if close else None


def _message(error: Mapping[str, Any], loc: Sequence[str | int], from_env: Mapping[tuple[str, str], str]) -> str:
    table = str(loc[0]) if loc else ""
    key = str(loc[-1]) if len(loc) >= 2 else ""
    secret = any(is_secret(table, str(part)) for part in loc[1:]) or (len(loc) >= 2 and is_secret(table, key))
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if secret and isinstance(value, str) and value:
        message = message.replace(value, "[redacted]")
    if error["type"] == "missing":
        message = "missing (required)"
    variable = from_env.get((table, key))
    if secret or variable:
        notes = [f"set by {variable}"] if variable else []
        notes += ["value not shown"] if secret and "(got" not in message else []
        return f"{message} ({'; '.join(notes)})" if notes else message
    if "input" in error and not isinstance(value, dict | list) and "(got" not in message:
        message += f" (got {value!r})"
    return message


def describe(
    path: str,
    model: type[BaseModel],
    errors: Sequence[Mapping[str, Any]],
    *,
    required: Sequence[tuple[str, str, str]] = (),
    from_env: Mapping[tuple[str, str], str] | None = None,
) -> list[str]:
    """One line per problem: validation *errors* first, then the *required* (table, key, why) not set."""
    from_env = from_env or {}
    lines: list[str] = []
    stands_for: set[tuple[str, ...]] = set()  # known keys a misspelt one stands for
    for error in errors:
        if error["type"] != "extra_forbidden":
            continue
        loc = tuple(str(p) for p in error["loc"])
        nearest = _suggestion(model, loc)
        hint = f" (did you mean {nearest}?)" if nearest else ""
        kind = "unknown table" if len(loc) == 1 else "unknown key"
        lines.append(f"{path}: {_where(loc)}: {kind}{hint}")
        if nearest:
            stands_for.add((*loc[:-1], nearest))
    for error in errors:
        loc = tuple(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden" or (error["type"] == "missing" and loc in stands_for):
            continue
        lines.append(f"{path}: {_where(loc)}: {_message(error, error['loc'], from_env)}")
    for table, key, why in required:
        if (table, key) not in stands_for:
            lines.append(f"{path}: [{table}] {key}: missing ({why})")
    return lines


def missing_required(raw: Mapping[str, Any], needed: Sequence[tuple[str, str]], why: str) -> list[tuple[str, str, str]]:
    """The (table, key, why) of *needed* that the file (or the environment) does not set."""
    missing = []
    for table, key in needed:
        section = raw.get(table)
        if not isinstance(section, dict) or key not in section:
            missing.append((table, key, why))
    return missing
