// snippets — copy-paste code that renders a template through the API: cURL, Node (18+, fetch)
// and Python 3 (standard library only). Pure (no DOM), so the tests import it in Node and run
// each snippet for real. The key is read from the CRAFTKIT_API_KEY environment variable and
// never written into a snippet.

export const KEY_VAR = "CRAFTKIT_API_KEY";

function renderUrl(origin, slug) {
  return `${origin}/v1/templates/${encodeURIComponent(slug)}/render`;
}

// Single-quoted for POSIX shells: ' becomes '\''.
function shellQuote(s) {
  return "'" + String(s).replace(/'/g, "'\\''") + "'";
}

export function curlSnippet({ origin, slug, data }) {
  const body = JSON.stringify({ data }, null, 2);
  return [
    `curl -sS -X POST ${shellQuote(renderUrl(origin, slug))} \\`,
    `  -H "Authorization: Bearer $${KEY_VAR}" \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(body)}`,
  ].join("\n");
}

function indent(text, by) {
  return text.split("\n").map((l, i) => (i ? by + l : l)).join("\n");
}

export function nodeSnippet({ origin, slug, data }) {
  return [
    "// Node 18+ (global fetch); save as render.mjs and run: node render.mjs",
    `const res = await fetch(${JSON.stringify(renderUrl(origin, slug))}, {`,
    '  method: "POST",',
    "  headers: {",
    `    Authorization: \`Bearer \${process.env.${KEY_VAR}}\`,`,
    '    "Content-Type": "application/json",',
    "  },",
    `  body: JSON.stringify({ data: ${indent(JSON.stringify(data, null, 2), "  ")} }),`,
    "});",
    "console.log(res.status, await res.json());",
  ].join("\n");
}

// A Python literal for a JSON value (True/False/None; JSON string escapes are valid Python).
export function pyLiteral(v, depth = 0) {
  const pad = "    ".repeat(depth + 1);
  const end = "    ".repeat(depth);
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "None";
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (!v.length) return "[]";
    return "[\n" + v.map((x) => pad + pyLiteral(x, depth + 1) + ",\n").join("") + end + "]";
  }
  const keys = Object.keys(v);
  if (!keys.length) return "{}";
  return "{\n" + keys.map((k) => `${pad}${JSON.stringify(k)}: ${pyLiteral(v[k], depth + 1)},\n`).join("") + end + "}";
}

export function pythonSnippet({ origin, slug, data }) {
  return [
    "# Python 3, standard library only",
    "import json",
    "import os",
    "import urllib.request",
    "",
    `data = ${pyLiteral(data)}`,
    "",
    "req = urllib.request.Request(",
    `    ${JSON.stringify(renderUrl(origin, slug))},`,
    '    data=json.dumps({"data": data}).encode(),',
    "    headers={",
    `        "Authorization": "Bearer " + os.environ[${JSON.stringify(KEY_VAR)}],`,
    '        "Content-Type": "application/json",',
    "    },",
    '    method="POST",',
    ")",
    "with urllib.request.urlopen(req) as res:",
    "    print(res.status, json.load(res))",
  ].join("\n");
}
