"""A reply as the sender holds it: its parts, encoded by ``smpp.split``, and the submit_sm of each.

Parts are GSM 03.38 when the text fits, else UCS-2, concatenated with an 8-bit
UDH whose reference is the reply's outbox id (mod 256). Replies come from the
short code that was texted; TON/NPI follow ``smpp.address.ton_npi``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smpp.address import plain_address, ton_npi
from smpp.bodies import ShortMessage
from smpp.split import Part, split_text

from ..db.outbox import ClaimedReply

__all__ = ["HeldPart", "HeldReply", "hold", "submit_sm"]


@dataclass(frozen=True, slots=True)
class Addresses:
    """A reply's source and destination as every submit_sm of it carries them (checked once)."""

    source: str
    source_ton: int
    source_npi: int
    destination: str
    dest_ton: int
    dest_npi: int


@dataclass(eq=False)
class HeldReply:
    claimed: ClaimedReply
    parts: list[Part]
    pending: set[int]  # part numbers not yet accepted
    addresses: Addresses
    temporary_errors: int = 0
    dead: bool = False

    @property
    def id(self) -> int:
        return self.claimed.id


@dataclass(eq=False)
class HeldPart:
    reply: HeldReply
    number: int  # 1-based
    recorded: bool = False  # its row says "submitting": it may go on the wire
    attempts: int = 0
    maybe_sent: bool = False  # a dead instance may have written it: a resubmission may duplicate it
    sent_at: float = field(default=0.0)


def hold(claimed: ClaimedReply, text: str) -> tuple[HeldReply, list[HeldPart]]:
    """Encode a claimed reply (``text`` unsealed); raises ValueError if it cannot be sent as SMS."""
    addresses = Addresses(
        _address(claimed.source, "source", digits=False),
        *ton_npi(claimed.source),
        _address(claimed.destination, "destination", digits=True),
        *ton_npi(claimed.destination),
    )
    parts = split_text(text, reference=claimed.id & 0xFF)
    pending = set(range(1, len(parts) + 1)) - set(claimed.done_parts)
    reply = HeldReply(claimed, parts, pending, addresses)
    ready = claimed.maybe_sent | claimed.recorded  # their rows say "submitting": they may go on the wire
    held = [HeldPart(reply, n, recorded=n in ready, maybe_sent=n in claimed.maybe_sent) for n in sorted(pending)]
    return reply, held


def _address(address: str, name: str, *, digits: bool) -> str:
    """The address as a submit_sm carries it; ValueError when none can (SMPP 3.4: ASCII, 20 octets at most)."""
    plain = plain_address(address)
    if not (plain.isascii() and plain.isprintable() and 0 < len(plain) <= 20) or (digits and not plain.isdigit()):
        raise ValueError(f"{name} {address!r} is not an address a submit_sm can carry")
    return plain


def submit_sm(part: HeldPart, registered_delivery: bool) -> ShortMessage:
    """The submit_sm of one part (its addresses were checked when the reply was held)."""
    a, encoded = part.reply.addresses, part.reply.parts[part.number - 1]
    return ShortMessage(
        source_addr_ton=a.source_ton,
        source_addr_npi=a.source_npi,
        source_addr=a.source,
        dest_addr_ton=a.dest_ton,
        dest_addr_npi=a.dest_npi,
        destination_addr=a.destination,
        esm_class=encoded.esm_class,
        registered_delivery=1 if registered_delivery else 0,
        data_coding=encoded.data_coding,
        short_message=encoded.short_message,
        tlvs=encoded.tlvs,
    )
