/* compile_table — the "table" block: columns, header/body/footer rows, cells, row loops. */
#include <stdio.h>
#include <string.h>

#include "engine/compile.h"

typedef struct col_def {
    len_t width;
    align_t align;
    bool has_align;
    valign_t valign;
    const json_t *header;
    const json_t *cell;
} col_def_t;

static const char *const valign_names[] = {"top", "middle", "bottom", "baseline", NULL};

/* "verticalAlign" (or its older name "valign") of a table, column, row or cell: the index in
 * valign_names, or -1 when not given (or wrong, after an issue). */
static int vertical_align(compiler_t *c, const json_t *obj, const char *path)
{
    json_t *va = json_object_get(obj, "verticalAlign"), *old = json_object_get(obj, "valign");
    if (va && old)
        compile_issue(c, compile_path(c, path, "valign"), "Give \"verticalAlign\" or \"valign\", not both");
    if (!va && !old)
        return -1;
    return compile_enum(c, va ? va : old, compile_path(c, path, va ? "verticalAlign" : "valign"),
                        valign_names);
}

static node_t *cell_blocks(compiler_t *c, const json_t *v, const char *path, const tstyle_t *st,
                           cell_spec_t *cell);

/* A cell's content; c->in_cell while it is compiled (a table of contents cannot go there). */
static node_t *cell_content(compiler_t *c, const json_t *v, const char *path, const tstyle_t *st,
                            cell_spec_t *cell)
{
    c->in_cell++;
    node_t *n = cell_blocks(c, v, path, st, cell);
    c->in_cell--;
    return n;
}

static node_t *cell_blocks(compiler_t *c, const json_t *v, const char *path, const tstyle_t *st,
                           cell_spec_t *cell)
{
    node_t *stack;
    if (json_is_string(v) || (json_is_object(v) && json_object_get(v, "type"))) {
        stack = compile_block_list(c, v, path, st);
        return stack;
    }
    if (!json_is_object(v)) {
        compile_issue(c, path, "Expected a cell: text, a block, or {\"text\": ..., \"colSpan\": 2, ...}");
        return NULL;
    }
    static const char *const keys[] = {"text",    "runs",    "link",          "children",
                                       "colSpan", "rowSpan", "background",    "valign",
                                       "style",   "if",      "verticalAlign", NULL};
    compile_check_keys(c, v, path, keys, true, false);
    tstyle_t cs = *st;
    json_t *x;
    if ((x = json_object_get(v, "style")))
        compile_apply_style_ref(c, x, compile_path(c, path, "style"), &cs, NULL);
    compile_apply_style_props(c, v, path, &cs);
    if ((x = json_object_get(v, "colSpan")))
        compile_int(c, x, compile_path(c, path, "colSpan"), 1, 1000, &cell->colspan);
    if ((x = json_object_get(v, "rowSpan")))
        compile_int(c, x, compile_path(c, path, "rowSpan"), 1, TABLE_ROWSPAN_MAX, &cell->rowspan);
    if ((x = json_object_get(v, "background")))
        compile_color(c, x, compile_path(c, path, "background"), &cell->background);
    int va = vertical_align(c, v, path);
    if (va >= 0)
        cell->valign = (valign_t)va;
    if (json_object_get(v, "children")) {
        if (json_object_get(v, "text") || json_object_get(v, "runs"))
            compile_issue(c, path, "Give a cell either \"children\" or \"text\"/\"runs\", not both");
        stack = compile_block_list(c, json_object_get(v, "children"), compile_path(c, path, "children"), &cs);
    } else {
        /* A text cell: compile it as a text block carrying the cell's text keys. */
        json_t *tb = json_object();
        json_object_set_new(tb, "type", json_string("text"));
        static const char *const text_keys[] = {"text", "runs", "link", "if", NULL};
        for (int i = 0; text_keys[i]; i++)
            if ((x = json_object_get(v, text_keys[i])))
                json_object_set(tb, text_keys[i], x);
        if (!json_object_get(tb, "text") && !json_object_get(tb, "runs"))
            json_object_set_new(tb, "text", json_string(""));
        stack = compile_block_list(c, tb, path, &cs);
        json_decref(tb);
    }
    return stack;
}

