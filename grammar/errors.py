"""The one error the parser raises, saying what was wrong so the reply can explain it."""

from __future__ import annotations

import enum

__all__ = ["ParseError", "Problem"]


class Problem(enum.Enum):
    """What was wrong with a text."""

    EMPTY = "empty"  # nothing but whitespace
    UNKNOWN_KEYWORD = "unknown_keyword"  # first word is not a command of this short code
    MISSING_NUMBER = "missing_number"  # command needs a Karte number and has none
    BAD_NUMBER = "bad_number"  # the number given is not a Latvian mobile number
    MISSING_AMOUNT = "missing_amount"  # top-up without an amount
    BAD_AMOUNT = "bad_amount"  # amount is not euros with 0-2 decimals
    EXTRA_WORDS = "extra_words"  # the command is complete but more words follow
    UNKNOWN_SERVICE = "unknown_service"  # the short code is not one of ours


class ParseError(Exception):
    """A text that is not a command.

    ``problem`` says what was wrong; ``keyword`` is the command the subscriber
    seemed to attempt (``"V"``, ``"M"``, ``"STOP"``, ``"S"``, ``"JA"``, ``"P"``,
    ``"HELP"``) or ``None`` when no command was recognised; ``token`` is the
    offending word, cut to at most 20 characters, or ``None``.
    """

    def __init__(self, problem: Problem, *, keyword: str | None = None, token: str | None = None):
        self.problem = problem
        self.keyword = keyword
        self.token = None if token is None else token[:20]
        detail = f" keyword={keyword!r}" if keyword else ""
        detail += f" token={self.token!r}" if self.token is not None else ""
        super().__init__(f"{problem.value}{detail}")

    def __reduce__(self) -> tuple[object, ...]:
        # Pickles with its fields (the gateway hands parse results to its database process).
        return (_rebuild, (self.problem, self.keyword, self.token))


def _rebuild(problem: Problem, keyword: str | None, token: str | None) -> ParseError:
    return ParseError(problem, keyword=keyword, token=token)
