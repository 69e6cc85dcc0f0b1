// layout-schema — the layout language's JSON Schema (GET /v1/schemas/layout.json, kept true to
// the compiler by the schema.layout test) used by the layout editor for two things:
//   * checkLayout(schema, layout): the schema's problems as {path, message}, found in the
//     browser while typing, before the server compiles anything. It understands the keywords
//     the schema uses ($ref, type, enum, const, properties, additionalProperties,
//     propertyNames, required, items, min/maxItems, minimum/maximum, pattern, anyOf, allOf,
//     not, if/then/else); the server's compiler stays the authority.
//   * completionsAt(schema, text, offset): the property names that fit the object the cursor
//     is in, from a tolerant scan of the (possibly half-typed) JSON text.
// Everything here is pure; a schema that cannot be fetched just turns both features off.

let schemaPromise = null;

// The schema, fetched once per page load (no key needed), or null when it cannot be had.
export function loadLayoutSchema() {
  if (!schemaPromise) {
    schemaPromise = fetch("/v1/schemas/layout.json", { credentials: "omit" })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
  }
  return schemaPromise;
}

const MAX_PROBLEMS = 20;

function resolve(root, s) {
  for (let guard = 0; s && typeof s === "object" && s.$ref && guard < 32; guard++) {
    s = s.$ref.slice(2).split("/").reduce((o, k) => (o ? o[k.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), root);
  }
  return s && typeof s === "object" ? s : {};
}

const typeOf = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);
const typeOk = (t, v) => [].concat(t).some((x) => x === typeOf(v) || (x === "number" && typeof v === "number"));
const join = (path, key) => `${path}.${key}`;

// Problems of value v against schema s at path, appended to out.
function check(root, s, v, path, out) {
  s = resolve(root, s);
  if (s.type && !typeOk(s.type, v)) {
    out.push({ path, message: `Expected ${[].concat(s.type).join(" or ")}, got ${typeOf(v)}` });
    return;
  }
  if (s.enum && !s.enum.some((x) => x === v)) out.push({ path, message: `Unknown value ${JSON.stringify(v)} (expected one of ${s.enum.map((x) => JSON.stringify(x)).join(", ")})` });
  if ("const" in s && s.const !== v) out.push({ path, message: `Expected ${JSON.stringify(s.const)}` });
  if (typeof v === "number") {
    if (s.minimum !== undefined && v < s.minimum) out.push({ path, message: `Must be at least ${s.minimum}` });
    if (s.maximum !== undefined && v > s.maximum) out.push({ path, message: `Must be at most ${s.maximum}` });
  }
  if (typeof v === "string" && s.pattern && !new RegExp(s.pattern, "u").test(v)) out.push({ path, message: `Does not match ${s.pattern}` });
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) out.push({ path, message: `Needs at least ${s.minItems} item(s)` });
    if (s.maxItems !== undefined && v.length > s.maxItems) out.push({ path, message: `At most ${s.maxItems} items` });
    if (s.items) v.forEach((x, i) => check(root, s.items, x, join(path, i), out));
  }
  if (v && typeof v === "object" && !Array.isArray(v)) {
    for (const k of s.required || []) if (!(k in v)) out.push({ path, message: `Missing "${k}"` });
    for (const [k, x] of Object.entries(v)) {
      const p = join(path, k);
      if (s.propertyNames && !accepts(root, s.propertyNames, k)) out.push({ path: p, message: `Unknown property "${k}"` });
      else if (s.properties && k in s.properties) check(root, s.properties[k], x, p, out);
      else if (s.additionalProperties === false) out.push({ path: p, message: `Unknown property "${k}"` });
      else if (s.additionalProperties && typeof s.additionalProperties === "object") check(root, s.additionalProperties, x, p, out);
    }
  }
  for (const sub of s.allOf || []) check(root, sub, v, path, out);
  if (s.anyOf && !s.anyOf.some((sub) => accepts(root, sub, v))) {
    // Report the branch of the value's own type, if exactly one fits; otherwise say what fits.
    const fitting = s.anyOf.filter((sub) => { const r = resolve(root, sub); return !r.type || typeOk(r.type, v); });
    if (fitting.length === 1) check(root, fitting[0], v, path, out);
    else out.push({ path, message: resolve(root, s).description || "Not an accepted form here" });
  }
  if (s.not && accepts(root, s.not, v)) out.push({ path, message: "Not an accepted form here" });
  if (s.if) {
    const branch = accepts(root, s.if, v) ? s.then : s.else;
    if (branch) check(root, branch, v, path, out);
  }
}

function accepts(root, s, v) {
  const out = [];
  check(root, s, v, "", out);
  return out.length === 0;
}

// The schema's problems with a parsed layout: [{path: "layout.body.0.fontsize", message}].
export function checkLayout(schema, layout) {
  if (!schema) return [];
  const out = [];
  check(schema, schema, layout, "layout", out);
  const seen = new Set();
  return out.filter((p) => !seen.has(p.path + p.message) && seen.add(p.path + p.message)).slice(0, MAX_PROBLEMS);
}