static int compile_row(compiler_t *c, const json_t *v, const char *path, const tstyle_t *st,
                       const col_def_t *cols, int ncols, const int *cover, row_spec_t *row);

/* Files an issue at the rowSpan of every cell of row that spans rows (where spans are not
 * allowed: why says where). */
static void no_row_spans(compiler_t *c, const row_spec_t *row, const char *why)
{
    for (int i = 0; i < row->ncells; i++)
        if (row->cells[i].rowspan > 1)
            compile_issue(c, compile_path(c, row->cells[i].path, "rowSpan"), "%s", why);
}

/* A groupHeader/groupFooter row (name "group") or a carriedForward/broughtForward row (name
 * "carried"): compiled with name in place of the element, as {key, count, items}. */
static row_spec_t *compile_group_row(compiler_t *c, const json_t *v, const char *path, const tstyle_t *st,
                                     const col_def_t *cols, int ncols, const char *name_of_group)
{
    if (json_is_object(v) && (json_object_get(v, "each") || json_object_get(v, "groupBy"))) {
        compile_issue(c, path, "A %s row cannot have \"each\" or \"groupBy\" of its own", name_of_group);
        return NULL;
    }
    row_spec_t *g = arena_alloc(c->a, sizeof *g);
    if (!g)
        return NULL;
    int d = c->names.depth - 1; /* the row's loop: its element becomes the group */
    const char *name = c->names.names[d];
    const json_t *defs = c->loop_defs[d];
    bool was_group = c->group_frame[d];
    c->names.names[d] = name_of_group;
    c->group_frame[d] = true;
    c->group_defs[d] = defs;
    c->loop_defs[d] = NULL;
    bool was_carried = c->in_carried;
    c->in_carried = c->in_carried || !strcmp(name_of_group, "carried");
    compile_row(c, v, path, st, cols, ncols, NULL, g);
    c->in_carried = was_carried;
    no_row_spans(c, g,
                 "rowSpan is not available in group and carried rows (a span would cross into other rows)");
    c->names.names[d] = name;
    c->group_frame[d] = was_group;
    c->loop_defs[d] = defs;
    return g;
}

/* groupBy, groupHeader, groupFooter of a row with each (its loop is in scope). */
static void compile_grouping(compiler_t *c, const json_t *v, const char *path, const tstyle_t *st,
                             const col_def_t *cols, int ncols, row_spec_t *row)
{
    const json_t *by = json_object_get(v, "groupBy"), *gh = json_object_get(v, "groupHeader"),
                 *gf = json_object_get(v, "groupFooter");
    if (!by) {
        if (gh || gf)
            compile_issue(c, compile_path(c, path, gh ? "groupHeader" : "groupFooter"),
                          "Group rows need \"groupBy\" (what makes a group)");
        return;
    }
    const char *bp = compile_path(c, path, "groupBy");
    if (!row->each) {
        compile_issue(c, bp, "\"groupBy\" groups the elements of \"each\"; add \"each\"");
        return;
    }
    if (!json_is_string(by) || !json_string_length(by)) {
        compile_issue(
            c, bp,
            "Expected a field such as \"item.category\", or text such as \"{{item.date | date:'MMMM'}}\"");
        return;
    }
    /* A bare path is the text of that path. */
    const char *s = json_string_value(by);
    char *tpl = strstr(s, "{{") ? arena_strdup(c->a, s) : NULL;
    if (!tpl) {
        size_t n = strlen(s) + 8;
        tpl = arena_alloc(c->a, n);
        if (tpl)
            snprintf(tpl, n, "{{ %s }}", s);
    }
    row->group_key = arena_alloc(c->a, sizeof *row->group_key);
    if (!tpl || !row->group_key || compile_text_into(c, tpl, bp, row->group_key, BIND_TEXT) < 0)
        row->group_key = NULL;
    if (gh)
        row->group_header =
            compile_group_row(c, gh, compile_path(c, path, "groupHeader"), st, cols, ncols, "group");
    if (gf)
        row->group_footer =
            compile_group_row(c, gf, compile_path(c, path, "groupFooter"), st, cols, ncols, "group");
}

/* Skips the columns from col on that a row span from an earlier row covers. */
static int skip_covered(const int *cover, int col, int ncols)
{
    while (cover && col < ncols && cover[col])
        col++;
    return col;
}

