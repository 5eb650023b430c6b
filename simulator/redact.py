"""What the simulator shows of the gateway's secrets: a temporary password is the subscriber's.

The MTs from a *secret source* (`[simulator] secret_sources`, by default the password
short code 1640) carry temporary passwords. The control API, its live feed and the
testers' page show such an MT with every match of `secret_pattern` replaced by as many
`•`: the conversation stays readable (which reply came, when, its delivery state), the
password does not leave the SMSC. The recording keeps no text of them at all (a password
may straddle two parts of a concatenated MT), and their receipts quote no text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MASK", "Redactor"]

MASK = "•"


@dataclass(frozen=True, slots=True)
class Redactor:
    sources: frozenset[str]
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, sources: Iterable[str], pattern: str) -> Redactor:
        return cls(frozenset(sources), re.compile(pattern))

    def is_secret(self, source: str) -> bool:
        """Whether MTs from this address carry secrets."""
        return source in self.sources

    def text(self, source: str, text: str) -> str:
        """The text of an MT from `source` as it may be shown."""
        if source not in self.sources:
            return text
        return self.pattern.sub(lambda m: MASK * len(m.group(0)), text)

    def mt_json(self, record: dict[str, object]) -> dict[str, object]:
        """A record's JSON (`MtRecord.to_json()`), its text masked when it is an MT from a secret source."""
        source = str(record.get("source", ""))
        if record.get("kind") != "mt" or source not in self.sources:
            return record
        return {**record, "text": self.text(source, str(record.get("text", ""))), "masked": True}
