"""Scripts run by the simulator itself, for the testers' page (`/api/scripts`).

A script (one shipped in `simulator/scripts/`, or pasted text) runs inside the server,
driving the SMSC core directly rather than through HTTP; each step's report goes out on
the live feed as a `script` notice as soon as it is known. One run at a time; a new
one waits for it to end or cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

import structlog

from .script import JSON, Script, ScriptReport, StepReport, parse_script, run_script
from .script_report import report_json, step_json

if TYPE_CHECKING:
    from .server import Simulator

__all__ = ["CoreDriver", "ScriptBusy", "ScriptRun", "ScriptRunner", "shipped_scripts"]

log = structlog.get_logger(__name__)


def shipped_scripts() -> dict[str, str]:
    """The example scripts shipped with the simulator: file name → text."""
    folder = resources.files("simulator").joinpath("scripts")
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".txt") and entry.is_file():
            found[entry.name] = entry.read_text(encoding="utf-8")
    return dict(sorted(found.items()))


class CoreDriver:
    """A script's `Driver` over the running simulator (MT texts masked as the API shows them)."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    async def inject_mo(self, source: str, destination: str, text: str) -> JSON:
        core = self._sim.core
        cursor = core.store.next_cursor
        mo = core.inject_mo(source, destination, text, time.time())
        return {**mo.to_json(), "cursor": cursor}

    async def mts(self, cursor: int, *, wait: float) -> JSON:
        store, loop = self._sim.core.store, asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            found, next_cursor = store.mts_since(cursor)
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                shown = [self._sim.redactor.mt_json(mt.to_json()) for mt in found]
                return {"mts": shown, "cursor": next_cursor}
            await self._sim.waiter.wait(remaining)


class ScriptBusy(Exception):
    """A script is already running."""


@dataclass(eq=False)
class ScriptRun:
    id: int
    name: str
    steps: int
    started_at: float
    state: str = "running"  # running | passed | failed | cancelled | error
    reports: list[StepReport] = field(default_factory=list)
    error: str | None = None
    task: asyncio.Task[None] | None = None

    def to_json(self) -> dict[str, Any]:
        report = ScriptReport(self.name, tuple(self.reports))
        return {
            "id": self.id,
            "name": self.name,
            "steps": self.steps,
            "state": self.state,
            "error": self.error,
            "report": report_json(report),
        }


class ScriptRunner:
    def __init__(self, sim: Simulator, notify: Callable[[str, dict[str, Any]], None]) -> None:
        self._driver = CoreDriver(sim)
        self._notify = notify
        self._ids = itertools.count(1)
        self.current: ScriptRun | None = None

    def start(self, text: str, name: str, *, within: float, quiet: float) -> ScriptRun:
        """Parse and start a script (raises ScriptError naming the line, or ScriptBusy)."""
        if self.current is not None and self.current.state == "running":
            raise ScriptBusy(f"script {self.current.name} is still running: wait for it or cancel it")
        script = parse_script(text, name)
        run = ScriptRun(next(self._ids), name, len(script.steps), time.time())
        run.task = asyncio.create_task(self._run(run, script, within, quiet))
        self.current = run
        self._notify("script", {"event": "started", "run": run.to_json()})
        return run

    async def cancel(self) -> bool:
        run = self.current
        if run is None or run.task is None or run.state != "running":
            return False
        run.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run.task
        return True

    async def _run(self, run: ScriptRun, script: Script, within: float, quiet: float) -> None:
        def on_step(report: StepReport) -> None:
            run.reports.append(report)
            self._notify("script", {"event": "step", "id": run.id, "step": step_json(report)})

        try:
            result = await run_script(self._driver, script, within=within, quiet=quiet, on_step=on_step)
            run.state = "passed" if result.ok else "failed"
        except asyncio.CancelledError:
            run.state = "cancelled"
            raise
        except Exception as err:  # an MO the simulator refuses (bad address, text): the run ends
            run.state, run.error = "error", str(err) or type(err).__name__
            log.warning("script_failed", script=run.name, error=run.error)
        finally:
            self._notify("script", {"event": "finished", "run": run.to_json()})
