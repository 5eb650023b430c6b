"""Odd input from the SMSC, and the aiosmpplib defects the gateway works around (../shared/NOTES.md).

Each test runs ``smsgw run`` against :class:`FakeSmsc` and would fail if the
workaround were removed:

- data_coding 0xF0, 0x11, 0x04 (aiosmpplib answers generic_nack), UCS-2 with an
  odd octet count, broken UDHs: acknowledged with ESME_ROK and answered;
- a deliver_sm body that cannot be decoded: an error status, the session goes on;
  an unknown command_id: generic_nack ESME_RINVCMDID, the session goes on; a bad
  command_length: generic_nack ESME_RINVCMDLEN, the connection is closed and
  bound again;
- long MOs: reassembled per sender (aiosmpplib keyed by reference only), in
  numeric part order (it sorted "1,10,11,2"), with 16-bit references (it never
  completed them), in any order, a repeated part counted once;
- a vendor-specific submit_sm_resp status (0x400-0x4FF; aiosmpplib's header
  parser raises and drops the connection) fails that reply and nothing else;
- shutdown waits for unbind_resp (aiosmpplib's ``stop`` does not);
- never more than ``[smpp] window`` submit_sm outstanding (aiosmpplib has no window).
"""

from __future__ import annotations

import asyncio
import random
import signal
import struct
import threading
import time
from datetime import datetime

from .conftest import GatewayOnFake
from .fake_smsc import (
    DELIVER_SM,
    DELIVER_SM_RESP,
    GENERIC_NACK,
    SUBMIT_SM_RESP,
    UNBIND,
    UNBIND_RESP,
    FakeSmsc,
    deliver_sm_body,
    gsm,
    udh8,
    udh16,
)
from .harness import Stack, db_query, numbered_subscribers, wait_until

ESME_ROK = 0x00
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
UDHI = 0x40
VENDOR_STATUS = 0x00000401


def commands_by_source(stack: Stack) -> dict[str, list[str | None]]:
    found: dict[str, list[str | None]] = {}
    for source, command in db_query(stack.db_path, "SELECT source, command FROM mo_messages ORDER BY received_at"):
        found.setdefault(source, []).append(command)
    return found


def charges(stack: Stack) -> list[tuple[str, str, int]]:
    return [tuple(r) for r in db_query(stack.db_path, "SELECT sender, karte, amount_cents FROM charges ORDER BY id")]


def statuses(fake: FakeSmsc, sequences: list[int], session: int) -> list[int]:
    return [fake.wait_response(s, session=session).status for s in sequences]


def test_odd_data_codings_and_headers_are_acknowledged_and_answered(gateway_on_fake: GatewayOnFake) -> None:
    senders, kartes, rows = numbered_subscribers(9)
    cases: list[tuple[bytes, int, int, str]] = [  # short_message, data_coding, esm_class, expected command
        (gsm("HELP"), 0xF0, 0, "Help"),  # GSM 7-bit, message class 0 (aiosmpplib: generic_nack)
        (gsm("HELP"), 0x11, 0, "Help"),  # general coding group, class 1, GSM 7-bit (aiosmpplib: nack)
        (f"V {kartes[2][3:]} 5".encode("latin-1"), 0x04, 0, "TopUp"),  # 8-bit data (aiosmpplib: nack)
        (gsm("S"), 0xF4, 0, "Status"),  # 8-bit data, class 0
        ("HELP".encode("utf-16-be") + b"\x00", 0x08, 0, ""),  # UCS-2, odd octet count: "HELP\ufffd", a hint
        (bytes((5, 0x00, 3, 7, 2, 0)) + gsm("HELP"), 0, UDHI, "Help"),  # concat IE with part number 0
        (bytes((3, 0x00, 5, 1)) + gsm("HELP"), 0, UDHI, "Help"),  # an IE running past the UDH
        (bytes((0, *gsm("HELP"))), 0, UDHI, "Help"),  # UDHL 0
        (bytes((9, 0x00, 3)) + gsm("HELP"), 0, UDHI, ""),  # UDHL past the message: all of it is text
    ]
    stack, fake = gateway_on_fake(subscribers=rows)
    session = fake.session
    sequences = [
        fake.deliver(sender, "1643", sm, data_coding=dc, esm_class=esm)
        for sender, (sm, dc, esm, _) in zip(senders, cases, strict=False)
    ]
    assert statuses(fake, sequences, session) == [ESME_ROK] * len(cases)
    for sender in senders[: len(cases)]:
        wait_until(lambda sender=sender: fake.submits(to=sender) != [], 10, f"a reply to {sender}")
    found = commands_by_source(stack)
    assert [found.get(s) for s in senders[: len(cases)]] == [[c[3] or None] for c in cases]
    assert charges(stack) == [(senders[2], kartes[2], 500)]
    assert fake.connections == 1 and fake.errors == []


