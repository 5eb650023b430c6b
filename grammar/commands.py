"""Commands: what a subscriber asked for, as data.

The parser turns an SMS text into exactly one of these frozen dataclasses.
Numbers are already normalised to the international form ``371`` + 8 digits
and amounts are exact :class:`~decimal.Decimal` values with two places.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "CancelMonthly",
    "Command",
    "Confirm",
    "Help",
    "HelpTopic",
    "RequestMonthly",
    "ResetPassword",
    "Status",
    "TopUp",
]


class HelpTopic(enum.Enum):
    """What a ``?`` command asks about (``V?``, ``M?``, ``S?``, ``STOP?``)."""

    ONE_OFF = "V"
    MONTHLY = "M"
    STATUS = "S"
    STOP = "STOP"


@dataclass(frozen=True, slots=True)
class ResetPassword:
    """1640 ``P``: send me a new temporary My LMT password."""


@dataclass(frozen=True, slots=True)
class TopUp:
    """1643 ``V 29123456 5`` or ``29123456 5``: one-off top-up of a Karte."""

    karte: str
    amount: Decimal

    def __reduce__(self) -> tuple[object, ...]:  # fast pickling across the database process boundary
        return (TopUp, (self.karte, self.amount))


@dataclass(frozen=True, slots=True)
class RequestMonthly:
    """1643 ``M 29123456 4.13``: ask for a monthly top-up (to be confirmed by ``JA``)."""

    karte: str
    amount: Decimal

    def __reduce__(self) -> tuple[object, ...]:  # fast pickling across the database process boundary
        return (RequestMonthly, (self.karte, self.amount))


@dataclass(frozen=True, slots=True)
class Confirm:
    """1643 ``JA``: confirm the pending monthly request."""


@dataclass(frozen=True, slots=True)
class CancelMonthly:
    """1643 ``STOP`` (every Karte, ``karte`` is None) or ``STOP 29123456``."""

    karte: str | None = None

    def __reduce__(self) -> tuple[object, ...]:  # fast pickling across the database process boundary
        return (CancelMonthly, (self.karte,))


@dataclass(frozen=True, slots=True)
class Status:
    """1643 ``S`` (this month's top-ups) or ``S 29123456`` (spent on that Karte)."""

    karte: str | None = None

    def __reduce__(self) -> tuple[object, ...]:  # fast pickling across the database process boundary
        return (Status, (self.karte,))


@dataclass(frozen=True, slots=True)
class Help:
    """1643 ``HELP`` / ``?`` (topic None) or ``V?``, ``M?``, ``S?``, ``STOP?``."""

    topic: HelpTopic | None = None

    def __reduce__(self) -> tuple[object, ...]:  # fast pickling across the database process boundary
        return (Help, (self.topic,))


Command = ResetPassword | TopUp | RequestMonthly | Confirm | CancelMonthly | Status | Help
