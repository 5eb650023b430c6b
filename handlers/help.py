"""``HELP`` / ``?`` and ``V?``, ``M?``, ``S?``, ``STOP?``: instructions, for anyone who asks."""

from __future__ import annotations

from grammar import Help, HelpTopic

from .context import Context
from .model import Language, Outgoing, Reply
from .templates import render

__all__ = ["handle"]

_KEYS = {
    None: "help",
    HelpTopic.ONE_OFF: "help_one_off",
    HelpTopic.MONTHLY: "help_monthly",
    HelpTopic.STATUS: "help_status",
    HelpTopic.STOP: "help_stop",
}


async def handle(cmd: Help, ctx: Context) -> Reply:
    sender = await ctx.uow.subscribers.get(ctx.sender)
    lang = sender.language if sender is not None else Language.LV
    return Reply(f"{_KEYS[cmd.topic]}", (Outgoing(ctx.sender, render(_KEYS[cmd.topic], lang)),))
