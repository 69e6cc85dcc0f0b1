// Partials: the project's library of partials (docs/api.md, "Partials"), read-only: the list
// (GET /v1/partials, newest first, keyset paging) with each partial's description, how a
// layout uses it and when it was last replaced; *Show blocks* fetches the partial
// (GET /v1/partials/:name) and shows its JSON. Partials are saved with PUT /v1/partials/:name.
import { get, query, seg } from "../api.js";
import { formatDate, h, replace, table } from "../dom.js";
import { listPage } from "../listpage.js";

const PAGE_SIZE = 20;

function partialRow(p, ctx) {
  const blocks = h("pre.code", { hidden: true, id: `partial-json-${p.name}` });
  const show = h("button.secondary.small", { type: "button", "aria-expanded": "false", "aria-controls": blocks.id }, "Show blocks");
  show.addEventListener("click", async () => {
    const open = show.getAttribute("aria-expanded") === "true";
    if (!open && !blocks.textContent) {
      try {
        const full = await get(`/v1/partials/${seg(p.name)}`, { signal: ctx.signal });
        blocks.textContent = JSON.stringify(full.partial, null, 2);
      } catch (e) {
        if (e.name !== "AbortError") blocks.textContent = `Could not load it: ${e.message}`;
      }
    }
    blocks.hidden = open;
    show.setAttribute("aria-expanded", String(!open));
    show.textContent = open ? "Show blocks" : "Hide blocks";
  });
  return h("tr", { "data-partial": p.name },
    h("th", { scope: "row" }, h("code", p.name)),
    h("td", p.description || "—"),
    h("td", h("code", `{"type": "partial", "name": ${JSON.stringify(p.name)}}`)),
    h("td", formatDate(p.updatedAt)),
    h("td", show, blocks));
}

export async function partialsView(main, ctx, _params, q) {
  const cursor = q.get("cursor") || "";
  const list = listPage({
    key: "partials", row: (p) => partialRow(p, ctx), ctx,
    url: "/v1/partials" + query({ limit: PAGE_SIZE, cursor }),
    newest: cursor ? "#/partials" : null,
    older: (next) => "#/partials" + query({ cursor: next }),
    emptyText: "No partials yet. Save one with PUT /v1/partials/:name to use it in every template's layout.",
    pagerLabel: "Pages of partials",
  });
  const first = await get(list.url, { signal: ctx.signal });
  replace(main,
    h("div.page-head", h("h1", "Partials")),
    h("p.lead", "Blocks every template of this project can use by name, such as a company letterhead. A template version keeps the partials it uses as they were when it was saved: replacing one here changes versions saved afterwards."),
    h("div.card",
      table("Partials, newest first", ["Name", "Description", "In a layout", "Updated", "Blocks"], list.body),
      list.empty,
      list.pager));
  list.draw(first);
}
