"""The SMSC core without sockets: a fake clock, PDUs in as bytes, out decoded by smpplib."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Any

from .conftest import CoreHarness, parse_stream, pdu, submit_body, tlv

Harness = Callable[..., CoreHarness]
SUBMIT, DELIVER_SM_RESP = 0x04, 0x80000005


def ack(h: CoreHarness, bind: int, p: Any, status: int = 0) -> None:
    h.send(bind, pdu(DELIVER_SM_RESP, p.sequence, b"\0", status))


def delivers(pdus: list[Any]) -> list[Any]:
    return [p for p in pdus if p.command == "deliver_sm"]


def test_submit_gets_unique_ids_and_is_recorded(harness: Harness) -> None:
    h = harness()
    bind = h.connect()
    for seq in (2, 3):
        h.send(bind, pdu(SUBMIT, seq, submit_body("1643", "37120000001", b"Hello @")))
    resps = h.read(bind)
    assert [r.command for r in resps] == ["submit_sm_resp"] * 2
    ids = [r.message_id.decode() for r in resps]
    assert len(set(ids)) == 2 and all(re.fullmatch(r"[0-9a-f]+", i) for i in ids)
    mts, _ = h.core.store.mts_since(0)
    assert [(m.source, m.destination, m.text) for m in mts] == [("1643", "37120000001", "Hello ¡")] * 2


def test_decimal_message_ids(harness: Harness) -> None:
    h = harness(message_id_format="decimal")
    bind = h.connect()
    h.send(bind, pdu(SUBMIT, 2, submit_body("1643", "37120000001", b"x")))
    assert h.read(bind)[0].message_id.decode().isdigit()


def test_receipt_after_response_with_tlvs_and_text(harness: Harness) -> None:
    h = harness()
    bind = h.connect()
    h.send(bind, pdu(SUBMIT, 2, submit_body("1643", "37120000001", b"Hello there", rd=1)))
    resp, receipt = h.read(bind)
    assert resp.command == "submit_sm_resp" and receipt.command == "deliver_sm"
    message_id = resp.message_id.decode()
    assert receipt.esm_class == 0x04
    assert receipt.receipted_message_id.rstrip(b"\0").decode() == message_id
    assert receipt.message_state == 2
    assert (receipt.source_addr, receipt.destination_addr) == (b"37120000001", b"1643")
    assert re.fullmatch(
        rf"id:{message_id} sub:001 dlvrd:001 submit date:\d{{10}} done date:\d{{10}}"
        r" stat:DELIVRD err:000 text:Hello there",
        receipt.short_message.decode(),
    )


def test_receipt_rules_outcome_delay_and_other_base(harness: Harness) -> None:
    h = harness(receipts=[{"pattern": "37129*", "status": "UNDELIV", "delay": 5.0}], receipt_id_format="decimal")
    bind = h.connect()
    h.send(bind, pdu(SUBMIT, 2, submit_body("1643", "37129000001", b"x", rd=1)))
    [resp] = h.read(bind)
    h.advance(4.9)
    assert delivers(h.read(bind)) == []
    h.advance(0.2)
    [receipt] = delivers(h.read(bind))
    assert receipt.message_state == 5
    assert receipt.receipted_message_id.rstrip(b"\0").decode() == str(int(resp.message_id.decode(), 16))
    assert b"stat:UNDELIV err:001" in receipt.short_message


def test_receipt_before_response_fault(harness: Harness) -> None:
    h = harness()
    bind = h.connect()
    h.core.faults.add("receipt_first", now=h.now, count=1)
    h.send(bind, pdu(SUBMIT, 2, submit_body("1643", "37120000001", b"x", rd=1)))
    assert [p.command for p in h.read(bind)] == ["deliver_sm", "submit_sm_resp"]
    h.send(bind, pdu(SUBMIT, 3, submit_body("1643", "37120000001", b"x", rd=1)))
    assert [p.command for p in h.read(bind)] == ["submit_sm_resp", "deliver_sm"]


def udh(ref: int, total: int, seq: int) -> bytes:
    return bytes((5, 0, 3, ref, total, seq))


def test_concatenated_parts_in_any_order_never_merging_senders(harness: Harness) -> None:
    h = harness()
    bind = h.connect()
    texts = {1: "Sveiki, ", 2: "Glābējīsziņa ", 3: "strādā"}
    for seq, part in ((3, 3), (4, 1)):
        body = udh(42, 3, part) + texts[part].encode("utf-16-be")
        h.send(bind, pdu(SUBMIT, seq, submit_body("1643", "37120000001", body, dc=8, esm=0x40)))
    # another sender, same reference: a message of its own
    other = udh(42, 2, 1) + "Other ".encode("utf-16-be")
    h.send(bind, pdu(SUBMIT, 5, submit_body("1640", "37120000001", other, dc=8, esm=0x40)))
    body = udh(42, 3, 2) + texts[2].encode("utf-16-be")
    h.send(bind, pdu(SUBMIT, 6, submit_body("1643", "37120000001", body, dc=8, esm=0x40)))
    [mt], _ = h.core.store.mts_since(0)
    assert (mt.text, mt.parts, mt.complete, mt.source) == ("Sveiki, Glābējīsziņa strādā", 3, True, "1643")
    assert len(mt.message_ids) == 3
    h.advance(121)  # the other sender's message never completes
    mts, _ = h.core.store.mts_since(0)
    assert [(m.source, m.text, m.complete) for m in mts[1:]] == [("1640", "Other ", False)]


def test_sar_and_payload_mts(harness: Harness) -> None:
    h = harness()
    bind = h.connect()
    for seq, part, text in ((2, 2, b"world"), (3, 1, b"hello ")):
        sar = tlv(0x020C, b"\x00\x07") + tlv(0x020E, b"\x02") + tlv(0x020F, bytes((part,)))
        h.send(bind, pdu(SUBMIT, seq, submit_body("1643", "37120000002", text, tlvs=sar)))
    payload = tlv(0x0424, "ā".encode("utf-16-be") * 200)
    h.send(bind, pdu(SUBMIT, 4, submit_body("1643", "37120000002", b"", dc=8, tlvs=payload)))
    mts, _ = h.core.store.mts_since(0)
    assert [m.text for m in mts] == ["hello world", "ā" * 200]


def test_store_and_forward_then_round_robin(harness: Harness) -> None:
    h = harness()
    mo = h.core.inject_mo("37120000001", "1643", "HELP", h.now)
    assert mo.state == "queued"
    first = h.connect()
    [d] = delivers(h.read(first))
    assert d.short_message == b"HELP" and d.source_addr == b"37120000001"
    ack(h, first, d)
    assert mo.state == "delivered"
    second = h.connect()
    for i in range(4):
        h.core.inject_mo("37120000001", "1643", f"S {i}", h.now)
    got = {b: [p.short_message for p in delivers(h.read(b))] for b in (first, second)}
    assert sorted(got[first] + got[second]) == [b"S 0", b"S 1", b"S 2", b"S 3"]
    assert len(got[first]) == len(got[second]) == 2


def test_transmitter_bind_gets_no_mo(harness: Harness) -> None:
    h = harness()
    tx = h.connect(mode=0x02)
    h.core.inject_mo("37120000001", "1643", "HELP", h.now)
    assert delivers(h.read(tx)) == []
    rx = h.connect(mode=0x01)
    assert len(delivers(h.read(rx))) == 1


def test_redelivery_after_timeout_same_id_new_sequence(harness: Harness) -> None:
    h = harness(mo_message_id_tag=0x1400, mo_redelivery_timeout=30.0, idle_timeout=120.0)
    bind = h.connect()
    mo = h.core.inject_mo("37120000001", "1643", "V 29000001 5", h.now)
    [first] = delivers(h.read(bind))
    h.advance(29)
    assert delivers(h.read(bind)) == []
    h.advance(1.1)
    [again] = delivers(h.read(bind))
    assert again.sequence != first.sequence and again.short_message == first.short_message
    ack(h, bind, first)  # the late answer to the first copy changes nothing
    assert mo.state == "sent"
    ack(h, bind, again)
    assert (mo.state, mo.attempts) == ("delivered", 2)


def test_mo_id_tag_carried_in_every_copy(harness: Harness) -> None:
    h = harness(mo_message_id_tag=0x1400)
    first = h.connect()
    mo = h.core.inject_mo("37120000001", "1643", "JA", h.now)
    tag = struct.pack(">HH", 0x1400, len(mo.id) + 1) + mo.id.encode() + b"\0"
    assert tag in h.read_raw(first)
    assert h.core.drop(first, h.now) == [first]
    h.advance(0)
    assert h.actions[first] == "abort"
    h.core.connection_lost(first, h.now)
    second = h.connect()
    raw = h.read_raw(second)
    assert tag in raw  # the redelivery, on another bind, carries the same id
    [copy] = delivers(parse_stream(raw))
    ack(h, second, copy)
    assert mo.state == "delivered" and mo.attempts == 2


def test_non_zero_status_retried_later_then_failed(harness: Harness) -> None:
    h = harness(mo_redelivery_attempts=1, mo_retry_delay=2.0)
    bind = h.connect()
    mo = h.core.inject_mo("37120000001", "1643", "X", h.now)
    [d] = delivers(h.read(bind))
    ack(h, bind, d, status=0x64)  # ESME_RX_T_APPN
    h.advance(1.0)
    assert delivers(h.read(bind)) == []
    h.advance(1.1)
    [d] = delivers(h.read(bind))
    ack(h, bind, d, status=0x08)
    h.advance(5)
    assert delivers(h.read(bind)) == [] and mo.state == "failed"


def test_window_limits_outstanding_delivers(harness: Harness) -> None:
    h = harness(mo_window=3)
    bind = h.connect()
    for i in range(5):
        h.core.inject_mo("37120000001", "1643", f"M{i}", h.now)
    sent = delivers(h.read(bind))
    assert len(sent) == 3
    ack(h, bind, sent[0])
    assert len(delivers(h.read(bind))) == 1


def test_throttle_queue_full_ratio_withhold_delay(harness: Harness) -> None:
    h = harness()
    bind = h.connect()
    faults = h.core.faults
    faults.add("throttle", now=h.now, count=2)
    faults.add("queue_full", now=h.now, count=1)

    def statuses(n: int, start: int) -> list[int]:
        for seq in range(start, start + n):
            h.send(bind, pdu(SUBMIT, seq, submit_body("1643", "37120000001", b"x")))
        return [p.status for p in h.read(bind)]

    assert statuses(4, 10) == [0x58, 0x58, 0x14, 0]
    faults.add("throttle", now=h.now, count=200, ratio=0.3, seed=1)
    throttled = statuses(200, 100).count(0x58)
    assert 40 <= throttled <= 80
    faults.add("withhold", now=h.now, count=1)
    assert statuses(1, 400) == []
    faults.add("delay", now=h.now, count=1, delay=3.0)
    assert statuses(1, 401) == []
    h.advance(2.9)
    assert h.read(bind) == []
    h.advance(0.2)
    [late] = h.read(bind)
    assert late.status == 0 and late.sequence == 401  # 400 is never answered
    assert statuses(1, 500) == [0]


def test_fault_bounded_by_time(harness: Harness) -> None:
    h = harness()
    bind = h.connect()
    h.core.faults.add("throttle", now=h.now, seconds=2.0)
    h.send(bind, pdu(SUBMIT, 2, submit_body("1643", "37120000001", b"x")))
    h.advance(2.5)
    h.send(bind, pdu(SUBMIT, 3, submit_body("1643", "37120000001", b"x")))
    assert [p.status for p in h.read(bind)] == [0x58, 0]


def test_bulk_load_window_and_figures(harness: Harness) -> None:
    h = harness(mo_window=100)
    bind = h.connect()
    messages = [(f"3712000000{i}", "1643", "S") for i in range(5)]
    h.core.start_load(messages, window=2, now=h.now)
    first = delivers(h.read(bind))
    assert len(first) == 2
    h.now += 0.010
    for d in first:
        ack(h, bind, d)
        source = d.source_addr.decode()
        h.send(bind, pdu(SUBMIT, 50, submit_body("1643", source, b"reply")))
    for _ in range(3):
        for d in delivers(h.read(bind)):
            ack(h, bind, d)
    figures = h.core.load.figures(h.now) if h.core.load else {}
    assert figures["acked"] == 5 and figures["done"] is True
    assert figures["replied"] == 2
    assert figures["mo_to_ack_ms"]["p50"] >= 0  # type: ignore[index]
    assert figures["mo_to_reply_ms"]["p99"] == 10.0  # type: ignore[index]


def test_answers_that_changed_with_the_shared_codec(harness: Harness) -> None:
    """Decisions of `smpp` (see smpp/coding.py, concat.py, address.py) as testers see them:
    data_coding 6 is ISO-8859-5 (was read as Latin-1), binary data is shown as hex (was a
    Latin-1 guess), a trailing escape is a space (was dropped), a UDH with total 1 is a
    complete message (was not concatenation), and a short code's TON/NPI is 3/0 (was 0/1)."""
    h = harness()
    bind = h.connect()
    cases = [
        (bytes.fromhex("b6d8d7ddec"), 6, 0, "Жизнь"),
        (bytes.fromhex("0102ff"), 4, 0, "[binary data_coding 0x04: 0102ff]"),
        (b"A\x1b", 0, 0, "A "),
        (bytes.fromhex("050003 2a 01 01") + b"One", 0, 0x40, "One"),
    ]
    for seq, (message, dc, esm, _) in enumerate(cases, start=2):
        h.send(bind, pdu(SUBMIT, seq, submit_body("1643", f"3712000000{seq}", message, dc=dc, esm=esm)))
    assert [r.status for r in h.read(bind)] == [0] * len(cases)
    mts, _ = h.core.store.mts_since(0)
    assert [(m.text, m.parts, m.complete) for m in mts] == [(text, 1, True) for *_, text in cases]
    h.core.inject_mo("37120000001", "1643", "HELP", h.now)
    [mo] = delivers(h.read(bind))
    assert (mo.source_addr_ton, mo.source_addr_npi, mo.dest_addr_ton, mo.dest_addr_npi) == (1, 1, 3, 0)
