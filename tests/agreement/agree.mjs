// JSON Schema agreement test: node agree.mjs CKAGREE_BINARY CASES_DIR
//
// For every CASES_DIR/*.json (except patterns.json) — {"description", "manifest", "strict"?,
// "cases": [{"data", "valid", "coercion"?, "note"?}]} — runs the server validator (ckagree) and
// ajv (Draft-07, ajv-formats, strict mode, ownProperties) on the same payloads and requires:
//   * the server verdict equals the case's "valid" (so the corpus says what it means);
//   * ajv agrees with the server, except on the documented exclusions (docs/manifest.md):
//       "coercion": true          the server accepts by coercion (numeric strings, "true"/
//                                 "false"); the schema describes canonical types and rejects;
//       "exclusion": "nul"        a string with U+0000: the server rejects, JSON Schema cannot
//                                 say so, ajv accepts;
//       "exclusion": "js-proto"   a manifest key named __proto__: ajv drops such a property
//                                 from its schema, so its answer is not checked.
// patterns.json — [{"pattern", "subjects", "expect"?: "match"|"syntax-error"|"unsupported"}] —
// checks the regex engine against JavaScript's RegExp with the "u" flag (what ajv uses).
//
// Data may use two macros so that big payloads stay small on disk:
//   {"$repeat": VALUE, "times": N}  → an array of N copies of VALUE
//   {"$string": S, "times": N, "prefix"?: P, "suffix"?: Q} → P + S×N + Q
// Exit 0 when everything agrees, 1 otherwise, 77 (skipped) when ajv is not installed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

const [tool, dir] = process.argv.slice(2);
if (!tool || !dir) {
  console.error("usage: node agree.mjs CKAGREE_BINARY CASES_DIR");
  process.exit(2);
}
const require = createRequire(import.meta.url);
let Ajv, addFormats;
try {
  Ajv = require("ajv");
  addFormats = require("ajv-formats");
} catch (e) {
  console.log(`SKIP: ajv is not installed (run scripts/test-node-deps): ${e.message}`);
  process.exit(77);
}
Ajv = Ajv.default || Ajv;
addFormats = addFormats.default || addFormats;

function expand(v) {
  if (Array.isArray(v)) return v.map(expand);
  if (v && typeof v === "object") {
    if ("$repeat" in v) return Array.from({ length: v.times }, () => expand(structuredClone(v.$repeat)));
    if ("$string" in v) return (v.prefix || "") + v.$string.repeat(v.times) + (v.suffix || "");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(x)]));
  }
  return v;
}

const work = mkdtempSync(path.join(tmpdir(), "ckagree-"));
function runTool(mode, value) {
  const file = path.join(work, `${mode}.json`);
  writeFileSync(file, JSON.stringify(value));
  return JSON.parse(execFileSync(tool, [mode, file], { encoding: "utf8", maxBuffer: 256 << 20 }));
}

const short = (v) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 300 ? s.slice(0, 300) + "…" : s;
};

let failures = 0;
let checked = 0;
let coercions = 0;
let exclusions = 0;
function fail(label, why, extra = "") {
  failures++;
  console.log(`FAIL ${label}: ${why}${extra}`);
}

const files = readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "patterns.json").sort();
for (const name of files) {
  const spec = expand(JSON.parse(readFileSync(path.join(dir, name), "utf8")));
  const out = runTool("cases", spec);
  const ajv = new Ajv({ allErrors: true, strict: true, ownProperties: true });
  addFormats(ajv);
  let validate;
  try {
    validate = ajv.compile(out.schema);
  } catch (e) {
    fail(name, `ajv cannot compile the emitted schema: ${e.message}`, `\n  schema: ${short(out.schema)}`);
    continue;
  }
  spec.cases.forEach((c, i) => {
    const label = `${name} #${i}${c.note ? ` (${c.note})` : ""}`;
    const server = out.results[i].valid;
    const client = validate(c.data);
    const detail = `\n  data: ${short(c.data)}\n  server issues: ${short(out.results[i].issues)}\n  ajv errors: ${short(validate.errors)}`;
    checked++;
    if (server !== c.valid) fail(label, `the server says ${server}, the case expects ${c.valid}`, detail);
    else if (c.coercion) {
      coercions++;
      if (client !== false) fail(label, "a coercion case must be rejected by the schema", detail);
    } else if (c.exclusion === "nul") {
      exclusions++;
      if (client !== true) fail(label, "a NUL case is expected to pass ajv", detail);
    } else if (c.exclusion === "js-proto") {
      exclusions++;
    } else if (c.exclusion) {
      fail(label, `unknown exclusion ${c.exclusion}`);
    } else if (client !== server) fail(label, `ajv says ${client}, the server says ${server}`, detail);
  });
}

// The regex engine against JavaScript.
const patterns = JSON.parse(readFileSync(path.join(dir, "patterns.json"), "utf8"));
const results = runTool("patterns", patterns);
let patternChecks = 0;
patterns.forEach((p, i) => {
  const label = `patterns.json #${i} /${p.pattern}/`;
  const expect = p.expect || "match";
  const ours = results[i];
  let js = null;
  let jsError = null;
  try {
    js = new RegExp(p.pattern, "u");
  } catch (e) {
    jsError = e.message;
  }
  patternChecks++;
  if (expect === "match") {
    if (!ours.compiled) return fail(label, `refused by the server: ${ours.error}`);
    if (!js) return fail(label, `refused by JavaScript: ${jsError}`);
    (p.subjects || []).forEach((s, k) => {
      patternChecks++;
      const want = js.test(s);
      if (ours.matches[k] !== want) fail(label, `on ${JSON.stringify(s)} the server says ${ours.matches[k]}, JavaScript ${want}`);
    });
  } else if (expect === "syntax-error") {
    if (ours.compiled) fail(label, "the server compiled a pattern JavaScript rejects");
    if (js) fail(label, "JavaScript accepts it: mark it unsupported instead");
  } else if (expect === "unsupported") {
    if (ours.compiled) fail(label, "expected the server to refuse it");
    if (!js) fail(label, `JavaScript rejects it too (${jsError}): mark it syntax-error`);
  }
});

rmSync(work, { recursive: true, force: true });
console.log(
  `agreement: ${checked} payloads over ${files.length} manifests (${coercions} coercion and ${exclusions} other documented exclusions), ` +
    `${patternChecks} pattern checks: ${failures ? `${failures} FAILED` : "all agree"}`
);
process.exit(failures ? 1 : 0);
