"""The command line's security: keys that fail closed, ``smsgw key``, and the audit line of each command.

Audit lines are structlog events ``audit`` on stderr (JSON lines when stderr is
not a terminal): who ran it (the OS user of the real uid), the number masked,
what it did. Neither a password nor an unmasked number appears on stderr.
"""

from __future__ import annotations

import json
import pwd
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from smsgw.cli import main
from smsgw.cli_run import _with_demo_key
from smsgw.config import load_config
from smsgw.keys import new_key_file

SMSGW = str(Path(sys.executable).with_name("smsgw"))
SUBSCRIBERS = """msisdn,kind,status,customer_type,sos_sms_allowed,language,email,karte_expires_on,balance
37120000001,postpaid,active,private,,lv,,,
37129000001,karte,active,private,,lv,,2027-06-30,1.00
"""
ME = pwd.getpwuid(__import__("os").getuid()).pw_name


def write_config(folder: Path, security: str = "", extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f"""
[smpp]
host = "127.0.0.1"
port = 2775
system_id = "smsgw"
password = "demo1234"
[http]
host = "127.0.0.1"
port = 8080
[database]
url = "sqlite+aiosqlite:///{folder / "gw.db"}"
[security]
{security}
[password]
scrypt_n = 1024
[logging]
format = "json"
{extra}
""",
        encoding="utf-8",
    )
    return path


def invoke(config: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], input=stdin, catch_exceptions=False)


