// Batches: the list (GET /v1/batches, keyset paging, newest first, refreshed every few seconds
// on the first page) with a progress bar per batch, and one batch (GET /v1/batches/:id, polled
// until it has settled) with its counts, the merged file's download, Cancel while it is open
// (POST /v1/batches/:id/cancel) and a link to its items (the renders list filtered by batch).
import { get, post, query, seg } from "../api.js";
import { announce, badge, formatBytes, formatDate, h, replace, section, table } from "../dom.js";
import { listPage } from "../listpage.js";

const PAGE_SIZE = 20;
const REFRESH_MS = 3000;
const OPEN = ["queued", "rendering", "merging"];

const shortId = (id) => id.slice(0, 8) + "…" + id.slice(-4);

// Items that are terminal: what the bar fills with.
function done(b) {
  return (b.succeeded || 0) + (b.failed || 0) + (b.cancelled || 0);
}

// A <progress> with its numbers as text beside it (the bar alone says nothing to a screen
// reader that reads the text).
function progress(b, id) {
  const label = `${done(b)} of ${b.total} done`;
  return h("span.progress",
    h("progress", { max: Math.max(b.total, 1), value: done(b), "aria-label": `Batch progress: ${label}`, id }),
    " ", h("span.muted.small", label));
}

function batchRow(b) {
  return h("tr",
    h("th", { scope: "row" }, h("a", { href: `#/batches/${seg(b.id)}`, title: b.id }, h("code", shortId(b.id)))),
    h("td", badge(b.status, b.status), b.test ? [" ", badge("test")] : null),
    h("td", b.templateSlug ? h("a", { href: `#/templates/${seg(b.templateSlug)}` }, b.templateSlug) : "—", b.versionNumber ? ` v${b.versionNumber}` : ""),
    h("td", progress(b)),
    h("td", b.failed ? String(b.failed) : "0"),
    h("td", b.merge && b.merge !== "none" ? b.merge.toUpperCase() : "—"),
    h("td", formatDate(b.createdAt)));
}

export async function batchesView(main, ctx, _params, q) {
  const cursor = q.get("cursor") || "";
  const list = listPage({
    key: "batches", row: batchRow, ctx,
    url: "/v1/batches" + query({ limit: PAGE_SIZE, cursor }),
    newest: cursor ? "#/batches" : null,
    older: (next) => "#/batches" + query({ cursor: next }),
    emptyText: "No batches yet. Start one with POST /v1/templates/:slug/batches.",
    pagerLabel: "Pages of batches",
  });
  const refresh = h("button.secondary.small", { type: "button" }, "Refresh");
  refresh.addEventListener("click", list.load);
  const first = await get(list.url, { signal: ctx.signal });
  replace(main,
    h("div.page-head", h("h1", "Batches"), h("div.actions", refresh)),
    h("div.card",
      list.refreshed,
      table("Batches, newest first", ["Batch", "Status", "Template", "Progress", "Failed", "Merge", "Created"], list.body),
      list.empty,
      list.pager));
  list.draw(first);
  if (!cursor) ctx.every(REFRESH_MS, () => { if (!document.hidden) list.load(); });
}

export async function batchView(main, ctx, [id]) {
  const box = h("div");
  let b;
  const cancelButton = () => {
    const btn = h("button.secondary", { type: "button", id: "cancel-batch" }, "Cancel batch");
    btn.addEventListener("click", async () => {
      if (!confirm("Cancel this batch? Items not started yet are cancelled; items rendering finish.")) return;
      try {
        b = await post(`/v1/batches/${seg(id)}/cancel`, undefined, { signal: ctx.signal });
        announce("Batch cancelled");
        draw(b);
      } catch (e) {
        if (e.name !== "AbortError") announce(`The batch could not be cancelled: ${e.message}`, "error");
      }
    });
    return btn;
  };
  const draw = (b) => replace(box,
    h("div.page-head",
      h("div", h("p.crumbs", h("a", { href: "#/batches" }, "Batches"), " / ", h("code", b.id)), h("h1", "Batch ", badge(b.status, b.status))),
      h("div.actions",
        b.downloadUrl ? h("a.button", { href: b.downloadUrl, download: b.filename || "", id: "download-merged" }, `Download ${b.merge === "zip" ? "ZIP" : "PDF"}`) : null,
        h("a.button.secondary", { href: "#/renders" + query({ batch: b.id }), id: "batch-items" }, "Items"),
        OPEN.includes(b.status) && !b.cancelledAt ? cancelButton() : null)),
    b.mergeError ? h("div.card.error", { role: "alert", id: "merge-error" }, h("h2", "No merged file"), h("p", b.mergeError)) : null,
    b.expiredAt ? h("div.card", { id: "merge-expired" }, h("p", `The merged file expired ${formatDate(b.expiredAt)} under the retention policy and is no longer stored.`)) : null,
    section("Progress",
      h("p", progress(b, "batch-progress")),
      h("dl.props",
        h("dt", "Items"), h("dd", String(b.total)),
        h("dt", "Queued"), h("dd", String(b.queued ?? 0)),
        h("dt", "Rendering"), h("dd", String(b.rendering ?? 0)),
        h("dt", "Succeeded"), h("dd", String(b.succeeded ?? 0)),
        h("dt", "Failed"), h("dd", String(b.failed ?? 0)),
        h("dt", "Cancelled"), h("dd", String(b.cancelled ?? 0)),
        h("dt", "Skipped (invalid)"), h("dd", String(b.skipped ?? 0)))),
    section("Details",
      h("dl.props",
        h("dt", "Id"), h("dd", h("code", b.id)),
        h("dt", "Template"), h("dd", b.templateSlug ? h("a", { href: `#/templates/${seg(b.templateSlug)}` }, b.templateSlug) : "—", b.versionNumber ? ` version ${b.versionNumber}` : ""),
        h("dt", "Key"), h("dd", b.test ? "test (watermarked)" : "live"),
        h("dt", "Merge"), h("dd", b.merge && b.merge !== "none" ? b.merge.toUpperCase() : "none"),
        h("dt", "File"), h("dd", b.filename || "—"),
        h("dt", "Size"), h("dd", formatBytes(b.mergeBytes)),
        h("dt", "Pages"), h("dd", b.mergePages ?? "—"),
        h("dt", "Idempotency key"), h("dd", b.idempotencyKey ? h("code", b.idempotencyKey) : "—"),
        h("dt", "Created"), h("dd", formatDate(b.createdAt)),
        h("dt", "Completed"), h("dd", formatDate(b.completedAt)),
        b.cancelledAt ? [h("dt", "Cancel asked"), h("dd", formatDate(b.cancelledAt))] : null,
        b.expiredAt ? [h("dt", "Merged file expired"), h("dd", formatDate(b.expiredAt))] : null)));
  b = await get(`/v1/batches/${seg(id)}`, { signal: ctx.signal });
  replace(main, box);
  draw(b);
  ctx.every(1500, async () => {
    if (b.completedAt || document.hidden) return;
    try {
      const next = await get(`/v1/batches/${seg(id)}`, { signal: ctx.signal });
      if (JSON.stringify(next) !== JSON.stringify(b)) {
        b = next;
        draw(b);
      }
    } catch {
      /* shown on the next successful poll */
    }
  });
}
