"""The service rules: one handler per command, each ``async def handle(cmd, ctx) -> Reply``.

Handlers raise :class:`~handlers.errors.Refusal` (rendered into a reply at the
edge) or :class:`~handlers.errors.Silence`; they never commit, never read the
clock (``ctx.now``) and never import a transport or the database layer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from grammar import CancelMonthly, Confirm, Help, RequestMonthly, ResetPassword, Status, TopUp

from . import cancel, confirm, help, monthly, password, status, topup
from .context import Context
from .errors import Refusal, Silence
from .model import Outgoing, Reply
from .rules import Rules

__all__ = ["HANDLERS", "Context", "Handler", "Outgoing", "Refusal", "Reply", "Rules", "Silence"]

Handler = Callable[[Any, Context], Awaitable[Reply]]

HANDLERS: dict[type, Handler] = {
    TopUp: topup.handle,
    RequestMonthly: monthly.handle,
    Confirm: confirm.handle,
    CancelMonthly: cancel.handle,
    Status: status.handle,
    Help: help.handle,
    ResetPassword: password.handle,
}
