// The app's HTTP API (docs/openapi.yaml), called with the function key in the x-functions-key header.
// The key lives in sessionStorage (this tab, this session); it never goes into a URL, the page or a log.

import { byId, fill, h } from "./dom.js";

const KEY_ITEM = "imgmig.functionKey";
export const API_BASE = (document.querySelector('meta[name="api-base"]')?.getAttribute("content") || "/api")
  .replace(/\/+$/, "");

let pendingKey = null; // one prompt at a time, shared by concurrent requests
const listeners = new Set();

/** Called with every response (method, path, status): the live status line counts requests and errors. */
export function onResponse(listener) {
  listeners.add(listener);
}

export function currentKey() {
  return sessionStorage.getItem(KEY_ITEM) || "";
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_ITEM);
}

/** Ask for the key (modal); resolves once one is entered. */
export function askForKey(reason = "") {
  if (pendingKey) return pendingKey;
  const dialog = byId("key-dialog");
  const input = byId("key-input");
  const error = byId("key-error");
  error.hidden = !reason;
  fill(error, reason);
  input.value = "";
  pendingKey = new Promise((resolve) => {
    const form = byId("key-form");
    const submit = (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_ITEM, key);
      input.value = "";
      form.removeEventListener("submit", submit);
      dialog.removeEventListener("cancel", stay);
      dialog.close();
      pendingKey = null;
      resolve(key);
    };
    const stay = (event) => event.preventDefault(); // Esc: the console cannot work without a key
    form.addEventListener("submit", submit);
    dialog.addEventListener("cancel", stay);
  });
  dialog.showModal();
  input.focus();
  return pendingKey;
}

/** An API answer: status, parsed body (JSON when it is JSON), raw text, and the problem details of a refusal. */
export class Answer {
  constructor(response, text) {
    this.status = response.status;
    this.ok = response.ok;
    this.headers = response.headers;
    this.text = text;
    const type = response.headers.get("content-type") || "";
    this.body = null;
    if (type.includes("json") && text) {
      try {
        this.body = JSON.parse(text);
      } catch {
        this.body = null;
      }
    }
    this.problem = !this.ok ? problemOf(this) : null;
  }
}

function problemOf(answer) {
  const body = answer.body && typeof answer.body === "object" ? answer.body : {};
  return {
    status: answer.status,
    title: String(body.title || (answer.status === 401 ? "Unauthorized" : `HTTP ${answer.status}`)),
    detail: String(body.detail || (answer.status === 401 ? "the function key was refused" : answer.text || "")),
    errors: Array.isArray(body.errors) ? body.errors : [],
  };
}

/** Problem details as text nodes: "409 Migration Not Running: migration … has ended (Completed)" + field errors. */
export function problemView(problem) {
  return h(
    "div",
    { class: "problem-details" },
    h("p", {}, h("strong", {}, `${problem.status} ${problem.title}`), problem.detail ? `: ${problem.detail}` : ""),
    problem.errors.length
      ? h("ul", {}, problem.errors.map((e) => h("li", {}, h("code", {}, String(e.field ?? "")), ` ${e.message ?? ""}`)))
      : null,
  );
}

/** A live view's answer: its problem shown (null returned) or hidden; else whether the body changed since last time. */
export function settleAnswer(view, answer) {
  view.problem.hidden = answer.ok;
  if (!answer.ok) {
    fill(view.problem, problemView(answer.problem));
    return null;
  }
  const changed = answer.text !== view.lastText;
  view.lastText = answer.text;
  return changed;
}

/** Call the API. A missing or refused key asks for one and retries; other refusals come back as answers. */
export async function call(method, path, body = undefined) {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    let key = currentKey();
    if (!key) key = await askForKey();
    const headers = { "x-functions-key": key, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(API_BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin", // App Service Authentication's session cookie, when deployed with it
    });
    const text = await response.text();
    const answer = new Answer(response, text);
    for (const listener of listeners) listener(method, path, answer.status);
    if (answer.status !== 401) return answer;
    forgetKey();
    await askForKey("That key was refused (401). Enter the app's function key.");
  }
  throw new Error("no usable function key");
}

// The API's largest page (docs/openapi.yaml: lists are paged); sessionStorage "imgmig.pageSize" lowers it (tests).
const PAGE = Number(sessionStorage.getItem("imgmig.pageSize")) || 1000;

/**
 * Every item of a paged list (`{value, count, continuationToken}`): pages of 1000 followed to the end. Returns the
 * last page's answer with `items` (all of them) and `text` (every page's text, for change detection); a refusal
 * comes back as that page's answer.
 */
export async function callList(path) {
  const items = [];
  const texts = [];
  let token = null;
  for (;;) {
    const query = new URLSearchParams({ top: String(PAGE) });
    if (token) query.set("continuationToken", token);
    const answer = await call("GET", `${path}${path.includes("?") ? "&" : "?"}${query}`);
    if (!answer.ok) return answer;
    items.push(...(answer.body?.value || []));
    texts.push(answer.text);
    token = answer.body?.continuationToken || null;
    if (!token) {
      answer.items = items;
      answer.text = texts.join("\n");
      return answer;
    }
  }
}
