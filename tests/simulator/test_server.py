"""The real server on 127.0.0.1 against python-smpplib (an independent SMPP client)."""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Callable

import pytest
import smpplib.exceptions

from .conftest import RunningSim, bind_body, pdu, raw_connect, recv_pdu, submit_body, wait_until
from .helpers import Esme, text_of

Start = Callable[..., RunningSim]
LATVIAN = "Sveiki! ā č ē ģ ī ķ ļ ņ š ū ž — €"


def test_bind_refused_then_accepted(sim: RunningSim) -> None:
    client = Esme(sim.smpp_port)
    with pytest.raises(smpplib.exceptions.PDUError) as refused:
        client.bind(password="wrong")
    assert refused.value.args[1] == 0x0E  # ESME_RINVPASWD
    with pytest.raises(smpplib.exceptions.PDUError) as refused:
        client.bind(system_id="intruder")
    assert refused.value.args[1] == 0x0F  # ESME_RINVSYSID
    assert client.bind().status == 0
    client.close()


def test_submit_short_and_long_ucs2_get_distinct_ids(sim: RunningSim, esme: Esme) -> None:
    short = esme.submit_text("1643", "37120000001", LATVIAN)
    long = esme.submit_text("1643", "37120000002", LATVIAN * 6)
    assert len(short) == 1 and len(long) > 2
    responses = short + long
    assert all(r.command == "submit_sm_resp" and r.status == 0 for r in responses)
    ids = [r.message_id for r in responses]
    assert len(set(ids)) == len(ids) and all(ids)
    mts = sim.api("GET", "/api/mt?cursor=0")["mts"]
    assert [(m["destination"], m["text"], m["parts"]) for m in mts] == [
        ("37120000001", LATVIAN, 1),
        ("37120000002", LATVIAN * 6, len(long)),
    ]


def test_injected_mo_arrives_with_ucs2_intact(sim: RunningSim, esme: Esme) -> None:
    sim.inject("37120000001", "1643", LATVIAN)
    [d] = esme.deliveries(1)
    assert d.data_coding == 8 and text_of(d) == LATVIAN
    assert (d.source_addr, d.destination_addr) == (b"37120000001", b"1643")
    mo = sim.inject("37120000001", "1643", LATVIAN * 9)  # long: UDH parts, in order
    assert mo["parts"] == 5
    parts = esme.deliveries(5)
    assert "".join(text_of(p) for p in parts) == LATVIAN * 9
    assert all(p.esm_class == 0x40 for p in parts)
    assert len({bytes(p.short_message[3:4]) for p in parts}) == 1  # one reference


def test_receipt_over_the_wire(sim: RunningSim, esme: Esme) -> None:
    [resp] = esme.submit_text("1643", "37120000001", "Paldies", rd=1)
    receipt = esme.wait_for(lambda p: p.command == "deliver_sm")
    assert receipt.esm_class == 0x04 and receipt.message_state == 2
    assert receipt.receipted_message_id.rstrip(b"\0") == resp.message_id
    assert b"stat:DELIVRD" in receipt.short_message


def test_unknown_command_gets_generic_nack_and_session_lives(sim: RunningSim) -> None:
    sock = raw_connect(sim.smpp_port)
    sock.sendall(pdu(0x09, 1, bind_body()))
    assert recv_pdu(sock)[:2] == (0x80000009, 0)
    sock.sendall(pdu(0x0000_0099, 7) + pdu(0x15, 8))
    assert recv_pdu(sock)[:3] == (0x80000000, 0x03, 7)
    assert recv_pdu(sock)[:3] == (0x80000015, 0, 8)
    sock.close()


def test_submit_before_bind_and_second_bind(sim: RunningSim) -> None:
    sock = raw_connect(sim.smpp_port)
    sock.sendall(pdu(0x04, 1, submit_body("1643", "37120000001", b"x")))
    assert recv_pdu(sock)[:3] == (0x80000004, 0x04, 1)  # ESME_RINVBNDSTS
    sock.sendall(pdu(0x09, 2, bind_body()) + pdu(0x02, 3, bind_body()))
    assert recv_pdu(sock)[:2] == (0x80000009, 0)
    assert recv_pdu(sock)[:3] == (0x80000002, 0x05, 3)  # ESME_RALYBND
    sock.close()


