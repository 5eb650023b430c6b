"""Scripts: the parser, the matcher, and the shipped examples (against a fake gateway)."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simulator.cli import cli
from simulator.script import Expect, ScriptError, _match, parse_script

from .conftest import RunningSim
from .helpers import FakeGateway

SCRIPTS = sorted((Path(__file__).parents[2] / "simulator" / "scripts").glob("*.txt"))
DEMO_NUMBERS = {f"3712000000{i}" for i in range(1, 6)} | {f"3712900000{i}" for i in range(1, 6)}
SOS_SENDERS = {"37120000001", "37120000002", "37120000004"}  # may top up


def test_parse_all_line_kinds() -> None:
    script = parse_script(
        "# hello\n\n> 37120000001 1643 V 29000001 5\\nmore\n< 37120000001 1643 29000001\n"
        "<! 37129000001 1643\nwait 0.5\n> 371 1640 P\n",
        "t",
    )
    first, pause, last = script.steps
    assert (first.source, first.destination, first.text) == ("37120000001", "1643", "V 29000001 5\nmore")
    assert [e.describe() for e in first.expects] == ["< 37120000001 1643 29000001", "<! 37129000001 1643"]
    assert pause.wait == 0.5 and last.text == "P"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("< 1 2 x\n", "line 1: an expectation must follow"),
        ("> 1\n", "line 1: '>' needs FROM TO TEXT"),
        ("> 1 2 x\n< 1 2 (\n", "line 2: bad regular expression"),
        ("> 1 2 x\n<! 1\n", "line 2: '<!' needs TO FROM"),
        ("wait soon\n", "line 1: 'wait' needs a number"),
        ("send 1 2 x\n", "line 1: expected"),
    ],
)
def test_parse_errors_name_the_line(source: str, message: str) -> None:
    with pytest.raises(ScriptError, match=re.escape(message)):
        parse_script(source, "s.txt")


def test_matching_uses_each_mt_once() -> None:
    loose = Expect(1, "371", "1643", re.compile("."))
    strict = Expect(2, "371", "1643", re.compile("29000001"))
    mts = [{"destination": "371", "source": "1643", "text": t} for t in ("29000001 ok", "hi")]
    assert _match([loose, strict], mts) == {0: 1, 1: 0}  # the loose one yields
    assert len(_match([strict, strict], mts)) == 1


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_example_scripts_parse_and_use_demo_numbers(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# smsc-sim play script. Format:")
    script = parse_script(text, path.name)
    assert script.steps
    for step in script.steps:
        assert step.destination in ("1640", "1643")
        assert step.source in DEMO_NUMBERS or step.destination == "1640"
        for expect in step.expects:
            assert expect.source == step.destination  # replies come from the short code


def test_example_scripts_do_not_share_sos_senders() -> None:
    owners: dict[str, str] = {}
    for path in SCRIPTS:
        for step in parse_script(path.read_text(encoding="utf-8"), path.name).steps:
            if step.destination == "1643" and step.source in SOS_SENDERS:
                assert owners.setdefault(step.source, path.name) == path.name
    assert len(SCRIPTS) >= 5


def fake_smsgw(source: str, dest: str, text: str) -> list[tuple[str, str, str]]:
    """A crude stand-in for the gateway's rules, enough to exercise the example scripts."""
    words = text.strip().upper()
    if dest == "1640":
        if source not in DEMO_NUMBERS:
            return []
        return [(source, dest, "Parole: K7pQ2xW9aZ" if words == "P" else "Sūtiet P uz 1640")]
    if source not in SOS_SENDERS:
        return [(source, dest, "Jūs nevarat izmantot Glābējīsziņu")]
    if m := re.fullmatch(r"(?:V )?(2\d{7}) (\d+(?:[.,]\d{1,2})?)", words):
        karte, amount = m.group(1), Decimal(m.group(2).replace(",", "."))
        if karte in ("29000001", "29000002", "29000004") and Decimal("1.42") <= amount <= Decimal("21.34"):
            return [
                (source, dest, f"Karte {karte} papildināta par {amount:.2f} EUR"),
                ("371" + karte, dest, f"{source[3:]} papildināja karti par {amount:.2f} EUR"),
            ]
        return [(source, dest, "Kļūda. Sūtiet HELP")]
    if m := re.fullmatch(r"M (2\d{7}) (\d+)", words):
        return [(source, dest, f"{m.group(1)}: {Decimal(m.group(2)):.2f} EUR. Sūtiet JA")]
    if m := re.fullmatch(r"(?:STOP|S) (2\d{7})", words):
        return [(source, dest, f"Karte {m.group(1)}: labi")]
    return [(source, dest, "Labi" if words in ("JA", "S", "HELP", "?", "V?", "M?") else "HELP")]


