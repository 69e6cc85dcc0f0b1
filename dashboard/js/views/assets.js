// Assets: the project's brand fonts, images and base PDFs (docs/api.md, "Brand assets"): the
// list (GET /v1/assets, newest first, keyset paging) with what the server read from each file
// (a font's family, style, weight, width and glyph count; an image's size in px, with a
// thumbnail; a PDF's pages and page size), upload (POST /v1/assets as multipart/form-data with
// an optional name) and delete (DELETE /v1/assets/:id). A delete refused with 409 asset_in_use
// lists the published versions that use the asset and offers to delete it anyway (?force=true).
import { del, get, post, query, request, seg } from "../api.js";
import { announce, badge, formatBytes, formatDate, h, replace, section, table } from "../dom.js";

const PAGE_SIZE = 20;
const ACCEPT = ".ttf,.otf,.woff,.woff2,.png,.jpg,.jpeg,.svg,.pdf,font/ttf,font/otf,font/woff,font/woff2,image/png,image/jpeg,image/svg+xml,application/pdf";

// What the server read from the file, in words.
function details(a) {
  if (a.font) {
    const f = a.font;
    return [h("span.family", f.family), ` · ${f.style || "Regular"} · weight ${f.weight}`,
      f.stretch && f.stretch !== "normal" ? ` · ${f.stretch}` : "", ` · ${f.glyphs} glyphs`];
  }
  if (a.image) return `${a.image.width} × ${a.image.height} px`;
  if (a.pdf) {
    const p = a.pdf;
    return `${p.pages} page${p.pages === 1 ? "" : "s"} · ${Math.round(p.width)} × ${Math.round(p.height)} pt` +
      (p.formFields ? ` · ${p.formFields} form field${p.formFields === 1 ? "" : "s"}` : "");
  }
  return "—";
}

// How a layout refers to it: an image by "asset:NAME", a font by its family.
function usage(a) {
  if (a.kind === "font") return h("code", `"font": ${JSON.stringify(a.font?.family || a.name)}`);
  if (a.kind === "image") return h("code", `"src": "asset:${a.name}"`);
  return "base PDF of a pdf-overlay template";
}

// An image asset's thumbnail: its bytes fetched with the key (an <img> could not send it) and
// shown from a blob: URL, released when the view goes.
function thumbnail(a, ctx) {
  if (a.kind !== "image") return null;
  const box = h("span.thumb");
  get(`/v1/assets/${seg(a.id)}/content`, { signal: ctx.signal, binary: true }).then(({ blob }) => {
    if (!ctx.alive) return;
    const url = URL.createObjectURL(blob);
    ctx.onCleanup(() => URL.revokeObjectURL(url));
    replace(box, h("img", { src: url, alt: `${a.name} (preview)`, loading: "lazy" }));
  }).catch(() => { /* the row still says everything; the preview is a bonus */ });
  return box;
}

// The refusal of a delete while published versions use the asset, with a way to go on.
function inUseCallout(a, err, forceDelete) {
  const users = err.issues?.fieldErrors?.usedBy || [];
  const anyway = h("button.danger.small", { type: "button", id: "asset-force-delete" }, "Delete anyway");
  anyway.addEventListener("click", () => {
    if (!confirm(`Delete ${a.name} anyway? The versions listed keep naming it and will fail to render.`)) return;
    forceDelete();
  });
  const keep = h("button.secondary.small", { type: "button" }, "Keep it");
  const box = h("div.callout", { role: "alert", id: "asset-in-use" },
    h("h2", `${a.name} is in use`),
    h("p", "Published template versions render with this asset:"),
    h("ul", users.map((u) => h("li", h("a", { href: `#/templates/${seg(u.template)}` }, u.template), ` version ${u.version}`))),
    h("p", "Deleting it anyway makes those versions fail to render until a new version stops using it."),
    h("div.actions", anyway, keep));
  keep.addEventListener("click", () => box.remove());
  return box;
}

