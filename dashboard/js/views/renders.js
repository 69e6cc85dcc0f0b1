// Renders: the list (GET /v1/renders with status/template filters and keyset paging, newest
// first, refreshed every few seconds on the first page; ?batch= shows one batch's items) and one render (GET /v1/renders/:id,
// polled until it is terminal) with its download link, error message, Cancel (while queued,
// POST /v1/renders/:id/cancel) and Delete (once terminal, DELETE /v1/renders/:id). Deleted and
// expired renders (tombstones: file and data gone) are marked as such.
import { del, get, post, query, seg } from "../api.js";
import { announce, badge, formatBytes, formatDate, formatDuration, h, navigate, replace, section, table } from "../dom.js";
import { listPage } from "../listpage.js";

const STATUSES = ["queued", "rendering", "succeeded", "failed", "cancelled"];
const PAGE_SIZE = 20;
const REFRESH_MS = 3000;

function statusBadge(status) {
  return badge(status, status);
}

// "deleted" / "expired" next to the status of a render whose file and data are gone.
function goneBadge(r) {
  if (r.deletedAt) return [" ", badge("deleted", "gone")];
  if (r.expiredAt) return [" ", badge("expired", "gone")];
  return null;
}

function renderRow(r) {
  return h("tr",
    h("th", { scope: "row" }, h("a", { href: `#/renders/${seg(r.id)}`, title: r.id }, h("code", r.id.slice(0, 8) + "…" + r.id.slice(-4)))),
    h("td", statusBadge(r.status), goneBadge(r), r.test ? [" ", badge("test")] : null),
    h("td", r.templateSlug ? h("a", { href: `#/templates/${seg(r.templateSlug)}` }, r.templateSlug) : "—", r.versionNumber ? ` v${r.versionNumber}` : ""),
    h("td", formatDuration(r.durationMs)),
    h("td", r.pages ?? "—"),
    h("td", formatDate(r.createdAt)),
    h("td", r.source || "api"));
}

export async function rendersView(main, ctx, _params, q) {
  const filters = { status: q.get("status") || "", template: q.get("template") || "", batch: q.get("batch") || "", cursor: q.get("cursor") || "" };
  const [{ templates }, first] = await Promise.all([
    get("/v1/templates", { signal: ctx.signal }),
    get("/v1/renders" + query({ limit: PAGE_SIZE, ...filters }), { signal: ctx.signal }),
  ]);

  const status = h("select", { id: "filter-status" }, h("option", { value: "" }, "Any status"), STATUSES.map((s) => h("option", { value: s }, s)));
  status.value = filters.status;
  const template = h("select", { id: "filter-template" }, h("option", { value: "" }, "Any template"), templates.map((t) => h("option", { value: t.slug }, `${t.name} (${t.slug})`)));
  if (filters.template && !templates.some((t) => t.slug === filters.template)) template.append(h("option", { value: filters.template }, filters.template));
  template.value = filters.template;
  const apply = () => navigate("#/renders" + query({ status: status.value, template: template.value, batch: filters.batch }));
  status.addEventListener("change", apply);
  template.addEventListener("change", apply);

  const list = listPage({
    key: "renders", row: renderRow, ctx,
    url: "/v1/renders" + query({ limit: PAGE_SIZE, ...filters }),
    newest: filters.cursor ? "#/renders" + query({ status: filters.status, template: filters.template, batch: filters.batch }) : null,
    older: (next) => "#/renders" + query({ ...filters, cursor: next }),
    emptyText: "No renders match.",
    pagerLabel: "Pages of renders",
  });
  const refresh = h("button.secondary.small", { type: "button" }, "Refresh");
  refresh.addEventListener("click", list.load);

  replace(main,
    h("div.page-head",
      h("div",
        filters.batch ? h("p.crumbs", h("a", { href: "#/batches" }, "Batches"), " / ", h("a", { href: `#/batches/${seg(filters.batch)}` }, h("code", filters.batch))) : null,
        h("h1", filters.batch ? "Renders of a batch" : "Renders")),
      h("div.actions", refresh)),
    h("div.card",
      h("form.toolbar.filters", { role: "search", "aria-label": "Filter renders", onsubmit: (e) => { e.preventDefault(); apply(); } },
        h("div.field", h("label", { for: "filter-status" }, "Status"), status),
        h("div.field", h("label", { for: "filter-template" }, "Template"), template)),
      list.refreshed,
      table("Renders, newest first", ["Render", "Status", "Template", "Duration", "Pages", "Created", "Source"], list.body),
      list.empty,
      list.pager));
  list.draw(first);
  // New renders arrive at the top: keep the first page fresh while it is on screen.
  if (!filters.cursor) ctx.every(REFRESH_MS, () => { if (!document.hidden) list.load(); });
}

