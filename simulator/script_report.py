"""The account of a played script as text (`smsc-sim play`), and as JSON (the testers' page).

Full (the default): every step with the MO's text, each expectation with the text of the MT
that met it, the MTs nobody expected, and for a failure what was expected against what came.
Brief (`play -q`): one OK/FAILED line per expectation, and the MTs of a failed step.
"""

from __future__ import annotations

import dataclasses

from .script import JSON, Outcome, ScriptReport, Seen, StepReport

__all__ = ["report_json", "step_json", "step_lines", "verdict_line"]

_INDENT = " " * 20


def _escaped(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\\n").replace("\t", "\\t")


def _seen(mt: Seen) -> str:
    return f"{mt.to} ← {mt.source}  {_escaped(mt.text)}"


def _tsv(mt: Seen) -> str:
    return f"{mt.to}\t{mt.source}\t{_escaped(mt.text)}"


def _outcome_lines(outcome: Outcome, step: StepReport, brief: bool, shown: list[Seen]) -> list[str]:
    verdict = "OK     " if outcome.ok else "FAILED "
    head = f"line {outcome.line:<4}   {verdict} {outcome.expect}"
    if brief:
        if not outcome.ok:
            head += "  (an MT came)" if outcome.negative else f"  (no such MT in {step.within:g} s)"
        return [head]
    lines = [head]
    if outcome.ok and outcome.got is not None:
        lines.append(f"{_INDENT}got       {_seen(outcome.got)}")
    elif not outcome.ok and outcome.negative:
        to, source = outcome.expect.split()[1:3]
        lines.append(f"{_INDENT}expected  no further MT to {to} from {source}")
        lines += [f"{_INDENT}got       {_seen(mt)}" for mt in outcome.unwanted]
        shown += outcome.unwanted
    elif not outcome.ok:
        to, source, pattern = outcome.expect.split(None, 3)[1:4]
        lines.append(f"{_INDENT}expected  an MT to {to} from {source} matching /{pattern}/ within {step.within:g} s")
        candidates = [mt for mt in step.unclaimed if mt.to == to and mt.source == source]
        if not candidates:
            lines.append(f"{_INDENT}got       no other MT to {to} from {source}")
        lines += [f"{_INDENT}got       {_seen(mt)}" for mt in candidates]
        shown += candidates
    return lines


def step_lines(step: StepReport, *, brief: bool = False) -> list[str]:
    """The lines of one step's account."""
    if step.wait is not None:
        return [f"line {step.line:<4} wait {step.wait:g} s"]
    lines = [f"line {step.line:<4} > {step.source} {step.destination} {step.text!r}"]
    shown: list[Seen] = []
    for outcome in step.outcomes:
        lines += _outcome_lines(outcome, step, brief, shown)
    if brief:
        if not step.ok:
            lines.append(" " * 11 + ("MTs that arrived (to, from, text):" if step.arrived else "no MT arrived"))
            lines += [f"             {_tsv(mt)}" for mt in step.arrived]
        return lines
    lines += [f"{_INDENT}also      {_seen(mt)}" for mt in step.unclaimed if mt not in shown]
    return lines


def verdict_line(report: ScriptReport) -> str:
    verdict = "PASSED" if report.ok else f"FAILED ({report.failed} of {report.total} steps)"
    return f"{report.name}: {verdict}"


def step_json(step: StepReport) -> JSON:
    return {**dataclasses.asdict(step), "unclaimed": [dataclasses.asdict(mt) for mt in step.unclaimed]}


def report_json(report: ScriptReport) -> JSON:
    return {
        "name": report.name,
        "ok": report.ok,
        "failed": report.failed,
        "total": report.total,
        "steps": [step_json(step) for step in report.steps],
    }
