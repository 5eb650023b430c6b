"""Sealing keys: several at once (the first seals, all open), from where they are configured, failing closed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from smsgw.keys import new_key_file, rotate_key_file
from smsgw.sealing import KeySource, MissingKeyError, Sealer, SealingError, key_file_path, load_sealer, read_key_file

OLD, NEW = Fernet.generate_key(), Fernet.generate_key()


def _source(tmp_path: Path, *, secret_key: str = "", key_file: str = "") -> KeySource:
    return KeySource(secret_key, key_file, tmp_path / "etc" / "config.toml")


def test_the_first_key_seals_and_every_key_opens() -> None:
    before = Sealer(OLD).seal("Parole: Abc")
    rotated = Sealer([NEW, OLD])
    assert rotated.unseal(before) == "Parole: Abc"  # sealed before the rotation, opened after
    after = rotated.seal("Parole: Xyz")
    assert Sealer(NEW).unseal(after) == "Parole: Xyz"
    with pytest.raises(SealingError, match="cannot be opened"):
        Sealer(OLD).unseal(after)


def test_a_sealer_without_keys_fails_only_when_used() -> None:
    sealer = Sealer.missing("no key: make one")
    with pytest.raises(MissingKeyError, match="no key: make one"):
        sealer.seal("x")
    with pytest.raises(MissingKeyError):
        sealer.unseal("gAAAAA")


def test_no_key_configured_is_an_error_when_required_and_names_the_command_that_makes_one(tmp_path: Path) -> None:
    with pytest.raises(MissingKeyError, match="smsgw key new"):
        load_sealer(_source(tmp_path), required=True)
    lazy = load_sealer(_source(tmp_path), required=False)
    with pytest.raises(MissingKeyError, match="smsgw key new"):
        lazy.seal("x")
    assert list(tmp_path.rglob("*")) == []  # nothing was created


def test_a_relative_key_file_is_found_beside_the_config_file_not_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    new_key_file(tmp_path / "etc" / "gw.key")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert key_file_path("gw.key", tmp_path / "etc" / "config.toml") == tmp_path / "etc" / "gw.key"
    assert load_sealer(_source(tmp_path, key_file="gw.key"), required=True).key_count == 1
    assert key_file_path("/abs/gw.key", "config.toml") == Path("/abs/gw.key")


def test_comma_separated_environment_keys_come_before_the_file_s(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "gw.key").write_bytes(OLD + b"\n")
    sealer = load_sealer(
        _source(tmp_path, secret_key=f" {NEW.decode()} , {OLD.decode()}", key_file="gw.key"), required=True
    )
    assert sealer.key_count == 3
    assert Sealer(NEW).unseal(sealer.seal("x")) == "x"


@pytest.mark.parametrize(
    "content",
    ["not-a-key\n", "# only a comment\n\n", f"{NEW.decode()}\n{NEW.decode()[:-4]}\n"],
)
def test_a_broken_key_file_is_refused_without_echoing_its_content(tmp_path: Path, content: str) -> None:
    path = tmp_path / "gw.key"
    path.write_text(content, encoding="ascii")
    with pytest.raises(SealingError) as raised:
        read_key_file(path)
    assert str(path) in str(raised.value)
    for line in content.splitlines():
        if len(line) > 8 and not line.startswith("#"):
            assert line not in str(raised.value)


def test_a_broken_environment_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "S3cret-not-a-fernet-key"
    with pytest.raises(SealingError) as raised:
        load_sealer(_source(tmp_path, secret_key=f"{NEW.decode()},{secret}"), required=False)
    assert secret not in str(raised.value) and "key 2 of 2" in str(raised.value)


def test_a_configured_key_file_that_is_missing_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(MissingKeyError, match=r"not found: make one with `smsgw key new"):
        load_sealer(_source(tmp_path, key_file="absent.key"), required=True)


def test_key_files_are_written_0600_never_overwritten_and_rotated_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "gw.key"
    umask = os.umask(0)  # even the most permissive umask gives 0600
    try:
        new_key_file(path)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = read_key_file(path)
    with pytest.raises(SealingError, match="refusing to overwrite"):
        new_key_file(path)
    assert read_key_file(path) == first
    assert rotate_key_file(path) == 2
    rotated = read_key_file(path)
    assert rotated[1:] == first and rotated[0] != first[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["gw.key"]  # no temporary file left behind