/* A cell at col whose colSpan runs into a column covered by a row span from above. */
static void check_cover_overlap(compiler_t *c, const cell_spec_t *cell, int col, int ncols, const int *cover)
{
    for (int k = col; cover && k < col + cell->colspan && k < ncols; k++)
        if (cover[k]) {
            compile_issue(c, compile_path(c, cell->path, "colSpan"),
                          "The cell spans into column %d, which a rowSpan from an earlier row covers", k + 1);
            return;
        }
}

/* cover (NULL: none): per column, how many more rows a rowSpan from an earlier row covers; a
 * row lists only the cells of the columns not covered. */
static int compile_row(compiler_t *c, const json_t *v, const char *path, const tstyle_t *st,
                       const col_def_t *cols, int ncols, const int *cover, row_spec_t *row)
{
    row->path = path;
    const json_t *cells = v;
    tstyle_t rs = *st;
    bool pushed = false;
    int row_va = -1;
    if (json_is_object(v)) {
        static const char *const keys[] = {"cells",      "each",        "as",          "if",
                                           "background", "style",       "valign",      "verticalAlign",
                                           "groupBy",    "groupHeader", "groupFooter", NULL};
        compile_check_keys(c, v, path, keys, true, false);
        row_va = vertical_align(c, v, path);
        json_t *x;
        if ((x = json_object_get(v, "each"))) {
            row->each = compile_loop_push(c, x, json_object_get(v, "as"), path);
            pushed = row->each != NULL;
        }
        if ((x = json_object_get(v, "if")))
            row->cond = compile_cond(c, x, compile_path(c, path, "if"));
        compile_grouping(c, v, path, st, cols, ncols, row);
        if ((x = json_object_get(v, "background")))
            compile_color(c, x, compile_path(c, path, "background"), &row->background);
        if ((x = json_object_get(v, "style")))
            compile_apply_style_ref(c, x, compile_path(c, path, "style"), &rs, NULL);
        compile_apply_style_props(c, v, path, &rs);
        cells = json_object_get(v, "cells");
        path = compile_path(c, path, "cells");
        if (!cells) {
            compile_issue(c, row->path, "A row object needs \"cells\"");
            goto out;
        }
    }
    if (!json_is_array(cells)) {
        compile_issue(c, path, "Expected a row: a list of cells");
        goto out;
    }
    size_t n = json_array_size(cells);
    row->cells = arena_calloc(c->a, n ? n : 1, sizeof(cell_spec_t));
    if (!row->cells)
        goto out;
    int col = 0;
    size_t i;
    json_t *cv;
    json_array_foreach(cells, i, cv)
    {
        const char *cp = compile_path_index(c, path, i);
        cell_spec_t *cell = &row->cells[row->ncells++];
        cell->colspan = 1;
        cell->rowspan = 1;
        cell->path = cp;
        col = skip_covered(cover, col, ncols);
        c->nodes++;
        tstyle_t cs = rs;
        if (col < ncols && cols[col].has_align)
            cs.align = cols[col].align;
        cell->valign = row_va >= 0 ? (valign_t)row_va : col < ncols ? cols[col].valign : VALIGN_TOP;
        cell->content = cell_content(c, cv, cp, &cs, cell);
        check_cover_overlap(c, cell, col, ncols, cover);
        col += cell->colspan;
    }
    int covered = 0;
    for (int k = 0; cover && k < ncols; k++)
        covered += cover[k] != 0;
    col = skip_covered(cover, col, ncols);
    if (col != ncols && covered)
        compile_issue(
            c, path,
            "Row has %d cell%s (counting colSpan and the %d column%s covered by rowSpan from above) "
            "but the table has %d column%s",
            col, col == 1 ? "" : "s", covered, covered == 1 ? "" : "s", ncols, ncols == 1 ? "" : "s");
    else if (col != ncols)
        compile_issue(c, path, "Row has %d cell%s (counting colSpan) but the table has %d column%s", col,
                      col == 1 ? "" : "s", ncols, ncols == 1 ? "" : "s");
out:
    if (pushed)
        compile_loop_pop(c);
    return 0;
}

