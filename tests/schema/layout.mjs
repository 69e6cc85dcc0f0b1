// Layout schema test (CTest schema.layout): node layout.mjs REPO_ROOT
//
// dashboard/schemas/layout.json (served at GET /v1/schemas/layout.json) must stay true to the
// layout compiler:
//   1. it is a valid Draft-07 schema (ajv, strict mode);
//   2. it accepts every example layout of docs/templates.md ("json layout" and "json block"
//      blocks; a block is wrapped as {"body": [block]}) except those the docs show with
//      "json issues", and every tests/golden/*/layout.json;
//   3. it rejects the docs examples whose issues include an "Unknown property" (so a typo is
//      flagged in the editor as the compiler would flag it) and a few known mistakes;
//   4. every string of every name table in src/engine/compile*.c (static const char *const
//      NAME[] = {...}) appears in the schema: tables named *keys / k / k_* as property names,
//      the others (block types, enum values) as a property name or an enum/const value. So a
//      key added to the compiler without the schema fails here.
// Exit 0 when all holds, 1 otherwise, 77 (skipped) when ajv is not installed.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const root = process.argv[2];
if (!root) {
  console.error("usage: node layout.mjs REPO_ROOT");
  process.exit(2);
}
const require = createRequire(import.meta.url);
let Ajv;
try {
  Ajv = require("ajv");
} catch (e) {
  console.log(`SKIP: ajv is not installed (run scripts/test-node-deps): ${e.message}`);
  process.exit(77);
}

let failures = 0;
const fail = (msg) => {
  failures++;
  console.error(`FAIL ${msg}`);
};

const schemaPath = path.join(root, "dashboard/schemas/layout.json");
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
const validate = ajv.compile(schema);
const errorsOf = () => ajv.errorsText(validate.errors, { dataVar: "layout" });

// ---- 2 and 3: the docs' examples and the golden layouts
function docsExamples(md) {
  const out = [];
  const lines = md.split("\n");
  let cur = null;
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(.*)$/.exec(lines[i]);
    if (!m) continue;
    const info = m[1].trim();
    const start = i + 1;
    let j = i + 1;
    while (j < lines.length && !lines[j].startsWith("```")) j++;
    const body = lines.slice(i + 1, j).join("\n");
    i = j;
    if (info === "json layout" || info === "json block") {
      cur = { line: start, block: info === "json block", src: body, issues: null };
      out.push(cur);
    } else if (info === "json issues" && cur) {
      cur.issues = JSON.parse(body);
    }
  }
  return out;
}

const md = readFileSync(path.join(root, "docs/templates.md"), "utf8");
const examples = docsExamples(md);
let checked = 0;
for (const ex of examples) {
  let v;
  try {
    v = JSON.parse(ex.src);
  } catch (e) {
    fail(`docs/templates.md line ${ex.line}: not JSON: ${e.message}`);
    continue;
  }
  const layout = ex.block ? { body: Array.isArray(v) ? v : [v] } : v;
  const ok = validate(layout);
  if (!ex.issues) {
    if (!ok) fail(`docs/templates.md line ${ex.line}: the schema rejects a valid example: ${errorsOf()}`);
    checked++;
    continue;
  }
  const unknown = Object.values(ex.issues).flat().some((m) => /^Unknown property/.test(m));
  if (unknown && ok) fail(`docs/templates.md line ${ex.line}: the compiler reports an unknown property, the schema accepts it`);
  checked++;
}
if (checked < 10) fail(`only ${checked} examples found in docs/templates.md`);

const goldenDir = path.join(root, "tests/golden");
for (const name of readdirSync(goldenDir)) {
  const f = path.join(goldenDir, name, "layout.json");
  if (!existsSync(f)) continue;
  if (!validate(JSON.parse(readFileSync(f, "utf8")))) fail(`tests/golden/${name}/layout.json: ${errorsOf()}`);
  checked++;
}

const mistakes = [
  ["an unknown top-level key", { body: [], bodyy: [] }],
  ["no body", { page: { size: "A4" } }],
  ["an unknown block type", { body: [{ type: "paragraph", text: "x" }] }],
  ["a key of another block type", { body: [{ type: "text", text: "x", children: [] }] }],
  ["a misspelt style key", { body: [{ type: "text", text: "x", fontsize: 12 }] }],
  ["a bad enum value", { body: [{ type: "image", src: "asset:a.png", fit: "stretch" }] }],
  ["a run with an unknown key", { body: [{ runs: [{ text: "a", colour: "red" }] }] }],
  ["a table cell with an unknown key", { body: [{ type: "table", columns: ["*"], rows: [[{ text: "a", span: 2 }]] }] }],
  ["a rowSpan of 0", { body: [{ type: "table", columns: ["*"], rows: [[{ text: "a", rowSpan: 0 }]] }] }],
  ["an unknown style property", { styles: { s: { size: 3 } }, body: [] }],
];
for (const [what, layout] of mistakes) if (validate(layout)) fail(`the schema accepts ${what}: ${JSON.stringify(layout)}`);

// ---- 4: the compiler's name tables
const propertyNames = new Set();
const values = new Set();
(function walk(v, parentKey) {
  if (Array.isArray(v)) {
    if (parentKey === "enum") v.forEach((x) => typeof x === "string" && values.add(x));
    v.forEach((x) => walk(x, null));
    return;
  }
  if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k === "properties" && x && typeof x === "object") Object.keys(x).forEach((p) => propertyNames.add(p));
      if (k === "const" && typeof x === "string") values.add(x);
      if (k === "enum" && parentKey === "propertyNames") x.forEach((p) => propertyNames.add(p));
      walk(x, k);
    }
  }
})(schema, null);
// An enum inside propertyNames (also through anyOf) names properties.
(function walkNames(v, inNames) {
  if (Array.isArray(v)) return v.forEach((x) => walkNames(x, inNames));
  if (!v || typeof v !== "object") return;
  for (const [k, x] of Object.entries(v)) {
    if (k === "enum" && inNames) x.forEach((p) => propertyNames.add(p));
    walkNames(x, inNames || k === "propertyNames" || k === "blockCommonKeys");
  }
})(schema, false);

const srcDir = path.join(root, "src/engine");
let tables = 0;
for (const file of readdirSync(srcDir).filter((f) => /^compile.*\.c$/.test(f))) {
  const src = readFileSync(path.join(srcDir, file), "utf8");
  const re = /static\s+const\s+char\s*\*\s*const\s+(\w+)\s*\[\s*\]\s*=\s*\{([^}]*)\}/g;
  for (let m; (m = re.exec(src)); ) {
    const [, name, body] = m;
    const strings = [...body.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((s) => s[1]);
    const isKeys = /(^|_)keys?$|^k$|^k_/.test(name) || /_keys_list$/.test(name);
    tables++;
    for (const s of strings) {
      if (propertyNames.has(s)) continue;
      if (!isKeys && values.has(s)) continue;
      fail(`src/engine/${file}: "${s}" of ${name}[] is not in dashboard/schemas/layout.json (as ${isKeys ? "a property name" : "a property name or an enum value"}); add it there (see the schema's $comment)`);
    }
  }
}
if (tables < 15) fail(`only ${tables} name tables found in src/engine/compile*.c (has the table style changed?)`);

if (failures) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log(`ok: ${checked} layouts valid, ${mistakes.length} mistakes rejected, ${tables} compiler tables covered`);
