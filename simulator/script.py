"""Scripted conversations: a text file of MOs and the MTs expected for them.

    # comment
    > FROM TO TEXT...          send an MO (TEXT is the rest of the line; \\n escapes a newline)
    < TO FROM REGEX            expect an MT to TO from FROM whose text matches REGEX
                               (re.search, IGNORECASE | DOTALL)
    <! TO FROM                 expect NO MT to TO from FROM (checked over a quiet period)
    wait SECONDS               pause

After each `>`, the `<` lines that follow it must all be matched, in any order and each by
a distinct MT, within the timeout, before the next `>` is sent. A `<!` fails if an MT to TO
from FROM arrives (after that `>`) that no `<` line of the same step accounts for.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .client import JSON, Client, mt_line

__all__ = ["Expect", "Script", "ScriptError", "Step", "parse_script", "run_script"]


class ScriptError(ValueError):
    """A script that does not parse; the message names the line."""


@dataclass(slots=True)
class Expect:
    line: int
    to: str
    source: str
    pattern: re.Pattern[str] | None  # None: `<!` (no such MT)

    def accepts(self, mt: JSON) -> bool:
        if mt["destination"] != self.to or mt["source"] != self.source:
            return False
        return self.pattern is None or self.pattern.search(str(mt["text"])) is not None

    def describe(self) -> str:
        if self.pattern is None:
            return f"<! {self.to} {self.source}"
        return f"< {self.to} {self.source} {self.pattern.pattern}"


@dataclass(slots=True)
class Step:
    line: int
    source: str = ""
    destination: str = ""
    text: str = ""
    wait: float | None = None
    expects: list[Expect] = field(default_factory=list)


@dataclass(slots=True)
class Script:
    name: str
    steps: list[Step]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def parse_script(source: str, name: str = "script") -> Script:
    steps: list[Step] = []
    for number, raw in enumerate(source.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{name}: line {number}"
        head, _, rest = line.partition(" ")
        if head == ">":
            parts = rest.strip().split(None, 2)
            if len(parts) < 2:
                raise ScriptError(f"{where}: '>' needs FROM TO TEXT")
            text = _unescape(parts[2]) if len(parts) == 3 else ""
            steps.append(Step(number, parts[0], parts[1], text))
        elif head in ("<", "<!"):
            if not steps or steps[-1].wait is not None:
                raise ScriptError(f"{where}: an expectation must follow a '>' line")
            parts = rest.strip().split(None, 2)
            if head == "<!" and len(parts) != 2:
                raise ScriptError(f"{where}: '<!' needs TO FROM")
            if head == "<" and len(parts) != 3:
                raise ScriptError(f"{where}: '<' needs TO FROM REGEX")
            pattern = None
            if head == "<":
                try:
                    pattern = re.compile(parts[2], re.IGNORECASE | re.DOTALL)
                except re.error as err:
                    raise ScriptError(f"{where}: bad regular expression: {err}") from None
            steps[-1].expects.append(Expect(number, parts[0], parts[1], pattern))
        elif head == "wait":
            try:
                seconds = float(rest)
            except ValueError:
                raise ScriptError(f"{where}: 'wait' needs a number of seconds") from None
            if not 0 <= seconds <= 3600:
                raise ScriptError(f"{where}: wait between 0 and 3600 seconds")
            steps.append(Step(number, wait=seconds))
        else:
            raise ScriptError(f"{where}: expected '>', '<', '<!', 'wait' or '#', got {head!r}")
    return Script(name, steps)


def load_script(path: str | Path) -> Script:
    path = Path(path)
    try:
        return parse_script(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError) as err:
        raise ScriptError(f"{path}: cannot read: {err}") from None


def _match(expects: list[Expect], mts: list[JSON]) -> dict[int, int]:
    """A maximum matching expectation index → MT index (each MT used once; Kuhn)."""
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j, mt in enumerate(mts):
            if j not in seen and expects[i].accepts(mt):
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(expects)):
        augment(i, set())
    return {i: j for j, i in owner.items()}


async def _run_step(client: Client, step: Step, within: float, quiet: float, out: Callable[[str], None]) -> bool:
    mo = await client.inject_mo(step.source, step.destination, step.text)
    cursor = int(mo["cursor"])
    positive = [e for e in step.expects if e.pattern is not None]
    negative = [e for e in step.expects if e.pattern is None]
    out(f"line {step.line:<4} > {step.source} {step.destination} {step.text!r}")
    mts: list[JSON] = []
    deadline = time.monotonic() + within
    while len(_match(positive, mts)) < len(positive):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        data = await client.mts(cursor, wait=remaining)
        cursor, mts = int(data["cursor"]), mts + data["mts"]
    if negative:
        quiet_end = time.monotonic() + quiet
        while (remaining := quiet_end - time.monotonic()) > 0:
            data = await client.mts(cursor, wait=remaining)
            cursor, mts = int(data["cursor"]), mts + data["mts"]
    matched = _match(positive, mts)
    used = set(matched.values())
    ok = True
    for i, expect in enumerate(positive):
        if i in matched:
            out(f"line {expect.line:<4}   OK      {expect.describe()}")
        else:
            ok = False
            out(f"line {expect.line:<4}   FAILED  {expect.describe()}  (no such MT in {within:g} s)")
    for expect in negative:
        extra = [mt for j, mt in enumerate(mts) if j not in used and expect.accepts(mt)]
        if extra:
            ok = False
            out(f"line {expect.line:<4}   FAILED  {expect.describe()}  (an MT came)")
        else:
            out(f"line {expect.line:<4}   OK      {expect.describe()}")
    if not ok:
        out("           MTs that arrived (to, from, text):" if mts else "           no MT arrived")
        for mt in mts:
            out(f"             {mt_line(mt)}")
    return ok


async def run_script(
    client: Client, script: Script, *, within: float, quiet: float, out: Callable[[str], None]
) -> bool:
    """Run every step; True if every expectation was met. Reports through `out`."""
    out(f"{script.name}")
    failed = 0
    for step in script.steps:
        if step.wait is not None:
            out(f"line {step.line:<4} wait {step.wait:g} s")
            await asyncio.sleep(step.wait)
        elif not await _run_step(client, step, within, quiet, out):
            failed += 1
    steps = sum(1 for s in script.steps if s.wait is None)
    verdict = "PASSED" if not failed else f"FAILED ({failed} of {steps} steps)"
    out(f"{script.name}: {verdict}")
    return failed == 0
