"""One MO as the gateway takes it in: its id, the job a batch decides, and what became of it.

``mo_job`` is the one place an MO's text is parsed and fingerprinted before its
batch, whether it came over SMPP (``gateway.inbound``) or from ``smsgw mo``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import datetime

from grammar import ParseError, normalize_msisdn, parse
from handlers.model import Outgoing

from .batch.jobs import MoJob, PartOf
from .db.messages import fingerprint

__all__ = ["InboundMo", "MoResult", "mo_job", "new_mo_id"]

_NIBBLES = str.maketrans("0123456789abcdef", "abcdefghijkmnpqr")


def new_mo_id() -> str:
    """32 letters: the time in microseconds, then 80 random bits.

    Letters only, so an id never looks like a phone number in a log; time first,
    so new ids go to the end of the index instead of anywhere in it.
    """
    stamp = f"{time.time_ns() // 1000:012x}"[-12:]
    return (stamp + secrets.token_hex(10)).translate(_NIBBLES)


@dataclass(frozen=True, slots=True)
class InboundMo:
    """One complete MO as the SMSC delivered it (parts already joined)."""

    source: str
    destination: str
    text: str
    received_at: datetime
    smsc_ref: str | None = None
    data_coding: int = 0
    id: str = field(default_factory=new_mo_id)


@dataclass(frozen=True, slots=True)
class MoResult:
    """What became of an MO, for the caller, the logs and the metrics."""

    mo_id: str
    outcome: str
    command: str | None
    replies: tuple[Outgoing, ...] = ()
    source: str = ""  # the short code the replies come from
    redelivery: bool = False


def mo_job(
    mo: InboundMo,
    *,
    recognise_redelivery: bool = True,
    part: PartOf | None = None,
    unreadable: str | None = None,
) -> MoJob:
    """The batch job of an MO: parsed now (a part of a long MO only once the batch completes it)."""
    text = mo.text.replace("\0", "\ufffd") if "\0" in mo.text else mo.text  # no database text column takes NUL
    job = MoJob(
        mo.id,
        mo.source,
        mo.destination,
        text,
        mo.data_coding,
        mo.received_at,
        normalize_msisdn(mo.source) or mo.source,
        fingerprint(mo.source, mo.destination, mo.data_coding, text),
        smsc_ref=mo.smsc_ref,
        part=part,
        recognise_redelivery=recognise_redelivery,
        unreadable=unreadable,
    )
    if part is not None or unreadable is not None:
        return job
    try:
        return replace(job, command=parse(text, mo.destination))
    except ParseError as error:
        return replace(job, problem=error)
