"""docs/operations.md lists every field our log lines carry (an on-call engineer greps for them)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}
_ALWAYS = {"mo_id", "short_code", "sender", "subscriber", "recipient"}  # bound by smsgw.log_context
_RENDERED_AS = {"exc_info": "exception"}  # structlog's format_exc_info writes the traceback under this name


def _is_logger(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ("log", "logger")
    return isinstance(node, ast.Attribute) and node.attr in ("_log", "log")


def logged_fields() -> dict[str, str]:
    """Every keyword passed to a log call in smsgw/, and one place it is used."""
    fields: dict[str, str] = {}
    for path in sorted((ROOT / "smsgw").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            is_log = isinstance(func, ast.Attribute) and func.attr in _LEVELS and _is_logger(func.value)
            is_failure = isinstance(func, ast.Name) and func.id == "log_failure"
            if is_log or is_failure:
                for keyword in node.keywords:
                    if keyword.arg is not None:
                        name = _RENDERED_AS.get(keyword.arg, keyword.arg)
                        fields.setdefault(name, f"{path.relative_to(ROOT)}:{node.lineno}")
    return fields


def test_every_log_field_is_documented() -> None:
    documented = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    fields = logged_fields()
    assert len(fields) > 20  # the scan finds our log calls
    missing = {name: where for name, where in fields.items() if f"`{name}`" not in documented}
    assert missing == {}
    assert [name for name in _ALWAYS if f"`{name}`" not in documented] == []
