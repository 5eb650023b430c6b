"""Delivery receipts: read one out of a deliver_sm, and match the message ids SMSCs quote.

A receipt names the SMSC message id of a submit_sm (the one its
submit_sm_resp returned) and the message's state.  SMPP 3.4 carries them in
the TLVs receipted_message_id (0x001E) and message_state (0x0427); older or
sloppier SMSCs only write the text of SMPP 3.4 Appendix B::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...

The TLVs win over the text.  Nothing here raises, whatever the PDU says.

This module is the lower layer of :mod:`smsgw.smpp.pdu` (which re-exports
it): it needs a :class:`~smsgw.smpp.pdu.DeliverSm` only as a type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from smsgw.smpp.pdu import DeliverSm

__all__ = [
    "RECEIPT_STATES",
    "TLV_MESSAGE_STATE",
    "TLV_NETWORK_ERROR_CODE",
    "TLV_RECEIPTED_MESSAGE_ID",
    "Receipt",
    "message_id_variants",
    "parse_receipt",
]

TLV_RECEIPTED_MESSAGE_ID: Final = 0x001E
TLV_NETWORK_ERROR_CODE: Final = 0x0423
TLV_MESSAGE_STATE: Final = 0x0427

# message_state TLV values (SMPP 3.4 5.3.2.35) -> the Appendix B spellings.
_STATE_BY_TLV: Final = dict(
    enumerate(("ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"), start=1)
)
RECEIPT_STATES: Final = frozenset(_STATE_BY_TLV.values())
"""The states a :class:`Receipt` can carry."""
# Spelled-out forms some SMSCs write in the text.
_STATE_ALIASES: Final = {
    "DELIVERED": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "UNDELIVERED": "UNDELIV",
    "ACCEPTED": "ACCEPTD",
    "REJECTED": "REJECTD",
}
_UCS2: Final = 0x08

# A key starts the text or follows a non-word character; a value runs to the next space or NUL.
_ID_RE: Final = re.compile(r"(?<!\w)id:[ \t]*([^\s\x00:]+)(?=[\s\x00]|$)", re.IGNORECASE)
_STAT_RE: Final = re.compile(r"(?<!\w)stat:[ \t]*([A-Za-z_]+)", re.IGNORECASE)
_ERR_RE: Final = re.compile(r"(?<!\w)err:[ \t]*([0-9A-Za-z]+)", re.IGNORECASE)
_TEXT_RE: Final = re.compile(r"(?<!\w)text:", re.IGNORECASE)

_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_MAX_NUMERIC_ID: Final = 64  # longer "numbers" are not worth converting


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a delivery receipt says about one submitted message."""

    message_id: str
    state: str  # one of RECEIPT_STATES
    error: str | None  # the SMSC's err code ("000"...), else the network_error_code TLV, else None


def parse_receipt(pdu: DeliverSm) -> Receipt | None:
    """The receipt in ``pdu``, or None for a subscriber MO or when no message id can be found.

    Each field prefers its TLV: the message id from receipted_message_id,
    the state from message_state; otherwise the Appendix B text (keys in any
    case, fields in any order, any of them missing).  A missing or unrecognised
    state is ``"UNKNOWN"``.  The error is the text's ``err:`` (the SMSC's own
    code, usually the more specific), else the network_error_code TLV's error
    code as three or more decimal digits, else None.  Never raises.
    """
    try:
        return _parse(pdu)
    except Exception:  # a receipt must never kill the hook
        return None


def _parse(pdu: DeliverSm) -> Receipt | None:
    if not pdu.is_receipt:
        return None
    text = pdu.text if pdu.data_coding == _UCS2 else pdu.payload.decode("latin-1")
    quoted = _TEXT_RE.search(text)  # the start of the original message: no keys after it
    if quoted is not None:
        text = text[: quoted.start()]
    message_id = pdu.tlv_text(TLV_RECEIPTED_MESSAGE_ID)
    if not message_id:
        found = _ID_RE.search(text)
        if found is None:
            return None
        message_id = found.group(1)

    state_tlv = pdu.tlvs.get(TLV_MESSAGE_STATE)
    state = _STATE_BY_TLV.get(state_tlv[0]) if state_tlv is not None and len(state_tlv) == 1 else None
    if state is None:
        stat = _STAT_RE.search(text)
        word = stat.group(1).upper() if stat else ""
        word = _STATE_ALIASES.get(word, word)
        state = word if word in RECEIPT_STATES else "UNKNOWN"

    err = _ERR_RE.search(text)
    error = err.group(1) if err else None
    network = pdu.tlvs.get(TLV_NETWORK_ERROR_CODE)
    if error is None and network is not None and len(network) == 3:
        error = f"{int.from_bytes(network[1:], 'big'):03d}"
    return Receipt(message_id=message_id, state=state, error=error)


def message_id_variants(message_id: str) -> tuple[str, ...]:
    """The forms under which an SMSC may quote one message id, as given first, no duplicates.

    SMSCs disagree with themselves: the submit_sm_resp may say ``1A2B`` and the
    receipt ``6699`` or ``1a2b``.  The heuristic:

    - all decimal digits: as given, without leading zeros, hex lower and upper
      (``"6699"`` -> ``("6699", "1a2b", "1A2B")``);
    - hex digits with at least one letter a-f: as given, lower, upper, both
      without leading zeros, and decimal (``"1a2b"`` -> ``("1a2b", "1A2B", "6699")``);
    - anything else (or longer than 64 characters): as given only.

    Match by indexing a submitted id under all its variants and looking a
    receipt's id up under each of its variants: between them the two sides
    cover both directions (hex quoted as decimal and decimal quoted as hex).
    Never raises.
    """
    mid = message_id
    if not mid or len(mid) > _MAX_NUMERIC_ID or not mid.isascii():
        return (mid,)
    if mid.isdigit():
        number = int(mid)
        forms: tuple[str, ...] = (mid, str(number), f"{number:x}", f"{number:X}")
    elif _HEX_DIGITS.issuperset(mid):
        number = int(mid, 16)
        forms = (mid, mid.lower(), mid.upper(), f"{number:x}", f"{number:X}", str(number))
    else:
        return (mid,)
    return tuple(dict.fromkeys(forms))
