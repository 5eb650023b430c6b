"""Replies for what the rules refused and for texts that are not commands.

The service calls these at the edge, after a handler raised a
:class:`~handlers.errors.Refusal` or the parser a :class:`~grammar.ParseError`.
"""

from __future__ import annotations

from grammar import PASSWORD_SHORT_CODE, ParseError, Problem

from .errors import AmountOutOfRange, NothingToCancel, Refusal
from .model import Language, Outgoing, Reply
from .templates import example, render

__all__ = ["reply_to_parse_error", "reply_to_refusal"]


def reply_to_refusal(error: Refusal, to: str, lang: Language) -> Reply:
    params = dict(error.params)
    key = error.key
    if isinstance(error, AmountOutOfRange):
        params["example"] = example("M" if params.pop("monthly") else "V", lang)
        params.pop("amount")
    elif isinstance(error, NothingToCancel) and params.get("karte") is not None:
        key = "nothing_to_cancel_karte"
    elif key == "not_eligible":
        key = f"not_eligible_{params.pop('reason')}"
    return Reply(error.outcome, (Outgoing(to, render(key, lang, **params)),))


def reply_to_parse_error(error: ParseError, short_code: str, to: str, lang: Language) -> Reply:
    """1640 answers every mistake with the one-line hint; 1643 says what was wrong."""
    outcome = f"not_understood_{error.problem.value}"
    if short_code == PASSWORD_SHORT_CODE:
        return Reply(outcome, (Outgoing(to, render("password_hint", lang)),))
    token = error.token if error.token is not None else ""
    text = render(
        f"parse_{error.problem.value}",
        lang,
        token=token,
        example=example(error.keyword, lang),
    )
    return Reply(outcome, (Outgoing(to, text),))


PROBLEMS_WITH_TEMPLATES = frozenset(p for p in Problem if p is not Problem.UNKNOWN_SERVICE)
