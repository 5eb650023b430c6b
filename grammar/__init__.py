"""The SMS command language: ``parse(text, short_code)`` turns a text into a command.

Everything the rest of the gateway needs from this package is re-exported here;
no lark object leaves it.
"""

from __future__ import annotations

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
from grammar.numbers import national, normalize_msisdn
from grammar.parser import PASSWORD_SHORT_CODE, SOS_SHORT_CODE, parse

__all__ = [
    "PASSWORD_SHORT_CODE",
    "SOS_SHORT_CODE",
    "CancelMonthly",
    "Command",
    "Confirm",
    "Help",
    "HelpTopic",
    "ParseError",
    "Problem",
    "RequestMonthly",
    "ResetPassword",
    "Status",
    "TopUp",
    "national",
    "normalize_msisdn",
    "parse",
]