def audits(result: Result | subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    found = []
    for line in result.stderr.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "audit":
                found.append(event)
    return found


# --- keys fail closed -----------------------------------------------------------------------


def test_run_refuses_to_start_without_a_key_in_one_line_and_creates_none(tmp_path: Path) -> None:
    config = write_config(tmp_path / "etc")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = subprocess.run(
        [SMSGW, "--config", str(config), "run"],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "smsgw key new" in proc.stderr and "SMSGW_SECRET_KEY" in proc.stderr
    assert list(tmp_path.rglob("*.key")) == [] and not (tmp_path / "etc" / "gw.db").exists()


def test_run_refuses_a_configured_key_file_that_does_not_exist(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'key_file = "gone.key"')
    result = invoke(config, "run")
    assert result.exit_code == 2
    assert f"key file {tmp_path / 'gone.key'} not found" in result.stderr and "smsgw key new" in result.stderr


def test_a_bad_environment_key_stops_run_without_echoing_it(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    secret = "S3cretPassw0rdNotAKey"
    proc = subprocess.run(
        [SMSGW, "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "SMSGW_SECRET_KEY": secret},
    )
    assert proc.returncode == 2 and secret not in proc.stderr and "not a valid Fernet key" in proc.stderr


def test_commands_that_never_seal_need_no_key_and_a_password_request_fails_closed(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "subs.csv").write_text(SUBSCRIBERS, encoding="utf-8")
    assert invoke(config, "subscribers", "import", str(tmp_path / "subs.csv")).exit_code == 0
    assert invoke(config, "mo", "37120000001", "1643", "V 29000001 5").exit_code == 0
    assert invoke(config, "billing", "export", "--month", "2026-11").exit_code == 0
    assert invoke(config, "password", "check", "37120000001", stdin="whatever\n").exit_code == 1
    refused = invoke(config, "mo", "37120000001", "1640", "P")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "no key to seal password SMS" in refused.stderr and "smsgw key new" in refused.stderr
    assert audits(refused)[0]["outcome"] == "error"
    assert list(tmp_path.rglob("*.key")) == []


def test_key_new_writes_the_configured_file_beside_the_config_not_in_the_working_directory(
    tmp_path: Path, monkeypatch: Any
) -> None:
    (tmp_path / "etc" / "keys").mkdir(parents=True)
    config = write_config(tmp_path / "etc", 'key_file = "keys/gw.key"')
    monkeypatch.chdir(tmp_path)
    made = invoke(config, "key", "new")
    assert made.exit_code == 0, made.output
    assert (tmp_path / "etc" / "keys" / "gw.key").exists() and list(tmp_path.glob("*.key")) == []
    again = invoke(config, "key", "new")
    assert again.exit_code == 2 and "refusing to overwrite" in again.stderr
    (tmp_path / "etc" / "subs.csv").write_text(SUBSCRIBERS, encoding="utf-8")
    assert invoke(config, "subscribers", "import", str(tmp_path / "etc" / "subs.csv")).exit_code == 0
    issued = invoke(config, "mo", "37120000001", "1640", "P")
    assert issued.exit_code == 0 and "parole" in issued.stdout


def test_key_new_print_writes_only_the_key_on_stdout(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "none.toml"), "key", "new", "--print"])
    assert result.exit_code == 0
    [key] = result.stdout.splitlines()
    Fernet(key)  # a valid key
    assert key not in result.stderr and audits(result)[0]["action"] == "key_new"


def test_demo_makes_its_own_key_beside_its_config_once(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    first = _with_demo_key(config)
    assert first.security.key_file == str(tmp_path / "smsgw-demo.key")
    content = (tmp_path / "smsgw-demo.key").read_bytes()
    assert _with_demo_key(config).security.key_file == first.security.key_file
    assert (tmp_path / "smsgw-demo.key").read_bytes() == content
    new_key_file(tmp_path / "own.key")
    own = load_config(write_config(tmp_path, 'key_file = "own.key"'))
    assert _with_demo_key(own) is own


# --- audit lines ----------------------------------------------------------------------------


def test_every_command_that_changes_money_or_passwords_writes_an_audit_line(tmp_path: Path) -> None:
    new_key_file(tmp_path / "gw.key")
    config = write_config(tmp_path, 'key_file = "gw.key"')
    (tmp_path / "subs.csv").write_text(SUBSCRIBERS, encoding="utf-8")
    imported = invoke(config, "subscribers", "import", str(tmp_path / "subs.csv"))
    [line] = audits(imported)
    assert line["action"] == "subscribers_import" and line["outcome"] == "imported" and line["imported"] == 2
    assert line["user"] == ME and line["logger"] == "smsgw.audit" and line["level"] == "info"

    issued = invoke(config, "mo", "37120000001", "1640", "P")
    password = issued.stdout.split("\t")[2].split(": ")[1].split(" ")[0]
    [line] = audits(issued)
    assert (line["action"], line["msisdn"], line["outcome"]) == ("mo", "371200***01", "password_issued")
    assert line["command"] == "ResetPassword" and line["replies"] == 1 and line["short_code"] == "1640"

    for attempt, outcome in (("wrong-one", "invalid"), (password, "valid")):
        checked = invoke(config, "password", "check", "37120000001", stdin=attempt + "\n")
        [line] = audits(checked)
        assert (line["action"], line["msisdn"], line["outcome"]) == ("password_check", "371200***01", outcome)
        assert password not in checked.stderr

    topped = invoke(config, "mo", "29000001", "1643", "V 29000001 5")  # a number typed nationally
    [line] = audits(topped)
    assert line["msisdn"] == "29****01" and line["outcome"] == "not_eligible_not_postpaid"

    monthly = invoke(config, "monthly", "run", "--date", "2026-11-30")
    [line] = audits(monthly)
    assert (line["action"], line["date"], line["outcome"]) == ("monthly_run", "2026-11-30", "nothing_due")
    not_last = invoke(config, "monthly", "run", "--date", "2026-11-29")
    assert audits(not_last)[0]["outcome"] == "not_last_day"

    bad = tmp_path / "bad.csv"
    bad.write_text(SUBSCRIBERS.splitlines()[0] + "\n1234,postpaid,active,private,,lv,,,\n", encoding="utf-8")
    rejected = invoke(config, "subscribers", "import", str(bad))
    [line] = audits(rejected)
    assert (line["outcome"], line["bad_rows"], line["imported"]) == ("rejected", 1, 0)

    for result in (imported, issued, topped, rejected):
        assert "37120000001" not in result.stderr and "29000001" not in result.stderr


def test_audit_lines_survive_a_quieter_log_level_in_a_real_process(tmp_path: Path) -> None:
    new_key_file(tmp_path / "gw.key")
    config = write_config(tmp_path, 'key_file = "gw.key"', 'level = "error"')
    proc = subprocess.run(
        [SMSGW, "--config", str(config), "password", "check", "37120000001"],
        input="nope\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    [line] = audits(proc)
    assert line["outcome"] == "invalid" and line["user"] == ME and line["msisdn"] == "371200***01"
    assert proc.stdout == ""


def test_run_warns_when_the_key_file_sits_beside_the_sqlite_database(tmp_path: Path) -> None:
    from structlog.testing import capture_logs

    from smsgw.cli_run import _warn_about_key_placement

    (tmp_path / "keys").mkdir()
    beside = load_config(write_config(tmp_path, 'key_file = "gw.key"'))
    apart = load_config(write_config(tmp_path, 'key_file = "keys/gw.key"'))
    with capture_logs() as logs:
        _warn_about_key_placement(beside)
        _warn_about_key_placement(apart)
    assert [(e["event"], e["key_file"]) for e in logs] == [("key_file_beside_database", str(tmp_path / "gw.key"))]
