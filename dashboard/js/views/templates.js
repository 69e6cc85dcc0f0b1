// Templates: the list with search, "New template" (POST /v1/templates) and the template page
// (manifest table, JSON Schema, API snippets with example data, inbound hook, versions).
import { del, get, post, seg } from "../api.js";
import { announce, badge, codeBlock, copyButton, formatDate, h, issuesList, navigate, replace, section, table } from "../dom.js";
import { exampleData } from "../example-data.js";
import { curlSnippet, KEY_VAR, nodeSnippet, pythonSnippet } from "../snippets.js";

export async function templatesView(main, ctx, _params, query) {
  const { templates } = await get("/v1/templates", { signal: ctx.signal });
  const search = h("input", { id: "tpl-search", type: "search", value: query.get("q") || "", autocomplete: "off" });
  const count = h("p.muted", { id: "tpl-count", "aria-live": "polite" });
  const body = h("tbody");
  const empty = h("div.empty", { hidden: true });

  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const shown = templates.filter((t) => !q || [t.name, t.slug, t.description || ""].some((s) => s.toLowerCase().includes(q)));
    replace(body, shown.map((t) => h("tr",
      h("th", { scope: "row" }, h("a", { href: `#/templates/${seg(t.slug)}` }, t.name)),
      h("td", h("code", t.slug)),
      h("td", t.currentVersionNumber ? `v${t.currentVersionNumber}` : "—"),
      h("td", t.published ? badge("published") : badge("draft only", "draft")),
      h("td", formatDate(t.updatedAt)))));
    count.textContent = q ? `${shown.length} of ${templates.length} templates match` : `${templates.length} templates`;
    empty.hidden = shown.length > 0;
    body.closest(".table-wrap").hidden = shown.length === 0;
    replace(empty, templates.length ? "No template matches your search." : h("span", "No templates yet. ", h("a", { href: "#/templates/new" }, "Create the first one"), "."));
  };
  search.addEventListener("input", draw);

  replace(main,
    h("div.page-head", h("h1", "Templates"), h("a.button", { href: "#/templates/new" }, "New template")),
    h("div.card",
      h("div.toolbar", h("label", { for: "tpl-search" }, "Search templates"), search),
      count,
      table("Templates", ["Name", "Slug", "Current version", "Status", "Updated"], body),
      empty));
  draw();
}

const EXAMPLE_MANIFEST = {
  variables: [
    { key: "invoice.number", label: "Invoice no.", dataType: "text", required: true },
    { key: "invoice.date", label: "Date", dataType: "date", required: true, format: "date:DD/MM/YYYY" },
    { key: "customer.name", label: "Bill to", dataType: "text", required: true },
    { key: "customer.email", label: "E-mail", dataType: "email" },
    { key: "total", label: "Total", dataType: "currency", required: true, format: "money:EUR", min: 0 },
  ],
  loops: [
    { key: "items", label: "Items", itemFields: [
      { key: "name", label: "Item", dataType: "text", required: true },
      { key: "qty", label: "Qty", dataType: "number", integer: true, min: 1 },
      { key: "price", label: "Price", dataType: "currency", format: "money:EUR" },
    ] },
  ],
};

// Field with a label, a help line and an inline error list (filled from API issues).
function field(id, labelText, control, help) {
  const errors = h("ul.field-errors", { id: `${id}-errors`, hidden: true });
  control.id = id;
  control.setAttribute("aria-describedby", [help ? `${id}-help` : "", `${id}-errors`].filter(Boolean).join(" "));
  return { el: h("div.field", h("label", { for: id }, labelText), control, help ? h("p.help", { id: `${id}-help` }, help) : null, errors), errors, control };
}

export function showFieldIssues(f, items) {
  replace(f.errors, items);
  f.errors.hidden = items.length === 0;
  if (items.length) f.control.setAttribute("aria-invalid", "true");
  else f.control.removeAttribute("aria-invalid");
}

function parseJsonField(f, text, required) {
  if (!text.trim()) {
    if (required) showFieldIssues(f, [h("li", "Required")]);
    return { ok: !required, value: undefined };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    showFieldIssues(f, [h("li", "Not valid JSON: ", e.message)]);
    return { ok: false };
  }
}

