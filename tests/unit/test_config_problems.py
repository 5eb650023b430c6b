"""Configuration that explains itself: defaults, every problem on its own line, no secret echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgw.config import RUN_NEEDS, ConfigError, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path, **options: object) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=options.pop("environ", {}), **options)  # type: ignore[arg-type]
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_an_empty_file_is_a_complete_configuration_for_commands_that_do_not_bind(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, ""), environ={})
    assert (config.http.host, config.http.port) == ("127.0.0.1", 8080)
    assert (config.smpp.host, config.smpp.port) == ("127.0.0.1", 2775)
    assert config.database.url.startswith("sqlite+aiosqlite://")
    assert config.logging.libraries is False and config.email.starttls == "auto"


def test_run_needs_who_it_binds_as(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    problems = _problems(path, needs=RUN_NEEDS, needed_by="smsgw run")
    assert problems == (
        f"{path}: [smpp] system_id: missing (smsgw run needs it)",
        f"{path}: [smpp] password: missing (smsgw run needs it)",
    )
    env = {"SMSGW_SMPP_PASSWORD": "pw"}
    (problem,) = _problems(_write(tmp_path, '[smpp]\nsystem_id = "gw"\n'), needs=RUN_NEEDS, environ={})
    assert "[smpp] password: missing" in problem
    config = load_config(_write(tmp_path, '[smpp]\nsystem_id = "gw"\n'), environ=env, needs=RUN_NEEDS)
    assert config.smpp.password == "pw"


def test_every_problem_is_listed_on_its_own_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[smpp]\nport = "abc"\nwindow = 0\n[logging]\nlevel = "loud"\n[sos]\nvalidity = [{ frm = "1.00", days = 3 }]\n',
    )
    problems = _problems(path)
    assert problems == (
        f"{path}: [sos] validity.0.frm: unknown key (did you mean from?)",
        f"{path}: [smpp] port: Input should be a valid integer, unable to parse string as an integer (got 'abc')",
        f"{path}: [smpp] window: Input should be greater than or equal to 1 (got 0)",
        f"{path}: [logging] level: Input should be 'debug', 'info', 'warning' or 'error' (got 'loud')",
    )


def test_a_misspelt_key_is_named_with_the_nearest_known_one_and_not_reported_missing(tmp_path: Path) -> None:
    path = _write(tmp_path, '[smpp]\nsytem_id = "gw"\npassword = "pw"\n[htpp]\nport = 1\n')
    problems = _problems(path, needs=RUN_NEEDS, needed_by="smsgw run")
    assert problems == (
        f"{path}: [smpp] sytem_id: unknown key (did you mean system_id?)",
        f"{path}: [htpp]: unknown table (did you mean http?)",
    )
    (problem,) = _problems(_write(tmp_path, "[email]\nzzz = 1\n"))
    assert problem.endswith("[email] zzz: unknown key")


@pytest.mark.parametrize(
    ("text", "environ", "secret"),
    [
        ("", {"SMSGW_SMPP_PASSWORD": "S3cretPassw0rd"}, "S3cretPassw0rd"),
        ('[smpp]\npassword = "S3cretPassw0rd"\n', {}, "S3cretPassw0rd"),
        ("[email]\npassword = 12345\n", {}, "12345"),
        ("[security]\nsecret_key = 987654321\n", {}, "987654321"),
        ("", {"SMSGW_DATABASE_URL": "mysql://gw:Hunter2pw@127.0.0.1/db"}, "Hunter2pw"),
        ("", {"SMSGW_DATABASE_URL": "postgresql+asyncpg://gw:Hunter2pw@127.0.0.1:abc/db"}, "Hunter2pw"),
        ("[database]\nurl = 42\n", {"SMSGW_EMAIL_PASSWORD": "x"}, "42"),
    ],
)
def test_secrets_are_never_echoed(tmp_path: Path, text: str, environ: dict[str, str], secret: str) -> None:
    (problem,) = _problems(_write(tmp_path, text), environ=environ)
    assert secret not in problem
    assert "value not shown" in problem or "(got 'mysql')" in problem
    if environ and "SMPP" in next(iter(environ)):
        assert problem.endswith("(set by SMSGW_SMPP_PASSWORD; value not shown)")


def test_file_errors_are_one_line(tmp_path: Path) -> None:
    (missing,) = _problems(tmp_path / "nope.toml")
    assert missing.endswith("file not found (use --config PATH)")
    (broken,) = _problems(_write(tmp_path, "[smpp\n"))
    assert "not valid TOML" in broken
