"""TON/NPI for an address (SMPP 3.4 §5.2.5, §5.2.6), one answer per form of address.

- empty: (0, 0), unknown and unknown — nothing to classify;
- 1 to 8 digits (`1643`): (3, 0), network specific with no numbering plan — a short code
  means something only inside the operator's network and is not an E.164 number;
- 9 or more digits (`37129123456`): (1, 1), international, ISDN/E.164 — a full number
  with its country code;
- anything else (`LMT`, `Info-24`): (5, 0), alphanumeric — such an address has no
  numbering plan (3GPP TS 23.040 §9.1.2.5).

A leading "+" before digits is ignored (`plain_address` drops it): SMPP addresses carry
the digits only, the TON says they are international. `addressed` fills in a message's
two addresses that way.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final, TypeVar

from .bodies import Message
from .constants import Npi, Ton

__all__ = ["MAX_SHORT_CODE", "address_fields", "addressed", "plain_address", "ton_npi"]

M = TypeVar("M", bound=Message)

MAX_SHORT_CODE: Final = 8
"""Digit strings up to this long are short codes."""


def plain_address(address: str) -> str:
    """`address` without a leading "+" before digits."""
    digits = address[1:]
    if address[:1] == "+" and digits.isascii() and digits.isdigit():
        return digits
    return address


def ton_npi(address: str) -> tuple[int, int]:
    """(TON, NPI) for `address`, per the table in this module's docstring."""
    plain = plain_address(address)
    if not plain:
        return Ton.UNKNOWN, Npi.UNKNOWN
    if plain.isascii() and plain.isdigit():
        if len(plain) <= MAX_SHORT_CODE:
            return Ton.NETWORK_SPECIFIC, Npi.UNKNOWN
        return Ton.INTERNATIONAL, Npi.ISDN
    return Ton.ALPHANUMERIC, Npi.UNKNOWN


def address_fields(source: str, destination: str) -> dict[str, Any]:
    """The address fields of a message from `source` to `destination` (without a leading "+"),
    each with its TON/NPI: to build a message with them at once."""
    source_ton, source_npi = ton_npi(source)
    dest_ton, dest_npi = ton_npi(destination)
    return {
        "source_addr": plain_address(source),
        "source_addr_ton": source_ton,
        "source_addr_npi": source_npi,
        "destination_addr": plain_address(destination),
        "dest_addr_ton": dest_ton,
        "dest_addr_npi": dest_npi,
    }


def addressed(message: M, source: str, destination: str) -> M:
    """`message` from `source` to `destination` (without a leading "+"), each with its TON/NPI."""
    return replace(message, **address_fields(source, destination))