def test_unbind_cleanly(sim: RunningSim) -> None:
    client = Esme(sim.smpp_port)
    client.bind()
    wait_until(lambda: len(sim.api("GET", "/api/binds")["binds"]) == 1)
    resp = client.client.unbind()
    assert resp.command == "unbind_resp" and resp.status == 0
    assert client.client._socket.recv(1) == b""  # the server closed the connection
    client.client.disconnect()
    wait_until(lambda: sim.api("GET", "/api/binds")["binds"] == [])


@pytest.mark.parametrize(
    "junk",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\xff\xff\xff\xff" + b"\x00" * 12,
        struct.pack(">IIII", 8, 4, 0, 1),
        bytes(range(256)) * 20,
    ],
    ids=["http", "absurd-length", "short-length", "noise"],
)
def test_junk_is_nacked_and_closed_and_server_keeps_serving(sim: RunningSim, junk: bytes) -> None:
    sock = raw_connect(sim.smpp_port)
    sock.sendall(junk)
    command_id, status, _, _ = recv_pdu(sock)
    assert (command_id, status) == (0x80000000, 0x02)  # generic_nack ESME_RINVCMDLEN
    sock.settimeout(3)
    assert sock.recv(100) == b""  # then closed
    sock.close()
    client = Esme(sim.smpp_port)
    assert client.bind().status == 0
    assert client.submit("1643", "37120000001", b"still here").status == 0
    client.close()


def test_half_open_and_slow_peers_do_not_stall_others(start_sim: Start) -> None:
    sim = start_sim(bind_timeout=0.5)
    half_open = raw_connect(sim.smpp_port)
    half_open.sendall(pdu(0x09, 1, bind_body())[:10])  # a header cut short, then silence
    slow = raw_connect(sim.smpp_port)
    client = Esme(sim.smpp_port)
    client.bind()
    started = time.monotonic()
    for i in range(50):
        slow.send(pdu(0x15, 1)[i % 16 : i % 16 + 1])
        assert client.submit("1643", "37120000001", b"ping").status == 0
    assert time.monotonic() - started < 3.0
    half_open.settimeout(3)
    assert half_open.recv(100) == b""  # closed by the bind timeout
    client.close()


def test_mo_redelivered_when_response_withheld(start_sim: Start) -> None:
    sim = start_sim(mo_redelivery_timeout=0.4, mo_message_id_tag=0x1400)
    client = Esme(sim.smpp_port)
    client.bind()
    mo = sim.inject("37120000001", "1643", "V 29000001 5")
    [first] = client.deliveries(1, ack=False)
    [again] = client.deliveries(1, timeout=3)
    assert again.sequence != first.sequence and text_of(again) == "V 29000001 5"
    wait_until(lambda: sim.api("GET", f"/api/mo/{mo['id']}")["state"] == "delivered")
    assert sim.api("GET", f"/api/mo/{mo['id']}")["attempts"] == 2
    client.close()


def test_store_and_forward_to_a_later_bind(sim: RunningSim) -> None:
    mo = sim.inject("37120000002", "1643", "HELP")
    assert (mo["state"], mo["receivers"]) == ("queued", 0)
    client = Esme(sim.smpp_port)
    client.bind("receiver")
    [d] = client.deliveries(1)
    assert text_of(d) == "HELP"
    client.close()


def test_round_robin_over_two_binds(sim: RunningSim) -> None:
    a, b = Esme(sim.smpp_port), Esme(sim.smpp_port)
    a.bind("transceiver")
    b.bind("receiver")
    for i in range(4):
        sim.inject("37120000001", "1643", f"S {i}")
    got = [text_of(p) for p in a.deliveries(2)] + [text_of(p) for p in b.deliveries(2)]
    assert sorted(got) == ["S 0", "S 1", "S 2", "S 3"]
    assert a.quiet(0.2) == [] and b.quiet(0.0) == []
    a.close()
    b.close()


def test_faults_throttle_queue_full_withhold_delay(sim: RunningSim, esme: Esme) -> None:
    sim.api("POST", "/api/faults", {"kind": "throttle", "count": 2})
    sim.api("POST", "/api/faults", {"kind": "queue_full", "count": 1})
    statuses = [esme.submit("1643", "37120000001", b"x").status for _ in range(4)]
    assert statuses == [0x58, 0x58, 0x14, 0]
    sim.api("POST", "/api/faults", {"kind": "withhold", "count": 1})
    withheld = esme.send_submit("1643", "37120000001", b"x")
    assert [p for p in esme.quiet(0.3) if p.sequence == withheld] == []
    sim.api("POST", "/api/faults", {"kind": "delay", "count": 1, "delay": 0.5})
    started = time.monotonic()
    assert esme.submit("1643", "37120000001", b"x").status == 0
    assert time.monotonic() - started >= 0.45
    assert esme.submit("1643", "37120000001", b"x").status == 0
    assert sim.api("GET", "/api/faults")["faults"] == []


