/* Scripts run by the simulator: pick a shipped one or paste text, see each step pass or fail. */
import {$, json, paragraph} from "./api.js";

let shipped = {}; // name -> text
let current = null; // the id of the run on show

export async function loadScripts() {
  const data = await json("GET", "/api/scripts");
  shipped = {};
  for (const s of data.scripts) {
    shipped[s.name] = s.text;
    const option = document.createElement("option");
    option.value = s.name;
    option.textContent = s.name;
    $("script-name").append(option);
  }
  const last = await json("GET", "/api/scripts/run");
  if (last.run) showRun(last.run);
}

const arrow = (mt) => mt.to + " ← " + mt.source + ": " + mt.text;

function stepElement(step) {
  const div = document.createElement("div");
  const say = (text, className) => div.append(paragraph(text, className));
  if (step.wait !== null) {
    div.className = "step ok";
    say("line " + step.line + ": wait " + step.wait + " s");
    return div;
  }
  div.className = "step " + (step.ok ? "ok" : "bad");
  say("line " + step.line + ": " + step.source + " → " + step.destination + ": " + step.text);
  const shown = new Set();
  for (const o of step.outcomes) {
    say((o.ok ? "✓ " : "✗ ") + "line " + o.line + " " + o.expect, "expect");
    if (o.ok && o.got) {
      say("got: " + arrow(o.got), "got");
    } else if (o.negative) {
      say("expected no further MT; got:", "diff");
      for (const mt of o.unwanted) { say(arrow(mt), "diff"); shown.add(arrow(mt)); }
    } else {
      const [, to, from] = o.expect.split(" ");
      const came = step.unclaimed.filter((mt) => mt.to === to && mt.source === from);
      say("expected an MT matching it within " + step.within + " s; got" + (came.length ? ":" : " no other MT to " + to), "diff");
      for (const mt of came) { say(arrow(mt), "diff"); shown.add(arrow(mt)); }
    }
  }
  for (const mt of step.unclaimed) if (!shown.has(arrow(mt))) say("also: " + arrow(mt), "got");
  return div;
}

function showRun(run) {
  current = run.id;
  const report = run.report;
  const verdict = paragraph("", "verdict");
  verdict.id = "script-verdict";
  if (run.state === "running") {
    verdict.classList.add("run");
    verdict.textContent = run.name + ": running (" + report.steps.length + " of " + run.steps + " steps)";
  } else if (run.state === "passed") {
    verdict.classList.add("ok");
    verdict.textContent = run.name + ": PASSED (" + report.total + " steps)";
  } else {
    verdict.classList.add("bad");
    verdict.textContent = run.name + ": " + (run.state === "failed"
      ? "FAILED (" + report.failed + " of " + report.total + " steps)"
      : run.state.toUpperCase() + (run.error ? ": " + run.error : ""));
  }
  $("script-result").replaceChildren(verdict, ...report.steps.map(stepElement));
  $("script-cancel").disabled = run.state !== "running";
}

/** A `script` event of the live feed: a run started or finished, or one of its steps is known. */
export function showScriptEvent(event) {
  if (event.run) {
    showRun(event.run);
  } else if (event.event === "step" && event.id === current) {
    $("script-result").append(stepElement(event.step));
    const verdict = $("script-verdict");
    if (verdict) verdict.textContent = verdict.textContent.replace(/\((\d+) of/, (m, n) => "(" + (Number(n) + 1) + " of");
  }
}

async function runScript(event) {
  event.preventDefault();
  const name = $("script-name").value;
  const text = $("script-text").value;
  const body = {timeout: Number($("script-timeout").value) || 10};
  if (name && shipped[name] === text) body.name = name;
  else body.text = text;
  try {
    showRun(await json("POST", "/api/scripts/run", body));
  } catch (e) {
    $("script-result").replaceChildren(paragraph("not run: " + e.message, "verdict bad"));
  }
}

export function wireScripts() {
  $("script-name").addEventListener("change", () => {
    const name = $("script-name").value;
    if (name) $("script-text").value = shipped[name];
  });
  $("script-form").addEventListener("submit", runScript);
  $("script-cancel").addEventListener("click", () => json("DELETE", "/api/scripts/run", {}).catch(() => {}));
}
