// listpage — the moving parts of a list page that follows one API list (renders, batches):
// the table body, the empty state, the pager (*← Newest* / *Older →*) and the "Updated …"
// line, with draw(page) to show a page (nothing is redrawn when the page did not change, so a
// periodic refresh does not disturb the reader) and load() to fetch and show it again.
import { get } from "./api.js";
import { h, replace } from "./dom.js";

// opts: key (the list's property in the answer, e.g. "renders"), row (item → <tr>), url (the
// API path with its query), newest (href of the first page, or null when this is it), older
// (nextCursor → href), emptyText, pagerLabel, ctx (the view's context: its signal ends fetches).
// Every draw says when the list was last fetched, also when nothing on it changed.
export function listPage({ key, row, url, newest, older, emptyText, pagerLabel, ctx }) {
  const body = h("tbody");
  const empty = h("p.empty", { hidden: true }, emptyText);
  const pager = h("nav.pager", { "aria-label": pagerLabel });
  const refreshed = h("p.muted.small", { "aria-live": "off" });
  let last = "";
  const draw = (page) => {
    refreshed.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    const text = JSON.stringify(page);
    if (text === last) return;
    last = text;
    replace(body, page[key].map(row));
    empty.hidden = page[key].length > 0;
    body.closest(".table-wrap").hidden = page[key].length === 0;
    replace(pager,
      newest ? h("a.button.secondary", { href: newest }, "← Newest") : null,
      page.hasMore ? h("a.button.secondary", { href: older(page.nextCursor), rel: "next" }, "Older →") : null);
  };
  const load = async () => {
    try {
      draw(await get(url, { signal: ctx.signal }));
    } catch (e) {
      if (e.name !== "AbortError") refreshed.textContent = `Could not refresh: ${e.message}`;
    }
  };
  return { body, empty, pager, refreshed, draw, load, url };
}
