/*
 * links — links to anchors: every block with an "anchor" is a PDF named destination (named as
 * the anchor, so viewers open file.pdf#terms there), and a run whose "link" starts with "#" in
 * the layout ("#terms", "#item-{{item.sku}}") links to the block with that anchor. The places
 * are those of the last layout, the one drawn; the names a render links to are checked against
 * the blocks it placed before anything is drawn.
 *
 * Threads: one render_t, the render's thread.
 * Memory: the destinations (name -> [page, x, y]) and the names linked to (name -> path) are
 * json objects owned by the render_t (links_free).
 */
#include <stdio.h>
#include <string.h>

#include "engine/layout.h"

/* *o, made on first use; NULL after render_fail. */
static json_t *object_of(render_t *r, json_t **o)
{
    if (!*o && !(*o = json_object()))
        render_fail(r, "out of memory");
    return *o;
}

/* The render error of a link to a name no placed block has as its anchor. */
static int no_such_anchor(render_t *r, const char *name, const char *path)
{
    return render_fail(r, "the link \"#%.100s\" at %s: no block in this document has the anchor \"%.100s\"",
                       name, path, name);
}

int links_use(render_t *r, const char *name, size_t len, const char *path)
{
    if (len == 0 || len > ENGINE_ANCHOR_MAX || memchr(name, 0, len))
        return render_fail(
            r, "the link at %s: \"#%.100s\" is not \"#\" and the name of an anchor (1 to %d bytes)", path,
            name, ENGINE_ANCHOR_MAX);
    json_t *used = object_of(r, &r->link_names);
    if (!used)
        return -1;
    if (json_object_get(used, name))
        return 0;
    if (r->links_checked && !json_object_get(r->dests, name)) /* a header drawn after links_check */
        return no_such_anchor(r, name, path);
    if (json_object_set_new(used, name, json_string(path)) < 0)
        return render_fail(r, "out of memory");
    return 0;
}

int links_note_dest(render_t *r, const pbox_t *pb, int page, size_t item)
{
    json_t *dests = object_of(r, &r->dests);
    if (!dests)
        return -1;
    double x = r->content_x, y = r->body_top[page > 0];
    if (page < r->pages_cap && item < r->pages[page].n) {
        x = r->pages[page].items[item].x;
        y = r->pages[page].items[item].y;
    }
    if (json_object_set_new(dests, pb->anchor, json_pack("[i,f,f]", page, x, y)) < 0)
        return render_fail(r, "out of memory");
    return 0;
}

int links_check(render_t *r)
{
    const char *name;
    json_t *path;
    json_object_foreach(r->link_names, name, path)
    {
        if (!r->dests || !json_object_get(r->dests, name))
            return no_such_anchor(r, name, json_string_value(path));
    }
    r->links_checked = true;
    return 0;
}

void links_reset(render_t *r)
{
    if (r->dests)
        json_object_clear(r->dests);
}

/* s in single quotes, with ' and \ escaped (cairo's attribute strings), after prefix. */
static void quoted(const char *prefix, const char *s, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "%s'", prefix);
    for (const char *p = s; *p && n + 4 < len; p++) {
        if (*p == '\'' || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    if (n + 2 <= len) {
        out[n++] = '\'';
        out[n] = '\0';
    } else {
        out[len - 1] = '\0';
    }
}

void links_attr(const char *link, char *out, size_t len)
{
    if (link[0] == '#')
        quoted("dest=", link + 1, out, len);
    else
        quoted("uri=", link, out, len);
}

/* The table of contents' and the footnotes' own destinations (TOC_LINK_PREFIX, NOTES_LINK_PREFIX
 * without "#"): an anchor of the same name yields to them. */
static bool toc_dest_name(const render_t *r, const char *name)
{
    static const char toc[] = TOC_LINK_PREFIX, note[] = NOTES_LINK_PREFIX; /* with "#" */
    size_t k = !strncmp(name, toc + 1, sizeof toc - 2) && r->t->has_toc ? sizeof toc - 2
               : !strncmp(name, note + 1, sizeof note - 2) && r->nnotes ? sizeof note - 2
                                                                        : 0;
    if (!k || !name[k])
        return false;
    return strspn(name + k, "0123456789") == strlen(name + k);
}

void links_draw_dests(render_t *r, cairo_t *cr, int page)
{
    const char *name;
    json_t *d;
    json_object_foreach(r->dests, name, d)
    {
        if (json_integer_value(json_array_get(d, 0)) != page || toc_dest_name(r, name))
            continue;
        char attr[ENGINE_ANCHOR_MAX * 2 + 96];
        size_t n =
            (size_t)snprintf(attr, sizeof attr, "x=%.2f y=%.2f ", json_real_value(json_array_get(d, 1)),
                             json_real_value(json_array_get(d, 2)));
        quoted("name=", name, attr + n, sizeof attr - n);
        cairo_tag_begin(cr, CAIRO_TAG_DEST, attr);
        cairo_tag_end(cr, CAIRO_TAG_DEST);
    }
}

void links_free(render_t *r)
{
    json_decref(r->dests);
    json_decref(r->link_names);
    r->dests = r->link_names = NULL;
}
