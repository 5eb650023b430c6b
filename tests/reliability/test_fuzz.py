"""Fuzzing with Hypothesis: the simulator's SMSC core, and the grammar on text the gateway decodes.

What ``tests/smpp/`` already covers (the bare sessions, framing, the codec) is
not repeated; these tests fuzz the compositions above them. The gateway's MO
path (session, inbound, batches on SQLite) is fuzzed in ``test_fuzz_gateway.py``;
the inputs are in ``fuzz_inputs.py``.

- ``test_smsc_core_survives_any_stream``: the whole core (``simulator.smsc.Smsc``:
  session, framing, MT intake, reassembly, receipts, MO store-and-forward), not
  just the session, fed a bound ESME's byte stream cut at random points. The
  stream mixes mostly well-formed submit_sm (any data_coding, esm_class, UDH,
  SAR and other TLVs, registered_delivery), responses to the deliver_sm it has
  outstanding (matching sequence numbers, any status), other PDUs and mutated
  or random bytes, while MOs are injected and time passes. Nothing may raise out
  of the core, no session may close with "internal error", everything it writes
  must be whole PDUs of commands an SMSC sends, and every deliver_sm it writes
  must decode as the gateway's session decodes it.
- ``test_decoded_text_parses_or_explains``: the grammar on the text the gateway
  decodes from random deliver_sm (not on random strings: ``tests/unit/test_grammar.py``
  does that) raises nothing but ``ParseError``, and its error's token stays short.

Runtime: a few seconds. ``RELIABILITY_EXAMPLES`` (the number of state-machine
runs of ``test_rules_model.py``) scales these up too, by a factor of 10 per 60 runs.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from grammar import ParseError, parse
from simulator.config import SimulatorConfig
from simulator.smsc import Smsc
from smpp import (
    Command,
    PduError,
    ShortMessage,
    UndecodableText,
    decode,
    decode_header,
    decode_text,
    user_data,
)

from .fuzz_inputs import (
    TEXTS,
    cut,
    deliver_sm_bodies,
    encode_pdu,
    encode_sm,
    fuzz_settings,
    mutated,
    one_in,
    short_messages,
)

# ---- (a) the simulator's SMSC core -------------------------------------------------------

_BIND = encode_pdu(Command.BIND_TRANSCEIVER, 0, 1, b"smsgw\0demo1234\0\0\x34\0\0\0")
#: What an SMSC writes: responses to the ESME's requests, and its own requests.
_SMSC_WRITES = {
    Command.GENERIC_NACK,
    Command.BIND_TRANSCEIVER_RESP,
    Command.BIND_TRANSMITTER_RESP,
    Command.BIND_RECEIVER_RESP,
    Command.SUBMIT_SM_RESP,
    Command.UNBIND_RESP,
    Command.ENQUIRE_LINK_RESP,
    Command.DELIVER_SM,
    Command.ENQUIRE_LINK,
    Command.UNBIND,
}
_ESME_COMMANDS = st.sampled_from(
    [Command.SUBMIT_SM] * 8
    + [Command.DELIVER_SM_RESP] * 3
    + [
        Command.GENERIC_NACK,
        Command.ENQUIRE_LINK,
        Command.ENQUIRE_LINK_RESP,
        Command.BIND_TRANSCEIVER,
        Command.UNBIND_RESP,
    ]
    + [Command.QUERY_SM, Command.DATA_SM, Command.DELIVER_SM]
) | st.integers(0, 0xFFFFFFFF)


@st.composite
def esme_pdus(draw: st.DrawFn) -> bytes:
    if draw(one_in(30)):
        return draw(st.binary(max_size=24))  # noise: most likely an impossible length, which ends the session
    command = Command.UNBIND if draw(one_in(30)) else draw(_ESME_COMMANDS)
    if command == Command.SUBMIT_SM:
        body = draw(mutated(encode_sm(draw(short_messages()))))
    elif command == Command.BIND_TRANSCEIVER:
        body = draw(st.sampled_from([b"smsgw\0demo1234\0\0\x34\0\0\0", b"smsgw\0wrong\0", b"\0"]))
    elif command == Command.DELIVER_SM_RESP:
        body = draw(st.sampled_from([b"\0", b"", b"id\0"]) | st.binary(max_size=8))
    else:
        body = draw(st.binary(max_size=40))
    sequence = draw(st.integers(1, 12) | st.integers(0, 0xFFFFFFFF))  # small ones answer our deliver_sm
    status = draw(st.sampled_from([0, 0, 0, 0x58, 0x64, 0x14]) | st.integers(0, 0xFFFFFFFF))
    return encode_pdu(command, status, sequence, body)


def _check_smsc_output(data: bytes) -> None:
    """Whole PDUs of commands an SMSC sends; its deliver_sm decode as the gateway's session decodes them."""
    while data:
        header = decode_header(data)  # PduError if fewer than 16 octets
        assert 16 <= header.length <= len(data), header
        assert header.command_id in _SMSC_WRITES, hex(header.command_id)
        if header.command_id == Command.DELIVER_SM:
            assert isinstance(decode(data[: header.length]).body, ShortMessage)  # raises PduError if not
        data = data[header.length :]


@fuzz_settings(150)
@given(
    pdus=st.lists(esme_pdus(), max_size=14),
    cuts=st.lists(st.integers(0, 100_000), max_size=20),
    mos=st.lists(st.tuples(st.integers(0, 20), TEXTS.filter(lambda t: 0 < len(t))), max_size=4),
    pace=st.sampled_from([0.01, 1.0, 40.0]),
)
def test_smsc_core_survives_any_stream(
    pdus: list[bytes], cuts: list[int], mos: list[tuple[int, str]], pace: float
) -> None:
    config = SimulatorConfig(record_file="", mo_redelivery_timeout=5.0, mo_retry_delay=1.0, concat_timeout=10.0)
    core = Smsc(config, now=0.0)
    bind = core.open_session("fuzz", 0.0)
    chunks = cut(_BIND + b"".join(pdus), cuts)
    now = 0.0
    for i, chunk in enumerate(chunks):
        for when, text in mos:
            if when == i:
                core.inject_mo("37120000001", "1643", text, now)
        now += pace
        core.receive(bind, chunk, now)
        core.tick(now)
        for bind_id, data, action in core.take_output():
            _check_smsc_output(data)
            if action and bind_id == bind:
                core.connection_lost(bind, now)
        session = core.binds[bind].session if bind in core.binds else None
        assert session is None or session.close_reason != "internal error"
        if session is None:
            break
    core.connection_lost(bind, now)
    core.tick(now + 1000.0)  # everything undelivered is retried or given up, without a receiver
    assert all(b.session.close_reason != "internal error" for b in core.binds.values())


# ---- (b) the grammar on decoded text -----------------------------------------------------


@fuzz_settings(300)
@given(deliver_sm_bodies())
def test_decoded_text_parses_or_explains(body: bytes) -> None:
    try:
        message = decode(encode_pdu(Command.DELIVER_SM, 0, 1, body)).body
    except PduError:
        return
    assert isinstance(message, ShortMessage)
    data, _ = user_data(message)
    try:
        text = decode_text(data, message.data_coding)
    except UndecodableText:
        return
    for short_code in (message.destination_addr, "1643", "1640"):
        try:
            parse(text, short_code)
        except ParseError as error:
            assert error.token is None or len(error.token) <= 20