def test_drop_connection_fault(sim: RunningSim, esme: Esme) -> None:
    [bind] = wait_until(lambda: sim.api("GET", "/api/binds")["binds"])
    assert sim.api("POST", "/api/drop", {"bind": bind["id"]})["dropped"] == [bind["id"]]
    with pytest.raises((smpplib.exceptions.ConnectionError, OSError)):
        esme.client.read_pdu()
    wait_until(lambda: sim.api("GET", "/api/binds")["binds"] == [])
    fresh = Esme(sim.smpp_port)
    assert fresh.bind().status == 0
    fresh.close()


def test_server_sends_enquire_link(start_sim: Start) -> None:
    sim = start_sim(enquire_link_interval=0.2)
    client = Esme(sim.smpp_port)
    client.bind()
    assert client.wait_for(lambda p: p.command == "enquire_link", timeout=3)
    client.close()


def test_every_pdu_recorded_as_json_lines(start_sim: Start, tmp_path) -> None:  # type: ignore[no-untyped-def]
    record = tmp_path / "rec.jsonl"
    sim = start_sim(record_file=str(record))
    client = Esme(sim.smpp_port)
    client.bind()
    client.submit("1643", "37120000001", b"Hello")
    lines = wait_until(lambda: record.exists() and record.read_text().count("\n") >= 4, 3)
    assert lines
    records = [json.loads(line) for line in record.read_text().splitlines()]
    commands = [(r["dir"], r["command"]) for r in records]
    assert commands[:4] == [
        ("in", "bind_transceiver"),
        ("out", "bind_transceiver_resp"),
        ("in", "submit_sm"),
        ("out", "submit_sm_resp"),
    ]
    assert records[2]["text"] == "Hello" and records[2]["destination"] == "37120000001"
    assert "demo1234" not in record.read_text()
    client.close()


def test_control_api_refuses_bad_requests(sim: RunningSim) -> None:
    assert "destination" in sim.api("POST", "/api/mo", {"source": "1"}, expect=400)["error"]
    bad = {"source": "37120000001", "destination": "1643", "text": "ā", "encoding": "gsm"}
    assert "gsm" in sim.api("POST", "/api/mo", bad, expect=400)["error"]
    assert "unknown fault" in sim.api("POST", "/api/faults", {"kind": "x", "count": 1}, expect=400)["error"]
    assert "count" in sim.api("POST", "/api/faults", {"kind": "throttle"}, expect=400)["error"]
    assert sim.api("GET", "/api/mo/nope", expect=404)


def test_long_poll_returns_when_an_mt_arrives(sim: RunningSim, esme: Esme) -> None:
    cursor = sim.api("GET", "/api/status")["mt_cursor"]
    socket.setdefaulttimeout(10)
    started = time.monotonic()
    esme.send_submit("1643", "37129000001", b"late reply")
    data = sim.api("GET", f"/api/mt?cursor={cursor}&source=1643&wait=5")
    assert [m["text"] for m in data["mts"]] == ["late reply"]
    assert time.monotonic() - started < 2


def test_inject_several_mos_at_once(sim: RunningSim, esme: Esme) -> None:
    batch = [{"source": f"3712000000{i}", "destination": "1643", "text": f"S {i}"} for i in (1, 2)]
    reply = sim.api("POST", "/api/mo", batch)
    assert [m["text"] for m in reply["mos"]] == ["S 1", "S 2"] and reply["receivers"] == 1
    assert sorted(text_of(p) for p in esme.deliveries(2)) == ["S 1", "S 2"]
    bad = [*batch, {"source": "", "destination": "1643", "text": "x"}]
    assert "source" in sim.api("POST", "/api/mo", bad, expect=400)["error"]
    assert esme.quiet(0.2) == []  # nothing of the refused batch was queued


def test_smpp_connections_send_small_writes_at_once(sim: RunningSim, esme: Esme) -> None:
    """Nagle's algorithm off on every accepted connection: a PDU written while an earlier one is
    unacknowledged must not wait for the ESME's delayed ACK (40 ms on Linux, per exchange)."""
    assert sim.sim is not None
    transports = list(sim.sim.transports.values())
    assert transports, "the bound ESME's connection"
    for transport in transports:
        sock = transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
