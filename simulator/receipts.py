"""Message ids and the receipts the simulator sends: which outcome, after what delay.

A receipt is a deliver_sm from the MT's destination to its source with esm_class 0x04,
the TLVs receipted_message_id (0x001E) and message_state (0x0427), and the SMPP 3.4
Appendix B text, all written by `smpp.receipts`. Outcome and delay come from the first
rule whose glob matches the destination.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from smpp import MESSAGE_STATES, EsmClass, ShortMessage, encode_gsm7, receipt_text, receipt_tlvs
from smpp.address import address_fields

__all__ = [
    "DEFAULT_RULE",
    "RECEIPT_STATES",
    "MessageIds",
    "ReceiptRule",
    "ReceiptRules",
    "receipt_message",
]

RECEIPT_STATES = tuple(state for state in MESSAGE_STATES if state != "ENROUTE")  # final states only


@dataclass(frozen=True, slots=True)
class ReceiptRule:
    pattern: str = "*"
    status: str = "DELIVRD"
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in RECEIPT_STATES:
            raise ValueError(f"status must be one of {', '.join(RECEIPT_STATES)}")
        if not 0 <= self.delay <= 86400:
            raise ValueError("delay must be between 0 and 86400 seconds")

    def to_json(self) -> dict[str, object]:
        return {"pattern": self.pattern, "status": self.status, "delay": self.delay}


DEFAULT_RULE = ReceiptRule()


class ReceiptRules:
    """Ordered rules; the first whose pattern matches the destination wins."""

    def __init__(self, rules: Iterable[ReceiptRule] = ()) -> None:
        self.rules = list(rules)

    def match(self, destination: str) -> ReceiptRule:
        for rule in self.rules:
            if fnmatchcase(destination, rule.pattern):
                return rule
        return DEFAULT_RULE

    def add(self, rule: ReceiptRule) -> None:
        """Put a rule first, so that it overrides the others."""
        self.rules.insert(0, rule)

    def replace(self, rules: Iterable[ReceiptRule]) -> None:
        self.rules = list(rules)

    def to_json(self) -> list[dict[str, object]]:
        return [rule.to_json() for rule in self.rules]


class MessageIds:
    """Unique message ids from a counter, written in hex or decimal."""

    def __init__(self, start: int, fmt: str = "hex", receipt_fmt: str = "same") -> None:
        self._next = start
        self.fmt = fmt
        self.receipt_fmt = receipt_fmt

    @staticmethod
    def render(number: int, fmt: str) -> str:
        return f"{number:x}" if fmt == "hex" else str(number)

    def next(self) -> tuple[int, str]:
        number = self._next
        self._next += 1
        return number, self.render(number, self.fmt)

    def for_receipt(self, number: int) -> str:
        """The id a receipt carries: as in submit_sm_resp, or deliberately in another base."""
        fmt = self.fmt if self.receipt_fmt == "same" else self.receipt_fmt
        return self.render(number, fmt)


def receipt_message(
    *,
    mt_source: str,
    mt_destination: str,
    receipt_id: str,
    stat: str,
    submitted_at: float,
    done_at: float,
    text: str,
) -> ShortMessage:
    """The deliver_sm carrying a receipt for one submitted part (dates in local time)."""
    body = receipt_text(
        receipt_id,
        stat,
        datetime.fromtimestamp(submitted_at),
        datetime.fromtimestamp(done_at),
        error=0 if stat == "DELIVRD" else 1,
        text=text,
    )
    return ShortMessage(
        esm_class=EsmClass.DELIVERY_RECEIPT,
        data_coding=0,
        short_message=encode_gsm7(body, replace="?")[:254],
        tlvs=receipt_tlvs(receipt_id, stat),
        **address_fields(mt_destination, mt_source),
    )