def test_undecodable_deliver_sm_gets_an_error_status_and_the_session_goes_on(gateway_on_fake: GatewayOnFake) -> None:
    stack, fake = gateway_on_fake()
    session = fake.session
    sender = "37120000001"
    whole = deliver_sm_body(sender, "1643", gsm("HELP"))
    with_tlv = deliver_sm_body(sender, "1643", gsm("HELP"), tlvs=[(0x1400, b"ID1\0")])
    bodies = [
        b"",  # no body at all
        b"\0\x01\x01" + b"3712",  # ends inside source_addr
        whole[:-2],  # sm_length runs past the body
        with_tlv[:-1],  # the TLV's length runs past the body
        b"\xff" * 40,  # no NUL anywhere: service_type never ends
        b"LONGSERVICE\0" + whole[1:],  # service_type longer than 6 octets
    ]
    sequences = [fake.send_request(DELIVER_SM, body) for body in bodies]
    responses = [fake.wait_response(s, session=session) for s in sequences]
    assert [r.command_id for r in responses] == [DELIVER_SM_RESP] * len(bodies)
    assert [r.status != ESME_ROK for r in responses] == [True] * len(bodies), [hex(r.status) for r in responses]

    valid = fake.deliver(sender, "1643", gsm("V 29000001 5"))
    assert fake.wait_response(valid, session=session).status == ESME_ROK
    wait_until(lambda: len(fake.submits(to=sender)) >= 1, 10, "the valid MO answered")
    assert charges(stack) == [(sender, "37129000001", 500)]
    assert db_query(stack.db_path, "SELECT count(*) FROM mo_messages") == [(1,)]
    assert fake.connections == 1 and fake.binds == 1


def test_unknown_command_id_gets_generic_nack_and_the_session_goes_on(gateway_on_fake: GatewayOnFake) -> None:
    stack, fake = gateway_on_fake()
    session = fake.session
    unknown = fake.send_request(0x00000099, b"")
    cancel_sm = fake.send_request(0x00000008, b"\0\0\x01\x011\0")  # an SMSC has no business sending this
    for sequence in (unknown, cancel_sm):
        nack = fake.wait_response(sequence, session=session, command_id=GENERIC_NACK)
        assert (nack.command_id, nack.status) == (GENERIC_NACK, ESME_RINVCMDID)
    valid = fake.deliver("37120000001", "1643", gsm("V 29000001 5"))
    assert fake.wait_response(valid, session=session).status == ESME_ROK
    wait_until(lambda: len(charges(stack)) == 1, 10, "the valid MO applied")
    assert fake.connections == 1 and fake.binds == 1


def test_bad_command_length_gets_generic_nack_then_the_gateway_binds_again(gateway_on_fake: GatewayOnFake) -> None:
    stack, fake = gateway_on_fake()
    first = fake.session
    fake.send_raw(struct.pack(">IIII", 8, DELIVER_SM, 0, 77))  # command_length 8: less than its own header
    nack = fake.wait_response(77, session=first, command_id=GENERIC_NACK)
    assert (nack.command_id, nack.status) == (GENERIC_NACK, ESME_RINVCMDLEN)
    second = fake.wait_bound(2)  # the stream cannot be trusted any more: closed, then bound again
    assert fake.connections == 2
    valid = fake.deliver("37120000001", "1643", gsm("V 29000001 5"), session=second)
    assert fake.wait_response(valid, session=second).status == ESME_ROK
    wait_until(lambda: len(charges(stack)) == 1, 10, "the MO on the new session applied")


def _parts(
    fake: FakeSmsc, sender: str, pieces: list[str], order: list[int], reference: int, *, sixteen: bool = False
) -> list[int]:
    total = len(pieces)
    header = udh16 if sixteen else udh8
    return [
        fake.deliver(sender, "1643", header(reference, total, n) + gsm(pieces[n - 1]), esm_class=UDHI) for n in order
    ]


