"""Audit lines: who ran a command that changes money, passwords or keys, and what it did.

Each such command line (``smsgw mo``, ``monthly run``, ``subscribers import``,
``password check``, ``key new``, ``key rotate``) writes ONE structlog event named
``audit`` (logger ``smsgw.audit``) on the log stream (stderr: JSON lines, or the
console view on a terminal) when it ends, whatever the outcome::

    {"event": "audit", "action": "password_check", "user": "ops", "uid": 1001,
     "msisdn": "371200***01", "outcome": "invalid", "logger": "smsgw.audit", ...}

``user`` is the operating-system account of the process's real uid (not the
spoofable ``$USER``); ``sudo_user`` is added when the command ran under sudo.
Numbers are masked with ``smsgw.logs.mask_text`` before they are logged (and the
log's own masking runs again); no password, key or SMS text is ever a field.
Audit lines are written at info level even when ``[logging] level`` is higher.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
from collections.abc import Iterator
from typing import Any

import structlog

from .logs import mask_text

__all__ = ["audit", "audited", "operator"]


def operator() -> dict[str, Any]:
    """The operating-system user running this process."""
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no passwd entry (containers)
        user = str(uid)
    found: dict[str, Any] = {"user": user, "uid": uid}
    if os.geteuid() != uid:
        found["euid"] = os.geteuid()
    sudo_user = os.environ.get("SUDO_USER")
    if sudo_user:
        found["sudo_user"] = sudo_user
    return found


def _logger() -> Any:
    # The configured processors and output, but never filtered below info.
    return structlog.wrap_logger(
        None,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory_args=("smsgw.audit",),
    )


def audit(action: str, **fields: Any) -> None:
    """Write the audit line of ``action``; an ``msisdn`` field is masked here already."""
    if isinstance(fields.get("msisdn"), str):
        fields["msisdn"] = mask_text(fields["msisdn"])
    _logger().info("audit", action=action, **operator(), **fields)


@contextlib.contextmanager
def audited(action: str, **fields: Any) -> Iterator[dict[str, Any]]:
    """Audit ``action`` when the block ends: the block adds its outcome and counts to the dict it gets.

    If the block raises, the line says ``outcome="error"`` and names the exception's type.
    """
    found: dict[str, Any] = dict(fields)
    try:
        yield found
    except BaseException as error:
        found.setdefault("outcome", "error")
        found["error"] = type(error).__name__
        audit(action, **found)
        raise
    found.setdefault("outcome", "done")
    audit(action, **found)
