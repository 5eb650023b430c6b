/* The live feed: /api/events (server-sent events), read with fetch so that the token travels in
 * the Authorization header (EventSource cannot send one); reconnects after a break. */
import {$, api, note} from "./api.js";

let stream = null; // the AbortController of the current connection
let following = null; // the numbers it asked for ("" separated by ","), or null: all of them
let handlers = {};
let numbers = () => null;

/** Start the feed: `handlers[event](data)`; `wanted()` gives the numbers to follow (null: all). */
export function startFeed(eventHandlers, wanted) {
  handlers = eventHandlers;
  numbers = wanted;
  if (!stream) connect();
}

/** Reconnect if the numbers to follow changed. */
export function refollow() {
  if (stream && numbers() === following) return;
  if (stream) stream.abort();
  stream = null;
  connect();
}

async function connect() {
  const controller = new AbortController();
  stream = controller;
  following = numbers();
  const path = "/api/events" + (following === null ? "" : "?numbers=" + encodeURIComponent(following));
  try {
    const response = await api("GET", path, undefined, controller.signal);
    if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
    note($("live"), "live", false);
    $("live").classList.add("ok");
    if (handlers.connected) handlers.connected();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, end));
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

function dispatch(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event: ")) name = line.slice(7);
    else if (line.startsWith("data: ")) data.push(line.slice(6));
  }
  if (data.length && handlers[name]) handlers[name](JSON.parse(data.join("\n")));
}