/* Row spans of the static body rows: which columns the spans begun so far still cover. */
typedef struct span_grid {
    int cover[100];          /* rows still covered below the current one, per column */
    const char *starts[100]; /* the rowSpan that covers each column (for messages) */
} span_grid_t;

/* Before row: a row with each or "if" must not be covered (its rows are known only when
 * rendering). */
static void grid_before_row(compiler_t *c, const span_grid_t *g, const row_spec_t *row, int ncols)
{
    for (int k = 0; k < ncols; k++)
        if (g->cover[k]) {
            if (row->each || row->cond)
                compile_issue(c, g->starts[k],
                              "The row span reaches %s, a row with \"%s\"; spans of fixed rows must end "
                              "before it",
                              row->path, row->each ? "each" : "if");
            return;
        }
}

/* After row: its covered columns move down a row, and its own spans begin. */
static void grid_after_row(compiler_t *c, span_grid_t *g, const row_spec_t *row, int ncols)
{
    for (int k = 0; k < ncols; k++)
        if (g->cover[k])
            g->cover[k]--;
    if (row->each)
        return; /* spans of a row repeated by each run over its elements (and end with them) */
    int col = 0;
    for (int i = 0; i < row->ncells; i++) {
        const cell_spec_t *cell = &row->cells[i];
        col = skip_covered(g->cover, col, ncols);
        if (cell->rowspan > 1 && row->cond)
            compile_issue(c, compile_path(c, cell->path, "rowSpan"),
                          "A row with \"if\" cannot span rows (the rows it covers would lose cells)");
        for (int k = col; cell->rowspan > 1 && k < col + cell->colspan && k < ncols; k++) {
            g->cover[k] = cell->rowspan - 1;
            g->starts[k] = compile_path(c, cell->path, "rowSpan");
        }
        col += cell->colspan;
    }
}

/* "rows": a list of rows; "header"/"footer" also accept a single row (a list of cells).
 * spans: whether cells may span rows (body rows); else a rowSpan is an issue. */
static int compile_rows(compiler_t *c, const json_t *v, const char *path, const tstyle_t *st,
                        const col_def_t *cols, int ncols, bool single_ok, bool spans, row_spec_t **out,
                        int *nout)
{
    if (!json_is_array(v)) {
        compile_issue(c, path, "Expected a list of rows");
        return -1;
    }
    json_t *first = json_array_get(v, 0);
    bool single = single_ok && first && !json_is_array(first) &&
                  !(json_is_object(first) && json_object_get(first, "cells"));
    size_t n = single ? 1 : json_array_size(v);
    *out = arena_calloc(c->a, n ? n : 1, sizeof(row_spec_t));
    if (!*out)
        return -1;
    if (single) {
        compile_row(c, v, path, st, cols, ncols, NULL, &(*out)[0]);
        no_row_spans(c, &(*out)[0], "rowSpan is only available in body rows");
        *nout = 1;
        return 0;
    }
    span_grid_t *g = arena_calloc(c->a, 1, sizeof *g);
    if (!g)
        return -1;
    size_t i;
    json_t *rv;
    json_array_foreach(v, i, rv)
    {
        row_spec_t *row = &(*out)[i];
        bool dynamic = json_is_object(rv) && (json_object_get(rv, "each") || json_object_get(rv, "if"));
        compile_row(c, rv, compile_path_index(c, path, i), st, cols, ncols, dynamic ? NULL : g->cover, row);
        if (!spans) {
            no_row_spans(c, row, "rowSpan is only available in body rows");
            continue;
        }
        grid_before_row(c, g, row, ncols);
        grid_after_row(c, g, row, ncols);
    }
    for (int k = 0; k < ncols; k++)
        if (g->cover[k]) {
            compile_issue(c, g->starts[k], "The row span runs past the last row (%d more row%s needed)",
                          g->cover[k], g->cover[k] == 1 ? "" : "s");
            for (int j = k + 1; j < ncols; j++)
                if (g->starts[j] == g->starts[k])
                    g->cover[j] = 0;
        }
    *nout = (int)n;
    return 0;
}

static const char *const align_names[] = {"start", "left", "center", "right", "end", "justify", NULL};
static const char *const borders_names[] = {"none", "rows", "all", "outer", "horizontal", NULL};

