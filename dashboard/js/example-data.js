// example-data — realistic sample data for a manifest (docs/manifest.md), used for the
// template's API snippets and the editor's starting data. Pure (no DOM), so the tests import
// it in Node too. The values respect every rule the server checks: type, enum, default,
// min/max/integer, minLength/maxLength, pattern (a small generator for the ECMAScript subset
// the manifest allows, checked with RegExp's "u" flag, which matches the server), and loop
// minItems/maxItems. Keys are set as own properties, so "__proto__" is an ordinary key.

// A 16×16 PNG (indigo, white cross): image values must render offline, so no remote URL.
export const EXAMPLE_PNG =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAU0lEQVR42mP4DwbOFqcIIohKhv8wQIxqkAZkDkHVQDYDphAe1QgNuPRgCjLgkcZqBAMuB+ByJAMeR2P1EsUaSHMSaZ4mLVhJizjSkgbJiY/U5A0AFy/cUD4xfScAAAAASUVORK5CYII=";

const ROWS = [
  { name: "Steel bracket", description: "Galvanised, 40 mm", qty: 4, price: 12.5, sku: "BRK-040" },
  { name: "Door hinge", description: "Brushed brass", qty: 2, price: 7.9, sku: "HNG-210" },
  { name: "Wood screws (100)", description: "4 × 30 mm", qty: 1, price: 5.25, sku: "SCR-430" },
];

