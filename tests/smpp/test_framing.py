"""Hypothesis: any byte stream, split into reads any way, never raises past the session."""

from __future__ import annotations

import itertools
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smpp import Framer, FramingError, SmscConfig, SmscSession, State

from .test_smsc_session import BIND_TRX, ENQUIRE_LINK, SUBMIT, UNBIND, UNKNOWN


def accept(system_id: str, password: str) -> int:
    return 0 if (system_id, password) == ("smsgw", "demo1234") else 0x0E


def splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


# Fragments that look like SMPP: valid PDUs, plausible headers with odd bodies, noise.
fragments = st.one_of(
    st.sampled_from([BIND_TRX, ENQUIRE_LINK, SUBMIT, UNBIND, UNKNOWN]),
    st.builds(
        lambda cid, body, seq: struct.pack(">IIII", 16 + len(body), cid, 0, seq) + body,
        st.sampled_from(
            [0x1, 0x2, 0x4, 0x5, 0x6, 0x9, 0x15, 0x80000005, 0x80000000, 0x80000006, 0x80000015, 0x103, 0xFFFFFFFF]
        ),
        st.binary(max_size=80),
        st.integers(0, 0xFFFFFFFF),
    ),
    st.binary(max_size=40),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(fragments, max_size=12), st.lists(st.integers(0, 10_000), max_size=20), st.booleans())
def test_any_stream_any_split_never_raises(parts: list[bytes], cuts: list[int], bind_first: bool) -> None:
    stream = (BIND_TRX if bind_first else b"") + b"".join(parts)
    session = SmscSession(SmscConfig(max_pdu_size=4096), accept, now=0.0)
    now = 0.0
    for chunk in splits(stream, cuts):
        now += 0.1
        session.receive_data(chunk, now)
        session.tick(now)
        session.data_to_send()
    assert session.close_reason != "internal error"
    if session.state is not State.CLOSED:
        session.receive_data(ENQUIRE_LINK, now)  # still answering


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=8), st.lists(st.integers(0, 5000), max_size=15))
def test_framer_returns_exactly_the_pdus_in_any_split(bodies: list[bytes], cuts: list[int]) -> None:
    pdus = [struct.pack(">IIII", 16 + len(b), 0x15, 0, i) + b for i, b in enumerate(bodies)]
    stream = b"".join(pdus)
    framer = Framer(4096)
    frames = []
    for chunk in splits(stream, cuts):
        framer.feed(chunk)
        while (frame := framer.next_frame()) is not None:
            frames.append(frame)
    assert frames == pdus and framer.buffered == 0


@given(st.integers(0, 15) | st.integers(4097, 0xFFFFFFFF))
def test_framer_rejects_impossible_lengths(length: int) -> None:
    framer = Framer(4096)
    framer.feed(struct.pack(">IIII", length, 4, 0, 77))
    try:
        framer.next_frame()
    except FramingError as err:
        assert err.sequence == 77
    else:
        raise AssertionError("no FramingError")
    assert framer.next_frame() is None  # broken for good
