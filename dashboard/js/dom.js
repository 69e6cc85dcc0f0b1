// dom — the only way the dashboard builds markup. Every value is put into the page as text
// (text nodes, textContent, setAttribute); no string is ever parsed as HTML, so a template named
// <img src=x onerror=alert(1)> shows as those characters and never becomes an element.

// h("tag.class", {attr: value, onclick: fn}, ...children) → Element. Children are nodes,
// strings or numbers (added as text), arrays (flattened), or null/undefined/false (skipped).
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.className = [el.className, value].filter(Boolean).join(" ");
    } else if (name === "href" || name === "src") {
      el.setAttribute(name, safeUrl(value));
    } else if (name === "value" && "value" in el) {
      el.value = value;
    } else if (name === "checked" || name === "selected" || name === "disabled") {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replaces every child of el.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Links only to our own pages (#…, /…) or to http(s) URLs; anything else (javascript:, data:
// outside images) becomes a harmless "#".
export function safeUrl(value) {
  const s = String(value);
  if (s.startsWith("#") || (s.startsWith("/") && !s.startsWith("//")) || s.startsWith("blob:")) return s;
  try {
    const u = new URL(s, location.href);
    if (u.protocol === "http:" || u.protocol === "https:") return u.href;
  } catch {
    /* not a URL */
  }
  return "#";
}

let announceTimer;
// Says msg through the polite live region (screen readers) and the visible status line.
export function announce(msg, kind = "info") {
  const region = document.getElementById("status");
  if (!region) return;
  clearTimeout(announceTimer);
  region.dataset.kind = kind;
  region.textContent = msg;
  region.hidden = !msg;
  if (msg && kind !== "error") announceTimer = setTimeout(() => { region.hidden = true; region.textContent = ""; }, 6000);
}

export function formatDate(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

export function formatBytes(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// A status pill; the word is always visible (colour is never the only signal).
export function badge(text, kind = text) {
  return h("span.badge", { "data-kind": kind }, text);
}

// A button that copies text() to the clipboard and says so.
export function copyButton(text, label = "Copy") {
  const btn = h("button.secondary.small", { type: "button" }, label);
  btn.addEventListener("click", async () => {
    const value = typeof text === "function" ? text() : text;
    try {
      await navigator.clipboard.writeText(value);
      announce("Copied to the clipboard");
    } catch {
      announce("The browser refused the clipboard; select the text and copy it by hand", "error");
    }
  });
  return btn;
}

// A labelled code block with a copy button.
export function codeBlock(label, text, id) {
  const pre = h("pre.code", { tabindex: "0", "aria-label": label, id }, h("code", text));
  return h("div.codeblock", h("div.codeblock-bar", h("span", label), copyButton(() => pre.textContent)), pre);
}

// <section> with a heading; returns the section.
export function section(title, ...children) {
  const id = "s-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return h("section.card", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

// A scrollable table that keyboard users can scroll too. rows: <tr>s, or a <tbody> to keep.
export function table(caption, headers, rows) {
  return h("div.table-wrap", { tabindex: "0", role: "region", "aria-label": caption },
    h("table",
      h("caption.visually-hidden", caption),
      h("thead", h("tr", headers.map((t) => h("th", { scope: "col" }, t)))),
      rows instanceof HTMLTableSectionElement ? rows : h("tbody", rows)));
}

// A list of validation issues ({formErrors, fieldErrors}) as text; pick filters the field paths.
export function issuesList(issues, { pick = () => true, strip = "" } = {}) {
  const items = [];
  for (const msg of issues?.formErrors || []) items.push(h("li", msg));
  for (const [path, msgs] of Object.entries(issues?.fieldErrors || {})) {
    if (!pick(path)) continue;
    const shown = strip && path.startsWith(strip) ? path.slice(strip.length) : path;
    for (const msg of msgs) items.push(h("li", h("code", shown || "(root)"), " ", msg));
  }
  return items;
}

export function debounce(fn, ms) {
  let t;
  const d = (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  d.cancel = () => clearTimeout(t);
  return d;
}

// Goes to a dashboard page (#/…); the router in app.js shows it.
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}
