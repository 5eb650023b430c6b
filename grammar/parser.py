"""``parse(text, short_code)``: an SMS text to one :mod:`~grammar.commands` command.

The grammar is ``commands.lark`` (LALR, built once when this module is imported);
a transformer applied inside the parser turns it straight into the frozen
dataclasses of :mod:`grammar.commands`. Every failure is a :class:`ParseError`:
no lark object (tree, token, exception) leaves this package. The parse runs
through lark's interactive parser only so that the first words are at hand when
a failure has to be explained; it is the same LALR parse (linear in the text).

Before parsing, the text is put in Unicode NFKC form (full-width digits and
letters become ASCII, a decomposed ``Ā`` becomes one letter); otherwise it is kept
as typed, and the tokens in errors come from that normalised text.

**Decision (missing spaces).** A keyword directly followed by a number is
accepted: ``V29123456 5``, ``M29123456 5``, ``S29123456`` and ``STOP29123456``
are unambiguous and people type them. That falls out of the lexer: a keyword is
a whole run of letters, and a digit ends the run. A missing space anywhere else
is not accepted: ``V 291234565`` is a bad number (nine digits), never number
``29123456`` with amount 5, and ``VX 29123456 5`` is an unknown keyword. An
amount may carry the currency directly attached or as the next word (``5€``,
``5 €``, ``5EUR``, ``5 eur``; also ``EURO`` and the Latvian ``EIRO``); ``V?``,
``M?``, ``S?`` and ``STOP?`` may be written with or without a space.

How a failure is classified (lark tells which terminals the parser expected at
the word it could not take):

- nothing but whitespace → ``EMPTY``;
- the first word is not a command of this short code → ``UNKNOWN_KEYWORD``
  (on 1643 a first word that starts like a number, ``+37229123456 5``, is a
  ``BAD_NUMBER`` of a ``V`` top-up without its keyword);
- a number was expected → ``MISSING_NUMBER`` at the end, else ``BAD_NUMBER``
  (after ``S`` or ``STOP``, where the number is optional, only a word that
  starts like a number is a bad number; any other word is ``EXTRA_WORDS``);
- an amount was expected → ``MISSING_AMOUNT`` at the end, else ``BAD_AMOUNT``;
- the command was complete → ``EXTRA_WORDS``.

``keyword`` is the command the first word names (``"V"`` for a bare
``NUMBER AMOUNT``, ``"JA"`` for ``JĀ``/``YES``, ``"HELP"`` for ``?`` and for
``V?``, ``M?``, ``S?``, ``STOP?``); ``token`` is the whole word (up to the next
whitespace) where the parser stopped, ``None`` when something is missing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from typing import cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedToken
from lark.lark import PostLex

from grammar.commands import (
    CancelMonthly,
    Command,
    Confirm,
    Help,
    HelpTopic,
    RequestMonthly,
    ResetPassword,
    Status,
    TopUp,
)
from grammar.errors import ParseError, Problem
from grammar.numbers import normalize_msisdn

__all__ = ["PASSWORD_SHORT_CODE", "SOS_SHORT_CODE", "parse"]

PASSWORD_SHORT_CODE = "1640"
"""My LMT password by SMS (SPEC §3)."""

SOS_SHORT_CODE = "1643"
"""SOS-SMS: top up someone's LMT Karte (SPEC §4)."""

_START_BY_SHORT_CODE = {PASSWORD_SHORT_CODE: "password_sms", SOS_SHORT_CODE: "sos_sms"}

_CENTS = Decimal("0.01")

# Terminals of commands.lark that are not keywords.
_NUMBER, _AMOUNT, _WORD, _OTHER, _END = "NUMBER", "AMOUNT", "WORD", "OTHER", "$END"
_NOT_KEYWORDS = frozenset({_NUMBER, _AMOUNT, _WORD, _OTHER})

# A keyword as typed (upper case) → the command it names, for ParseError.keyword.
_KEYWORD_OF = {
    "P": "P",
    "V": "V",
    "M": "M",
    "S": "S",
    "STOP": "STOP",
    "JA": "JA",
    "JĀ": "JA",
    "YES": "JA",
    "HELP": "HELP",
    "?": "HELP",
}

_HELP_TOPICS = frozenset(topic.value for topic in HelpTopic)

_WORD_AT = re.compile(r"\S*")
_NUMBER_LIKE = re.compile(r"[+0-9]")