function uploadForm(ctx, uploaded) {
  const file = h("input", { type: "file", id: "asset-file", accept: ACCEPT, required: true, "aria-describedby": "asset-file-help" });
  const name = h("input", { type: "text", id: "asset-name", maxlength: "120", autocomplete: "off", "aria-describedby": "asset-name-help" });
  const formError = h("div.error", { role: "alert", hidden: true, id: "asset-upload-error" });
  const submit = h("button", { type: "submit" }, "Upload");
  const form = h("form.card", { novalidate: true, "aria-labelledby": "asset-new" },
    h("h2", { id: "asset-new" }, "Upload an asset"),
    h("div.field", h("label", { for: "asset-file" }, "File"), file,
      h("p.help", { id: "asset-file-help" }, "A font (TrueType, OpenType, WOFF, WOFF2; up to 20 MiB by default), an image (PNG, JPEG, SVG; up to 10 MiB) or a PDF. The server reads the format from the bytes.")),
    h("div.field", h("label", { for: "asset-name" }, "Name (optional)"), name,
      h("p.help", { id: "asset-name-help" }, "Letters, digits, dots, dashes, underscores and blanks; the file's name when empty. Uploading other bytes under a taken name makes a new asset that takes the name; published versions keep the old bytes.")),
    formError,
    h("div.actions", submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    formError.hidden = true;
    if (!file.files?.length) {
      replace(formError, "Choose a file to upload.");
      formError.hidden = false;
      return;
    }
    const body = new FormData();
    if (name.value.trim()) body.append("name", name.value.trim());
    body.append("file", file.files[0]);
    submit.disabled = true;
    try {
      const asset = await post("/v1/assets", body, { signal: ctx.signal });
      form.reset();
      uploaded(asset);
    } catch (err) {
      if (err.name === "AbortError") return;
      replace(formError, err.message, err.code ? [" ", h("code", err.code)] : null);
      formError.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function assetsView(main, ctx, _params, q) {
  const cursor = q.get("cursor") || "";
  const body = h("tbody");
  const empty = h("p.empty", { hidden: true }, "No assets yet. Upload a font or an image to use it in layouts.");
  const pager = h("nav.pager", { "aria-label": "Pages of assets" });
  const notice = h("div");
  let tableBox;

  const load = async () => {
    const page = await get("/v1/assets" + query({ limit: PAGE_SIZE, cursor }), { signal: ctx.signal });
    replace(body, page.assets.map(row));
    empty.hidden = page.assets.length > 0;
    tableBox.hidden = page.assets.length === 0;
    replace(pager,
      cursor ? h("a.button.secondary", { href: "#/assets" }, "← Newest") : null,
      page.hasMore ? h("a.button.secondary", { href: "#/assets" + query({ cursor: page.nextCursor }), rel: "next" }, "Older →") : null);
    return page;
  };
  const remove = async (a, force) => {
    try {
      await del(`/v1/assets/${seg(a.id)}` + (force ? "?force=true" : ""), { signal: ctx.signal });
      replace(notice);
      announce(`${a.name} deleted`);
      await load();
    } catch (e) {
      if (e.name === "AbortError") return;
      if (e.status === 409 && e.code === "asset_in_use") {
        replace(notice, inUseCallout(a, e, () => remove(a, true)));
        notice.querySelector("button")?.focus();
      } else {
        announce(`Not deleted: ${e.message}`, "error");
      }
    }
  };
  function row(a) {
    const deleteButton = h("button.danger.small", { type: "button", "aria-label": `Delete ${a.name}` }, "Delete");
    deleteButton.addEventListener("click", () => {
      if (!confirm(`Delete ${a.name}? Layouts that name it can no longer be saved.`)) return;
      remove(a, false);
    });
    const download = h("button.secondary.small", { type: "button", "aria-label": `Download ${a.name}` }, "Download");
    download.addEventListener("click", async () => {
      try {
        const { blob } = await request("GET", `/v1/assets/${seg(a.id)}/content`, { signal: ctx.signal, binary: true });
        const url = URL.createObjectURL(blob);
        const link = h("a", { href: url, download: a.name });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (e) {
        if (e.name !== "AbortError") announce(`Not downloaded: ${e.message}`, "error");
      }
    });
    return h("tr", { "data-asset-id": a.id },
      h("th", { scope: "row" }, thumbnail(a, ctx), h("span.asset-name", a.name)),
      h("td", badge(a.kind, "draft")),
      h("td.asset-details", details(a)),
      h("td", usage(a)),
      h("td", formatBytes(a.bytes)),
      h("td", h("code", { title: a.sha256 }, a.sha256.slice(0, 12) + "…")),
      h("td", formatDate(a.createdAt)),
      h("td.row-actions", download, deleteButton));
  }

  const form = uploadForm(ctx, async (asset) => {
    announce(`${asset.name} uploaded`);
    if (cursor) location.hash = "#/assets";
    else await load().catch((e) => e.name !== "AbortError" && announce(e.message, "error"));
  });
  replace(main,
    h("div.page-head", h("h1", "Assets")),
    h("p.lead", "Your project's own fonts and images for layouts — a font by its family name, an image as asset:NAME — and the base PDFs of pdf-overlay templates. Other projects never see them."),
    notice,
    section("Uploaded",
      (tableBox = table("Assets, newest first", ["Name", "Kind", "Read from the file", "In a layout", "Size", "SHA-256", "Uploaded", "Actions"], body)),
      empty,
      pager),
    form);
  await load();
}
