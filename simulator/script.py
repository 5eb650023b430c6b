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

`run_script` drives anything with `inject_mo` and `mts` (the HTTP client of `smsc-sim play`,
or the simulator itself for the testers' page) and reports each step as data: what was
sent, each expectation with the MT that met it or what came instead, every MT that arrived.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "Driver",
    "Expect",
    "Outcome",
    "Script",
    "ScriptError",
    "ScriptReport",
    "Seen",
    "Step",
    "StepReport",
    "load_script",
    "parse_script",
    "run_script",
]

JSON = dict[str, Any]


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


class Driver(Protocol):
    """What a script needs of the simulator."""

    async def inject_mo(self, source: str, destination: str, text: str) -> JSON:
        """Inject an MO; the answer has the MT `cursor` from before it."""
        ...

    async def mts(self, cursor: int, *, wait: float) -> JSON:
        """`{"mts": [...], "cursor": next}`: MTs from `cursor` on, waiting up to `wait` s for one."""
        ...


@dataclass(frozen=True, slots=True)
class Seen:
    """An MT that arrived during a step."""

    to: str
    source: str
    text: str

    @classmethod
    def of(cls, mt: JSON) -> Seen:
        return cls(str(mt["destination"]), str(mt["source"]), str(mt["text"]))


@dataclass(frozen=True, slots=True)
class Outcome:
    """One expectation of a step: met or not, and by what."""

    line: int
    expect: str  # as written: "< TO FROM REGEX" or "<! TO FROM"
    negative: bool  # a "<!" line
    ok: bool
    got: Seen | None = None  # the MT that met a "<"
    unwanted: tuple[Seen, ...] = ()  # the MTs that broke a "<!"


@dataclass(frozen=True, slots=True)
class StepReport:
    line: int
    source: str = ""
    destination: str = ""
    text: str = ""
    wait: float | None = None
    within: float = 0.0
    outcomes: tuple[Outcome, ...] = ()
    arrived: tuple[Seen, ...] = ()
    ok: bool = True

    @property
    def unclaimed(self) -> tuple[Seen, ...]:
        """The MTs that arrived and met no expectation."""
        left = list(self.arrived)
        for outcome in self.outcomes:
            if outcome.got is not None and outcome.got in left:
                left.remove(outcome.got)
        return tuple(left)


@dataclass(frozen=True, slots=True)
class ScriptReport:
    name: str
    steps: tuple[StepReport, ...]

    @property
    def failed(self) -> int:
        return sum(1 for step in self.steps if not step.ok)

    @property
    def total(self) -> int:
        return sum(1 for step in self.steps if step.wait is None)

    @property
    def ok(self) -> bool:
        return self.failed == 0


async def _run_step(driver: Driver, step: Step, within: float, quiet: float) -> StepReport:
    mo = await driver.inject_mo(step.source, step.destination, step.text)
    cursor = int(mo["cursor"])
    positive = [e for e in step.expects if e.pattern is not None]
    negative = [e for e in step.expects if e.pattern is None]
    mts: list[JSON] = []
    deadline = time.monotonic() + within
    while len(_match(positive, mts)) < len(positive):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        data = await driver.mts(cursor, wait=remaining)
        cursor, mts = int(data["cursor"]), mts + data["mts"]
    if negative:
        quiet_end = time.monotonic() + quiet
        while (remaining := quiet_end - time.monotonic()) > 0:
            data = await driver.mts(cursor, wait=remaining)
            cursor, mts = int(data["cursor"]), mts + data["mts"]
    matched = _match(positive, mts)
    used = set(matched.values())
    outcomes: dict[int, Outcome] = {}
    for i, expect in enumerate(positive):
        got = Seen.of(mts[matched[i]]) if i in matched else None
        outcomes[expect.line] = Outcome(expect.line, expect.describe(), False, got is not None, got)
    for expect in negative:
        unwanted = tuple(Seen.of(mt) for j, mt in enumerate(mts) if j not in used and expect.accepts(mt))
        outcomes[expect.line] = Outcome(expect.line, expect.describe(), True, not unwanted, unwanted=unwanted)
    ordered = tuple(outcomes[line] for line in sorted(outcomes))
    return StepReport(
        step.line,
        step.source,
        step.destination,
        step.text,
        within=within,
        outcomes=ordered,
        arrived=tuple(Seen.of(mt) for mt in mts),
        ok=all(o.ok for o in ordered),
    )


async def run_script(
    driver: Driver,
    script: Script,
    *,
    within: float,
    quiet: float,
    on_step: Callable[[StepReport], None] | None = None,
) -> ScriptReport:
    """Run every step in order; each step's report goes to `on_step` as soon as it is known."""
    reports: list[StepReport] = []
    for step in script.steps:
        if step.wait is not None:
            await asyncio.sleep(step.wait)
            report = StepReport(step.line, wait=step.wait)
        else:
            report = await _run_step(driver, step, within, quiet)
        reports.append(report)
        if on_step is not None:
            on_step(report)
    return ScriptReport(script.name, tuple(reports))
