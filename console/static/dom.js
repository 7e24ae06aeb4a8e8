// DOM helpers. Every value from the API goes into the page as text (text nodes, textContent, setAttribute on a
// fixed list of attributes), never as HTML: an image named "<img onerror=...>" shows up as those characters.

const ATTRIBUTES = new Set([
  "id", "class", "href", "title", "role", "type", "name", "value", "for", "hidden", "disabled", "colspan",
  "scope", "tabindex", "placeholder", "min", "max", "required", "rows", "autocomplete", "spellcheck",
  "aria-label", "aria-labelledby", "aria-describedby", "aria-sort", "aria-live", "aria-current",
  "aria-valuenow", "aria-valuemin", "aria-valuemax", "aria-valuetext", "aria-hidden", "aria-pressed",
  "data-id", "data-phase", "data-state", "data-outcome", "data-count", "data-key", "data-region",
  "download", "rel", "target", "inputmode", "list", "open", "multiple", "size",
]);

/** h("td", {class: "x"}, "text", child, ...): an element; strings become text nodes, null/false are skipped. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else if (name === "checked" || name === "selected") {
      node[name] = Boolean(value);
    } else if (ATTRIBUTES.has(name)) {
      node.setAttribute(name, value === true ? "" : String(value));
    } else {
      throw new Error(`attribute ${name} is not allowed`);
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace a node's children (text only for strings). */
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

export function byId(id) {
  return document.getElementById(id);
}

// --- formatting -------------------------------------------------------------------------------------------------

/** Last segment of an ARM resource ID ("…/images/web-01" -> "web-01"). */
export function leaf(resourceId) {
  if (!resourceId) return "";
  const parts = String(resourceId).split("/").filter(Boolean);
  return parts[parts.length - 1] || "";
}

/** The gallery name in a definition or version ID. */
export function galleryOf(resourceId) {
  const match = /\/galleries\/([^/]+)/i.exec(String(resourceId || ""));
  return match ? match[1] : "";
}

export function seconds(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "";
  const s = Math.max(0, Math.round(value));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const hours = Math.floor(s / 3600);
  if (hours < 48) return `${hours} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Seconds since an ISO time (negative clock skew shows as 0). */
export function ageSeconds(iso, now = Date.now()) {
  const at = Date.parse(iso || "");
  return Number.isNaN(at) ? null : Math.max(0, (now - at) / 1000);
}

export function time(iso) {
  const at = Date.parse(iso || "");
  return Number.isNaN(at) ? "" : new Date(at).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** A URL with its `code` query parameter (a key) removed, so no key is ever shown or linked. */
export function withoutKey(url) {
  try {
    const parsed = new URL(url, location.href);
    parsed.searchParams.delete("code");
    return parsed.toString();
  } catch {
    return "";
  }
}
