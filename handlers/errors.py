"""Domain errors: a rule said no. Each carries the reply template key and its values.

Handlers raise these before writing anything; the service turns them into a reply
to the sender (in the sender's language) at the edge. ``outcome`` names the refusal
in logs and metrics.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = [
    "AmountOutOfRange",
    "DailyCapReached",
    "KarteExpiredTooLong",
    "KarteNotActive",
    "MonthlyCapReached",
    "NoPendingRequest",
    "NotAKarte",
    "NothingToCancel",
    "PendingRequestExpired",
    "Refusal",
    "SenderNotEligible",
    "Silence",
]


class Refusal(Exception):
    """A command that the rules refuse; ``key`` selects the reply template."""

    key: str = "refused"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(f"{self.key} {params}")

    @property
    def outcome(self) -> str:
        return self.key


class Silence(Exception):
    """Do not answer at all (e.g. an unknown number asking for a password)."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        super().__init__(outcome)


class SenderNotEligible(Refusal):
    """``reason`` is one of: unknown, inactive, not_postpaid, legal."""

    key = "not_eligible"

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)

    @property
    def outcome(self) -> str:
        return f"not_eligible_{self.params['reason']}"


class AmountOutOfRange(Refusal):
    key = "amount_out_of_range"

    def __init__(self, amount: Decimal, low: Decimal, high: Decimal, monthly: bool) -> None:
        super().__init__(amount=amount, low=low, high=high, monthly=monthly)


class DailyCapReached(Refusal):
    key = "daily_cap"

    def __init__(self, cap: Decimal, left: Decimal) -> None:
        super().__init__(cap=cap, left=left)


class MonthlyCapReached(Refusal):
    key = "monthly_cap"

    def __init__(self, cap: Decimal, left: Decimal) -> None:
        super().__init__(cap=cap, left=left)


class NotAKarte(Refusal):
    key = "not_a_karte"

    def __init__(self, karte: str) -> None:
        super().__init__(karte=karte)


class KarteNotActive(Refusal):
    key = "karte_not_active"

    def __init__(self, karte: str) -> None:
        super().__init__(karte=karte)


class KarteExpiredTooLong(Refusal):
    key = "karte_expired"

    def __init__(self, karte: str, months: int) -> None:
        super().__init__(karte=karte, months=months)


class NoPendingRequest(Refusal):
    key = "no_pending"


class PendingRequestExpired(Refusal):
    key = "pending_expired"

    def __init__(self, karte: str, amount: Decimal, hours: int, plain: str) -> None:
        super().__init__(karte=karte, amount=amount, hours=hours, plain=plain)


class NothingToCancel(Refusal):
    key = "nothing_to_cancel"

    def __init__(self, karte: str | None) -> None:
        super().__init__(karte=karte)
