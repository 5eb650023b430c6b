/* The SMSC's side of the page: binds and their links, faults, counters, downloads. */
import {$, api, json, note} from "./api.js";

export function showStatus(status) {
  const bound = status.binds.filter((b) => b.state.startsWith("bound"));
  const summary = bound.length ? bound.length + " bind(s): " + bound.map((b) => b.state).join(", ") : "no gateway bound";
  note($("gateway"), summary, !bound.length);
  $("gateway").classList.toggle("ok", bound.length > 0);
  $("binds").tBodies[0].replaceChildren(...status.binds.map(bindRow));
  $("faults").replaceChildren(...status.faults.map((f) => {
    const li = document.createElement("li");
    const bounds = [];
    if (f.remaining !== null) bounds.push(f.remaining + " submits left");
    if (f.seconds_left !== null) bounds.push(Math.round(f.seconds_left) + " s left");
    li.textContent = "#" + f.id + " " + f.kind.replace("_", " ") + (f.delay ? " " + f.delay + " s" : "") +
      " — " + bounds.join(", ") + "; applied " + f.applied;
    return li;
  }));
  const c = status.counters;
  $("counters").textContent = "MOs injected " + (c.mos_injected || 0) + ", MTs " + (c.mts || 0) +
    ", receipts " + (c.receipts || 0) + ", throttled/refused submits " + (c.submits_rejected || 0) +
    ", redeliveries " + ((c.redeliveries || 0) + (c.mos_redelivered_on_demand || 0)) + ".";
}

function bindRow(b) {
  const tr = document.createElement("tr");
  for (const value of [b.id, b.state, b.system_id || "–", b.submits + " / " + b.delivers]) {
    const td = document.createElement("td");
    td.textContent = String(value);
    tr.append(td);
  }
  const td = document.createElement("td");
  const drop = document.createElement("button");
  drop.type = "button";
  drop.textContent = "Drop";
  drop.setAttribute("aria-label", "Drop the link of bind " + b.id);
  drop.addEventListener("click", () => json("POST", "/api/drop", {bind: b.id}).then(refreshStatus, () => {}));
  td.append(drop);
  tr.append(td);
  return tr;
}

export async function refreshStatus() {
  try { showStatus(await json("GET", "/api/status")); } catch (e) { /* the feed will bring it */ }
}

function faultBody() {
  const kind = $("fault-kind").value;
  const body = {kind};
  const count = $("fault-count").value;
  const seconds = $("fault-seconds").value;
  if (count) body.count = Number(count);
  if (seconds) body.seconds = Number(seconds);
  if (kind === "delay") body.delay = Number($("fault-delay").value);
  return body;
}

async function download(path, fallbackName) {
  const status = $("download-note");
  try {
    const response = await api("GET", path);
    if (!response.ok) {
      let message = "HTTP " + response.status;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (/filename="([^"]+)"/.exec(disposition) || [null, fallbackName])[1];
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    note(status, "saved " + name, false);
  } catch (e) {
    note(status, "cannot download: " + e.message, true);
  }
}

export function wireSmsc() {
  const showDelay = () => {
    for (const el of document.querySelectorAll(".delay-only")) el.hidden = $("fault-kind").value !== "delay";
  };
  $("fault-kind").addEventListener("change", showDelay);
  showDelay();
  $("fault-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await json("POST", "/api/faults", faultBody());
      refreshStatus();
    } catch (e) {
      const li = document.createElement("li");
      li.textContent = "refused: " + e.message;
      $("faults").append(li);
    }
  });
  $("clear-faults").addEventListener("click", () => json("DELETE", "/api/faults", {}).then(refreshStatus, () => {}));
  $("drop-all").addEventListener("click", () => json("POST", "/api/drop", {all: true}).then(refreshStatus, () => {}));
  $("download").addEventListener("click", () => download("/api/traffic.jsonl", "smsc-sim-traffic.jsonl"));
  $("download-recording").addEventListener("click", () => download("/api/recording", "smsc-sim.jsonl"));
}
