"""Delivery receipts, both ways: read one out of a deliver_sm (or data_sm), and write one.

A receipt (esm_class message type 0x04, SMPP 3.4 §5.2.12) names the SMSC message id of a
submit_sm and the message's final state. SMPP 3.4 carries them in the TLVs
receipted_message_id (0x001E), message_state (0x0427) and network_error_code (0x0423);
older or sloppier SMSCs only write the text of SMPP 3.4 Appendix B:

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...

Reading (`parse_receipt`, never raises): each field prefers its TLV; else the text (keys
in any case and order, any of them missing, nothing read after `text:`), decoded as UCS-2
when the data_coding says so and as Latin-1 otherwise; an unknown or missing state is
"UNKNOWN"; the error is the text's `err:` (the SMSC's own code), else the
network_error_code TLV's code as three decimal digits, else None.

Message ids: SMSCs quote one id in several forms (`1A2B` in submit_sm_resp, `6699` or
`1a2b` in the receipt); `message_id_variants` lists the forms to index and look up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from .bodies import Message
from .coding import UCS2, codec_for
from .concat import user_data
from .constants import EsmClass, Tag
from .errors import UndecodableText
from .tlv import Tlvs, find_tlv, tlv_text

__all__ = [
    "MESSAGE_STATES",
    "Receipt",
    "is_receipt",
    "message_id_variants",
    "parse_receipt",
    "receipt_text",
    "receipt_tlvs",
]

MESSAGE_STATES: Final = {
    "ENROUTE": 1,
    "DELIVRD": 2,
    "EXPIRED": 3,
    "DELETED": 4,
    "UNDELIV": 5,
    "ACCEPTD": 6,
    "UNKNOWN": 7,
    "REJECTD": 8,
}
"""Appendix B state words → message_state TLV values (SMPP 3.4 §5.2.28)."""

_STATE_BY_VALUE: Final = {value: word for word, value in MESSAGE_STATES.items()}
_ALIASES: Final = {
    "DELIVERED": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "UNDELIVERED": "UNDELIV",
    "ACCEPTED": "ACCEPTD",
    "REJECTED": "REJECTD",
}
# A key starts the text or follows a non-word character; a value runs to the next space or NUL.
_ID: Final = re.compile(r"(?<!\w)id:[ \t]*([^\s\x00:]+)(?=[\s\x00]|$)", re.IGNORECASE)
_STAT: Final = re.compile(r"(?<!\w)stat:[ \t]*([A-Za-z_]+)", re.IGNORECASE)
_ERR: Final = re.compile(r"(?<!\w)err:[ \t]*([0-9A-Za-z]+)", re.IGNORECASE)
_TEXT: Final = re.compile(r"(?<!\w)text:", re.IGNORECASE)
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_MAX_NUMERIC_ID: Final = 64


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a delivery receipt says about one submitted message."""

    message_id: str
    state: str  # a key of MESSAGE_STATES
    error: str | None


def is_receipt(message: Message) -> bool:
    """True for anything but a plain message: a delivery receipt, an intermediate
    notification or an SME acknowledgement (esm_class message type bits set)."""
    return bool(message.esm_class & EsmClass.TYPE_MASK)


def parse_receipt(message: Message) -> Receipt | None:
    """The receipt in `message`, or None when it is not one or names no message id."""
    if not is_receipt(message):
        return None
    tlvs = message.tlvs
    text = _receipt_text_of(message)
    quoted = _TEXT.search(text)  # the start of the original message: no keys after it
    if quoted is not None:
        text = text[: quoted.start()]
    message_id = tlv_text(tlvs, Tag.RECEIPTED_MESSAGE_ID) if tlvs else None
    if not message_id:
        found = _ID.search(text)
        if found is None:
            return None
        message_id = found.group(1)
    state_tlv = find_tlv(tlvs, Tag.MESSAGE_STATE) if tlvs else None
    state = _STATE_BY_VALUE.get(state_tlv[0]) if state_tlv is not None and len(state_tlv) == 1 else None
    if state is None:
        stat = _STAT.search(text)
        word = stat.group(1).upper() if stat else ""
        word = _ALIASES.get(word, word)
        state = word if word in MESSAGE_STATES else "UNKNOWN"
    err = _ERR.search(text)
    error = err.group(1) if err else None
    network = find_tlv(tlvs, Tag.NETWORK_ERROR_CODE) if tlvs else None
    if error is None and network is not None and len(network) == 3:
        error = f"{int.from_bytes(network[1:], 'big'):03d}"
    return Receipt(message_id=message_id, state=state, error=error)


def _receipt_text_of(message: Message) -> str:
    data, _ = user_data(message)
    try:
        if codec_for(message.data_coding) == UCS2:
            return data.decode(UCS2, "replace")
    except UndecodableText:
        pass
    return data.decode("latin-1")


def receipt_text(
    message_id: str,
    state: str,
    submitted_at: datetime,
    done_at: datetime,
    *,
    error: int = 0,
    text: str = "",
    submitted: int = 1,
    delivered: int | None = None,
) -> str:
    """The Appendix B text; `delivered` defaults to `submitted` for DELIVRD, else 0; `text`
    is cut to its first 20 characters."""
    if state not in MESSAGE_STATES:
        raise ValueError(f"state must be one of {', '.join(MESSAGE_STATES)}")
    if delivered is None:
        delivered = submitted if state == "DELIVRD" else 0
    return (
        f"id:{message_id} sub:{submitted:03d} dlvrd:{delivered:03d}"
        f" submit date:{submitted_at:%y%m%d%H%M} done date:{done_at:%y%m%d%H%M}"
        f" stat:{state} err:{error:03d} text:{text[:20]}"
    )


def receipt_tlvs(message_id: str, state: str, network_error: tuple[int, int] | None = None) -> Tlvs:
    """receipted_message_id and message_state, and network_error_code as (network type,
    error code) when given (SMPP 3.4 §5.3.2.31: 1 octet type, 2 octets code)."""
    tlvs: list[tuple[int, bytes]] = [
        (Tag.RECEIPTED_MESSAGE_ID, message_id.encode("latin-1") + b"\0"),
        (Tag.MESSAGE_STATE, bytes((MESSAGE_STATES[state],))),
    ]
    if network_error is not None:
        kind, code = network_error
        tlvs.append((Tag.NETWORK_ERROR_CODE, bytes((kind,)) + code.to_bytes(2, "big")))
    return tuple(tlvs)


def message_id_variants(message_id: str) -> tuple[str, ...]:
    """The forms under which an SMSC may quote one message id, as given first, no duplicates.

    - all decimal digits: as given, without leading zeros, hex lower and upper
      (`"6699"` → `("6699", "1a2b", "1A2B")`);
    - hex digits with at least one letter a–f: as given, lower, upper, both without
      leading zeros, and decimal (`"1a2b"` → `("1a2b", "1A2B", "6699")`);
    - anything else (or longer than 64 characters): as given only.

    Index a submitted id under all its variants and look a receipt's id up under each of
    its variants: between them the two sides cover hex quoted as decimal and back.
    """
    mid = message_id
    if not mid or len(mid) > _MAX_NUMERIC_ID or not mid.isascii():
        return (mid,)
    if mid.isdigit():
        number = int(mid)
        forms: tuple[str, ...] = (mid, str(number), f"{number:x}", f"{number:X}")
    elif _HEX.issuperset(mid):
        number = int(mid, 16)
        forms = (mid, mid.lower(), mid.upper(), f"{number:x}", f"{number:X}", str(number))
    else:
        return (mid,)
    return tuple(dict.fromkeys(forms))
