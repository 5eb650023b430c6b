"""Atheris harness: the SMS command grammar (``grammar.parse``) on any text to any short code.

The input's first octet picks the short code (1640, 1643 or another), the second
how the rest becomes text (UTF-8 with replacement, UTF-16-BE as a UCS-2 MO
arrives, Latin-1, or the shared codec's GSM 03.38 decoder), so that libFuzzer's
byte mutations reach every script, the NFKC normalisation and the lexer's
whitespace rules.

The contract ("only our own error"):

- ``parse`` raises nothing but ``ParseError``; a ParseError to an unknown short
  code is ``UNKNOWN_SERVICE``, its ``token`` at most 20 characters;
- a parsed command is one of the command dataclasses, equal to itself after a
  pickle round trip, with every Karte number in the international form ``3712XXXXXXX`` and every amount
  a non-negative Decimal with exactly two places;
- ``normalize_msisdn`` and ``national`` agree: ``national`` raises nothing but
  ``ValueError``, and only where ``normalize_msisdn`` says None.

Anything else is a crash: libFuzzer stops and saves the input under
``fuzz/artifacts/grammar/``. Run (see fuzz/README.md)::

    python fuzz/grammar.py -max_total_time=600
"""

from __future__ import annotations

import pickle
import re
import sys
from decimal import Decimal

from _setup import libfuzzer_args, use_repository

use_repository()

# Imported after the path is set; instrumented in main(), together with lark.
import atheris  # noqa: E402

import grammar  # noqa: E402
from grammar import ParseError, Problem, national, normalize_msisdn, parse  # noqa: E402
from smpp import decode_gsm7  # noqa: E402

_SHORT_CODES = ("1643", "1640", "1643", "9999")
_KARTE = re.compile(r"3712[0-9]{7}")
_COMMANDS = tuple(getattr(grammar, name) for name in ("CancelMonthly", "Confirm", "Help", "RequestMonthly"))
_COMMANDS += tuple(getattr(grammar, name) for name in ("ResetPassword", "Status", "TopUp"))


def _text(how: int, raw: bytes) -> str:
    if how == 1:
        return raw[: len(raw) & ~1].decode("utf-16-be", "replace")
    if how == 2:
        return raw.decode("latin-1")
    if how == 3:
        return decode_gsm7(raw)
    return raw.decode("utf-8", "replace")


def check(data: bytes) -> None:
    if len(data) < 2:
        return
    short_code = _SHORT_CODES[data[0] % len(_SHORT_CODES)]
    text = _text(data[1] % 4, data[2:])
    try:
        command = parse(text, short_code)
    except ParseError as error:
        assert error.token is None or (type(error.token) is str and len(error.token) <= 20)
        assert (error.problem is Problem.UNKNOWN_SERVICE) == (short_code == "9999")
    else:
        assert isinstance(command, _COMMANDS), command
        assert pickle.loads(pickle.dumps(command)) == command
        karte = getattr(command, "karte", None)
        assert karte is None or _KARTE.fullmatch(karte), karte
        amount = getattr(command, "amount", None)
        assert amount is None or (isinstance(amount, Decimal) and amount >= 0 and amount.as_tuple().exponent == -2)
    for word in text.split()[:4]:
        normalized = normalize_msisdn(word)
        try:
            shown = national(word)
        except ValueError:
            assert normalized is None
        else:
            assert normalized == "371" + shown


SEEDS = [
    bytes((code, how)) + text.encode(enc)
    for code, how, enc, text in [
        (0, 0, "utf-8", "V 29123456 5"),
        (0, 0, "utf-8", "29123456 21,34"),
        (0, 0, "utf-8", "M +37129123456 4.13 EUR"),
        (0, 0, "utf-8", "STOP 0037129123456"),
        (0, 0, "utf-8", "S29123456"),
        (0, 0, "utf-8", "Jā"),
        (0, 1, "utf-16-be", "ＳＴＯＰ？ V? m?"),
        (0, 2, "latin-1", "help ?"),
        (1, 0, "utf-8", " p "),
        (1, 3, "ascii", "P"),
        (2, 0, "utf-8", "V 291234565 5€"),
        (3, 0, "utf-8", "V 29123456 5"),
    ]
]


def main() -> None:
    atheris.instrument_all()  # our code and lark's: coverage feedback from the whole parse
    atheris.Setup(libfuzzer_args("grammar", sys.argv, SEEDS), check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