/* The "columns" list into defs (at most 100) and t->widths; the table's verticalAlign is each
 * column's default. Sets *any_header / *any_cell when a column gives a header text or a cell
 * template. Returns the number of columns, or -1 when there is no usable list (issue filed). */
static int table_columns(compiler_t *c, const json_t *obj, const char *path, table_spec_t *t,
                         col_def_t defs[100], bool *any_header, bool *any_cell)
{
    const char *cp = compile_path(c, path, "columns");
    json_t *cols = json_object_get(obj, "columns");
    if (!json_is_array(cols) || json_array_size(cols) == 0 || json_array_size(cols) > 100) {
        compile_issue(
            c, cp,
            "Expected a list of 1 to 100 columns (widths, or {\"width\", \"align\", \"header\", \"cell\"})");
        return -1;
    }
    int ncols = (int)json_array_size(cols);
    memset(defs, 0, 100 * sizeof *defs);
    t->ncols = ncols;
    t->widths = arena_calloc(c->a, (size_t)ncols, sizeof(len_t));
    if (!t->widths)
        return -1;
    int table_va = vertical_align(c, obj, path);
    for (int i = 0; i < ncols; i++) {
        if (table_va >= 0)
            defs[i].valign = (valign_t)table_va;
        json_t *cv = json_array_get(cols, (size_t)i), *x;
        const char *p = compile_path_index(c, cp, (size_t)i);
        defs[i].width.kind = LEN_FLEX;
        defs[i].width.v = 1;
        json_t *w = cv;
        if (json_is_object(cv)) {
            static const char *const ckeys[] = {"width",  "align", "valign", "verticalAlign",
                                                "header", "cell",  NULL};
            compile_check_keys(c, cv, p, ckeys, false, false);
            w = json_object_get(cv, "width");
            if ((x = json_object_get(cv, "align"))) {
                int a = compile_enum(c, x, compile_path(c, p, "align"), align_names);
                if (a >= 0) {
                    defs[i].align = (align_t)a;
                    defs[i].has_align = true;
                }
            }
            int va = vertical_align(c, cv, p);
            if (va >= 0)
                defs[i].valign = (valign_t)va;
            defs[i].header = json_object_get(cv, "header");
            defs[i].cell = json_object_get(cv, "cell");
            *any_header |= defs[i].header != NULL;
            *any_cell |= defs[i].cell != NULL;
            p = compile_path(c, p, "width");
        }
        if (w && compile_length(c, w, p, true, &defs[i].width) == 0 && defs[i].width.kind == LEN_AUTO)
            compile_issue(c, p, "Column widths are points, percentages, \"*\" or \"2*\"");
        t->widths[i] = defs[i].width;
    }
    return ncols;
}

/* The table's frame: repeatHeader, zebra, borders, borderColor, borderWidth, cellPadding. */
static void table_frame(compiler_t *c, const json_t *obj, const char *path, table_spec_t *t)
{
    json_t *x;
    if ((x = json_object_get(obj, "repeatHeader")))
        compile_bool(c, x, compile_path(c, path, "repeatHeader"), &t->repeat_header);
    if ((x = json_object_get(obj, "zebra"))) {
        if (json_is_true(x))
            t->zebra = 0xf3f4f6ff;
        else if (!json_is_false(x))
            compile_color(c, x, compile_path(c, path, "zebra"), &t->zebra);
    }
    if ((x = json_object_get(obj, "borders"))) {
        int b = compile_enum(c, x, compile_path(c, path, "borders"), borders_names);
        if (b >= 0)
            t->borders = (borders_t)b;
    }
    if ((x = json_object_get(obj, "borderColor")))
        compile_color(c, x, compile_path(c, path, "borderColor"), &t->border_color);
    if ((x = json_object_get(obj, "borderWidth")))
        compile_pt(c, x, compile_path(c, path, "borderWidth"), &t->border_width);
    if ((x = json_object_get(obj, "cellPadding"))) {
        double s[4] = {0};
        if (compile_sides(c, x, compile_path(c, path, "cellPadding"), s) == 0) {
            t->pad_v = s[0];
            t->pad_h = s[1];
        }
    }
}

