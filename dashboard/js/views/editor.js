// Editor: the layout (and manifest) JSON beside the sample data, with a live PNG preview from
// POST /v1/templates/:slug/preview and "Publish as a new version" (PUT /v1/templates/:slug).
//
// While the layout or manifest differ from the stored version they are sent with the preview
// request itself (the API compiles them for that one preview and stores nothing), so editing
// never creates versions; only "Publish" does. Problems come back as the API's issues
// (dot-paths) and are listed under the editor they belong to. The layout editor also checks
// against the layout JSON Schema while typing and offers the property names that fit where
// the cursor is (layout-schema.js); without the schema it simply does neither.
//
// A pdf-overlay layout previews one base page at a time, chosen with a page picker: the PNG of
// that page (base and overlay) with every placement on it outlined and numbered by its index in
// "fields" (overlay-boxes.js), scaled from pt to the picture.
import { get, put, request, seg } from "../api.js";
import { announce, badge, debounce, h, issuesList, replace } from "../dom.js";
import { exampleData } from "../example-data.js";
import { checkLayout, completionsAt, loadLayoutSchema } from "../layout-schema.js";
import { overlayBoxes } from "../overlay-boxes.js";
import { showFieldIssues } from "./templates.js";

const MAX_PREVIEW_PAGES = 10;
const OVERLAY_DPI = 96; // the picture of an overlay page: its pt sizes are px * 72 / this

const isOverlay = (layout) => layout?.templateType === "pdf-overlay";

// The picture of one overlay page with its placements outlined; the boxes are placed in % of
// the page, so they follow the picture's size.
async function overlayFigure(blob, url, page, total, layout) {
  const bmp = await createImageBitmap(blob);
  const wPt = (bmp.width * 72) / OVERLAY_DPI, hPt = (bmp.height * 72) / OVERLAY_DPI;
  bmp.close();
  const boxes = overlayBoxes(layout, page, wPt).map((b) => {
    const el = h("div.overlay-box", { "data-field": b.index, title: `fields.${b.index}: ${b.type}`, "aria-hidden": "true" },
      h("span", String(b.index)));
    Object.assign(el.style, { left: `${(b.x / wPt) * 100}%`, top: `${(b.y / hPt) * 100}%`,
      width: `${(b.w / wPt) * 100}%`, height: `${(b.h / hPt) * 100}%` });
    return el;
  });
  const n = boxes.length;
  return h("figure.page.overlay-page",
    h("div.overlay-stage", h("a", { href: url, target: "_blank", rel: "noopener", title: "Open this page at full size" },
      h("img", { src: url, alt: `Preview of base page ${page} of ${total} with the overlay` })), boxes),
    h("figcaption", `Page ${page} of ${total}: ${n} placement${n === 1 ? "" : "s"} outlined (numbered as in fields)`));
}

// The base page picker of an overlay: "Page N of M" for each page.
function pagePicker(select, total, current) {
  replace(select, Array.from({ length: total }, (_, i) => h("option", { value: String(i + 1), selected: i + 1 === current }, `Page ${i + 1} of ${total}`)));
}

function editorField(id, label, value, help) {
  const control = h("textarea.code.editor", { id, rows: "22", wrap: "off", spellcheck: "false", autocomplete: "off", autocapitalize: "off", value,
    "aria-describedby": `${id}-help ${id}-errors` });
  const errors = h("ul.field-errors", { id: `${id}-errors`, hidden: true, "aria-live": "polite" });
  return { control, errors, el: h("div.field", h("label", { for: id }, label), h("p.help", { id: `${id}-help` }, help), control, errors) };
}

