"""Turn an injected MO (source, destination, text) into deliver_sm jobs.

GSM 03.38 when the text fits, else UCS-2 (or as forced); long texts split into UDH
(8-bit by default, or 16-bit), SAR TLVs, or one message_payload. Every deliver_sm gets
the simulator's own message id; with `mo_message_id_tag` set, it travels in that TLV
(a C-octet string), and a redelivery carries the same id.
"""

from __future__ import annotations

import itertools

from .delivery import DeliverJob
from .pdu import ShortMessage
from .receipts import MessageIds
from .store import MoRecord
from .text import Part, TextError, encode_mo, ton_npi

__all__ = ["MoFactory", "check_address"]

_ENCODING_OF = {0: "gsm", 3: "latin1", 8: "ucs2"}


def check_address(address: str, what: str) -> None:
    """An address must be 1–20 printable ASCII characters without spaces."""
    if not address or len(address) > 20 or not address.isascii() or not address.isprintable():
        raise TextError(f"{what} must be 1 to 20 printable ASCII characters")
    if " " in address:
        raise TextError(f"{what} must not contain spaces")


class MoFactory:
    def __init__(self, ids: MessageIds, tag: int = 0) -> None:
        self._ids = ids
        self._tag = tag
        self._refs = itertools.count(1)

    def check(self, source: str, destination: str, text: str) -> None:
        """Raise TextError if this MO cannot be built."""
        check_address(source, "source")
        check_address(destination, "destination")
        encode_mo(text)

    def build(
        self, source: str, destination: str, text: str, encoding: str, split: str, now: float
    ) -> tuple[MoRecord, list[DeliverJob]]:
        check_address(source, "source")
        check_address(destination, "destination")
        ref = next(self._refs) & 0xFFFF
        parts = encode_mo(text, encoding, split, ref)
        part_ids = [self._ids.next()[1] for _ in parts]
        mo = self._record(source, destination, text, encoding, split, now, parts, part_ids, ref)
        return mo, self._jobs(mo, parts)

    def again(self, mo: MoRecord) -> list[DeliverJob]:
        """The deliver_sm of an MO once more, as an SMSC redelivers it: same parts, ids and reference."""
        parts = encode_mo(mo.text, mo.encoding, "udh8" if mo.split == "none" else mo.split, mo.ref)
        return self._jobs(mo, parts)

    def _jobs(self, mo: MoRecord, parts: list[Part]) -> list[DeliverJob]:
        return [
            DeliverJob(self._message(mo.source, mo.destination, part, part_id), part_id, mo)
            for part, part_id in zip(parts, mo.part_ids, strict=True)
        ]

    @staticmethod
    def _record(
        source: str,
        destination: str,
        text: str,
        encoding: str,
        split: str,
        now: float,
        parts: list[Part],
        part_ids: list[str],
        ref: int,
    ) -> MoRecord:
        return MoRecord(
            id=part_ids[0],
            source=source,
            destination=destination,
            text=text,
            encoding=_ENCODING_OF[parts[0].data_coding],
            split=split if len(parts) > 1 or parts[0].tlvs else "none",
            part_ids=part_ids,
            injected_at=now,
            ref=ref,
        )

    def _message(self, source: str, destination: str, part: Part, part_id: str) -> ShortMessage:
        source_ton, source_npi = ton_npi(source)
        dest_ton, dest_npi = ton_npi(destination)
        tlvs = dict(part.tlvs)
        if self._tag:
            tlvs[self._tag] = part_id.encode("ascii") + b"\0"
        return ShortMessage(
            source_addr=source,
            destination_addr=destination,
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            esm_class=part.esm_class,
            data_coding=part.data_coding,
            short_message=part.short_message,
            tlvs=tlvs,
        )