export async function newTemplateView(main, ctx) {
  const name = field("tpl-name", "Name", h("input", { type: "text", required: true, maxlength: "120", autocomplete: "off" }));
  const slug = field("tpl-slug", "Slug (optional)", h("input", { type: "text", maxlength: "120", autocomplete: "off", pattern: "[a-z0-9]+(-[a-z0-9]+)*" }),
    "Lowercase letters, digits and single dashes; derived from the name when empty. It is the template's address in the API.");
  const description = field("tpl-description", "Description (optional)", h("input", { type: "text", maxlength: "280", autocomplete: "off" }));
  const manifest = field("tpl-manifest", "Manifest (JSON)", h("textarea.code", { rows: "18", spellcheck: "false", value: JSON.stringify(EXAMPLE_MANIFEST, null, 2) }),
    "The variables and loops a render needs: see docs/manifest.md. The example is an invoice.");
  const layout = field("tpl-layout", "Layout (JSON, optional)", h("textarea.code", { rows: "8", spellcheck: "false", placeholder: "Empty: a layout is generated from the manifest" }),
    "The template language of docs/templates.md. Leave it empty to start from a generated layout and edit it later.");
  const publish = h("input", { type: "checkbox", id: "tpl-publish", checked: true });
  const formErrors = h("div.error", { role: "alert", hidden: true });
  const submit = h("button", { type: "submit" }, "Create template");
  const form = h("form.card.narrow", { novalidate: true },
    name.el, slug.el, description.el, manifest.el, layout.el,
    h("div.field.checkbox", publish, h("label", { for: "tpl-publish" }, "Publish version 1 now (otherwise it is a draft)")),
    formErrors,
    h("div.actions", submit, h("a.button.secondary", { href: "#/templates" }, "Cancel")));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const f of [name, slug, description, manifest, layout]) showFieldIssues(f, []);
    formErrors.hidden = true;
    const m = parseJsonField(manifest, manifest.control.value, true);
    const l = parseJsonField(layout, layout.control.value, false);
    if (!name.control.value.trim()) showFieldIssues(name, [h("li", "Required")]);
    if (!m.ok || !l.ok || !name.control.value.trim()) {
      form.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    const body = { name: name.control.value.trim(), manifest: m.value, publish: publish.checked };
    if (slug.control.value.trim()) body.slug = slug.control.value.trim();
    if (description.control.value.trim()) body.description = description.control.value.trim();
    if (l.value !== undefined) body.layout = l.value;
    submit.disabled = true;
    try {
      const t = await post("/v1/templates", body, { signal: ctx.signal });
      announce(`Template “${t.name}” created`);
      navigate(`#/templates/${seg(t.slug)}`);
    } catch (err) {
      if (err.name === "AbortError") return;
      const issues = err.issues || {};
      const on = (prefix) => (p) => p === prefix || p.startsWith(prefix + ".");
      showFieldIssues(name, issuesList({ fieldErrors: issues.fieldErrors }, { pick: on("name") }));
      showFieldIssues(slug, issuesList({ fieldErrors: issues.fieldErrors }, { pick: on("slug") }));
      showFieldIssues(description, issuesList({ fieldErrors: issues.fieldErrors }, { pick: on("description") }));
      showFieldIssues(manifest, issuesList({ fieldErrors: issues.fieldErrors }, { pick: on("manifest"), strip: "manifest." }));
      showFieldIssues(layout, issuesList({ fieldErrors: issues.fieldErrors }, { pick: (p) => on("layout")(p) || on("pageConfig")(p), strip: "layout." }));
      if (err.code === "slug_conflict") showFieldIssues(slug, [h("li", err.message)]);
      const rest = issuesList(issues, { pick: (p) => !/^(name|slug|description|manifest|layout|pageConfig)(\.|$)/.test(p) });
      replace(formErrors, err.message, rest.length ? h("ul", rest) : null);
      formErrors.hidden = false;
      (form.querySelector("[aria-invalid=true]") || formErrors).focus?.();
    } finally {
      submit.disabled = false;
    }
  });

  replace(main, h("div.page-head", h("h1", "New template")), form);
}