/* Header rows: explicit "header", or built from the columns' "header" texts. Bold by default. */
static void table_header(compiler_t *c, const json_t *obj, const char *path, node_t *n, const col_def_t *defs,
                         int ncols, bool any_header)
{
    table_spec_t *t = &n->u.table;
    tstyle_t hs = n->style;
    hs.weight = 700;
    json_t *x;
    if ((x = json_object_get(obj, "headerStyle")))
        compile_apply_style_ref(c, x, compile_path(c, path, "headerStyle"), &hs, NULL);
    uint32_t hbg = 0;
    if ((x = json_object_get(obj, "headerBackground")))
        compile_color(c, x, compile_path(c, path, "headerBackground"), &hbg);
    json_t *header = json_object_get(obj, "header");
    if (header) {
        if (any_header)
            compile_issue(c, compile_path(c, path, "header"),
                          "Give header texts either in \"header\" or in the columns, not both");
        compile_rows(c, header, compile_path(c, path, "header"), &hs, defs, ncols, true, false, &t->header,
                     &t->nheader);
    } else if (any_header) {
        json_t *row = json_array();
        for (int i = 0; i < ncols; i++)
            json_array_append_new(row,
                                  defs[i].header ? json_incref((json_t *)defs[i].header) : json_string(""));
        compile_rows(c, row, compile_path(c, path, "columns"), &hs, defs, ncols, true, false, &t->header,
                     &t->nheader);
        json_decref(row);
    }
    for (int i = 0; i < t->nheader; i++)
        if (!t->header[i].background)
            t->header[i].background = hbg;
}

/* The cells of the one body row that "each" repeats, from the columns' "cell" templates. */
static void table_each_cells(compiler_t *c, const char *cp, const tstyle_t *st, const col_def_t *defs,
                             int ncols, row_spec_t *row)
{
    for (int i = 0; i < ncols; i++) {
        const char *p = compile_path(c, compile_path_index(c, cp, (size_t)i), "cell");
        cell_spec_t *cell = &row->cells[row->ncells++];
        cell->colspan = 1;
        cell->rowspan = 1;
        cell->path = p;
        cell->valign = defs[i].valign;
        tstyle_t cs = *st;
        if (defs[i].has_align)
            cs.align = defs[i].align;
        json_t *tpl = defs[i].cell ? (json_t *)defs[i].cell : NULL;
        if (!tpl) {
            json_t *empty = json_string("");
            cell->content = compile_block_list(c, empty, p, &cs);
            json_decref(empty);
            continue;
        }
        cell->content = cell_content(c, tpl, p, &cs, cell);
        if (cell->colspan != 1)
            compile_issue(c, p, "Column cell templates cannot span columns");
    }
}

/* The body row repeated over "each", with its grouping and carried/brought-forward rows.
 * Returns -1 when memory ran out. */
static int table_each_row(compiler_t *c, const json_t *obj, const char *path, node_t *n,
                          const col_def_t *defs, int ncols, bool any_cell)
{
    table_spec_t *t = &n->u.table;
    const char *cp = compile_path(c, path, "columns");
    json_t *x;
    if (!any_cell)
        compile_issue(c, path, "A table with \"each\" needs a \"cell\" template in every column");
    t->body = arena_calloc(c->a, 1, sizeof(row_spec_t));
    if (!t->body)
        return -1;
    t->nbody = 1;
    row_spec_t *row = &t->body[0];
    row->path = cp;
    row->each = compile_loop_push(c, json_object_get(obj, "each"), json_object_get(obj, "as"), path);
    row->cells = arena_calloc(c->a, (size_t)ncols, sizeof(cell_spec_t));
    if (row->cells)
        table_each_cells(c, cp, &n->style, defs, ncols, row);
    if (row->each) {
        compile_grouping(c, obj, path, &n->style, defs, ncols, row);
        if ((x = json_object_get(obj, "carriedForward")))
            t->carried_forward = compile_group_row(c, x, compile_path(c, path, "carriedForward"), &n->style,
                                                   defs, ncols, "carried");
        if ((x = json_object_get(obj, "broughtForward")))
            t->brought_forward = compile_group_row(c, x, compile_path(c, path, "broughtForward"), &n->style,
                                                   defs, ncols, "carried");
        compile_loop_pop(c);
    }
    return 0;
}

/* Body rows: "rows", or one row from the columns' "cell" templates repeated over "each"; the
 * grouping and carrying keys only make sense with "each". Returns -1 when memory ran out. */
