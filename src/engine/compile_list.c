/*
 * compile_list — the "list" block: compiled to what the engine already lays out, a stack of
 * two-column rows (the marker right-aligned in a column markerWidth wide, the item's blocks in
 * the rest), so lists break across pages like any columns. With "each" the row repeats over
 * the data and its marker is loop.index, turned into the list's counter when prepared
 * (node_t.u.text.counter). Also the markers themselves (listmark.h).
 *
 * Threads: compile thread only (listmark_format: any). Memory: nodes in the template arena.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "engine/compile.h"
#include "engine/listmark.h"

const char *const listmark_style_names[] = {"bullet",      "decimal",     "lower-alpha", "upper-alpha",
                                            "lower-roman", "upper-roman", "none",        NULL};

static void roman(long n, bool upper, char *out, size_t len)
{
    static const struct {
        int v;
        const char *s;
    } digits[] = {{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"},
                  {40, "xl"},  {10, "x"},   {9, "ix"},  {5, "v"},    {4, "iv"},  {1, "i"}};
    size_t k = 0;
    for (size_t d = 0; d < sizeof digits / sizeof digits[0]; d++)
        for (; n >= digits[d].v; n -= digits[d].v)
            for (const char *p = digits[d].s; *p && k + 1 < len; p++)
                out[k++] = (char)(upper ? *p - 'a' + 'A' : *p);
    out[k] = 0;
}

/* Bijective base 26: a … z, aa, ab … */
static void alpha(long n, bool upper, char *out, size_t len)
{
    char tmp[32];
    size_t k = 0;
    for (; n > 0 && k < sizeof tmp; n = (n - 1) / 26)
        tmp[k++] = (char)((upper ? 'A' : 'a') + (n - 1) % 26);
    size_t o = 0;
    while (k > 0 && o + 1 < len)
        out[o++] = tmp[--k];
    out[o] = 0;
}

void listmark_format(list_style_t st, long n, int level, char *out, size_t len)
{
    static const char bullets[][4] = {"\xe2\x80\xa2", "\xe2\x97\xa6", "\xe2\x96\xaa"}; /* • ◦ ▪ */
    char num[48];
    const char *suffix = ".";
    switch (st) {
    case LIST_BULLET: snprintf(out, len, "%s", bullets[(level < 0 ? 0 : level) % 3]); return;
    case LIST_NONE: snprintf(out, len, "%s", ""); return;
    case LIST_LOWER_ALPHA:
    case LIST_UPPER_ALPHA:
        if (n < 1)
            goto decimal;
        alpha(n, st == LIST_UPPER_ALPHA, num, sizeof num);
        suffix = st == LIST_LOWER_ALPHA ? ")" : ".";
        break;
    case LIST_LOWER_ROMAN:
    case LIST_UPPER_ROMAN:
        if (n < 1 || n > 3999)
            goto decimal;
        roman(n, st == LIST_UPPER_ROMAN, num, sizeof num);
        break;
    case LIST_DECIMAL:
    default:
    decimal:
        snprintf(num, sizeof num, "%ld", n);
        break;
    }
    snprintf(out, len, "%s%s", num, suffix);
}

typedef struct list_spec {
    list_style_t style;
    const json_t *marker; /* a custom marker (a template), or NULL */
    int start;
    double marker_width, gap;
} list_spec_t;

/* The marker's text node of item index (0-based; -1: in a loop, from loop.index). */
static node_t *marker_node(compiler_t *c, const list_spec_t *ls, const char *path, const node_t *list,
                           long index)
{
    node_t *t = compile_new_node(c, N_TEXT, path, &list->style);
    if (!t)
        return NULL;
    t->style.align = ALIGN_RIGHT;
    t->style.indent = t->style.first_indent = t->style.hanging_indent = 0;
    t->u.text.runs = arena_calloc(c->a, 1, sizeof(run_t));
    if (!t->u.text.runs)
        return NULL;
    t->u.text.nruns = 1;
    t->u.text.runs[0].style = t->style;
    char mark[64];
    const char *src = mark;
    const char *mpath = path;
    bool counted = ls->style != LIST_BULLET && ls->style != LIST_NONE;
    if (ls->marker) {
        src = json_string_value(ls->marker);
        mpath = compile_path(c, list->path, "marker");
    } else if (index < 0 && counted) {
        src = "{{loop.index}}";
        t->u.text.counter = (uint8_t)ls->style;
        t->u.text.counter_start = ls->start;
    } else {
        listmark_format(ls->style, (long)ls->start + index, c->list_depth - 1, mark, sizeof mark);
    }
    if (compile_text_into(c, src, mpath, &t->u.text.runs[0].text, BIND_TEXT) < 0)
        return NULL;
    return t;
}