def test_long_mos_are_reassembled_per_sender_in_numeric_order_and_once(gateway_on_fake: GatewayOnFake) -> None:
    senders, kartes, rows = numbered_subscribers(6)
    stack, fake = gateway_on_fake(subscribers=rows)
    session = fake.session
    text = [f"V {k[3:]} {amount}" for k, amount in zip(kartes, (5, 7, 3, 4, 6, 2), strict=True)]
    sent: list[int] = []
    # Two senders, the SAME 8-bit reference, parts interleaved.
    a, b = text[0], text[1]
    pieces_a, pieces_b = [a[:3], a[3:9], a[9:]], [b[:3], b[3:9], b[9:]]
    for n in (1, 2, 3):
        sent += _parts(fake, senders[0], pieces_a, [n], 42)
        sent += _parts(fake, senders[1], pieces_b, [n], 42)
    # Parts in reverse order.
    sent += _parts(fake, senders[2], [text[2][:4], text[2][4:8], text[2][8:]], [3, 2, 1], 43)
    # 16-bit reference.
    sent += _parts(fake, senders[3], [text[3][:6], text[3][6:]], [1, 2], 0x1234, sixteen=True)
    # More than 9 parts (one character each), shuffled: "1, 10, 11, 12, 2, ..." would garble it.
    twelve = list(text[4])
    assert len(twelve) == 12
    order = list(range(1, 13))
    random.Random(7).shuffle(order)
    sent += _parts(fake, senders[4], twelve, order, 44)
    # A part delivered twice before the message completes, and again after it completed.
    pieces_f = [text[5][:4], text[5][4:8], text[5][8:]]
    sent += _parts(fake, senders[5], pieces_f, [1, 2, 2, 3], 45)
    wait_until(lambda: len(charges(stack)) == 6, 15, "six long MOs applied")
    sent += _parts(fake, senders[5], pieces_f, [3, 1], 45)

    assert statuses(fake, sent, session) == [ESME_ROK] * len(sent)
    threading.Event().wait(1.0)
    mos = db_query(stack.db_path, "SELECT source, text FROM mo_messages ORDER BY source")
    assert mos == sorted(zip(senders, text, strict=True))
    assert sorted(charges(stack)) == sorted(
        (s, k, amount * 100) for s, k, amount in zip(senders, kartes, (5, 7, 3, 4, 6, 2), strict=True)
    )


def _outbox(stack: Stack) -> list[tuple[str, str, str | None]]:
    rows = db_query(stack.db_path, "SELECT destination, state, last_error FROM outbox ORDER BY id")
    return [tuple(r) for r in rows]


def test_vendor_specific_submit_status_fails_that_reply_and_keeps_the_session(gateway_on_fake: GatewayOnFake) -> None:
    sender, karte = "37120000001", "37129000001"
    stack, fake = gateway_on_fake(submit_status=lambda p: VENDOR_STATUS if p.destination == karte else ESME_ROK)
    session = fake.session
    assert fake.wait_response(fake.deliver(sender, "1643", gsm("V 29000001 5")), session=session).status == 0
    wait_until(
        lambda: sorted(s for _, s, _ in _outbox(stack)) == ["failed", "submitted"], 10, "one reply failed, one sent"
    )
    threading.Event().wait(1.0)  # a resubmission or a reconnect would show now
    refused = [r for r in fake.sent if r.command_id == SUBMIT_SM_RESP and r.status == VENDOR_STATUS]
    assert len(refused) >= 1
    to_karte = fake.submits(to=karte)
    assert len({p.fields["short_message"] for p in to_karte}) == len(to_karte), "the refused reply was resubmitted"
    [failed] = [r for r in _outbox(stack) if r[1] == "failed"]
    assert failed[0] == karte and "0x00000401" in (failed[2] or "")
    # The session is the same one and still serves.
    assert fake.wait_response(fake.deliver(sender, "1643", gsm("S")), session=session).status == 0
    wait_until(lambda: len(_outbox(stack)) == 3 and _outbox(stack)[2][1] == "submitted", 10, "the S reply sent")
    assert fake.connections == 1 and fake.binds == 1