export async function renderView(main, ctx, [id]) {
  const box = h("div");
  let r;
  const act = async (method, what, done) => {
    try {
      r = method === "POST" ? await post(`/v1/renders/${seg(id)}/cancel`, undefined, { signal: ctx.signal })
        : await del(`/v1/renders/${seg(id)}`, { signal: ctx.signal });
      announce(done);
      draw(r);
    } catch (e) {
      if (e.name !== "AbortError") announce(`The render could not be ${what}: ${e.message}`, "error");
    }
  };
  const cancelButton = () => {
    const b = h("button.secondary", { type: "button", id: "cancel-render" }, "Cancel render");
    b.addEventListener("click", () => act("POST", "cancelled", "Render cancelled"));
    return b;
  };
  const deleteButton = () => {
    const b = h("button.danger", { type: "button", id: "delete-render" }, "Delete");
    b.addEventListener("click", () => {
      if (!confirm("Delete this render's file and data? The render stays listed as deleted.")) return;
      act("DELETE", "deleted", "Render deleted");
    });
    return b;
  };
  const terminal = (s) => s === "succeeded" || s === "failed" || s === "cancelled";
  const gone = (r) => r.deletedAt || r.expiredAt;
  const draw = (r) => replace(box,
    h("div.page-head",
      h("div", h("p.crumbs", h("a", { href: "#/renders" }, "Renders"), " / ", h("code", r.id)), h("h1", "Render ", statusBadge(r.status), goneBadge(r))),
      h("div.actions",
        r.status === "succeeded" && r.downloadUrl
          ? h("a.button", { href: r.downloadUrl, download: r.filename || "", id: "download" }, "Download PDF")
          : null,
        r.status === "queued" ? cancelButton() : null,
        terminal(r.status) && !gone(r) ? deleteButton() : null)),
    gone(r)
      ? h("div.card", { id: "render-gone" }, h("p", r.deletedAt
        ? `Deleted ${formatDate(r.deletedAt)}: its file and data are no longer stored.`
        : `Expired ${formatDate(r.expiredAt)} under the retention policy: its file and data are no longer stored.`))
      : null,
    r.status === "failed" || r.lastError
      ? h("div.card.error", { role: r.status === "failed" ? "alert" : null, id: "render-error" }, h("h2", r.status === "failed" ? "Why it failed" : "Last attempt failed (retrying)"), h("p", (r.status === "failed" ? r.errorMessage : r.lastError) || "No message."))
      : null,
    section("Details",
      h("dl.props",
        h("dt", "Id"), h("dd", h("code", r.id)),
        h("dt", "Status"), h("dd", r.status),
        h("dt", "Template"), h("dd", r.templateSlug ? h("a", { href: `#/templates/${seg(r.templateSlug)}` }, r.templateSlug) : "—", r.versionNumber ? ` version ${r.versionNumber}` : ""),
        h("dt", "Key"), h("dd", r.test ? "test (watermarked)" : "live"),
        h("dt", "Source"), h("dd", r.source || "api"),
        h("dt", "Idempotency key"), h("dd", r.idempotencyKey ? h("code", r.idempotencyKey) : "—"),
        h("dt", "File"), h("dd", r.filename || "—"),
        h("dt", "Pages"), h("dd", r.pages ?? "—"),
        h("dt", "Size"), h("dd", formatBytes(r.bytes)),
        h("dt", "SHA-256"), h("dd", r.sha256 ? h("code.wrap", r.sha256) : "—"),
        h("dt", "Attempts"), h("dd", r.attempts ?? "—"),
        h("dt", "Created"), h("dd", formatDate(r.createdAt)),
        h("dt", "Started"), h("dd", formatDate(r.startedAt)),
        h("dt", "Completed"), h("dd", formatDate(r.completedAt)),
        h("dt", "Duration"), h("dd", formatDuration(r.durationMs)),
        r.deletedAt ? [h("dt", "Deleted"), h("dd", formatDate(r.deletedAt))] : null,
        r.expiredAt ? [h("dt", "Expired"), h("dd", formatDate(r.expiredAt))] : null)));
  r = await get(`/v1/renders/${seg(id)}`, { signal: ctx.signal });
  replace(main, box);
  draw(r);
  if (r.status === "queued" || r.status === "rendering") {
    ctx.every(1500, async () => {
      if (r.status !== "queued" && r.status !== "rendering") return;
      try {
        const next = await get(`/v1/renders/${seg(id)}`, { signal: ctx.signal });
        if (next.status !== r.status || next.lastError !== r.lastError) {
          r = next;
          draw(r);
        }
      } catch {
        /* shown on the next successful poll */
      }
    });
  }
}
