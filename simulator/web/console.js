/* smsc-sim testers' console. Plain JavaScript: no framework, no build step, nothing fetched
 * from anywhere but this simulator. Live updates come from /api/events (server-sent events,
 * read with fetch so the token can travel in the Authorization header).
 *
 * The token: given in the address's fragment (#token=…, which no browser sends to any
 * server) or typed in; kept in this tab's sessionStorage (per origin: scheme, host, port)
 * and sent only to this simulator's own /api/.
 */
(() => {
  "use strict";

  const TOKEN_KEY = "smsc-sim-token";
  const PHONES_KEY = "smsc-sim-phones";
  const MAX_FOLLOWED = 8;
  const COMMANDS = ["P", "HELP", "?", "S", "V?", "M?", "JA", "STOP", "V 29000001 5", "M 29000002 4.13"];

  const $ = (id) => document.getElementById(id);
  const phones = new Map(); // number -> {el, thread, records: Map(id -> record)}
  const roles = new Map(); // number -> role (phonebook)
  let token = "";
  let stream = null;
  let streamNumbers = null;
  let scriptRun = null;

  // --- the API ----------------------------------------------------------------------

  function takeToken() {
    const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    token = sessionStorage.getItem(TOKEN_KEY) || "";
  }

  async function api(method, path, body, signal) {
    const headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    const init = {method, headers, signal, credentials: "omit", cache: "no-store"};
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body === undefined ? {} : body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      $("token-box").hidden = false;
      throw new Error("the simulator wants its token");
    }
    return response;
  }

  async function json(method, path, body) {
    const response = await api(method, path, body);
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) throw new Error(data.error || (method + " " + path + ": HTTP " + response.status));
    return data;
  }

  function note(element, text, bad) {
    element.textContent = text;
    element.classList.toggle("bad", Boolean(bad));
  }

  // --- phones -------------------------------------------------------------------------

  function clock(t) {
    return new Date(t * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }

  function moState(r) {
    const times = r.attempts > 1 ? " (sent " + r.attempts + " times)" : "";
    if (r.state === "delivered") return ["acknowledged by the gateway ✓" + times, "ok"];
    if (r.state === "failed") return ["failed: never acknowledged" + times + " ✗", "bad"];
    if (r.state === "sent") return ["sent to the gateway, awaiting its response" + times, "wait"];
    return ["queued: no gateway bound", "wait"];
  }

  function mtState(r) {
    const stats = Object.values(r.receipts || {});
    const parts = r.parts || 1;
    let response = "";
    if (r.status === "withheld") response = "submit response withheld; ";
    if (r.status === "delayed") response = "submit response delayed; ";
    if (!r.complete) return [response + "incomplete: " + r.message_ids.length + " of " + parts + " parts came", "bad"];
    if (stats.length === 0) {
      if (!(r.registered_delivery & 3)) return [response + "accepted (no receipt asked)", "ok"];
      return [response + "accepted, awaiting its receipt", "wait"];
    }
    const unique = [...new Set(stats)];
    const summary = unique.join(", ") + (stats.length < parts ? " (" + stats.length + " of " + parts + " parts)" : "");
    const delivered = unique.length === 1 && unique[0] === "DELIVRD" && stats.length >= parts;
    return [response + (delivered ? "delivered: DELIVRD ✓✓" : "receipt: " + summary), delivered ? "ok" : "bad"];
  }

  // How far a record has come: an answer that left the server before a newer event (a POST's
  // reply, a traffic reload) must not take a bubble back to an older state.
  const MO_STATES = {queued: 0, sent: 1, delivered: 2, failed: 2};

  function progress(r) {
    if (r.kind === "mo") return (MO_STATES[r.state] || 0) * 1000 + Math.min(r.attempts || 0, 999);
    return Object.keys(r.receipts || {}).length * 10 + (r.complete ? 1 : 0);
  }

  function renderRecord(phone, r) {
    let li = phone.thread.querySelector('[data-key="' + r.kind + r.id + '"]');
    const fresh = !li;
    if (!fresh && progress(r) < Number(li.dataset.progress)) return;
    if (fresh) {
      li = document.createElement("li");
      li.dataset.key = r.kind + r.id;
      li.dataset.t = String(r.t);
      li.className = "msg " + r.kind;
      for (const cls of ["meta", "text", "state"]) {
        const p = document.createElement("p");
        p.className = cls;
        li.append(p);
      }
    }
    li.dataset.progress = String(progress(r));
    const mine = r.kind === "mo";
    const other = mine ? r.destination : r.source;
    const details = [];
    if (r.parts > 1) details.push(r.parts + " parts joined");
    if (r.kind === "mt" && r.data_coding === 8) details.push("UCS-2");
    if (r.kind === "mo" && r.encoding === "ucs2") details.push("UCS-2");
    if (r.masked) details.push("password masked");
    li.querySelector(".meta").textContent =
      (mine ? "to " : "from ") + other + " · " + clock(r.t) + (details.length ? " · " + details.join(" · ") : "");
    li.querySelector(".text").textContent = r.text;
    const [label, tone] = mine ? moState(r) : mtState(r);
    const state = li.querySelector(".state");
    state.className = "state " + tone;
    state.textContent = label;
    if (mine) {
      const again = document.createElement("button");
      again.type = "button";
      again.textContent = "↻ redeliver";
      again.setAttribute("aria-label", "Redeliver this MO to the gateway");
      again.addEventListener("click", () => redeliver(r.id, state));
      state.append(again);
    }
    if (fresh) insertInOrder(phone.thread, li, r.t);
  }

  function insertInOrder(thread, li, t) {
    let before = null;
    for (const other of thread.children) {
      if (Number(other.dataset.t) > t) { before = other; break; }
    }
    const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
    thread.insertBefore(li, before);
    if (atBottom || !before) thread.scrollTop = thread.scrollHeight;
  }

  async function redeliver(id, where) {
    try {
      await json("POST", "/api/mo/" + encodeURIComponent(id) + "/redeliver", {});
    } catch (e) {
      where.textContent = "redeliver refused: " + e.message;
    }
  }

  function applyRecord(r) {
    const numbers = r.kind === "mo" ? [r.source] : [r.destination];
    for (const number of numbers) {
      let phone = phones.get(number);
      if (!phone && r.kind === "mt" && $("follow").checked && phones.size < MAX_FOLLOWED) {
        phone = addPhone(number, false);
      }
      if (phone) renderRecord(phone, r);
    }
  }

  function savePhones() {
    sessionStorage.setItem(PHONES_KEY, JSON.stringify([...phones.keys()]));
    $("no-phones").hidden = phones.size > 0;
  }

  function addPhone(number, focus) {
    number = number.trim().replace(/^\+/, "");
    if (!/^[0-9]{1,20}$/.test(number)) return null;
    if (phones.has(number)) {
      const existing = phones.get(number);
      if (focus) existing.el.querySelector(".compose .text").focus();
      return existing;
    }
    const el = $("phone-template").content.firstElementChild.cloneNode(true);
    const phone = {el, thread: el.querySelector(".thread")};
    phones.set(number, phone);
    el.dataset.number = number;
    el.querySelector(".phone-number").textContent = number;
    el.querySelector(".phone-role").textContent = roles.get(number) || "any number";
    el.setAttribute("aria-label", "Phone " + number);
    const [toLabel, textLabel] = el.querySelectorAll(".compose label");
    const to = el.querySelector(".to");
    const text = el.querySelector(".compose .text");
    to.id = "to-" + number;
    text.id = "text-" + number;
    toLabel.htmlFor = to.id;
    textLabel.htmlFor = text.id;
    text.setAttribute("list", "commands");
    el.querySelector(".close").addEventListener("click", () => {
      phones.delete(number);
      el.remove();
      savePhones();
      restartStreamIfFiltered();
    });
    el.querySelector(".compose").addEventListener("submit", (event) => {
      event.preventDefault();
      send(number, to.value, text);
    });
    $("phones").append(el);
    if (focus && window.matchMedia("(max-width: 700px)").matches) $("suggest-box").open = false;
    savePhones();
    loadTraffic(number);
    restartStreamIfFiltered();
    if (focus) text.focus();
    return phone;
  }

  async function loadTraffic(number) {
    const phone = phones.get(number);
    if (!phone) return;
    try {
      const data = await json("GET", "/api/traffic/" + encodeURIComponent(number));
      for (const r of data.traffic) renderRecord(phone, r);
    } catch (e) { /* shown by the live indicator or the token box */ }
  }

  async function send(number, destination, input) {
    const text = input.value;
    if (!text.trim()) return;
    try {
      const data = await json("POST", "/api/mo", {source: number, destination, text});
      input.value = "";
      applyRecord(data);
    } catch (e) {
      const phone = phones.get(number);
      const li = document.createElement("li");
      li.className = "msg mo";
      li.dataset.t = String(Date.now() / 1000);
      li.textContent = "not sent: " + e.message;
      if (phone) phone.thread.append(li);
    }
  }

  // --- live feed ------------------------------------------------------------------------

  function restartStreamIfFiltered() {
    const wanted = $("follow").checked ? null : [...phones.keys()].sort().join(",");
    if (stream && wanted === streamNumbers) return;
    if (stream) stream.abort();
    stream = null;
    connect();
  }

  async function connect() {
    const controller = new AbortController();
    stream = controller;
    streamNumbers = $("follow").checked ? null : [...phones.keys()].sort().join(",");
    const path = "/api/events" + (streamNumbers === null ? "" : "?numbers=" + encodeURIComponent(streamNumbers));
    try {
      const response = await api("GET", path, undefined, controller.signal);
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
      note($("live"), "live", false);
      $("live").classList.add("ok");
      for (const number of phones.keys()) loadTraffic(number);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handleEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
    }
    if (stream !== controller) return;
    $("live").classList.remove("ok");
    note($("live"), "reconnecting…", true);
    setTimeout(() => { if (stream === controller) connect(); }, 1500);
  }

  function handleEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) name = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (!data.length) return;
    const payload = JSON.parse(data.join("\n"));
    if (name === "mo" || name === "mt") applyRecord(payload);
    else if (name === "status") showStatus(payload);
    else if (name === "script") showScriptEvent(payload);
    else if (name === "resync") for (const number of phones.keys()) loadTraffic(number);
  }

  // --- binds, faults, counters --------------------------------------------------------------

  function showStatus(status) {
    const bound = status.binds.filter((b) => b.state.startsWith("bound"));
    note($("gateway"), bound.length ? bound.length + " bind(s): " + bound.map((b) => b.state).join(", ") : "no gateway bound", !bound.length);
    $("gateway").classList.toggle("ok", bound.length > 0);
    const body = $("binds").tBodies[0];
    body.replaceChildren(...status.binds.map((b) => {
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
      drop.addEventListener("click", () => json("POST", "/api/drop", {bind: b.id}).catch(() => {}));
      td.append(drop);
      tr.append(td);
      return tr;
    }));
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

  async function refreshStatus() {
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

  // --- scripts ----------------------------------------------------------------------------

  let shipped = {};

  async function loadScripts() {
    const data = await json("GET", "/api/scripts");
    shipped = {};
    const select = $("script-name");
    for (const s of data.scripts) {
      shipped[s.name] = s.text;
      const option = document.createElement("option");
      option.value = s.name;
      option.textContent = s.name;
      select.append(option);
    }
  }

  function stepElement(step) {
    const div = document.createElement("div");
    const p = (text, cls) => {
      const el = document.createElement("p");
      el.textContent = text;
      if (cls) el.className = cls;
      div.append(el);
    };
    if (step.wait !== null) {
      div.className = "step ok";
      p("line " + step.line + ": wait " + step.wait + " s");
      return div;
    }
    div.className = "step " + (step.ok ? "ok" : "bad");
    p("line " + step.line + ": " + step.source + " → " + step.destination + ": " + step.text);
    for (const o of step.outcomes) {
      p((o.ok ? "✓ " : "✗ ") + "line " + o.line + "  " + o.expect, "expect");
      if (o.ok && o.got) p("got: " + o.got.to + " ← " + o.got.source + ": " + o.got.text, "got");
      if (!o.ok && o.negative) {
        p("expected no further MT; got:", "diff");
        for (const mt of o.unwanted) p(mt.to + " ← " + mt.source + ": " + mt.text, "diff");
      } else if (!o.ok) {
        const [, to, from] = o.expect.split(" ");
        const came = step.unclaimed.filter((mt) => mt.to === to && mt.source === from);
        p("expected an MT matching it within " + step.within + " s; got" + (came.length ? ":" : " no other MT to " + to), "diff");
        for (const mt of came) p(mt.to + " ← " + mt.source + ": " + mt.text, "diff");
      }
    }
    const claimed = step.outcomes.filter((o) => o.got).length;
    if (step.arrived.length > claimed && step.ok) {
      for (const mt of step.unclaimed) p("also: " + mt.to + " ← " + mt.source + ": " + mt.text, "got");
    }
    return div;
  }

  function showRun(run) {
    scriptRun = run.id;
    const box = $("script-result");
    const verdict = document.createElement("p");
    const report = run.report;
    if (run.state === "running") {
      verdict.className = "verdict run";
      verdict.textContent = run.name + ": running (" + report.steps.length + " of " + run.steps + " steps)";
    } else if (run.state === "passed") {
      verdict.className = "verdict ok";
      verdict.textContent = run.name + ": PASSED (" + report.total + " steps)";
    } else {
      verdict.className = "verdict bad";
      verdict.textContent = run.name + ": " + (run.state === "failed"
        ? "FAILED (" + report.failed + " of " + report.total + " steps)"
        : run.state.toUpperCase() + (run.error ? ": " + run.error : ""));
    }
    verdict.id = "script-verdict";
    box.replaceChildren(verdict, ...report.steps.map(stepElement));
    $("script-cancel").disabled = run.state !== "running";
  }

  function showScriptEvent(event) {
    if (event.run) { showRun(event.run); return; }
    if (event.event === "step" && event.id === scriptRun) {
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
      const p = document.createElement("p");
      p.className = "verdict bad";
      p.textContent = "not run: " + e.message;
      $("script-result").replaceChildren(p);
    }
  }

  // --- downloads -----------------------------------------------------------------------------

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

  // --- start ---------------------------------------------------------------------------------

  async function loadConsole() {
    const data = await json("GET", "/api/console");
    $("download-recording").hidden = !data.recording;
    const list = $("phonebook");
    const box = $("suggestions");
    const groups = {senders: "Senders (postpaid)", kartes: "LMT Kartes", others: "Others"};
    box.replaceChildren();
    for (const [group, title] of Object.entries(groups)) {
      const entries = data.phonebook.filter((e) => e.group === group);
      if (!entries.length) continue;
      const h = document.createElement("h3");
      h.textContent = title;
      const row = document.createElement("div");
      for (const e of entries) {
        roles.set(e.msisdn, e.role);
        const option = document.createElement("option");
        option.value = e.msisdn;
        option.label = e.role;
        list.append(option);
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = e.msisdn;
        const small = document.createElement("small");
        small.textContent = e.role + (e.email ? ", e-mail on file" : "");
        b.append(small);
        b.addEventListener("click", () => addPhone(e.msisdn, true));
        row.append(b);
      }
      box.append(h, row);
    }
    if (data.phonebook_error) {
      const p = document.createElement("p");
      p.className = "hint";
      p.textContent = "phonebook: " + data.phonebook_error;
      box.append(p);
    }
    if (!data.phonebook.length && !data.phonebook_error) {
      const p = document.createElement("p");
      p.className = "hint";
      p.textContent = "No phonebook: type any number ([simulator] phonebook names a subscribers CSV).";
      box.append(p);
    }
    for (const [number, phone] of phones) phone.el.querySelector(".phone-role").textContent = roles.get(number) || "any number";
  }

  function wire() {
    const commands = document.createElement("datalist");
    commands.id = "commands";
    for (const c of COMMANDS) {
      const option = document.createElement("option");
      option.value = c;
      commands.append(option);
    }
    document.body.append(commands);
    $("add-phone").addEventListener("submit", (event) => {
      event.preventDefault();
      if (addPhone($("number").value, true)) $("number").value = "";
    });
    $("follow").addEventListener("change", restartStreamIfFiltered);
    const showDelay = () => {
      for (const el of document.querySelectorAll(".delay-only")) el.hidden = $("fault-kind").value !== "delay";
    };
    $("fault-kind").addEventListener("change", showDelay);
    showDelay();
    $("fault-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try { await json("POST", "/api/faults", faultBody()); refreshStatus(); }
      catch (e) { const li = document.createElement("li"); li.textContent = "refused: " + e.message; $("faults").append(li); }
    });
    $("clear-faults").addEventListener("click", () => json("DELETE", "/api/faults", {}).then(refreshStatus, () => {}));
    $("drop-all").addEventListener("click", () => json("POST", "/api/drop", {all: true}).then(refreshStatus, () => {}));
    $("script-name").addEventListener("change", () => {
      const name = $("script-name").value;
      if (name) $("script-text").value = shipped[name];
    });
    $("script-form").addEventListener("submit", runScript);
    $("script-cancel").addEventListener("click", () => json("DELETE", "/api/scripts/run", {}).catch(() => {}));
    $("download").addEventListener("click", () => download("/api/traffic.jsonl", "smsc-sim-traffic.jsonl"));
    $("download-recording").addEventListener("click", () => download("/api/recording", "smsc-sim.jsonl"));
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      location.reload();
    });
  }

  async function start() {
    takeToken();
    wire();
    let saved = [];
    try { saved = JSON.parse(sessionStorage.getItem(PHONES_KEY) || "[]"); } catch (e) { saved = []; }
    try {
      await loadConsole();
      await loadScripts();
      const last = await api("GET", "/api/scripts/run");
      if (last.ok) showRun(await last.json());
    } catch (e) {
      note($("live"), e.message, true);
    }
    for (const number of saved) addPhone(String(number), false);
    savePhones();
    refreshStatus();
    if (!stream) connect();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
