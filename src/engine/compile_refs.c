/*
 * compile_refs — anchors and page references: a block's "anchor" (a name, unique in the layout)
 * and {{pageOf("name")}} in text, checked against each other once the whole layout is compiled.
 *
 * Threads: one compiler_t, one thread (compile.h).
 * Memory: anchors live in the template arena; the compiler's anchors/anchor_refs index objects
 * are owned by the compiler and released by engine_compile_ex.
 */
#include <stdio.h>
#include <string.h>

#include "engine/compile.h"

void compile_anchor(compiler_t *c, const json_t *v, const char *path, node_t *n)
{
    if (c->names.allow_page) {
        compile_issue(c, path, "Headers and footers repeat on every page: they cannot have an anchor");
        return;
    }
    size_t len = json_string_length(v);
    if (!json_is_string(v) || len == 0 || len > ENGINE_ANCHOR_MAX) {
        compile_issue(c, path, "Expected the anchor's name: text of 1 to %d bytes", ENGINE_ANCHOR_MAX);
        return;
    }
    expr_str_t *s = compile_text(c, v, path);
    if (!s)
        return;
    if (!s->constant) { /* made from the data: checked for duplicates when rendering */
        c->dynamic_anchors = true;
        n->anchor = s;
        return;
    }
    if (c->names.depth > 0) {
        compile_issue(c, path,
                      "This block repeats (it is inside \"each\"): make its anchor unique with {{…}}, "
                      "such as \"item-{{loop.index}}\"");
        return;
    }
    json_t *prev = json_object_get(c->anchors, s->constant);
    if (prev) {
        compile_issue(c, path, "The anchor \"%s\" is already used at %s: an anchor names one block",
                      s->constant, json_string_value(prev));
        return;
    }
    json_object_set_new(c->anchors, s->constant, json_string(path));
    n->anchor = s;
}

void compile_page_ref(compiler_t *c, const expr_path_t *p, const char *path)
{
    if (!c->anchor_refs) {
        compile_issue(c, path, "%s is only defined in layouts", p->text);
        return;
    }
    if (p->anchor) { /* pageOf(item.ref): the name is looked up when rendering */
        char msg[300];
        snprintf(msg, sizeof msg, "pageOf(\"%.100s\"): no block has \"anchor\": \"%.100s\"", p->anchor,
                 p->anchor);
        compile_anchor_ref(c, p->anchor, path, msg);
    }
    c->t->page_refs = true;
    if (c->in_body)
        c->t->body_page_refs = true;
}

void compile_anchor_ref(compiler_t *c, const char *name, const char *path, const char *missing)
{
    json_array_append_new(c->anchor_refs,
                          json_pack("{s:s,s:s,s:s}", "name", name, "path", path, "missing", missing));
}

void compile_check_page_refs(compiler_t *c)
{
    size_t i;
    json_t *ref;
    json_array_foreach(c->anchor_refs, i, ref)
    {
        const char *name = json_string_value(json_object_get(ref, "name"));
        if (json_object_get(c->anchors, name) || c->dynamic_anchors)
            continue; /* names made from the data are looked up when rendering */
        compile_issue(c, json_string_value(json_object_get(ref, "path")), "%s",
                      json_string_value(json_object_get(ref, "missing")));
    }
}

void compile_toc(compiler_t *c, const json_t *obj, const char *path, node_t *n)
{
    const char *where = c->names.allow_page ? "a header or footer"
                        : c->in_footnote    ? "a footnote"
                        : c->in_cell        ? "a table cell"
                        : c->names.depth    ? "a block that repeats (\"each\")"
                                            : NULL;
    if (where) {
        compile_issue(c, path, "A table of contents (\"type\": \"toc\") cannot be in %s", where);
        return;
    }
    n->u.toc.levels = 3;
    n->u.toc.indent = 12;
    json_t *x;
    if ((x = json_object_get(obj, "levels")))
        compile_int(c, x, compile_path(c, path, "levels"), 1, 3, &n->u.toc.levels);
    if ((x = json_object_get(obj, "levelIndent")))
        compile_pt(c, x, compile_path(c, path, "levelIndent"), &n->u.toc.indent);
    if ((x = json_object_get(obj, "title"))) {
        const char *tp = compile_path(c, path, "title");
        if (!json_is_string(x)) {
            compile_issue(c, tp, "Expected the title (text)");
        } else { /* a level-2 heading that is neither a bookmark nor an entry */
            json_t *h =
                json_pack("{s:s,s:i,s:b,s:O}", "type", "heading", "level", 2, "outline", 0, "text", x);
            n->u.toc.title = compile_block(c, h, tp, &n->style);
            json_decref(h);
        }
    }
    c->t->page_refs = c->t->body_page_refs = c->t->has_toc = true;
}