// A tolerant scan of JSON text up to offset: the path of the container the cursor is in, the
// keys (and string values) already written in each enclosing object, and whether the cursor
// is where a property name goes (with the part of it already typed).
function scan(text, offset) {
  const stack = []; // {obj: bool, key, index, keys: {}}
  let expectKey = false, inString = false, str = "", strStart = 0, lastKey = null, afterColon = false;
  for (let i = 0; i < offset; i++) {
    const ch = text[i];
    const top = stack[stack.length - 1];
    if (inString) {
      if (ch === "\\") { str += text[i + 1] ?? ""; i++; continue; }
      if (ch === '"') {
        inString = false;
        if (top?.obj && !afterColon) lastKey = str;
        else if (top?.obj && afterColon && lastKey !== null) top.keys[lastKey] = str;
        continue;
      }
      str += ch;
      continue;
    }
    if (ch === '"') { inString = true; str = ""; strStart = i; continue; }
    if (ch === "{" || ch === "[") {
      if (top) top.child = top.obj ? lastKey : top.index;
      stack.push({ obj: ch === "{", index: 0, keys: {} });
      expectKey = ch === "{"; afterColon = false; lastKey = null;
      continue;
    }
    if (ch === "}" || ch === "]") { stack.pop(); expectKey = false; afterColon = true; continue; }
    if (ch === ":") { afterColon = true; expectKey = false; if (top?.obj && lastKey !== null && !(lastKey in top.keys)) top.keys[lastKey] = undefined; continue; }
    if (ch === ",") {
      if (top?.obj) { expectKey = true; afterColon = false; lastKey = null; } else if (top) top.index++;
      continue;
    }
  }
  const top = stack[stack.length - 1];
  const typingKey = inString && top?.obj && !afterColon;
  const atKey = typingKey || (!inString && top?.obj && expectKey);
  return { stack, atKey, prefix: typingKey ? str : "", quoted: typingKey, start: typingKey ? strStart + 1 : offset };
}

// The schema that applies at a chain of keys/indexes, knowing the written keys of each object
// (so a block's "type" picks its own properties).
function schemaAtPath(root, chain) {
  let s = root;
  for (const step of chain) {
    s = resolve(root, s);
    if (typeof step === "number") s = s.items || pickAny(root, s, (x) => resolve(root, x).items)?.items || {};
    else s = propertySchema(root, s, step);
  }
  return resolve(root, s);
}

function pickAny(root, s, pred) {
  for (const sub of s.anyOf || []) { const r = resolve(root, sub); if (pred(r)) return r; }
  return null;
}

function propertySchema(root, s, key) {
  if (s.properties && key in s.properties) return s.properties[key];
  if (s.then) { const t = propertySchema(root, resolve(root, s.then), key); if (t) return t; }
  for (const sub of [...(s.allOf || []), ...(s.anyOf || [])]) {
    const r = resolve(root, sub);
    const t = r.properties?.[key];
    if (t) return t;
  }
  if (s.additionalProperties && typeof s.additionalProperties === "object") return s.additionalProperties;
  return {};
}

// Property names the object schema s accepts, given the keys already written (a block's
// "type" narrows them through its if/then).
function propertyNames(root, s, written) {
  s = resolve(root, s);
  if (s.anyOf) {
    const objs = s.anyOf.map((x) => resolve(root, x)).filter((x) => !x.type || typeOk(x.type, {}));
    return [...new Set(objs.flatMap((x) => propertyNames(root, x, written)))];
  }
  if (s.if && s.then) {
    const obj = resolve(root, s.if).type === "object";
    if (obj) return propertyNames(root, s.then, written);
  }
  let names = Object.keys(s.properties || {});
  for (const sub of s.allOf || []) {
    const r = resolve(root, sub);
    if (r.if && r.then && accepts(root, r.if, written)) {
      const allowed = allowedNames(root, resolve(root, r.then).propertyNames);
      if (allowed) names = names.filter((n) => allowed.has(n));
    } else if (r.properties && !r.if) {
      names = [...new Set([...names, ...Object.keys(r.properties)])];
    }
  }
  const own = allowedNames(root, s.propertyNames);
  return own ? names.concat([...own].filter((n) => !names.includes(n))) : names;
}

function allowedNames(root, pn) {
  if (!pn) return null;
  pn = resolve(root, pn);
  if (pn.enum) return new Set(pn.enum);
  if (pn.anyOf) return new Set(pn.anyOf.flatMap((x) => resolve(root, x).enum || []));
  return null;
}

// Completions at offset of the layout text: {names, start, end, quoted} or null. The names
// fit the object the cursor is in, start with what is typed and are not written yet.
export function completionsAt(schema, text, offset) {
  if (!schema) return null;
  const sc = scan(text, offset);
  if (!sc.atKey) return null;
  const chain = sc.stack.slice(0, -1).map((f) => f.child);
  const written = sc.stack[sc.stack.length - 1].keys;
  const s = schemaAtPath(schema, chain);
  const names = propertyNames(schema, s, written)
    .filter((n) => !(n in written) && n.startsWith(sc.prefix) && n !== sc.prefix);
  return names.length ? { names, start: sc.start, end: offset, quoted: sc.quoted } : null;
}