const pretty = (v) => JSON.stringify(v, null, 2);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Schema help under the layout editor: the schema's problems with the layout as typed, and
// buttons with the property names that fit at the cursor (a click inserts one).
function layoutAssist(field, schema, changed) {
  const hints = h("ul.schema-hints", { id: "ed-layout-schema", hidden: true, "aria-live": "polite", "aria-label": "Layout schema problems" });
  const list = h("ul.completions", { id: "ed-layout-completions", hidden: true, "aria-label": "Properties that fit here" });
  field.errors.after(hints, list);
  if (!schema) return { update() {}, cancel() {} };
  const showCompletions = () => {
    const c = field.control;
    const at = c.selectionStart === c.selectionEnd ? completionsAt(schema, c.value, c.selectionStart) : null;
    list.hidden = !at;
    if (!at) return replace(list);
    replace(list, at.names.slice(0, 40).map((name) => h("li", h("button.secondary.small.chip", { type: "button", onclick: () => {
      const insert = at.quoted ? `${name}": ` : `"${name}": `;
      c.value = c.value.slice(0, at.start) + insert + c.value.slice(at.end);
      const pos = at.start + insert.length;
      c.focus();
      c.setSelectionRange(pos, pos);
      list.hidden = true;
      check();
      changed();
    } }, name))));
  };
  const check = () => {
    let problems = [];
    try {
      const v = JSON.parse(field.control.value);
      problems = isOverlay(v) ? [] : checkLayout(schema, v); // the schema is the layout language's
    } catch {
      /* not JSON yet: the editor's own message says so */
    }
    replace(hints, problems.map((p) => h("li", h("code", p.path.replace(/^layout\.?/, "") || "layout"), ": ", p.message)));
    hints.hidden = problems.length === 0;
  };
  const later = debounce(() => { check(); showCompletions(); }, 250);
  const moved = debounce(showCompletions, 150);
  for (const ev of ["click", "keyup"]) field.control.addEventListener(ev, moved);
  check();
  return { update: later, cancel: () => { later.cancel(); moved.cancel(); } };
}

