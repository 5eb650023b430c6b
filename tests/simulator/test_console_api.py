"""The endpoints behind the testers' page: live feed, masking, scripts, redelivery, phonebook, page."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from simulator.config import load_config
from simulator.phonebook import load_phonebook, parse_phonebook

from .conftest import RunningSim, wait_until
from .helpers import Esme, FakeGateway, text_of
from .test_scripts import fake_smsgw

Start = Callable[..., RunningSim]
ROOT = Path(__file__).parents[2]
PASSWORD = "Ab3dEf7hJk"
PASSWORD_SMS = f"Your temporary My LMT password: {PASSWORD} (valid for 24 hours, for one login)."


class Events:
    """A reader of /api/events (server-sent events), one event at a time."""

    def __init__(self, sim: RunningSim, query: str = "") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", sim.http_port, timeout=5)
        self.conn.request("GET", "/api/events" + query)
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type", "").startswith("text/event-stream")

    def next(self) -> tuple[str, dict[str, Any]]:
        name, data = "message", ""
        while True:
            line = self.response.fp.readline().decode()
            if line == "":
                raise EOFError("the stream ended")
            line = line.rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data += line[6:]
            elif line == "" and data:
                return name, json.loads(data)

    def until(self, predicate: Callable[[str, dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            name, data = self.next()
            if predicate(name, data):
                return data
        raise AssertionError("no such event")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def events(sim: RunningSim) -> Iterator[Callable[[str], Events]]:
    opened: list[Events] = []

    def open_(query: str = "") -> Events:
        reader = Events(sim, query)
        opened.append(reader)
        assert reader.next()[0] == "hello"
        return reader

    yield open_
    for reader in opened:
        reader.close()


def test_the_feed_brings_mos_mts_receipts_and_status(sim: RunningSim, events: Callable[[str], Events]) -> None:
    feed = events("?numbers=37120000001")
    esme = Esme(sim.smpp_port)
    esme.bind()
    assert [b["state"] for b in feed.until(lambda n, d: n == "status" and bool(d["binds"]))["binds"]] == ["bound_trx"]
    mo = sim.inject("37120000001", "1643", "S")
    assert feed.until(lambda n, d: n == "mo" and d["id"] == mo["id"])["state"] in ("queued", "sent")
    esme.deliveries(1)
    assert feed.until(lambda n, d: n == "mo" and d["state"] == "delivered")["id"] == mo["id"]
    sim.inject("37120000002", "1643", "S")  # another number: not followed by this stream
    esme.deliveries(1)
    esme.submit("1643", "37120000001", "Mēneša tēriņi: 0,00 EUR".encode("utf-16-be"), dc=8, rd=1)
    mt = feed.until(lambda n, d: n == "mt")
    assert mt["destination"] == "37120000001" and mt["text"] == "Mēneša tēriņi: 0,00 EUR"
    receipted = feed.until(lambda n, d: n == "mt" and bool(d["receipts"]))
    assert list(receipted["receipts"].values()) == ["DELIVRD"]
    esme.close()


def test_a_password_is_masked_everywhere_but_the_sms(start_sim: Start, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    sim = start_sim(record_file=str(record))
    feed = Events(sim)
    gateway = FakeGateway(sim.smpp_port, lambda s, d, t: [(s, d, PASSWORD_SMS if d == "1640" else "characters")])
    sim.inject("37120000002", "1640", "P")
    sim.inject("37120000002", "1643", "HELP")
    wait_until(lambda: len(sim.api("GET", "/api/traffic/37120000002")["traffic"]) == 4)
    masked = PASSWORD_SMS.replace(PASSWORD, "•" * 10)
    mts = sim.api("GET", "/api/mt?cursor=0")["mts"]
    assert {m["text"] for m in mts} == {masked, "characters"}  # a 1643 reply is not touched
    assert next(m for m in mts if m["source"] == "1640")["masked"] is True
    traffic = sim.api("GET", "/api/traffic/37120000002")["traffic"]
    assert masked in [r["text"] for r in traffic]
    download = http.client.HTTPConnection("127.0.0.1", sim.http_port, timeout=5)
    download.request("GET", "/api/traffic.jsonl")
    lines = download.getresponse().read().decode().splitlines()
    assert len(lines) == 4 and masked in lines[1] + lines[2] + lines[3]
    seen = feed.until(lambda n, d: n == "mt" and d["source"] == "1640")
    assert seen["text"] == masked
    feed.close()
    gateway.close()
    sim.close()  # flushes the recording
    recorded = record.read_text(encoding="utf-8")
    assert PASSWORD not in recorded and PASSWORD_SMS[:20] not in recorded
    hidden = [json.loads(line) for line in recorded.splitlines() if '"hidden": true' in line]
    assert {(h["command"], h["source"]) for h in hidden} >= {("submit_sm", "1640")}
    everything = "\n".join(lines) + json.dumps(mts) + json.dumps(traffic) + recorded
    assert PASSWORD not in everything


def test_scripts_run_by_the_server(sim: RunningSim, events: Callable[[str], Events]) -> None:
    feed = events("?numbers=none")  # notices reach every stream, whatever it follows
    gateway = FakeGateway(sim.smpp_port, fake_smsgw)
    assert sim.api("GET", "/api/scripts/run") == {"run": None}
    names = [s["name"] for s in sim.api("GET", "/api/scripts")["scripts"]]
    assert "sos_one_off.txt" in names and "password_1640.txt" in names
    started = sim.api("POST", "/api/scripts/run", {"name": "sos_one_off.txt", "timeout": 5, "quiet": 0.3}, expect=202)
    assert started["state"] == "running"
    busy = sim.api("POST", "/api/scripts/run", {"text": "> 1 2 x\n"}, expect=409)
    assert "still running" in busy["error"]
    step = feed.until(lambda n, d: n == "script" and d["event"] == "step")["step"]
    assert step["ok"] and step["outcomes"][0]["got"]["text"].startswith("Karte 29000001")
    done = feed.until(lambda n, d: n == "script" and d["event"] == "finished", timeout=30)["run"]
    assert done["state"] == "passed" and done["report"]["ok"]
    broken = "> 37120000001 1643 HELP\n< 37120000001 1643 ^nope$\n"
    sim.api("POST", "/api/scripts/run", {"text": broken, "timeout": 1, "quiet": 0.2}, expect=202)
    run = wait_until(lambda: (r := sim.api("GET", "/api/scripts/run")["run"])["state"] != "running" and r, 10)
    assert run["state"] == "failed" and run["report"]["failed"] == 1
    [outcome] = run["report"]["steps"][0]["outcomes"]
    assert outcome == {"line": 2, "expect": "< 37120000001 1643 ^nope$", "negative": False, "ok": False,
                       "got": None, "unwanted": []}  # fmt: skip
    assert [mt["text"] for mt in run["report"]["steps"][0]["unclaimed"]] == ["Labi"]  # what came instead
    bad = sim.api("POST", "/api/scripts/run", {"text": "> 1\n"}, expect=400)
    assert bad["error"] == "pasted script: line 1: '>' needs FROM TO TEXT"
    assert "no shipped script" in sim.api("POST", "/api/scripts/run", {"name": "../x.txt"}, expect=404)["error"]
    gateway.close()


def test_redeliver_sends_the_same_mo_again(start_sim: Start) -> None:
    sim = start_sim(mo_message_id_tag=0x1400)
    esme = Esme(sim.smpp_port)
    esme.bind()
    mo = sim.inject("37120000001", "1643", "V 29000001 5 ā")
    [first] = esme.deliveries(1)
    wait_until(lambda: sim.api("GET", f"/api/mo/{mo['id']}")["state"] == "delivered")
    again = sim.api("POST", f"/api/mo/{mo['id']}/redeliver", {}, expect=202)
    assert again["id"] == mo["id"]
    [second] = esme.deliveries(1)
    assert text_of(second) == text_of(first) == "V 29000001 5 ā"
    assert second.sequence != first.sequence
    assert sim.api("GET", f"/api/mo/{mo['id']}")["attempts"] == 2
    assert sim.api("POST", "/api/mo/nope/redeliver", {}, expect=404)["error"].startswith("no such MO")
    esme.close()


DEMO_CSV = ROOT / "smsgw" / "data" / "demo_subscribers.csv"


def test_the_phonebook_says_what_each_demo_number_is_for() -> None:
    roles = {e.msisdn: e.role for e in load_phonebook(DEMO_CSV, date(2026, 12, 4))}
    assert roles["37120000001"] == "Latvian postpaid"
    assert roles["37120000002"] == "English postpaid"
    assert roles["37120000003"] == "company number without SOS-SMS"
    assert roles["37120000004"] == "company number with SOS-SMS"
    assert roles["37120000005"] == "cancelled postpaid number"
    assert roles["37129000001"] == "LMT Karte, valid until 2027-12-31"
    assert roles["37129000003"] == "LMT Karte, valid until 2027-12-31, cancelled"
    assert roles["37129000004"] == "LMT Karte, expired 3 months ago (can still be topped up)"
    assert roles["37129000005"] == "LMT Karte, long expired (9 months ago: cannot be topped up)"


def test_a_phonebook_row_it_cannot_read_is_skipped() -> None:
    header = "msisdn,kind,status,customer_type,sos_sms_allowed,language,email,karte_expires_on,balance\n"
    entries = parse_phonebook(header + "3712,postpaid,active\nnot-a-number,karte,,,,,,,\n", date(2026, 1, 1))
    assert entries == []


def test_the_page_and_the_phonebook_endpoint(start_sim: Start, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.csv").write_bytes(DEMO_CSV.read_bytes())
    (tmp_path / "c.toml").write_text('[simulator]\nphonebook = "data/people.csv"\n')
    config, _ = load_config(tmp_path / "c.toml", explicit=True)
    assert config.phonebook == str(tmp_path / "data" / "people.csv")  # resolved against the config file
    sim = start_sim(phonebook=config.phonebook)
    book = sim.api("GET", "/api/console")
    assert len(book["phonebook"]) == 13 and book["phonebook_error"] is None and book["recording"] is False
    conn = http.client.HTTPConnection("127.0.0.1", sim.http_port, timeout=5)
    conn.request("GET", "/")
    page = conn.getresponse()
    html = page.read().decode()
    assert page.status == 200 and "testers' console" in html and 'src="/static/console.js"' in html
    policy = page.getheader("Content-Security-Policy", "")
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.getheader("Referrer-Policy") == "no-referrer"
    scripts = [f"{name}.js" for name in ("console", "api", "phones", "feed", "smsc", "scripts")]
    for name, kind in [*((n, "text/javascript") for n in scripts), ("console.css", "text/css")]:
        conn.request("GET", f"/static/{name}")
        asset = conn.getresponse()
        assert asset.status == 200 and asset.getheader("Content-Type", "").startswith(kind)
        assert b"http://" not in asset.read()  # nothing fetched from elsewhere
    conn.request("GET", "/static/..%2Fconfig.py")
    missing = conn.getresponse()
    assert missing.status == 404
    missing.read()
    conn.close()
    unreadable = start_sim(phonebook=str(tmp_path / "absent.csv")).api("GET", "/api/console")
    assert unreadable["phonebook"] == [] and "cannot read" in unreadable["phonebook_error"]
