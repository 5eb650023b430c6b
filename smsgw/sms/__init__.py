"""SMS text encoding: GSM 03.38 / UCS-2 outbound splitting and never-failing inbound decoding."""

from __future__ import annotations

from smsgw.sms.decode import Concat, concat_from_sar, decode_short_message, decode_text, split_udh
from smsgw.sms.encode import (
    MessageTooLongError,
    Part,
    encode_for_sms,
    encoding_of,
    parts_needed,
)
from smsgw.sms.gsm import decode_gsm, encode_gsm, is_gsm, septet_count

__all__ = [
    "Concat",
    "MessageTooLongError",
    "Part",
    "concat_from_sar",
    "decode_gsm",
    "decode_short_message",
    "decode_text",
    "encode_for_sms",
    "encode_gsm",
    "encoding_of",
    "is_gsm",
    "parts_needed",
    "septet_count",
    "split_udh",
]