def test_example_scripts_pass_against_a_fake_gateway(sim: RunningSim, tmp_path: Path) -> None:
    gateway = FakeGateway(sim.smpp_port, fake_smsgw)
    config = sim.write_config(tmp_path / "c.toml")
    args = ["--config", str(config), "play", "--timeout", "5", "--quiet", "0.3"]
    result = CliRunner().invoke(cli, args + [str(p) for p in SCRIPTS])
    gateway.close()
    assert result.exit_code == 0, result.output
    assert result.output.count(": PASSED") == len(SCRIPTS)


BAD_SCRIPT = (
    "> 37120000001 1643 HELP\n< 37120000001 1643 ^echo: HELP$\n"
    "< 37120000001 1643 nope\n<! 37120000001 1640\n"
    "> 37120000002 1643 S\n< 37120000002 1643 echo\n<! 37120000002 1643\n"
)


def _play_bad_script(sim: RunningSim, tmp_path: Path, *extra: str) -> tuple[int, str]:
    gateway = FakeGateway(sim.smpp_port, lambda s, d, t: [(s, d, f"echo: {t}"), (s, d, "2nd")])
    script = tmp_path / "bad.txt"
    script.write_text(BAD_SCRIPT)
    config = sim.write_config(tmp_path / "c.toml")
    runner: Callable[..., Any] = CliRunner().invoke
    result = runner(cli, ["--config", str(config), "play", "--timeout", "1", "--silence", "0.3", *extra, str(script)])
    gateway.close()
    return result.exit_code, result.output


def test_play_prints_every_text_and_expected_against_got(sim: RunningSim, tmp_path: Path) -> None:
    code, out = _play_bad_script(sim, tmp_path)
    assert code == 1, out
    lines = out.splitlines()
    step1 = lines.index("line 2      OK      < 37120000001 1643 ^echo: HELP$")
    assert lines[step1 - 1] == "line 1    > 37120000001 1643 'HELP'"
    assert lines[step1 + 1].split() == ["got", "37120000001", "←", "1643", "echo:", "HELP"]
    assert lines[step1 + 2] == "line 3      FAILED  < 37120000001 1643 nope"
    assert lines[step1 + 3].split() == "expected an MT to 37120000001 from 1643 matching /nope/ within 1 s".split()
    assert lines[step1 + 4].split() == ["got", "37120000001", "←", "1643", "2nd"]  # what came instead
    negative = lines.index("line 7      FAILED  <! 37120000002 1643")
    assert lines[negative + 1].split() == "expected no further MT to 37120000002 from 1643".split()
    assert lines[negative + 2].split() == ["got", "37120000002", "←", "1643", "2nd"]
    assert lines[-1] == "bad.txt: FAILED (2 of 2 steps)"


def test_play_brief_keeps_the_terse_account(sim: RunningSim, tmp_path: Path) -> None:
    code, out = _play_bad_script(sim, tmp_path, "-q")
    assert code == 1, out
    assert "OK      < 37120000001 1643 ^echo: HELP$" in out
    assert "FAILED  < 37120000001 1643 nope  (no such MT in 1 s)" in out
    assert "OK      <! 37120000001 1640" in out
    assert "FAILED  <! 37120000002 1643  (an MT came)" in out  # the unexpected "2nd"
    assert "37120000001\t1643\techo: HELP" in out
    assert "got " not in out and "expected " not in out
    assert "bad.txt: FAILED (2 of 2 steps)" in out