// One manifest row per variable and per loop item field ("items[].qty").
function manifestRows(manifest) {
  const rows = [];
  const rules = (v) => {
    const r = [];
    if (v.integer) r.push("integer");
    if (v.min !== undefined) r.push(`min ${v.min}`);
    if (v.max !== undefined) r.push(`max ${v.max}`);
    if (v.minLength !== undefined) r.push(`≥ ${v.minLength} chars`);
    if (v.maxLength !== undefined) r.push(`≤ ${v.maxLength} chars`);
    if (v.pattern !== undefined) r.push(`pattern ${v.pattern}`);
    if (v.enum) r.push(`one of ${v.enum.map((x) => JSON.stringify(x)).join(", ")}`);
    if (v.default !== undefined) r.push(`default ${JSON.stringify(v.default)}`);
    return r.join("; ") || "—";
  };
  const row = (key, v, type) => h("tr",
    h("th", { scope: "row" }, h("code", key)),
    h("td", v.label || "—"),
    h("td", type),
    h("td", v.required ? "yes" : "no"),
    h("td", v.format ? h("code", v.format) : "—"),
    h("td.rules", rules(v)));
  for (const v of manifest.variables || []) rows.push(row(v.key, v, v.dataType));
  for (const loop of manifest.loops || []) {
    const size = [loop.minItems !== undefined ? `min ${loop.minItems}` : "", loop.maxItems !== undefined ? `max ${loop.maxItems}` : ""].filter(Boolean).join(", ");
    rows.push(row(loop.key, { label: loop.label, required: (loop.minItems || 0) > 0 }, `list of rows${size ? ` (${size})` : ""}`));
    for (const f of loop.itemFields || []) rows.push(row(`${loop.key}[].${f.key}`, f, f.dataType));
  }
  return rows;
}

// Tabs (WAI-ARIA tabs pattern: arrow keys move between tabs).
export function tabs(label, panels) {
  const id = label.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  const list = h("div.tabs", { role: "tablist", "aria-label": label });
  const views = [];
  const buttons = panels.map(([title, content], i) => {
    const b = h("button.tab", { type: "button", role: "tab", id: `${id}-tab-${i}`, "aria-controls": `${id}-panel-${i}`, "aria-selected": i === 0 ? "true" : "false", tabindex: i === 0 ? "0" : "-1" }, title);
    views.push(h("div.tabpanel", { role: "tabpanel", id: `${id}-panel-${i}`, "aria-labelledby": `${id}-tab-${i}`, hidden: i !== 0 }, content));
    return b;
  });
  const select = (i) => buttons.forEach((b, k) => {
    b.setAttribute("aria-selected", k === i ? "true" : "false");
    b.tabIndex = k === i ? 0 : -1;
    views[k].hidden = k !== i;
    if (k === i) b.focus();
  });
  buttons.forEach((b, i) => {
    b.addEventListener("click", () => select(i));
    b.addEventListener("keydown", (e) => {
      const n = buttons.length;
      if (e.key === "ArrowRight") select((i + 1) % n);
      else if (e.key === "ArrowLeft") select((i + n - 1) % n);
      else if (e.key === "Home") select(0);
      else if (e.key === "End") select(n - 1);
      else return;
      e.preventDefault();
    });
  });
  replace(list, buttons);
  return h("div", list, views);
}

