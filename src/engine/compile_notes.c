/*
 * compile_notes — footnote runs: {"footnote": text | block | [blocks]} in a text block's runs.
 * The run shows the footnote's number; the body is compiled as a stack in the "footnote" style
 * (8 pt unless the layout's styles say otherwise), set at the foot of the page by notes.c.
 *
 * Threads: one compiler_t, one thread (compile.h).
 * Memory: the body lives in the template arena.
 */
#include "engine/compile.h"

/* Where a footnote cannot be, or NULL. */
static const char *no_footnote_here(const compiler_t *c)
{
    if (c->names.allow_page)
        return "a header or footer (they repeat on every page)";
    if (c->in_footnote)
        return "another footnote";
    if (c->t->page.auto_height)
        return "a layout on roll paper (its pages have no foot)";
    if (c->in_carried)
        return "a carried or brought-forward row (they are made when a page breaks)";
    if (c->in_positioned)
        return "a positioned block (it is outside the flow, whose pages the footnotes follow)";
    return NULL;
}

static bool footnote_empty(const json_t *v)
{
    if (json_is_string(v))
        return json_string_length(v) == 0;
    if (json_is_array(v))
        return json_array_size(v) == 0;
    return !json_is_object(v);
}

void compile_footnote(compiler_t *c, const json_t *run, const char *path, run_t *r)
{
    static const char *const keys[] = {"footnote", NULL};
    compile_check_keys(c, run, path, keys, false, false);
    const char *fp = compile_path(c, path, "footnote");
    const char *where = no_footnote_here(c);
    if (where) {
        compile_issue(c, fp, "A footnote cannot be in %s", where);
        return;
    }
    const json_t *v = json_object_get(run, "footnote");
    if (footnote_empty(v)) {
        compile_issue(c, fp, "Expected the footnote: its text, a block or a non-empty list of blocks");
        return;
    }
    tstyle_t st = c->t->base_style;
    json_t *name = json_string("footnote");
    if (name)
        compile_apply_style_ref(c, name, fp, &st, NULL);
    json_decref(name);
    c->in_footnote++;
    r->footnote = compile_block_list(c, v, fp, &st);
    c->in_footnote--;
}