@v_args(inline=True)
class _CommandBuilder(Transformer[Token, Command]):
    """Builds commands while the LALR parser reduces (no tree is built)."""

    def reset_password(self) -> ResetPassword:
        return ResetPassword()

    def top_up(self, number: Token, amount: Decimal) -> TopUp:
        return TopUp(karte=_karte(number), amount=amount)

    def request_monthly(self, number: Token, amount: Decimal) -> RequestMonthly:
        return RequestMonthly(karte=_karte(number), amount=amount)

    def confirm(self) -> Confirm:
        return Confirm()

    def cancel_monthly(self, number: Token | None) -> CancelMonthly:
        return CancelMonthly(karte=None if number is None else _karte(number))

    def status(self, number: Token | None) -> Status:
        return Status(karte=None if number is None else _karte(number))

    def help(self) -> Help:
        return Help(topic=None)

    def topic_help(self, topic: HelpTopic) -> Help:
        return Help(topic=topic)

    def topic(self, keyword: Token) -> HelpTopic:
        return HelpTopic(keyword.value.upper())

    def amount(self, amount: Token) -> Decimal:
        return Decimal(amount.value.replace(",", ".")).quantize(_CENTS)


def _karte(number: Token) -> str:
    karte = normalize_msisdn(number.value)
    if karte is None:  # the NUMBER terminal and numbers.py disagree: a bug of ours
        raise ParseError(Problem.BAD_NUMBER, token=number.value)
    return karte


class _KeepCatchAllTerminals(PostLex):
    """Passes tokens through; exists so lark keeps WORD and OTHER, which no rule uses."""

    always_accept = (_WORD, _OTHER)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        return stream


_LARK = Lark.open(
    "commands.lark",
    rel_to=__file__,
    parser="lalr",
    lexer="basic",
    start=list(_START_BY_SHORT_CODE.values()),
    transformer=_CommandBuilder(),
    postlex=_KeepCatchAllTerminals(),
)


def parse(text: str, short_code: str) -> Command:
    """The command ``text`` sent to ``short_code`` asks for, or :class:`ParseError`."""
    start = _START_BY_SHORT_CODE.get(short_code)
    if start is None:
        raise ParseError(Problem.UNKNOWN_SERVICE, token=short_code)
    text = unicodedata.normalize("NFKC", text)
    try:  # most texts are commands: the plain parse is a quarter cheaper; a failure is explained below
        return cast(Command, _LARK.parse(text, start=start))
    except LarkError:
        pass
    parser = _LARK.parse_interactive(text, start=start)
    first_words: list[Token] = []  # the two first tokens say which command was attempted
    try:
        for token in parser.iter_parse():
            if len(first_words) < 2:
                first_words.append(token)
        return cast(Command, parser.feed_token(Token(_END, "", start_pos=len(text))))
    except UnexpectedToken as error:
        raise _explain(text, short_code, first_words, error.token, error.expected) from None
    except LarkError:  # UnexpectedCharacters cannot happen (OTHER takes any word)
        raise _explain(text, short_code, first_words, None, frozenset()) from None


def _explain(
    text: str,
    short_code: str,
    first_words: list[Token],
    stopped_at: Token | None,
    expected: set[str] | frozenset[str],
) -> ParseError:
    """The ParseError for a text the parser stopped on, at ``stopped_at`` (None: unknown)."""
    if not first_words:
        return ParseError(Problem.EMPTY)
    first = first_words[0]
    at_end = stopped_at is not None and stopped_at.type == _END
    if stopped_at is None or (not at_end and stopped_at.start_pos == first.start_pos):
        word = _word_at(text, first)
        if short_code == SOS_SHORT_CODE and _looks_like_number(word):
            return ParseError(Problem.BAD_NUMBER, keyword="V", token=word)
        return ParseError(Problem.UNKNOWN_KEYWORD, token=word)

    keyword = _attempted_keyword(first_words)
    wrong_word = None if at_end else _word_at(text, stopped_at)
    number_is_optional = _END in expected  # S and STOP: a word that is no number is extra
    if _NUMBER in expected and (not number_is_optional or _looks_like_number(wrong_word)):
        problem = Problem.MISSING_NUMBER if at_end else Problem.BAD_NUMBER
    elif _AMOUNT in expected:
        problem = Problem.MISSING_AMOUNT if at_end else Problem.BAD_AMOUNT
    else:
        problem = Problem.EXTRA_WORDS
    return ParseError(problem, keyword=keyword, token=wrong_word)


def _attempted_keyword(first_words: list[Token]) -> str | None:
    """The command the first word names; a keyword followed by ``?`` asks for help."""
    first = first_words[0]
    if first.type in (_NUMBER, _AMOUNT):
        return "V"
    if first.type in _NOT_KEYWORDS:
        return None
    keyword = _KEYWORD_OF.get(first.value.upper())
    if keyword in _HELP_TOPICS and len(first_words) > 1 and first_words[1].value == "?":
        return "HELP"
    return keyword


def _word_at(text: str, token: Token) -> str:
    """The whole word of ``text`` (up to the next whitespace) that starts with ``token``."""
    match = _WORD_AT.match(text, token.start_pos or 0)  # lexed tokens always have a position
    assert match is not None  # \S* matches everywhere
    return match.group(0)


def _looks_like_number(word: str | None) -> bool:
    """Starts like a number (a digit or ``+``): a wrong number rather than another word."""
    return word is not None and _NUMBER_LIKE.match(word) is not None