export async function editorView(main, ctx, [slug]) {
  const t = await get(`/v1/templates/${seg(slug)}`, { signal: ctx.signal });
  const pageConfig = t.pageConfig;
  let stored = { layout: t.layout, manifest: t.manifest }; // what previewVersion holds
  let previewVersion = t.published ? t.currentVersionNumber : t.latestVersionNumber;
  let previewIsDraft = !t.published;
  let unsaved = false; // the preview shows edits that are not stored

  const layout = editorField("ed-layout", "Layout (JSON)", pretty(t.layout), "The template language of docs/templates.md; the buttons below it offer the properties that fit at the cursor (text styles such as align: \"justify\", lang and hyphenate: true, which breaks long words at syllables by the dictionary of the text's lang). The preview follows your changes; nothing is stored until you publish.");
  const manifest = editorField("ed-manifest", "Manifest (JSON)", pretty(t.manifest), "Variables and loops (docs/manifest.md). Publishing stores it with the layout.");
  const data = editorField("ed-data", "Sample data (JSON)", pretty(exampleData(t.manifest)), "Checked against the manifest and rendered on every change; nothing is stored.");
  const fill = h("button.secondary.small", { type: "button" }, "Fill from manifest");
  const publish = h("button", { type: "button" }, "Publish as a new version");
  const state = h("p.editor-state", { id: "editor-state", "aria-live": "polite" });
  const pages = h("div.preview-pages", { id: "preview-pages" });
  let overlayPage = 1;
  const pageSelect = h("select", { id: "overlay-page" });
  const overlayControls = h("div.field.overlay-controls", { hidden: true }, h("label", { for: "overlay-page" }, "Base page"), pageSelect);
  const previewMsg = h("div.preview-msg", { id: "preview-msg", role: "status" });
  const previewBox = h("section.card.preview", { "aria-labelledby": "preview-title", "aria-busy": "false" },
    h("h2", { id: "preview-title" }, "Preview"), overlayControls, previewMsg, pages);

  const describeVersion = () => unsaved
    ? replace(state, "Previewing your unsaved changes to version ", badge(`v${previewVersion}`, "draft"), " (not published)")
    : replace(state,
      "Previewing version ", badge(`v${previewVersion}`, previewIsDraft ? "draft" : "published"), previewIsDraft ? " (draft)" : " (published)");

  replace(main,
    h("div.page-head",
      h("div", h("p.crumbs", h("a", { href: "#/templates" }, "Templates"), " / ", h("a", { href: `#/templates/${seg(t.slug)}` }, t.slug)), h("h1", `Edit “${t.name}”`)),
      h("div.actions", publish, h("a.button.secondary", { href: `#/templates/${seg(t.slug)}` }, "Done"))),
    state,
    h("div.editor-grid",
      h("section.card", { "aria-label": "Layout and manifest" }, layout.el, h("details.manifest-editor", h("summary", "Manifest"), manifest.el)),
      h("section.card", { "aria-label": "Sample data" }, data.el, h("div.actions", fill)),
      previewBox));
  describeVersion();
  const schema = await loadLayoutSchema();
  const assist = layoutAssist(layout, schema, () => onVersionInput());
  ctx.onCleanup(assist.cancel);

  const urls = [];
  ctx.onCleanup(() => urls.forEach((u) => URL.revokeObjectURL(u)));
  let seq = 0;
  let inflight = null;
  ctx.onCleanup(() => inflight?.abort());

  const parse = (f) => {
    try {
      const v = JSON.parse(f.control.value);
      return { ok: true, v };
    } catch (e) {
      showFieldIssues(f, [h("li", "Not valid JSON: ", e.message)]);
      return { ok: false };
    }
  };

  // Shows the API's issues under the editors they belong to.
  const showIssues = (issues, where) => {
    const fe = issues?.fieldErrors || {};
    const on = (prefix) => (p) => p === prefix || p.startsWith(prefix + ".");
    if (where === "version") {
      showFieldIssues(layout, issuesList({ formErrors: issues?.formErrors, fieldErrors: fe }, { pick: (p) => on("layout")(p) || on("pageConfig")(p), strip: "layout." }));
      showFieldIssues(manifest, issuesList({ fieldErrors: fe }, { pick: on("manifest"), strip: "manifest." }));
      if (Object.keys(fe).some(on("manifest"))) layout.el.closest("section").querySelector("details").open = true;
    } else {
      showFieldIssues(data, issuesList(issues));
    }
  };

  // The preview request: the stored version, or the edited layout and manifest sent inline.
  const previewBody = (d, page, edited, overlay) => {
    const body = { data: d, options: { format: "png", page } };
    if (overlay) body.options.dpi = OVERLAY_DPI;
    if (edited) {
      body.layout = edited.layout;
      body.manifest = edited.manifest;
      if (pageConfig) body.pageConfig = pageConfig;
    } else {
      body.options.versionNumber = previewVersion;
    }
    return body;
  };

  async function renderPreview() {
    const d = parse(data);
    if (!d.ok) return;
    showFieldIssues(data, []);
    const l = parse(layout), m = parse(manifest);
    if (!l.ok || !m.ok) return;
    const edited = same(l.v, stored.layout) && same(m.v, stored.manifest) ? null : { layout: l.v, manifest: m.v };
    const my = ++seq;
    inflight?.abort();
    inflight = new AbortController();
    const signal = inflight.signal;
    previewBox.setAttribute("aria-busy", "true");
    const images = [];
    const overlay = isOverlay(l.v);
    try {
      let total = 1;
      const first = overlay ? overlayPage : 1;
      for (let page = first; page <= (overlay ? first : Math.min(total, MAX_PREVIEW_PAGES)); page++) {
        const res = await request("POST", `/v1/templates/${seg(t.slug)}/preview`, {
          body: previewBody(d.v, page, edited, overlay), binary: true, signal,
        });
        total = Number(res.headers.get("X-Craftkit-Pages")) || 1;
        images.push(res.blob);
      }
      if (my !== seq) return;
      overlayControls.hidden = !overlay;
      if (overlay) return showOverlayPage(images[0], total, l.v, !!edited);
      showFieldIssues(layout, []);
      showFieldIssues(manifest, []);
      unsaved = !!edited;
      describeVersion();
      urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
      replace(pages, images.map((blob, i) => {
        const u = URL.createObjectURL(blob);
        urls.push(u);
        return h("figure.page",
          h("a", { href: u, target: "_blank", rel: "noopener", title: "Open this page at full size" }, h("img", { src: u, alt: `Preview of page ${i + 1} of ${total}` })),
          h("figcaption", `Page ${i + 1} of ${total}`));
      }));
      pages.classList.remove("stale");
      replace(previewMsg, total > MAX_PREVIEW_PAGES ? `Showing the first ${MAX_PREVIEW_PAGES} of ${total} pages.` : "");
    } catch (e) {
      if (e.name === "AbortError" || my !== seq) return;
      pages.classList.add("stale");
      if (e.code === "invalid_input_data") {
        showIssues(e.issues, "data");
        replace(previewMsg, h("p.error", "The sample data does not match the manifest; see the problems under the sample data."));
      } else if (edited && (e.code === "invalid_request" || e.code === "invalid_loop_key")) {
        showIssues(e.issues, "version");
        if (!e.issues) showFieldIssues(layout, [h("li", e.message)]);
        replace(previewMsg, h("p.error", "The layout or manifest has problems; see them under the editor."));
      } else {
        replace(previewMsg, h("p.error", e.code === "render_failed" ? "The preview could not be rendered: " : "The preview failed: ", e.message));
      }
    } finally {
      if (my === seq) previewBox.setAttribute("aria-busy", "false");
    }
  }

  // An overlay's one page, outlined, and the picker set to it.
  async function showOverlayPage(blob, total, layoutValue, edited) {
    showFieldIssues(layout, []);
    showFieldIssues(manifest, []);
    unsaved = edited;
    describeVersion();
    urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
    const u = URL.createObjectURL(blob);
    urls.push(u);
    pagePicker(pageSelect, total, overlayPage);
    replace(pages, await overlayFigure(blob, u, overlayPage, total, layoutValue));
    pages.classList.remove("stale");
    replace(previewMsg, "");
  }

  // Stores the edited layout + manifest as a new published version.
  async function storeVersion(publishIt) {
    const l = parse(layout), m = parse(manifest);
    if (!l.ok || !m.ok) return false;
    showFieldIssues(layout, []);
    showFieldIssues(manifest, []);
    const body = { manifest: m.v, layout: l.v, publish: publishIt };
    if (pageConfig) body.pageConfig = pageConfig;
    try {
      const res = await put(`/v1/templates/${seg(t.slug)}`, body, { signal: ctx.signal });
      stored = { layout: l.v, manifest: m.v };
      previewVersion = publishIt ? res.currentVersionNumber : res.latestVersionNumber;
      previewIsDraft = !publishIt;
      unsaved = false;
      describeVersion();
      return true;
    } catch (e) {
      if (e.name === "AbortError") return false;
      showIssues(e.issues, "version");
      if (!e.issues) showFieldIssues(layout, [h("li", e.message)]);
      replace(state, h("span.error", publishIt ? "Not published: " : "The layout was not stored: ", e.message));
      return false;
    }
  }

  const onDataInput = debounce(renderPreview, 400);
  const onVersionInput = debounce(() => {
    const l = parse(layout), m = parse(manifest);
    if (!l.ok || !m.ok) return;
    showFieldIssues(layout, []);
    showFieldIssues(manifest, []);
    renderPreview();
  }, 700);
  ctx.onCleanup(() => { onDataInput.cancel(); onVersionInput.cancel(); });
  layout.control.addEventListener("input", assist.update);

  data.control.addEventListener("input", onDataInput);
  pageSelect.addEventListener("change", () => {
    overlayPage = Number(pageSelect.value) || 1;
    renderPreview();
  });
  layout.control.addEventListener("input", onVersionInput);
  manifest.control.addEventListener("input", onVersionInput);
  fill.addEventListener("click", () => {
    const m = parse(manifest);
    if (!m.ok) return;
    data.control.value = pretty(exampleData(m.v));
    renderPreview();
  });
  publish.addEventListener("click", async () => {
    onVersionInput.cancel();
    publish.disabled = true;
    try {
      if (await storeVersion(true)) {
        announce(`Published version ${previewVersion} of “${t.name}”`);
        renderPreview();
      }
    } finally {
      publish.disabled = false;
    }
  });

  await renderPreview();
}
