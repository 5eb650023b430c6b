/* smsc-sim testers' console: the page's start. Plain JavaScript modules, no framework, no build
 * step, nothing fetched from anywhere but this simulator.
 *
 *   api.js      the token and the JSON requests
 *   phones.js   one phone per number: its conversation, live, with delivery states
 *   feed.js     the live feed (/api/events, server-sent events read with fetch)
 *   smsc.js     binds, faults, counters, downloads
 *   scripts.js  scripts run by the simulator, with what differed
 */
import {$, json, keepToken, note, paragraph, takeToken} from "./api.js";
import {refollow, startFeed} from "./feed.js";
import {addPhone, applyRecord, onPhonesChanged, phones, reloadAll, restorePhones, roles, showRoles} from "./phones.js";
import {loadScripts, showScriptEvent, wireScripts} from "./scripts.js";
import {refreshStatus, showStatus, wireSmsc} from "./smsc.js";

const COMMANDS = ["P", "HELP", "?", "S", "V?", "M?", "JA", "STOP", "V 29000001 5", "M 29000002 4.13"];
const GROUPS = {senders: "Senders (postpaid)", kartes: "LMT Kartes", others: "Others"};

async function loadConsole() {
  const data = await json("GET", "/api/console");
  $("download-recording").hidden = !data.recording;
  const box = $("suggestions");
  box.replaceChildren();
  for (const [group, title] of Object.entries(GROUPS)) {
    const entries = data.phonebook.filter((e) => e.group === group);
    if (!entries.length) continue;
    const heading = document.createElement("h3");
    heading.textContent = title;
    const row = document.createElement("div");
    for (const e of entries) {
      roles.set(e.msisdn, e.role);
      const option = document.createElement("option");
      option.value = e.msisdn;
      option.label = e.role;
      $("phonebook").append(option);
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = e.msisdn;
      const small = document.createElement("small");
      small.textContent = e.role + (e.email ? ", e-mail on file" : "");
      button.append(small);
      button.addEventListener("click", () => addPhone(e.msisdn, true));
      row.append(button);
    }
    box.append(heading, row);
  }
  if (data.phonebook_error) box.append(paragraph("phonebook: " + data.phonebook_error, "hint"));
  if (!data.phonebook.length && !data.phonebook_error) {
    box.append(paragraph("No phonebook: type any number ([simulator] phonebook names a subscribers CSV).", "hint"));
  }
  showRoles();
}

function followed() {
  return $("follow").checked ? null : [...phones.keys()].sort().join(",");
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
  $("follow").addEventListener("change", refollow);
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    keepToken($("token").value);
    location.reload();
  });
  wireSmsc();
  wireScripts();
}

async function start() {
  takeToken();
  wire();
  try {
    await loadConsole();
    await loadScripts();
  } catch (e) {
    note($("live"), e.message, true);
  }
  restorePhones();
  onPhonesChanged(refollow);
  refreshStatus();
  startFeed(
    {
      connected: reloadAll,
      mo: applyRecord,
      mt: applyRecord,
      status: showStatus,
      script: showScriptEvent,
      resync: reloadAll,
    },
    followed,
  );
}

start();