def test_sigterm_waits_briefly_for_the_unbind_resp(gateway_on_fake: GatewayOnFake) -> None:
    stack, fake = gateway_on_fake(unbind_resp_delay=0.15)
    gateway = stack.gateway
    assert gateway is not None
    gateway.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    last_alive = time.time()
    while gateway.poll() is None and time.monotonic() < deadline:
        last_alive = time.time()
        time.sleep(0.005)
    assert gateway.poll() == 0
    [unbind] = fake.pdus(UNBIND)
    answered = fake.pdus(UNBIND_RESP, direction="out")
    assert answered, "the gateway closed the connection before the SMSC could answer its unbind"
    [unbind_resp] = answered
    assert unbind_resp.at - unbind.at >= 0.14
    assert last_alive >= unbind_resp.at - 0.05, "the gateway exited before the SMSC answered its unbind"
    events = {e["event"]: e for e in stack.log_events()}
    assert "smpp_unbind_resp_missing" not in events
    unbound = datetime.fromisoformat(events["smpp_unbound"]["timestamp"].replace("Z", "+00:00")).timestamp()
    assert unbound >= unbind_resp.at - 0.01


def test_sigterm_does_not_wait_long_for_a_slow_unbind_resp(gateway_on_fake: GatewayOnFake) -> None:
    """Shutdown ends within a second in every state; an SMSC slow to answer the unbind does not hold it."""
    stack, fake = gateway_on_fake(unbind_resp_delay=3.0)
    gateway = stack.gateway
    assert gateway is not None
    began = time.monotonic()
    gateway.send_signal(signal.SIGTERM)
    assert gateway.wait(timeout=10) == 0
    assert time.monotonic() - began < 1.0
    assert len(fake.pdus(UNBIND)) == 1
    assert "smpp_unbind_resp_missing" in {e["event"] for e in stack.log_events()}


def test_aiosmpplib_stop_does_not_wait_for_the_unbind_resp() -> None:
    """Why the gateway has its own shutdown: the library's stop() returns before unbind_resp."""
    from aiosmpplib import ESME

    with FakeSmsc(unbind_resp_delay=3.0) as fake:

        async def run() -> tuple[float, float]:
            esme = ESME(smsc_host="127.0.0.1", smsc_port=fake.port, system_id="smsgw", password="demo1234")
            task = asyncio.create_task(esme.start())
            await asyncio.to_thread(fake.wait_bound, 1)
            for _ in range(500):  # until the library has read the bind_resp
                if esme.session_state.name == "BOUND_TRX":
                    break
                await asyncio.sleep(0.01)
            started = time.time()
            await asyncio.wait_for(esme.stop(), 10)
            stopped = time.time()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return started, stopped

        started, stopped = asyncio.run(run())
        [unbind] = fake.pdus(UNBIND)
        assert started <= unbind.at <= stopped
        assert stopped - unbind.at < 2.0  # (it idles about 1 s) while the SMSC answers only after 3 s
        answered = [p.at for p in fake.pdus(UNBIND_RESP, direction="out")]
        assert all(at > stopped for at in answered)


def _max_outstanding(fake: FakeSmsc) -> int:
    answered = {p.sequence: p.at for p in fake.sent if p.command_id == SUBMIT_SM_RESP}
    submits = fake.submits()
    most = 0
    for submit in submits:
        now = submit.at
        open_ = [s for s in submits if s.at <= now and answered.get(s.sequence, float("inf")) > now]
        most = max(most, len(open_))
    return most


def test_never_more_than_window_submits_outstanding(gateway_on_fake: GatewayOnFake) -> None:
    window = 3
    senders, kartes, rows = numbered_subscribers(6)
    stack, fake = gateway_on_fake(
        subscribers=rows, submit_status=lambda p: None, smpp={"window": window, "submit_timeout": 30.0}
    )
    session = fake.session
    sequences = [fake.deliver(s, "1643", gsm(f"V {k[3:]} 5")) for s, k in zip(senders, kartes, strict=True)]
    assert statuses(fake, sequences, session) == [ESME_ROK] * len(senders)
    wait_until(lambda: len(fake.submits()) >= window, 10, "the window filled")
    threading.Event().wait(1.5)  # the SMSC answers nothing: nothing more may come
    assert len(fake.submits()) == window

    fake.submit_delay = 0.05
    fake.release()
    replies = 2 * len(senders)
    wait_until(
        lambda: [s for (s,) in db_query(stack.db_path, "SELECT state FROM outbox")] == ["submitted"] * replies,
        20,
        "every reply submitted",
    )
    parts = sum(p for (p,) in db_query(stack.db_path, "SELECT parts FROM outbox"))
    assert len(fake.submits()) == parts  # nothing was sent twice
    assert _max_outstanding(fake) == window
    assert fake.connections == 1
