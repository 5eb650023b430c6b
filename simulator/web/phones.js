/* The phones: one per number, its conversation as a thread of bubbles with delivery states. */
import {$, json} from "./api.js";

const PHONES_KEY = "smsc-sim-phones";
const MAX_FOLLOWED = 8; // phones opened by themselves when their number gets a message
const MO_STATES = {queued: 0, sent: 1, delivered: 2, failed: 2};

export const phones = new Map(); // number -> {el, thread}
export const roles = new Map(); // number -> what it is (from the phonebook)
let changed = () => {};

/** Call `listener` whenever a phone is opened or closed (the live feed may follow them). */
export function onPhonesChanged(listener) {
  changed = listener;
}

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
  const details = [];
  if (r.parts > 1) details.push(r.parts + " parts joined");
  if ((r.kind === "mt" && r.data_coding === 8) || (mine && r.encoding === "ucs2")) details.push("UCS-2");
  if (r.masked) details.push("password masked");
  li.querySelector(".meta").textContent = (mine ? "to " + r.destination : "from " + r.source) + " · " + clock(r.t) +
    (details.length ? " · " + details.join(" · ") : "");
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

/** Show an MO or MT record (new or changed) in the phone of its subscriber. */
export function applyRecord(r) {
  const number = r.kind === "mo" ? r.source : r.destination;
  let phone = phones.get(number);
  if (!phone && r.kind === "mt" && $("follow").checked && phones.size < MAX_FOLLOWED) {
    phone = addPhone(number, false);
  }
  if (phone) renderRecord(phone, r);
}

function savePhones() {
  sessionStorage.setItem(PHONES_KEY, JSON.stringify([...phones.keys()]));
  $("no-phones").hidden = phones.size > 0;
}

export function addPhone(number, focus) {
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
    changed();
  });
  el.querySelector(".compose").addEventListener("submit", (event) => {
    event.preventDefault();
    send(number, to.value, text);
  });
  $("phones").append(el);
  if (focus && window.matchMedia("(max-width: 700px)").matches) $("suggest-box").open = false;
  savePhones();
  loadTraffic(number);
  changed();
  if (focus) text.focus();
  return phone;
}

/** The phones this tab had open before a reload. */
export function restorePhones() {
  let saved = [];
  try { saved = JSON.parse(sessionStorage.getItem(PHONES_KEY) || "[]"); } catch (e) { saved = []; }
  for (const number of saved) addPhone(String(number), false);
  savePhones();
}

export function showRoles() {
  for (const [number, phone] of phones) {
    phone.el.querySelector(".phone-role").textContent = roles.get(number) || "any number";
  }
}

export async function loadTraffic(number) {
  const phone = phones.get(number);
  if (!phone) return;
  try {
    const data = await json("GET", "/api/traffic/" + encodeURIComponent(number));
    for (const r of data.traffic) renderRecord(phone, r);
  } catch (e) { /* shown by the live indicator or the token box */ }
}

export function reloadAll() {
  for (const number of phones.keys()) loadTraffic(number);
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
