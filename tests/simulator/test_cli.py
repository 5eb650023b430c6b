"""`smsc-sim` commands: in-process with click's runner, and as real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from simulator.cli import cli

from .conftest import RunningSim, wait_until
from .helpers import Esme, FakeGateway

ROOT = Path(__file__).parents[2]


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_send_prints_the_replies_from_the_short_code(sim: RunningSim, tmp_path: Path) -> None:
    def reply(source: str, dest: str, text: str) -> list[tuple[str, str, str]]:
        return [(source, dest, f"Saņemts:\n{text}"), ("37129000001", dest, "Papildināts")]

    gateway = FakeGateway(sim.smpp_port, reply)
    config = sim.write_config(tmp_path / "c.toml")
    started = time.monotonic()
    code, out, err = run(config, "send", "37120000001", "1643", "29000001 5 ā", "--wait", "8")
    gateway.close()
    assert code == 0, err
    assert out.splitlines() == [
        "37120000001\t1643\tSaņemts:\\n29000001 5 ā",
        "37129000001\t1643\tPapildināts",
    ]
    assert time.monotonic() - started < 4  # returned after 1 s of quiet, not after --wait
    assert gateway.seen == [("37120000001", "1643", "29000001 5 ā")]


def test_send_long_mo_with_sar_split(sim: RunningSim, tmp_path: Path) -> None:
    client = Esme(sim.smpp_port)
    client.bind()
    config = sim.write_config(tmp_path / "c.toml")
    code, _, err = run(
        config, "send", "37120000001", "1643", "x" * 200, "--split", "sar", "--encoding", "ucs2", "--wait", "0.2"
    )
    assert code == 1 and "no reply from 1643 within 0.2 s" in err
    parts = client.deliveries(3)  # 400 octets of UCS-2 in parts of 134
    assert [p.sar_segment_seqnum for p in parts] == [1, 2, 3]
    assert {p.sar_total_segments for p in parts} == {3}
    assert all(p.data_coding == 8 for p in parts)
    client.close()


def test_send_without_receiver_says_the_mo_is_queued(sim: RunningSim, tmp_path: Path) -> None:
    code, out, err = run(sim.write_config(tmp_path / "c.toml"), "send", "371", "1643", "HELP", "--wait", "0.2")
    assert (code, out) == (1, "")
    assert err == ("smsc-sim: no reply from 1643 within 0.2 s (no receiver is bound: the MO is queued)\n")


def test_send_says_when_the_gateway_acknowledged_but_did_not_reply(sim: RunningSim, tmp_path: Path) -> None:
    gateway = FakeGateway(sim.smpp_port, lambda s, d, t: [])  # acknowledges every MO, answers none
    code, out, err = run(sim.write_config(tmp_path / "c.toml"), "send", "37127777777", "1640", "P", "--wait", "1")
    gateway.close()
    assert (code, out) == (4, "")
    assert err == (
        "smsc-sim: the MO was delivered and acknowledged by the gateway, but no reply came from 1640 within 1 s\n"
    )
    assert gateway.seen == [("37127777777", "1640", "P")]


def test_send_help_documents_its_exit_statuses() -> None:
    result = CliRunner().invoke(cli, ["send", "--help"])
    assert "4  no reply, although the gateway acknowledged the MO" in result.stdout
    assert "1  no reply, and the MO did not reach the gateway" in result.stdout


def test_unreachable_simulator_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "c.toml"
    config.write_text(f"[simulator]\nhttp_port = {port}\n")
    code, _, err = run(config, "send", "371", "1643", "HELP")
    assert code == 3
    assert err == (f'smsc-sim: cannot reach the simulator at http://127.0.0.1:{port} — is "smsc-sim serve" running?\n')


def test_config_errors_are_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[simulator]\nport = "2775"\n')
    assert run(config, "binds") == (2, "", f"{config}: [simulator] port: must be an integer\n")
    config.write_text("[simulator]\nmo_window = 0\n")
    assert run(config, "serve")[2] == f"{config}: [simulator] mo_window: must be ≥ 1\n"
    config.write_text("[simulator\n")
    code, _, err = run(config, "binds")
    assert code == 2 and err.startswith(f"{config}: invalid TOML:") and err.count("\n") == 1
    code, _, err = run(tmp_path / "missing.toml", "binds")
    assert (code, err) == (2, f"{tmp_path / 'missing.toml'}: no such file\n")


def test_fault_and_receipt_commands(sim: RunningSim, tmp_path: Path) -> None:
    config = sim.write_config(tmp_path / "c.toml")
    assert run(config, "fault", "throttle", "2")[1].startswith("added #1 throttle")
    assert run(config, "fault", "throttle", "--ratio", "0.3", "--for", "10", "--seed", "1")[0] == 0
    assert run(config, "fault", "delay", "0.5", "3")[0] == 0
    assert run(config, "fault", "throttle")[0] == 2  # unbounded: refused
    listed = run(config, "fault", "list")[1]
    assert "#1 throttle (2 submits left" in listed and "delay:0.5s" in listed
    assert run(config, "fault", "clear")[1] == "cleared 3 fault(s)\n"
    assert run(config, "receipts", "add", "37129*", "undeliv", "--delay", "2")[0] == 0
    assert "37129*               UNDELIV  after 2 s" in run(config, "receipts", "list")[1]
    assert "UNDELIV" not in run(config, "receipts", "clear")[1]
    assert run(config, "fault", "drop")[0] == 2
    assert run(config, "fault", "drop", "--all")[1] == "nothing to drop\n"


def test_traffic_and_binds(sim: RunningSim, tmp_path: Path) -> None:
    client = Esme(sim.smpp_port)
    client.bind()
    sim.inject("37120000001", "1643", "S")
    client.deliveries(1)
    client.submit("1643", "37120000001", b"Nothing this month", rd=1)
    config = sim.write_config(tmp_path / "c.toml")
    wait_until(lambda: "DELIVRD" in run(config, "traffic", "37120000001")[1])
    lines = run(config, "traffic", "37120000001")[1].splitlines()
    assert re.search(r"  MO  37120000001 -> 1643  \w+  delivered \(1 sent\)  S$", lines[0])
    assert re.search(r"  MT  1643 -> 37120000001  \w+  accepted receipt:DELIVRD  Nothing", lines[1])
    assert "bound_trx  smsgw" in run(config, "binds")[1]
    client.close()


def test_serve_and_send_as_processes(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMSC_SIM_PASSWORD": "s3cret"}
    config = tmp_path / "config.toml"
    config.write_text('[simulator]\nport = 0\nhttp_port = 0\nrecord_file = ""\n')
    server = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--config", str(config), "serve"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        line = json.loads(server.stderr.readline())  # structlog, JSON lines: stderr is not a terminal
        assert (line["event"], line["level"], line["logger"]) == ("listening", "info", "simulator.server")
        assert "timestamp" in line and line["token"] == "none" and line["record"] == "(off)"
        smpp_port = int(line["smpp"].removeprefix("127.0.0.1:"))
        http_port = int(line["http"].removeprefix("127.0.0.1:"))
        gateway_client = Esme(smpp_port)
        assert gateway_client.bind(password="s3cret").status == 0  # from the environment
        gateway_client.close()
        gateway = FakeGateway(smpp_port, lambda s, d, t: [(s, d, "Parole: abc")], "s3cret")
        client_config = tmp_path / "client.toml"
        client_config.write_text(f"[simulator]\nhttp_port = {http_port}\n")
        sent = subprocess.run(
            [
                sys.executable,
                "-m",
                "simulator",
                "--config",
                str(client_config),
                "send",
                "37120000002",
                "1640",
                "P",
                "--wait",
                "5",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        gateway.close()
        assert sent.returncode == 0, sent.stderr
        assert sent.stdout == "37120000002\t1640\tParole: abc\n"
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
    finally:
        server.kill()
        server.wait()