static int table_body(compiler_t *c, const json_t *obj, const char *path, node_t *n, const col_def_t *defs,
                      int ncols, bool any_cell)
{
    table_spec_t *t = &n->u.table;
    json_t *rows = json_object_get(obj, "rows"), *each = json_object_get(obj, "each");
    if (rows && (each || any_cell)) {
        compile_issue(
            c, path,
            "Give body rows either as \"rows\" or as \"each\" with column \"cell\" templates, not both");
    } else if (rows) {
        compile_rows(c, rows, compile_path(c, path, "rows"), &n->style, defs, ncols, false, true, &t->body,
                     &t->nbody);
    } else if (each) {
        if (table_each_row(c, obj, path, n, defs, ncols, any_cell) != 0)
            return -1;
    } else if (json_object_get(obj, "as")) {
        compile_issue(c, compile_path(c, path, "as"), "\"as\" names the variable of \"each\"; add \"each\"");
    }
    static const char *const group_keys[] = {"groupBy", "groupHeader", "groupFooter"};
    for (int i = 0; i < 3 && !each; i++)
        if (json_object_get(obj, group_keys[i]))
            compile_issue(
                c, compile_path(c, path, group_keys[i]),
                "\"%s\" on a table groups its \"each\"; with \"rows\", put it on the row that has \"each\"",
                group_keys[i]);
    static const char *const carry_keys[] = {"carriedForward", "broughtForward"};
    for (int i = 0; i < 2 && !each; i++)
        if (json_object_get(obj, carry_keys[i]))
            compile_issue(c, compile_path(c, path, carry_keys[i]),
                          "\"%s\" adds up the elements of the table's \"each\"; add \"each\"", carry_keys[i]);
    return 0;
}

/* Footer rows ("footer", in footerStyle on footerBackground). */
static void table_footer(compiler_t *c, const json_t *obj, const char *path, node_t *n, const col_def_t *defs,
                         int ncols)
{
    table_spec_t *t = &n->u.table;
    tstyle_t fs = n->style;
    json_t *x;
    if ((x = json_object_get(obj, "footerStyle")))
        compile_apply_style_ref(c, x, compile_path(c, path, "footerStyle"), &fs, NULL);
    uint32_t fbg = 0;
    if ((x = json_object_get(obj, "footerBackground")))
        compile_color(c, x, compile_path(c, path, "footerBackground"), &fbg);
    json_t *footer = json_object_get(obj, "footer");
    if (footer)
        compile_rows(c, footer, compile_path(c, path, "footer"), &fs, defs, ncols, true, false, &t->footer,
                     &t->nfooter);
    for (int i = 0; i < t->nfooter; i++)
        if (!t->footer[i].background)
            t->footer[i].background = fbg;
}

int compile_table(compiler_t *c, const json_t *obj, const char *path, node_t *n)
{
    static const char *const keys[] = {"type",           "if",
                                       "each",           "as",
                                       "style",          "keepTogether",
                                       "columns",        "header",
                                       "rows",           "footer",
                                       "repeatHeader",   "zebra",
                                       "borders",        "borderColor",
                                       "borderWidth",    "cellPadding",
                                       "headerStyle",    "headerBackground",
                                       "footerStyle",    "footerBackground",
                                       "verticalAlign",  "valign",
                                       "groupBy",        "groupHeader",
                                       "groupFooter",    "carriedForward",
                                       "broughtForward", NULL};
    compile_check_keys(c, obj, path, keys, true, true);
    table_spec_t *t = &n->u.table;
    t->repeat_header = true;
    t->borders = BORDERS_ROWS;
    t->border_width = 0.5;
    t->border_color = 0xd1d5dbff;
    t->pad_v = 3;
    t->pad_h = 4;
    col_def_t defs[100];
    bool any_header = false, any_cell = false;
    int ncols = table_columns(c, obj, path, t, defs, &any_header, &any_cell);
    if (ncols < 0)
        return -1;
    table_frame(c, obj, path, t);
    table_header(c, obj, path, n, defs, ncols, any_header);
    if (table_body(c, obj, path, n, defs, ncols, any_cell) != 0)
        return -1;
    table_footer(c, obj, path, n, defs, ncols);
    return 0;
}
