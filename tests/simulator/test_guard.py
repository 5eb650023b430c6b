"""The control API is a tester's, not the world's: each guard refuses what it must (issue 15).

Every test here fails when its guard is removed: the request it sends would be served.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simulator.cli import cli
from simulator.config import SimulatorConfig, parse_config

from .conftest import RunningSim, raw_connect, wait_until

Start = Callable[..., RunningSim]
MO = {"source": "37120000001", "destination": "1643", "text": "HELP"}


def request(
    sim: RunningSim,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    host: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """One raw HTTP request with exactly these headers (Host as given, else the simulator's own)."""
    conn = http.client.HTTPConnection("127.0.0.1", sim.http_port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{sim.http_port}")
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.startswith(b"{") else {"raw": raw.decode(errors="replace")}
    finally:
        conn.close()


def post_mo(sim: RunningSim, host: str | None = None, **headers: str) -> tuple[int, dict[str, Any]]:
    merged = {"Content-Type": "application/json", **headers}
    return request(sim, "POST", "/api/mo", json.dumps(MO).encode(), merged, host=host)


def injected(sim: RunningSim) -> int:
    return int(sim.call(lambda core: core.counters["mos_injected"]))


def test_a_foreign_host_is_refused(sim: RunningSim) -> None:
    status, body = post_mo(sim, host=f"attacker.example:{sim.http_port}")
    assert status == 403 and "Host" in body["error"] and "attacker.example" in body["error"]
    assert request(sim, "GET", "/api/traffic/37120000001", host="attacker.example")[0] == 403
    assert request(sim, "GET", "/", host=f"127.0.0.1:{sim.http_port + 1}")[0] == 403  # same name, other port
    assert injected(sim) == 0
    assert sim.call(lambda core: core.counters["http_refused_host"]) == 3
    for own in (f"localhost:{sim.http_port}", f"[::1]:{sim.http_port}", f"LOCALHOST:{sim.http_port}"):
        assert request(sim, "GET", "/api/health", host=own)[0] == 200, own


def test_a_foreign_origin_is_refused(sim: RunningSim) -> None:
    for origin in ("http://127.0.0.1:9", "http://evil.example", "null", f"https://127.0.0.1:{sim.http_port}"):
        status, body = post_mo(sim, Origin=origin)
        assert status == 403 and "web page" in body["error"], origin
    assert request(sim, "GET", "/api/status", headers={"Origin": "http://evil.example"})[0] == 403
    assert injected(sim) == 0
    assert sim.call(lambda core: core.counters["http_refused_origin"]) == 5
    assert post_mo(sim, Origin=f"http://localhost:{sim.http_port}")[0] == 201  # the page itself
    assert injected(sim) == 1


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
def test_a_state_change_must_be_json(sim: RunningSim, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    status, body = request(sim, "POST", "/api/mo", json.dumps(MO).encode(), headers)
    assert status == 415 and "application/json" in body["error"]
    assert request(sim, "DELETE", "/api/faults", b"", headers)[0] == 415
    assert injected(sim) == 0


def test_the_token_when_set(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(token="t0ken-for-tests")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic t0ken-for-tests"}):
        status, body = post_mo(sim, **headers)
        assert status == 401 and "token" in body["error"], headers
    assert request(sim, "GET", "/api/mt?cursor=0")[0] == 401
    assert request(sim, "GET", "/api/events")[0] == 401
    assert injected(sim) == 0
    assert post_mo(sim, Authorization="Bearer t0ken-for-tests")[0] == 201
    assert request(sim, "GET", "/api/health")[0] == 200  # readiness probes need no token
    page = request(sim, "GET", "/")
    assert page[0] == 200 and "t0ken" not in page[1]["raw"]  # the page holds no secret
    # the CLI sends the token from the config, or from SMSC_SIM_TOKEN
    config = tmp_path / "c.toml"
    config.write_text(f'[simulator]\nhttp_port = {sim.http_port}\ntoken = "t0ken-for-tests"\n')
    assert CliRunner().invoke(cli, ["--config", str(config), "binds"]).exit_code == 0
    config.write_text(f"[simulator]\nhttp_port = {sim.http_port}\n")
    refused = CliRunner().invoke(cli, ["--config", str(config), "binds"])
    assert refused.exit_code == 1 and "SMSC_SIM_TOKEN" in refused.stderr
    from_env = CliRunner(env={"SMSC_SIM_TOKEN": "t0ken-for-tests"}).invoke(cli, ["--config", str(config), "binds"])
    assert from_env.exit_code == 0, from_env.stderr
    page_url = CliRunner(env={"SMSC_SIM_TOKEN": "t0ken-for-tests"}).invoke(cli, ["--config", str(config), "page"])
    assert page_url.stdout == f"http://127.0.0.1:{sim.http_port}/#token=t0ken-for-tests\n"


def test_a_bad_token_in_the_config_is_not_echoed() -> None:
    from simulator.config import ConfigError

    with pytest.raises(ConfigError) as refused:
        parse_config({"token": "has spaces in it"}, "c.toml")
    assert str(refused.value) == "c.toml: [simulator] token: must be printable ASCII without spaces"


def test_bodies_are_capped(start_sim: Start) -> None:
    sim = start_sim(http_max_body=4096, load_max_body=8192)
    big = json.dumps({**MO, "text": "x" * 5000}).encode()
    status, body = request(sim, "POST", "/api/mo", big, {"Content-Type": "application/json"})
    assert status == 413 and "at most 4096 octets" in body["error"]
    # chunked, with no Content-Length to check up front: refused while reading
    conn = http.client.HTTPConnection("127.0.0.1", sim.http_port, timeout=10)
    conn.request("POST", "/api/mo", body=iter([big[:3000], big[3000:]]), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 413 and b"at most 4096 octets" in response.read()
    conn.close()
    load = {"messages": [MO] * 80, "window": 1}  # ~6 kB: too big for /api/mo, fine for the bulk load
    assert 4096 < len(json.dumps(load)) < 8192
    assert request(sim, "POST", "/api/load", json.dumps(load).encode(), {"Content-Type": "application/json"})[0] == 202
    assert injected(sim) >= 1  # the load started


def test_smpp_connections_are_capped(start_sim: Start) -> None:
    sim = start_sim(max_connections=2)
    kept = [raw_connect(sim.smpp_port), raw_connect(sim.smpp_port)]
    wait_until(lambda: len(sim.call(lambda core: list(core.binds))) == 2)
    extra = raw_connect(sim.smpp_port)
    extra.settimeout(3)
    assert extra.recv(16) == b""  # closed at once: a third connection is refused
    assert sim.call(lambda core: core.counters["connections_refused"]) == 1
    kept[0].close()
    wait_until(lambda: len(sim.call(lambda core: list(core.binds))) == 1)
    again = raw_connect(sim.smpp_port)  # room again
    wait_until(lambda: len(sim.call(lambda core: list(core.binds))) == 2)
    for sock in (*kept, extra, again):
        sock.close()


def test_http_clients_are_capped(start_sim: Start) -> None:
    sim = start_sim(http_max_clients=2)
    results: list[int] = []

    def long_poll() -> None:
        results.append(request(sim, "GET", "/api/mt?cursor=-1&wait=3")[0])

    polls = [threading.Thread(target=long_poll) for _ in range(2)]
    for poll in polls:
        poll.start()
    wait_until(lambda: sim.sim is not None and sim.sim.guard is not None and sim.sim.guard.in_progress == 2)
    status, body = request(sim, "GET", "/api/health")
    assert status == 503 and "too many clients" in body["error"]
    for poll in polls:
        poll.join(10)
    assert results == [200, 200]
    assert request(sim, "GET", "/api/health")[0] == 200


def test_a_live_feed_that_is_left_frees_its_place(start_sim: Start) -> None:
    sim = start_sim(http_max_clients=1)
    feed = http.client.HTTPConnection("127.0.0.1", sim.http_port, timeout=5)
    feed.request("GET", "/api/events")
    assert feed.getresponse().status == 200
    assert request(sim, "GET", "/api/health")[0] == 503  # the feed holds the only place
    feed.close()
    wait_until(lambda: request(sim, "GET", "/api/health")[0] == 200, timeout=5)


def test_the_recording_is_off_by_default_and_private_when_on(start_sim: Start, tmp_path: Path) -> None:
    assert SimulatorConfig().record_file == ""
    record = tmp_path / "rec.jsonl"
    record.write_text("")
    record.chmod(0o644)  # an older recording, readable by all: narrowed when opened
    fresh = tmp_path / "fresh.jsonl"
    previous = os.umask(0o022)  # a usual umask would leave a new file 0644
    try:
        start_sim(record_file=str(record))
        start_sim(record_file=str(fresh))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_ipv6_loopback_names_and_a_separate_http_host(start_sim: Start) -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    sim = start_sim(host="::1")  # SMPP on ::1, HTTP on the default http_host 127.0.0.1
    with socket.create_connection(("::1", sim.smpp_port), timeout=3):
        pass
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", sim.smpp_port), timeout=3):
        pass
    assert request(sim, "GET", "/api/health")[0] == 200
