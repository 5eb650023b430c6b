"""The ``smsgw`` command line (SPEC §9): formats, exit codes and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from handlers.rules import last_day_of_month
from smsgw.cli import main
from smsgw.keys import new_key_file

SUBSCRIBERS = """msisdn,kind,status,customer_type,sos_sms_allowed,language,email,karte_expires_on,balance
37120000001,postpaid,active,private,,lv,,,
+37120000002,postpaid,active,private,false,en,ann@example.com,,
0037120000003,postpaid,active,legal,true,lv,,,
29000001,karte,active,private,,lv,,2027-06-30,1.00
37129000002,karte,active,private,,en,,2026-08-01,0
"""


def write_config(folder: Path, extra: str = "") -> Path:
    """A config in ``folder`` with its own database and sealing key (made here: nothing makes one silently)."""
    path = folder / "config.toml"
    if not (folder / "gw.key").exists():
        new_key_file(folder / "gw.key")
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
key_file = "{folder / "gw.key"}"
[password]
scrypt_n = 1024
{extra}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = write_config(tmp_path)
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(main, ["--config", str(config), *args], input=stdin, catch_exceptions=False)

    (tmp_path / "subs.csv").write_text(SUBSCRIBERS, encoding="utf-8")
    result = run("subscribers", "import", str(tmp_path / "subs.csv"))
    assert result.exit_code == 0, result.output
    assert "imported 5 subscriber(s)" in result.output
    return run


def _replies(result: Result) -> list[list[str]]:
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_mo_prints_queued_replies_as_tab_separated_lines(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("mo", "37120000002", "1643", "V 29000001 5")
    assert result.exit_code == 0
    replies = _replies(result)
    assert [r[:2] for r in replies] == [["37120000002", "1643"], ["37129000001", "1643"]]
    assert "5.00" in replies[0][2] and "5,00" in replies[1][2]  # sender en, Karte lv


def test_mo_escapes_newlines_in_text_and_answers_mistakes(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("mo", "37120000001", "1643", "V 29000001\nabc")
    assert result.exit_code == 0
    [reply] = _replies(result)
    assert reply[0] == "37120000001" and "abc" in reply[2] and "\n" not in reply[2]


def test_billing_export_format_and_month_boundaries(cli) -> None:  # type: ignore[no-untyped-def]
    cli("mo", "37120000001", "1643", "29000001 3,5")
    cli("mo", "37120000003", "1643", "V 29000002 2")
    result = cli("billing", "export", "--month", __import__("datetime").date.today().strftime("%Y-%m"))
    lines = result.stdout.splitlines()
    assert lines[0] == "charged_at,sender,karte,amount,kind"
    rows = [line.split(",") for line in lines[1:]]
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("37120000001", "37129000001", "3.50", "one_off"),
        ("37120000003", "37129000002", "2.00", "one_off"),
    ]
    assert rows[0][0][19:] in ("+02:00", "+03:00")  # Riga time with its offset
    assert cli("billing", "export", "--month", "1999-01").stdout == "charged_at,sender,karte,amount,kind\n"


def test_monthly_run_is_a_no_op_except_on_the_last_day_and_runs_once(cli) -> None:  # type: ignore[no-untyped-def]
    cli("mo", "37120000001", "1643", "M 29000001 4.13")
    confirmed = cli("mo", "37120000001", "1643", "JA")
    assert "29000001" in confirmed.stdout
    last = last_day_of_month(datetime.now(ZoneInfo("Europe/Riga")).date())
    not_last = cli("monthly", "run", "--date", (last - timedelta(days=1)).isoformat())
    assert not_last.exit_code == 0 and "not the last day" in not_last.stdout
    first = cli("monthly", "run", "--date", last.isoformat())
    assert first.exit_code == 0 and "monthly_executed: 1" in first.stdout
    second = cli("monthly", "run", "--date", last.isoformat())
    assert second.exit_code == 0 and "no monthly top-ups due" in second.stdout
    export = cli("billing", "export", "--month", last.strftime("%Y-%m")).stdout.splitlines()
    assert export[1].startswith(f"{last.isoformat()}T10:00:00+0")
    assert export[1].endswith(",37120000001,37129000001,4.13,monthly")


def test_password_check_exit_codes(cli) -> None:  # type: ignore[no-untyped-def]
    issued = _replies(cli("mo", "37120000001", "1640", "p"))
    password = issued[0][2].split(": ")[1].split(" ")[0]
    assert cli("password", "check", "37120000001", stdin="nope\n").exit_code == 1
    assert cli("password", "check", "37120000001", stdin=password + "\n").exit_code == 0
    assert cli("password", "check", "37120000001", stdin=password + "\n").exit_code == 1
    assert cli("password", "check", "not-a-number", stdin=password + "\n").exit_code == 1


def test_import_upserts(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "update.csv").write_text(
        "msisdn,kind,status,customer_type,sos_sms_allowed,language,email,karte_expires_on,balance\n"
        "37120000001,postpaid,cancelled,private,,lv,,,\n",
        encoding="utf-8",
    )
    assert cli("subscribers", "import", str(tmp_path / "update.csv")).exit_code == 0
    refused = _replies(cli("mo", "37120000001", "1643", "V 29000001 5"))
    assert refused[0][0] == "37120000001" and len(refused) == 1  # cancelled: no top-up, one reply


def test_import_reports_bad_rows_with_line_numbers_and_imports_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "msisdn,kind,status,customer_type,sos_sms_allowed,language,email,karte_expires_on,balance\n"
        "37120000009,postpaid,active,private,,lv,,,\n"
        "1234,postpaid,active,private,,lv,,,\n"
        "37120000010,prepaid,active,private,,lv,,,\n"
        "37129000010,karte,active,private,,lv,,2026-02-30,1\n"
        "37129000011,karte,active,private,,lv,,,1.234\n"
        "37120000009,postpaid,active,private,,lv,,,\n",
        encoding="utf-8",
    )
    result = cli("subscribers", "import", str(bad))
    assert result.exit_code == 2
    for line in (3, 4, 5, 6, 7):
        assert f"line {line}:" in result.stderr
    assert "line 2:" not in result.stderr
    assert "nothing imported" in result.stderr
    # 37120000009 (line 2 was valid) must not have been imported.
    assert _replies(cli("mo", "37120000009", "1643", "S"))[0][2].startswith("Glābējīsziņu var izmantot tikai")


def test_bad_arguments_and_config_are_one_line_errors(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("billing", "export", "--month", "2026-13").exit_code == 2
    assert cli("monthly", "run", "--date", "2026-02-30").exit_code == 2
    missing = cli("subscribers", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "file not found" in missing.stderr
    broken = write_config(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path, "")
    broken.write_text(broken.read_text().replace("port = 2775", 'port = "abc"'))
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(broken), "mo", "1", "1643", "S"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "[smpp] port" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["mo"],
        ["subscribers", "import"],
        ["billing", "export"],
        ["monthly", "run"],
        ["password", "check"],
        ["db", "upgrade"],
    ],
)
def test_help_everywhere(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_real_process_errors_have_no_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[logging]\nlevel = "loud"\n')
    smsgw = Path(sys.executable).with_name("smsgw")
    proc = subprocess.run([str(smsgw), "--config", str(config), "mo", "1", "1643", "S"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "[logging] level" in proc.stderr
    assert proc.stderr.count("\n") == 1


def _smsgw(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    smsgw = Path(sys.executable).with_name("smsgw")
    return subprocess.run(
        [str(smsgw), *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nosuch"], "No such command 'nosuch'. (see 'smsgw --help')"),
        (["mo", "1"], "Missing argument 'TO'. (see 'smsgw mo --help')"),
        (["billing", "export", "--month", "2026-13"], "Invalid value for '--month'"),
        (["--bogus"], "No such option '--bogus'"),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    proc = _smsgw(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("smsgw: ") and says in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_commands_that_do_not_bind_need_no_smpp_nor_http_table(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "gw.db"}"\n[security]\nkey_file = "{tmp_path / "k"}"\n'
    )
    (tmp_path / "subs.csv").write_text(SUBSCRIBERS, encoding="utf-8")
    assert _smsgw("--config", str(config), "subscribers", "import", "subs.csv", cwd=tmp_path).returncode == 0
    assert _smsgw("--config", str(config), "billing", "export", "--month", "2026-11", cwd=tmp_path).returncode == 0
    assert _smsgw("--config", str(config), "mo", "37120000001", "1643", "S", cwd=tmp_path).returncode == 0
    run = _smsgw("--config", str(config), "run", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"smsgw: {config}: [smpp] system_id: missing (smsgw run needs it)",
        f"smsgw: {config}: [smpp] password: missing (smsgw run needs it)",
    ]


def test_config_problems_are_all_listed_and_secrets_never_echoed(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[smpp]\nsytem_id = "gw"\nport = "abc"\n[logging]\nlevel = "loud"\n')
    proc = _smsgw("--config", str(config), "run", cwd=tmp_path, env={"SMSGW_SMPP_PASSWORD": "S3cretPassw0rd"})
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines == [
        f"smsgw: {config}: [smpp] sytem_id: unknown key (did you mean system_id?)",
        f"smsgw: {config}: [smpp] port: Input should be a valid integer, unable to parse string as an integer "
        "(got 'abc')",
        f"smsgw: {config}: [smpp] password: String should have at most 8 characters "
        "(set by SMSGW_SMPP_PASSWORD; value not shown)",
        f"smsgw: {config}: [logging] level: Input should be 'debug', 'info', 'warning' or 'error' (got 'loud')",
    ]
    assert "S3cretPassw0rd" not in proc.stderr + proc.stdout


def test_trace_prints_the_log_key_and_the_mos(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from smsgw.log_context import derive_log_key, subscriber_key
    from smsgw.sealing import read_key_file

    cli("mo", "37120000001", "1643", "V 29000001 5")
    result = cli("trace", "20000001")
    assert result.exit_code == 0, result.output
    key = subscriber_key("37120000001", derive_log_key(read_key_file(tmp_path / "gw.key")[0]))
    lines = result.stdout.splitlines()
    assert lines[0] == "subscriber  37120000001"
    assert lines[1].startswith(f"log key     {key}  ")
    assert any("TopUp → topup_applied" in line for line in lines)
    assert sum("reply to " in line and ": queued" in line for line in lines) == 2


def test_trace_of_a_database_not_yet_created_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "none.db"}"\n')
    proc = _smsgw("--config", str(config), "trace", "29123456", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no database at" in proc.stderr
    assert not (tmp_path / "none.db").exists()
