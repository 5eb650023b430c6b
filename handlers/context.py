"""What every handler receives besides its command: who asked, when, and where to work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from .credentials import TemporaryPassword
from .ports import UnitOfWork
from .rules import Rules, local_date

__all__ = ["Context"]


def _no_password() -> TemporaryPassword:
    raise RuntimeError("this unit of work was not given a prepared temporary password")


@dataclass(frozen=True, slots=True)
class Context:
    """``sender`` is the MSISDN in international form (or the raw source if it is not one);
    ``now`` is an aware UTC instant, the one time every rule of this unit uses;
    ``new_password`` hands over a temporary password prepared outside the transaction
    (hashing is deliberately slow and must not hold the database); ``mo_id`` links
    effects to the MO that caused them."""

    sender: str
    now: datetime
    uow: UnitOfWork
    rules: Rules
    new_password: Callable[[], TemporaryPassword] = field(default=_no_password)
    mo_id: str | None = None

    @property
    def today(self) -> date:
        return local_date(self.now, self.rules.tz)