function setOwn(obj, key, value) {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function setPath(root, path, value) {
  const parts = path.split(".");
  let o = root;
  for (const p of parts.slice(0, -1)) {
    if (!Object.prototype.hasOwnProperty.call(o, p) || typeof o[p] !== "object" || o[p] === null) setOwn(o, p, {});
    o = o[p];
  }
  setOwn(o, parts[parts.length - 1], value);
}

const iso = (d) => d.toISOString().slice(0, 10);

function words(key, label) {
  return `${label || ""} ${key}`.toLowerCase();
}

function textFor(key, label, row, longtext) {
  const leaf = key.split(".").pop().toLowerCase();
  const parent = key.split(".").slice(-2, -1)[0]?.toLowerCase() || "";
  const w = words(key, label);
  if (row && ROWS[row.i][leaf] !== undefined && typeof ROWS[row.i][leaf] === "string") return ROWS[row.i][leaf];
  if (/address/.test(leaf)) return longtext ? "Example Street 12\n10115 Berlin\nGermany" : "Example Street 12, 10115 Berlin";
  if (/^(company|vendor|seller|supplier|organi[sz]ation|business)/.test(parent) && /name/.test(leaf)) return "Acme Supplies Ltd";
  if (/company|vendor|seller|supplier|organi[sz]ation/.test(leaf)) return "Acme Supplies Ltd";
  if (/first.?name/.test(leaf)) return "Ada";
  if (/last.?name|surname/.test(leaf)) return "Lovelace";
  if (/name/.test(leaf)) return parent === "product" || parent === "item" ? "Steel bracket" : "Ada Lovelace";
  if (/invoice|number|^no$|^num|ref|^id$|code|order/.test(w) && !longtext) return /order/.test(w) ? "ORD-2041" : "INV-1001";
  if (/city|town/.test(leaf)) return "Berlin";
  if (/country/.test(leaf)) return "Germany";
  if (/zip|postal|postcode/.test(leaf)) return "10115";
  if (/street/.test(leaf)) return "Example Street 12";
  if (/phone|tel|mobile/.test(leaf)) return "+49 30 1234567";
  if (/currency/.test(leaf)) return "EUR";
  if (/title|subject|heading/.test(leaf)) return "Quarterly report";
  if (/course/.test(w)) return "Introduction to typography";
  if (/sku/.test(leaf)) return "BRK-040";
  if (/note|comment|message|description|terms|remark|body/.test(w))
    return longtext ? "Thank you for your business.\nPayment is due within 30 days." : "Thank you for your business.";
  if (longtext) return "First line of text.\nSecond line of text.";
  const human = (label || leaf).replace(/[_.]+/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").trim();
  return `Sample ${human.toLowerCase()}`;
}

function numberFor(v, row) {
  const leaf = v.key.split(".").pop().toLowerCase();
  let n;
  if (row && typeof ROWS[row.i][leaf] === "number") n = ROWS[row.i][leaf];
  else if (/qty|quantity|count|amount_of|units|pieces/.test(leaf)) n = 3;
  else if (/percent|rate/.test(leaf)) n = 19;
  else if (/total|sum|grand/.test(leaf)) n = 1250.5;
  else if (/tax|vat/.test(leaf)) n = 199.66;
  else if (/price|amount|cost|fee|subtotal|net/.test(leaf)) n = v.dataType === "currency" ? 249.9 : 42;
  else if (/year/.test(leaf)) n = new Date().getUTCFullYear();
  else if (/age/.test(leaf)) n = 36;
  else n = v.dataType === "currency" ? 249.9 : 42;
  if (v.integer) n = Math.round(n);
  if (typeof v.min === "number" && n < v.min) n = v.integer ? Math.ceil(v.min) : v.min;
  if (typeof v.max === "number" && n > v.max) n = v.integer ? Math.floor(v.max) : v.max;
  return n;
}

function valueFor(v, row) {
  if (v.default !== undefined) return v.default;
  if (Array.isArray(v.enum) && v.enum.length) return v.enum[0];
  const today = new Date();
  switch (v.dataType) {
    case "number":
    case "currency":
      return numberFor(v, row);
    case "boolean":
      return true;
    case "date": {
      const due = /due|expir|until|end/.test(words(v.key, v.label));
      return iso(due ? new Date(today.getTime() + 30 * 86400000) : today);
    }
    case "datetime":
      return `${iso(today)}T10:30:00Z`;
    case "image":
      return EXAMPLE_PNG;
    case "url":
      return fitString(v, "https://example.com/" + v.key.split(".").pop().toLowerCase().replace(/[^a-z0-9]+/g, "-"), (s) => URL_SHAPE.test(s));
    case "email": {
      const leaf = v.key.split(".").pop().toLowerCase();
      const s = /billing|invoice|account/.test(words(v.key, v.label)) ? "billing@example.com" : leaf === "email" ? "ada@example.com" : `${leaf.replace(/[^a-z0-9]+/g, "") || "ada"}@example.com`;
      return fitString(v, s, (x) => EMAIL_SHAPE.test(x));
    }
    case "longtext":
      return fitString(v, textFor(v.key, v.label, row, true));
    default:
      return fitString(v, textFor(v.key, v.label, row, false));
  }
}

// Close enough to the server's e-mail and URL rules (docs/manifest.md §4) to pick a candidate.
const EMAIL_SHAPE = /^[A-Za-z0-9_'+-]+(\.[A-Za-z0-9_'+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
const URL_SHAPE = /^https?:\/\/[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,4})?([/?#][A-Za-z0-9\-._~!$&'()*+,;=:@/?#%]*)?$/;

const codePoints = (s) => Array.from(s).length;

function lengthOk(v, s) {
  const n = codePoints(s);
  return (v.minLength === undefined || n >= v.minLength) && (v.maxLength === undefined || n <= v.maxLength);
}

function patternOk(v, s) {
  if (!v.pattern) return true;
  try {
    return new RegExp(v.pattern, "u").test(s);
  } catch {
    return true; /* the server refused such a manifest already */
  }
}

// Makes s satisfy the length and pattern rules of v (and shapeOk, the type's own rule) when
// it can. A pattern usually constrains part of the value ("@corp\.example$"), so the pattern's
// own strings are also tried after and before the readable value's parts.
function fitString(v, s, shapeOk = () => true) {
  const ok = (x) => shapeOk(x) && lengthOk(v, x) && patternOk(v, x);
  if (ok(s)) return s;
  if (v.pattern) {
    const local = s.split("@")[0];
    for (const c of patternCandidates(v.pattern)) {
      for (const x of [c, local + c, c + "@example.com", c + "example.com", "https://example.com" + c, "https://example.com/" + c]) if (ok(x)) return x;
    }
  }
  let t = s;
  if (v.maxLength !== undefined && codePoints(t) > v.maxLength) t = Array.from(t).slice(0, v.maxLength).join("").trimEnd();
  while (v.minLength !== undefined && codePoints(t) < v.minLength) t += "x";
  return t;
}

// exampleData(manifest) → data object that the server accepts for this manifest.
export function exampleData(manifest) {
  const data = {};
  for (const v of manifest?.variables || []) setPath(data, v.key, valueFor(v, null));
  for (const loop of manifest?.loops || []) {
    const min = loop.minItems ?? 0;
    const max = loop.maxItems ?? 10000;
    const n = Math.max(min, Math.min(2, max));
    const rows = [];
    for (let i = 0; i < n; i++) {
      const row = {};
      for (const f of loop.itemFields || []) setOwn(row, f.key, valueFor(f, { i: i % ROWS.length }));
      rows.push(row);
    }
    setOwn(data, loop.key, rows);
  }
  return data;
}

// ---- A string generator for manifest patterns (docs/manifest.md §7) ----
// Parses the pattern into a small tree and yields strings that match it, trying more
// repetitions of each quantifier in turn so that length rules can be met.

function parsePattern(src) {
  let i = 0;
  const cps = Array.from(src);
  const peek = () => cps[i];
  const next = () => cps[i++];
  function alt() {
    const branches = [seq()];
    while (peek() === "|") {
      next();
      branches.push(seq());
    }
    return branches.length === 1 ? branches[0] : { t: "alt", branches };
  }
  function seq() {
    const items = [];
    while (i < cps.length && peek() !== "|" && peek() !== ")") {
      let atomNode = atom();
      if (atomNode === null) continue;
      atomNode = quant(atomNode);
      items.push(atomNode);
    }
    return { t: "seq", items };
  }
  function quant(node) {
    const c = peek();
    let min, max;
    if (c === "*") [min, max] = [0, Infinity];
    else if (c === "+") [min, max] = [1, Infinity];
    else if (c === "?") [min, max] = [0, 1];
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(cps.slice(i).join(""));
      if (!m) return node;
      i += Array.from(m[0]).length;
      min = Number(m[1]);
      max = m[2] ? (m[3] ? Number(m[3]) : Infinity) : min;
      if (peek() === "?") next();
      return { t: "rep", node, min, max };
    } else return node;
    next();
    if (peek() === "?") next();
    return { t: "rep", node, min, max };
  }
  function escapeAtom(inClass) {
    const c = next();
    const classes = { d: "0", w: "a", s: " ", D: "a", W: "-", S: "a" };
    if (c in classes) return { t: "set", chars: [classes[c]], esc: c };
    if (c === "b" || c === "B") return inClass ? { t: "lit", c: "\b" } : null;
    const simple = { t: "\t", n: "\n", v: "\v", f: "\f", r: "\r", 0: "\0" };
    if (c in simple) return { t: "lit", c: simple[c] };
    if (c === "x") {
      const hex = cps.slice(i, i + 2).join("");
      i += 2;
      return { t: "lit", c: String.fromCodePoint(parseInt(hex, 16)) };
    }
    if (c === "u") {
      if (peek() === "{") {
        const end = cps.indexOf("}", i);
        const hex = cps.slice(i + 1, end).join("");
        i = end + 1;
        return { t: "lit", c: String.fromCodePoint(parseInt(hex, 16)) };
      }
      const hex = cps.slice(i, i + 4).join("");
      i += 4;
      return { t: "lit", c: String.fromCharCode(parseInt(hex, 16)) };
    }
    if (c === "c") return { t: "lit", c: String.fromCharCode(next().charCodeAt(0) % 32) };
    return { t: "lit", c };
  }
  function classAtom() {
    const negated = peek() === "^";
    if (negated) next();
    const ranges = [];
    const escs = [];
    while (i < cps.length && peek() !== "]") {
      let lo;
      if (peek() === "\\") {
        next();
        const e = escapeAtom(true);
        if (e.t === "set") {
          escs.push(e.esc);
          continue;
        }
        lo = e.c;
      } else lo = next();
      let hi = lo;
      if (peek() === "-" && cps[i + 1] !== "]" && cps[i + 1] !== undefined) {
        next();
        if (peek() === "\\") {
          next();
          hi = escapeAtom(true).c ?? lo;
        } else hi = next();
      }
      ranges.push([lo.codePointAt(0), hi.codePointAt(0)]);
    }
    next(); // ]
    return { t: "class", negated, ranges, escs };
  }
  function atom() {
    const c = next();
    if (c === "^" || c === "$") return null;
    if (c === "(") {
      if (peek() === "?" && cps[i + 1] === ":") i += 2;
      const inner = alt();
      next(); // )
      return { t: "group", node: inner };
    }
    if (c === "[") return classAtom();
    if (c === "\\") return escapeAtom(false);
    if (c === ".") return { t: "set", chars: ["a"] };
    return { t: "lit", c };
  }
  return alt();
}

const PREFERRED = Array.from("aAbBcC0123xyzXYZ9 -_.@/:ÄéΩ");

function classChars(node) {
  const inRanges = (cp) => node.ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
  const escTest = { d: /\d/, w: /\w/, s: /\s/, D: /\D/, W: /\W/, S: /\S/ };
  const member = (ch) => inRanges(ch.codePointAt(0)) || node.escs.some((e) => escTest[e].test(ch));
  if (!node.negated) {
    const out = [];
    // a readable member first: the low end of the first range, then preferred characters
    for (const ch of PREFERRED) if (member(ch)) out.push(ch);
    for (const [lo] of node.ranges) out.push(String.fromCodePoint(lo));
    for (const e of node.escs) out.push({ d: "0", w: "a", s: " ", D: "a", W: "-", S: "a" }[e]);
    return out.length ? out : ["a"];
  }
  const out = PREFERRED.filter((ch) => !member(ch));
  return out.length ? out : ["\u00a7"];
}

// Yields a string for node with `extra` additional repetitions spread over quantifiers.
function gen(node, extra) {
  switch (node.t) {
    case "lit":
      return node.c;
    case "set":
      return node.chars[0];
    case "class":
      return classChars(node)[0];
    case "group":
      return gen(node.node, extra);
    case "alt":
      return gen(node.branches[0], extra);
    case "seq":
      return node.items.map((n) => gen(n, extra)).join("");
    case "rep": {
      const count = Math.min(node.max, node.min + extra);
      let s = "";
      for (let k = 0; k < count; k++) s += gen(node.node, extra);
      return s;
    }
    default:
      return "";
  }
}

export function* patternCandidates(pattern) {
  let tree;
  try {
    tree = parsePattern(pattern);
  } catch {
    return;
  }
  for (let extra = 0; extra <= 40; extra++) yield gen(tree, extra);
  // other alternatives of a top-level alternation
  if (tree.t === "alt") for (const b of tree.branches.slice(1)) for (let extra = 0; extra <= 10; extra++) yield gen(b, extra);
}