/* One item's row: [marker | content]. */
static node_t *list_row(compiler_t *c, const list_spec_t *ls, const char *path, const node_t *list,
                        long index, node_t *content)
{
    node_t *row = compile_new_node(c, N_COLUMNS, path, &list->style);
    node_t *mstack = compile_new_node(c, N_STACK, path, &list->style);
    node_t *mark = marker_node(c, ls, path, list, index);
    column_spec_t *cols = arena_calloc(c->a, 2, sizeof *cols);
    if (!row || !mstack || !mark || !content || !cols ||
        !(mstack->u.stack.children = arena_calloc(c->a, 1, sizeof(node_t *))))
        return NULL;
    mstack->u.stack.children[mstack->u.stack.n++] = mark;
    cols[0] = (column_spec_t){{LEN_PT, ls->marker_width}, mstack};
    cols[1] = (column_spec_t){{LEN_FLEX, 1}, content};
    row->u.columns.cols = cols;
    row->u.columns.n = 2;
    row->u.columns.gap = ls->gap;
    return row;
}

/* listStyle, marker, start, markerWidth, gap and spacing. */
static void list_options(compiler_t *c, const json_t *obj, const char *path, node_t *n, list_spec_t *ls)
{
    json_t *v;
    *ls = (list_spec_t){LIST_BULLET, NULL, 1, 0, 6};
    if ((v = json_object_get(obj, "listStyle"))) {
        int st = compile_enum(c, v, compile_path(c, path, "listStyle"), listmark_style_names);
        if (st >= 0)
            ls->style = (list_style_t)st;
    }
    if ((v = json_object_get(obj, "marker"))) {
        const char *mp = compile_path(c, path, "marker");
        if (json_object_get(obj, "listStyle"))
            compile_issue(c, mp, "Give either \"listStyle\" or \"marker\", not both");
        else if (compile_string(c, v, mp))
            ls->marker = v;
    }
    if ((v = json_object_get(obj, "start"))) {
        const char *sp = compile_path(c, path, "start");
        if (ls->marker || ls->style == LIST_BULLET || ls->style == LIST_NONE)
            compile_issue(c, sp,
                          "\"start\" numbers the items of a numbered list (\"listStyle\": \"decimal\", …)");
        else
            compile_int(c, v, sp, 0, 1000000, &ls->start);
    }
    ls->marker_width = ls->style == LIST_BULLET && !ls->marker ? 12 : 20;
    if ((v = json_object_get(obj, "markerWidth")))
        compile_pt(c, v, compile_path(c, path, "markerWidth"), &ls->marker_width);
    if ((v = json_object_get(obj, "gap")))
        compile_pt(c, v, compile_path(c, path, "gap"), &ls->gap);
    n->u.stack.gap = 2;
    if ((v = json_object_get(obj, "spacing")))
        compile_pt(c, v, compile_path(c, path, "spacing"), &n->u.stack.gap);
}

void compile_list(compiler_t *c, const json_t *obj, const char *path, node_t *n)
{
    list_spec_t ls;
    list_options(c, obj, path, n, &ls);
    json_t *items = json_object_get(obj, "items"), *item = json_object_get(obj, "item");
    json_t *each = json_object_get(obj, "each"), *as = json_object_get(obj, "as");
    if (each && items) {
        compile_issue(c, compile_path(c, path, "items"),
                      "A list has either \"items\" or \"each\" with \"item\", not both");
        return;
    }
    if (!each && item) {
        compile_issue(c, compile_path(c, path, "item"),
                      "\"item\" is what a list with \"each\" shows for each element; add \"each\"");
        return;
    }
    if (each && !item) {
        compile_issue(c, path, "A list with \"each\" needs \"item\" (the blocks shown for each element)");
        return;
    }
    if (!each && (!json_is_array(items) || json_array_size(items) == 0)) {
        compile_issue(c, items ? compile_path(c, path, "items") : path,
                      "A list needs \"items\" (a non-empty list of items) or \"each\" with \"item\"");
        return;
    }
    size_t count = each ? 1 : json_array_size(items);
    if (!(n->u.stack.children = arena_calloc(c->a, count, sizeof(node_t *))))
        return;
    c->list_depth++;
    if (each) {
        loop_spec_t *loop = compile_loop_push(c, each, as, path);
        if (loop) {
            const char *ip = compile_path(c, path, "item");
            node_t *row = list_row(c, &ls, ip, n, -1, compile_block_list(c, item, ip, &n->style));
            if (row) {
                row->each = loop;
                n->u.stack.children[n->u.stack.n++] = row;
            }
            compile_loop_pop(c);
        }
    } else {
        const char *ip = compile_path(c, path, "items");
        size_t i;
        json_t *v;
        json_array_foreach(items, i, v)
        {
            const char *p = compile_path_index(c, ip, i);
            node_t *row = list_row(c, &ls, p, n, (long)i, compile_block_list(c, v, p, &n->style));
            if (row)
                n->u.stack.children[n->u.stack.n++] = row;
        }
    }
    c->list_depth--;
}