export async function templateView(main, ctx, [slug]) {
  const [t, { versions }] = await Promise.all([
    get(`/v1/templates/${seg(slug)}`, { signal: ctx.signal }),
    get(`/v1/templates/${seg(slug)}/versions`, { signal: ctx.signal }),
  ]);
  const data = exampleData(t.manifest);
  const snippetArgs = { origin: location.origin, slug: t.slug, data };
  const exampleStatus = h("p.example-status", { id: "example-status", "aria-live": "polite" }, "Checking the example data with POST /validate…");

  const secret = h("code.secret", { id: "inbound-secret" }, "••••••••••••••••");
  let revealed = false;
  const reveal = h("button.secondary.small", { type: "button", "aria-controls": "inbound-secret", "aria-pressed": "false" }, "Reveal secret");
  reveal.addEventListener("click", () => {
    revealed = !revealed;
    secret.textContent = revealed ? t.inbound.secret : "••••••••••••••••";
    reveal.textContent = revealed ? "Hide secret" : "Reveal secret";
    reveal.setAttribute("aria-pressed", String(revealed));
  });

  const deleteButton = h("button.danger", { type: "button" }, "Delete template");
  deleteButton.addEventListener("click", async () => {
    if (!confirm(`Delete the template “${t.name}”? It can no longer be rendered; its slug becomes free.`)) return;
    try {
      await del(`/v1/templates/${seg(t.slug)}`, { signal: ctx.signal });
      announce(`Template “${t.name}” deleted`);
      navigate("#/templates");
    } catch (e) {
      if (e.name !== "AbortError") announce(`The template could not be deleted: ${e.message}`, "error");
    }
  });

  replace(main,
    h("div.page-head",
      h("div", h("p.crumbs", h("a", { href: "#/templates" }, "Templates"), " / ", h("code", t.slug)), h("h1", t.name)),
      h("div.actions", h("a.button", { href: `#/templates/${seg(t.slug)}/edit` }, "Open editor"),
        h("a.button.secondary", { href: `#/renders?template=${encodeURIComponent(t.slug)}` }, "Renders"), deleteButton)),
    t.description ? h("p.lead", t.description) : null,
    h("p.meta",
      t.published ? badge(`v${t.currentVersionNumber} published`, "published") : badge("no published version", "draft"),
      ` · latest version v${t.latestVersionNumber} · updated ${formatDate(t.updatedAt)}`),
    section("Manifest",
      h("p.muted", "What a render's data must contain. Dotted keys nest: ", h("code", "customer.name"), " is ", h("code", '{"customer": {"name": …}}'), "; ", h("code", "items[].qty"), " is a field of each row of the list ", h("code", "items"), "."),
      table("Manifest variables", ["Key", "Label", "Type", "Required", "Format", "Rules"], manifestRows(t.manifest))),
    section("JSON Schema",
      h("p.muted", "Draft-07, generated from the manifest: validate data on your side before you send it."),
      codeBlock("JSON Schema (Draft-07)", JSON.stringify(t.jsonSchema, null, 2), "json-schema")),
    section("Render it from your code",
      h("p.muted", "Each snippet renders this template with example data made from the manifest. Set ", h("code", KEY_VAR), " to a project key first (", h("code", `export ${KEY_VAR}=ck_live_…`), ")."),
      t.published ? null : h("p.warning", "This template has no published version yet: renders answer 409 until you publish one."),
      exampleStatus,
      tabs("Snippet language", [
        ["cURL", codeBlock("cURL", curlSnippet(snippetArgs), "snippet-curl")],
        ["Node", codeBlock("Node", nodeSnippet(snippetArgs), "snippet-node")],
        ["Python", codeBlock("Python", pythonSnippet(snippetArgs), "snippet-python")],
      ])),
    section("Inbound hook",
      h("p.muted", "Systems that cannot send an API key POST the data (the flat data object, no envelope) to this URL. A request signed with the secret carries ", h("code", "x-craftkit-signature"), ": the hex HMAC-SHA256 of the x-craftkit-timestamp header, a dot and the body (a timestamp more than 5 minutes off is refused)."),
      t.inbound.url === null
        // A test key is not shown the hook: it starts live renders (docs/api.md "Test keys").
        ? h("p.warning", { id: "inbound-hidden" }, "The hook URL and secret are shown to live keys only: requests to the hook start live renders.")
        : h("dl.props",
          h("dt", "URL"), h("dd", h("code", { id: "inbound-url" }, t.inbound.url), " ", copyButton(t.inbound.url, "Copy URL")),
          h("dt", "Secret"), h("dd", secret, " ", reveal, " ", copyButton(() => t.inbound.secret, "Copy secret")),
          h("dt", "Signature required"), h("dd", t.inbound.enforceSignature ? "yes" : "no (verified when sent)"))),
    section("Versions",
      table("Versions", ["Version", "Status", "Created", "Published"], versions.map((v) => h("tr",
        h("th", { scope: "row" }, `v${v.number}`),
        h("td", v.current ? badge("current", "published") : v.published ? badge("published", "neutral") : badge("draft")),
        h("td", formatDate(v.createdAt)),
        h("td", formatDate(v.publishedAt)))))));

  // Say whether the example passes the server's own check (it should, always).
  try {
    const res = await post(`/v1/templates/${seg(t.slug)}/validate`, { data, options: t.published ? undefined : { versionNumber: t.latestVersionNumber } }, { signal: ctx.signal });
    replace(exampleStatus, badge("valid", "succeeded"), ` The example data passes POST /v1/templates/${t.slug}/validate (version ${res.versionNumber}).`);
  } catch (e) {
    if (e.name === "AbortError") return;
    replace(exampleStatus, badge("invalid", "failed"), " The example data does not validate; edit it before use: ", h("ul", issuesList(e.issues)), e.issues ? null : e.message);
  }
}
