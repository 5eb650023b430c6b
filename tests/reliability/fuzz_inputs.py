"""Hostile input for the fuzz tests: what an SMSC or an ESME might send, mostly plausible, some not.

Strategies (Hypothesis) for submit_sm / deliver_sm bodies in every data_coding,
with UDH (8- and 16-bit references, and junk), SAR TLVs, message_payload, an
SMSC message-id TLV, receipts' TLVs and odd addresses; the same bodies cut,
bit-flipped, padded or replaced by random bytes. Written with the shared codec
(``smpp``), never with the code under test's own encoder.
"""

from __future__ import annotations

import itertools
import os
import struct
from datetime import UTC, datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from smpp import (
    MESSAGE_STATES,
    SPLIT_METHODS,
    Command,
    Pdu,
    ShortMessage,
    Tag,
    TextTooLong,
    UnencodableText,
    encode,
    encode_gsm7,
    receipt_text,
    receipt_tlvs,
    split_text,
)

__all__ = [
    "MO_ID_TAG",
    "TEXTS",
    "cut",
    "deliver_sm_bodies",
    "encode_pdu",
    "encode_sm",
    "fuzz_settings",
    "mo_streams",
    "mutated",
    "one_in",
    "receipts",
    "short_messages",
]

_SCALE = max(1, int(os.environ.get("RELIABILITY_EXAMPLES", "60")) * 10 // 600)


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples * _SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


# ---- what a subscriber might have typed, in what alphabet --------------------------------

_COMMANDS = st.sampled_from(
    [
        "V 29000001 5",
        "29000001 21,34",
        "M 29000002 4.13",
        "JA",
        "Jā",
        "STOP",
        "STOP 29000001",
        "S",
        "S +37129000001",
        "P",
        "HELP",
        "V?",
        "",
        "V 29000001 5€",
        "ＶＸ 29000001",
    ]
)
TEXTS = st.one_of(_COMMANDS, st.text(max_size=80), st.builds(lambda a, b: a + b, _COMMANDS, st.text(max_size=8)))


def encode_sm(message: ShortMessage) -> bytes:
    """A submit_sm / deliver_sm body written by the shared codec (not the gateway's)."""
    return encode(Pdu(Command.SUBMIT_SM, 0, 1, message))[16:]


def encode_pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


def _encode(text: str, data_coding: int) -> bytes:
    """The octets an SMSC would send for ``text`` (not the gateway's encoder: the shared codec's)."""
    if data_coding == 0:
        return encode_gsm7(text, replace="?")
    if data_coding == 8:
        return text.encode("utf-16-be", "surrogatepass")
    if data_coding in (1, 3):
        return text.encode("latin-1", "replace")
    return text.encode("utf-8", "surrogatepass")


_DATA_CODINGS = st.sampled_from([0, 0, 8, 8, 3, 1, 4, 0x10, 0x18, 0xF0, 0xF4]) | st.integers(0, 255)
_UDH = st.one_of(
    st.just(b""),
    st.builds(lambda r, t, s: bytes((5, 0, 3, r, t, s)), st.integers(0, 255), st.integers(0, 4), st.integers(0, 4)),
    st.builds(
        lambda r, t, s: bytes((6, 8, 4, r >> 8, r & 0xFF, t, s)),
        st.integers(0, 0xFFFF),
        st.integers(0, 4),
        st.integers(0, 4),
    ),
    st.binary(min_size=1, max_size=12),
)
MO_ID_TAG = 0x1401
_TLV_TAGS = st.sampled_from(
    [
        Tag.SAR_MSG_REF_NUM,
        Tag.SAR_TOTAL_SEGMENTS,
        Tag.SAR_SEGMENT_SEQNUM,
        Tag.MESSAGE_PAYLOAD,
        Tag.RECEIPTED_MESSAGE_ID,
        Tag.MESSAGE_STATE,
        0x0423,
        MO_ID_TAG,
    ]
) | st.integers(0, 0xFFFF)
_TLV_VALUES = st.binary(max_size=12) | st.sampled_from([b"\x01", b"\x02", b"\x00\x07", b"ab\0"])
_TLVS = st.dictionaries(_TLV_TAGS, _TLV_VALUES, max_size=4)
_ADDRESSES = st.sampled_from(
    ["37120000001", "37120000002", "+37120000003", "0037129000001", "20000001", "LMT", "", "1643", "1640"]
) | st.text(st.characters(max_codepoint=255, blacklist_characters="\0"), max_size=24)


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in ``n`` draws (``integers(0, n) == 0`` would be far more often: Hypothesis favours 0)."""
    return st.sampled_from([False] * (n - 1) + [True])


_EDGE_OCTETS = st.sampled_from([b"", b"\x00", b"\x05", b"\x05\x00\x03", b"\x05\x00\x03\x01\x02", b"\xff", b"\x01\x00"])
_SAR_TAGS = (Tag.SAR_MSG_REF_NUM, Tag.SAR_TOTAL_SEGMENTS, Tag.SAR_SEGMENT_SEQNUM)


_MESSAGE_IDS = st.sampled_from(["1A2B3C", "0", "00000000000000000042", "ff" * 32, ""]) | st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0xFF), max_size=70
)
_STATES = st.sampled_from(sorted(MESSAGE_STATES)) | st.sampled_from(["", "DELIV", "delivrd", "ÄÖÜ"])
_WHEN = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


@st.composite
def receipts(draw: st.DrawFn) -> ShortMessage:
    """A delivery receipt as an SMSC sends one (Appendix B text, the TLVs, either or both), odd ids and states."""
    message_id, state = draw(_MESSAGE_IDS), draw(_STATES)
    known = state in MESSAGE_STATES
    text = receipt_text(message_id, state if known else "UNKNOWN", _WHEN, _WHEN, text=draw(TEXTS))
    if not known:
        text = text.replace("stat:UNKNOWN", f"stat:{state}")
    tlvs: tuple[tuple[int, bytes], ...] = ()
    if known and message_id.isascii() and draw(st.booleans()):
        tlvs = receipt_tlvs(message_id, state)
    return ShortMessage(
        source_addr=draw(_ADDRESSES),
        destination_addr=draw(_ADDRESSES),
        short_message=b"" if bool(tlvs) and draw(st.booleans()) else text.encode("latin-1", "replace"),
        esm_class=draw(st.sampled_from([0x04, 0x04, 0x08, 0x10, 0x20])),
        tlvs=tlvs,
    )


@st.composite
def short_messages(draw: st.DrawFn) -> ShortMessage:
    """A submit_sm / deliver_sm body as an SMSC or an ESME might send it: mostly plausible."""
    if draw(one_in(6)):
        return draw(receipts())
    data_coding = draw(_DATA_CODINGS)
    udh = draw(_UDH)
    kind = draw(st.sampled_from(["text", "text", "text", "octets", "edge"]))
    if kind == "text":
        payload = udh + _encode(draw(TEXTS), data_coding)
    elif kind == "octets":  # anything, e.g. lone UTF-16 surrogates or a UDH length past the end
        payload = udh + draw(st.binary(max_size=160))
    else:
        payload = draw(_EDGE_OCTETS)
    esm_class = draw(st.sampled_from([0, 0x40, 0x04, 0x44, 0x08, 0x03]) | st.integers(0, 255))
    if (udh or kind == "edge") and draw(st.booleans()):
        esm_class |= 0x40
    tlvs = draw(_TLVS)
    if draw(one_in(6)):  # a SAR set, complete or not, with values of any length
        for tag in draw(st.lists(st.sampled_from(_SAR_TAGS), min_size=1, max_size=3, unique=True)):
            tlvs[tag] = draw(st.sampled_from([b"", b"\x00", b"\x01", b"\x02", b"\x00\x07", b"\x01\x02\x03\x04\x05"]))
    if len(payload) > 254 or draw(one_in(8)):  # long texts ride in message_payload
        tlvs[Tag.MESSAGE_PAYLOAD] = payload[:0xFFFF]
        payload = b""
    return ShortMessage(
        source_addr=draw(_ADDRESSES),
        destination_addr=draw(_ADDRESSES | st.sampled_from(["1643", "1640"] * 3)),
        short_message=payload,
        data_coding=data_coding,
        esm_class=esm_class,
        registered_delivery=draw(st.integers(0, 3) | st.integers(0, 255)),
        tlvs=tuple(tlvs.items()),
    )


@st.composite
def mutated(draw: st.DrawFn, body: bytes) -> bytes:
    how = draw(st.sampled_from(["keep", "keep", "keep", "cut", "flip", "pad"]))
    if how == "cut" and body:
        return body[: draw(st.integers(0, len(body) - 1))]
    if how == "flip" and body:
        at = draw(st.integers(0, len(body) - 1))
        return body[:at] + bytes((body[at] ^ draw(st.integers(1, 255)),)) + body[at + 1 :]
    if how == "pad":
        return body + draw(st.binary(min_size=1, max_size=8))
    return body


@st.composite
def deliver_sm_bodies(draw: st.DrawFn) -> bytes:
    if draw(one_in(8)):
        return draw(st.binary(max_size=300))
    return draw(mutated(encode_sm(draw(short_messages()))))


# ---- what the gateway mostly gets: MOs of known numbers, long ones in parts ----------------

#: Numbers of ``tests.integration.conftest.DIRECTORY`` (senders and Kartes), in the forms an SMSC may use.
_SUBSCRIBERS = st.sampled_from(
    ["37120000001", "37120000002", "37120000003", "37120000004", "37129000001", "+37120000001", "0037120000002"]
)
_SHORT_CODES = st.sampled_from(["1643", "1643", "1640"])
_LONG_TEXTS = st.builds(lambda a, b, c: f"{a} {b} {c}", TEXTS, st.text(min_size=150, max_size=400), TEXTS)


@st.composite
def _plausible(draw: st.DrawFn) -> list[bytes]:
    """An MO from a subscriber, whole or in parts (UDH8, UDH16, SAR or message_payload), in GSM or UCS-2.

    Of a long MO, some parts may be missing, repeated or out of order, as an SMSC may deliver them.
    """
    source, destination = draw(_SUBSCRIBERS), draw(_SHORT_CODES)
    text = draw(_LONG_TEXTS if draw(st.booleans()) else TEXTS)
    data_coding = draw(st.sampled_from([None, 0, 8]))
    try:
        parts = split_text(
            text,
            reference=draw(st.integers(0, 0xFFFF)),
            method=draw(st.sampled_from(SPLIT_METHODS)),
            data_coding=data_coding,
        )
    except (UnencodableText, TextTooLong, ValueError):
        parts = split_text(text, reference=draw(st.integers(0, 0xFF)))
    if len(parts) > 1:
        parts = draw(st.permutations(parts))
        if draw(one_in(4)):
            parts = parts[1:]  # one never arrives: stored, never completed
        if draw(one_in(4)):
            parts = [*parts, parts[0]]  # one arrives twice
    return [
        encode_sm(
            ShortMessage(
                source_addr=source,
                destination_addr=destination,
                short_message=part.short_message,
                data_coding=part.data_coding,
                esm_class=part.esm_class,
                tlvs=part.tlvs,
            )
        )
        for part in parts
    ]


@st.composite
def mo_streams(draw: st.DrawFn, max_messages: int = 6) -> list[bytes]:
    """deliver_sm bodies of one connection: plausible MOs (long ones as several bodies) and hostile ones."""
    messages = draw(
        st.lists(
            st.one_of(_plausible(), deliver_sm_bodies().map(lambda body: [body])), min_size=1, max_size=max_messages
        )
    )
    return [body for message in messages for body in message]
