/*
 * refs — the render's side of anchors and {{pageOf("name")}}: place records the page each
 * anchored block lands on; a body that shows page numbers is laid out again until the numbers
 * it shows are the pages it produced (engine.c, at most ENGINE_LAYOUT_PASSES_MAX layouts).
 *
 * Threads: one render_t, the render's thread.
 * Memory: the anchor maps are json objects owned by the render_t (refs_free).
 */
#include "engine/layout.h"

int refs_page_of(void *arg, const char *name, const char *what)
{
    render_t *r = arg;
    if (!name || !*name) {
        render_fail(r, "%.120s: the value is not the name of an anchor (text)", what);
        return 0;
    }
    if (r->refs_measure)
        return 100; /* as wide as {{page}} is measured */
    if (!r->anchor_pages)
        return 1; /* the first layout: a guess, corrected by the next */
    json_t *v = json_object_get(r->anchor_pages, name);
    if (!v) {
        render_fail(r, "%.120s: no block in this document has the anchor \"%.100s\"", what, name);
        return 0;
    }
    return (int)json_integer_value(v);
}

int refs_note(render_t *r, pbox_t *pb, int page)
{
    if (pb->anchor_noted)
        return 0;
    pb->anchor_noted = true;
    if (!r->anchors_found && !(r->anchors_found = json_object()))
        return render_fail(r, "out of memory");
    if (json_object_get(r->anchors_found, pb->anchor))
        return render_fail(r,
                           "two blocks have the anchor \"%.100s\" (the second at %s): anchors must be unique",
                           pb->anchor, pb->node ? pb->node->path : "?");
    if (json_object_set_new(r->anchors_found, pb->anchor, json_integer(page + 1)) < 0)
        return render_fail(r, "out of memory");
    return 0;
}

/* The headings of the layout just made, for the next layout's table of contents. */
static int toc_settled(render_t *r, bool *settled)
{
    json_t *toc = json_array();
    for (size_t i = 0; toc && i < r->noutline; i++) {
        const outline_entry_t *e = &r->outline[i];
        if (json_array_append_new(
                toc, json_pack("[i,s,i,i]", e->level, e->title, e->page + 1, (json_int_t)i)) < 0) {
            json_decref(toc);
            toc = NULL;
        }
    }
    if (!toc)
        return render_fail(r, "out of memory");
    *settled = r->toc && json_equal(r->toc, toc);
    json_decref(r->toc);
    r->toc = toc;
    return 0;
}

int refs_settled(render_t *r, bool *settled)
{
    bool toc = true;
    if (r->t->has_toc && toc_settled(r, &toc) < 0)
        return -1;
    json_t *found = r->anchors_found ? r->anchors_found : json_object();
    if (!found)
        return render_fail(r, "out of memory");
    *settled = toc && r->anchor_pages && json_equal(r->anchor_pages, found);
    json_decref(r->anchor_pages);
    r->anchor_pages = found;
    r->anchors_found = NULL;
    return 0;
}

void refs_free(render_t *r)
{
    json_decref(r->anchor_pages);
    json_decref(r->anchors_found);
    json_decref(r->toc);
    r->anchor_pages = r->anchors_found = r->toc = NULL;
}
