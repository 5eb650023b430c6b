"""Turn an injected MO (source, destination, text) into deliver_sm jobs.

GSM 03.38 when the text fits, else UCS-2 (or as forced: `gsm`, `ucs2`, `latin1`); long
texts split by `smpp.split_text` into UDH (8-bit by default, or 16-bit), SAR TLVs, or one
message_payload. Every deliver_sm gets the simulator's own message id; with
`mo_message_id_tag` set, it travels in that TLV (a C-octet string), and a redelivery
carries the same id.
"""

from __future__ import annotations

import itertools

from smpp import SPLIT_METHODS, DataCoding, Part, ShortMessage, addressed, split_text

from .delivery import DeliverJob
from .receipts import MessageIds
from .store import MoRecord

__all__ = ["ENCODINGS", "SPLITS", "MoFactory", "TextError", "check_address", "encode_mo"]

ENCODINGS = ("auto", "gsm", "ucs2", "latin1")
SPLITS = SPLIT_METHODS
_DATA_CODING = {"auto": None, "gsm": DataCoding.SMSC_DEFAULT, "ucs2": DataCoding.UCS2, "latin1": DataCoding.LATIN_1}
_ENCODING_OF = {value: name for name, value in _DATA_CODING.items() if value is not None}


class TextError(ValueError):
    """An MO that cannot be sent as asked (address, alphabet, length)."""


def check_address(address: str, what: str) -> None:
    """An address must be 1–20 printable ASCII characters without spaces."""
    if not address or len(address) > 20 or not address.isascii() or not address.isprintable():
        raise TextError(f"{what} must be 1 to 20 printable ASCII characters")
    if " " in address:
        raise TextError(f"{what} must not contain spaces")


def encode_mo(text: str, encoding: str = "auto", split: str = "udh8", ref: int = 0) -> list[Part]:
    """The deliver_sm parts for an MO text; raises TextError."""
    if encoding not in _DATA_CODING:
        raise TextError(f"unknown encoding {encoding!r} (one of {', '.join(ENCODINGS)})")
    if split not in SPLITS:
        raise TextError(f"unknown split {split!r} (one of {', '.join(SPLITS)})")
    try:
        return split_text(text, reference=ref, method=split, data_coding=_DATA_CODING[encoding])
    except ValueError as error:  # UnencodableText, TextTooLong
        raise TextError(f"the text cannot be sent as {encoding}: {error}") from None


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
        tlvs = part.tlvs
        if self._tag:
            tlvs += ((self._tag, part_id.encode("ascii") + b"\0"),)
        message = ShortMessage(
            esm_class=part.esm_class, data_coding=part.data_coding, short_message=part.short_message, tlvs=tlvs
        )
        return addressed(message, source, destination)
