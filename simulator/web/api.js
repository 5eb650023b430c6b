/* The simulator's API as the page uses it: the token, JSON requests, two DOM helpers.
 *
 * The token comes in the address's fragment (#token=…, which no browser sends to any server
 * nor puts in a Referer) or is typed in; it is kept in this tab's sessionStorage (scoped to
 * this origin: scheme, host and port) and sent only to this simulator's own /api/, in the
 * Authorization header. Never a cookie (cookies ignore ports), never a query string.
 */
export const $ = (id) => document.getElementById(id);

const TOKEN_KEY = "smsc-sim-token";
let token = "";

export function takeToken() {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  token = sessionStorage.getItem(TOKEN_KEY) || "";
}

export function keepToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value.trim());
}

export async function api(method, path, body, signal) {
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

export async function json(method, path, body) {
  const response = await api(method, path, body);
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  if (!response.ok) throw new Error(data.error || (method + " " + path + ": HTTP " + response.status));
  return data;
}

export function note(element, text, bad) {
  element.textContent = text;
  element.classList.toggle("bad", Boolean(bad));
}

export function paragraph(text, className) {
  const p = document.createElement("p");
  p.textContent = text;
  if (className) p.className = className;
  return p;
}
