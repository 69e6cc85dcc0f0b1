#include "engine/expr.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "engine/decimal.h"
#include "engine/format.h"

/* ------------------------------------------------------------------ paths */

static bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}
static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int loopmeta_from(const char *s, loopmeta_t *out)
{
    static const struct {
        const char *name;
        loopmeta_t m;
    } metas[] = {
        {"index", LOOPMETA_INDEX}, {"index0", LOOPMETA_INDEX0}, {"count", LOOPMETA_COUNT},
        {"first", LOOPMETA_FIRST}, {"last", LOOPMETA_LAST},
    };
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++)
        if (!strcmp(s, metas[i].name)) {
            *out = metas[i].m;
            return 0;
        }
    return -1;
}

/* Scans a dotted path at *pp (up to end) and classifies its root. */
static int scan_path(arena_t *a, const char **pp, const char *end, const expr_scope_names_t *names,
                     expr_path_t **out, char *err, size_t err_len)
{
    const char *p = *pp, *start = p;
    const char *segs[EXPR_PATH_SEGMENTS_MAX];
    int n = 0;
    for (;;) {
        const char *s = p;
        if (p < end && is_ident_start(*p)) {
            while (p < end && is_ident_char(*p))
                p++;
        } else if (n > 0 && p < end && isdigit((unsigned char)*p)) {
            while (p < end && isdigit((unsigned char)*p))
                p++;
        } else {
            return errmsg_fail(err, err_len, n ? "Expected a name after \".\"" : "Expected a variable name");
        }
        if (n == EXPR_PATH_SEGMENTS_MAX) {
            return errmsg_fail(err, err_len, "Path has more than %d parts", EXPR_PATH_SEGMENTS_MAX);
        }
        segs[n++] = arena_strndup(a, s, (size_t)(p - s));
        if (!segs[n - 1])
            goto nomem;
        if (p < end && *p == '.' && p + 1 < end && (is_ident_char(p[1])))
            p++;
        else
            break;
    }
    expr_path_t *path = arena_alloc(a, sizeof *path);
    if (!path)
        goto nomem;
    path->text = arena_strndup(a, start, (size_t)(p - start));
    if (!path->text)
        goto nomem;
    int skip = 0;
    path->root = PATH_DATA;
    for (int d = names ? names->depth - 1 : -1; d >= 0; d--) {
        if (!strcmp(segs[0], names->names[d])) {
            path->root = PATH_ITEM;
            path->frame = d;
            skip = 1;
            break;
        }
    }
    if (path->root == PATH_DATA && !strcmp(segs[0], "loop") && names && names->depth > 0) {
        /* loop.index is the innermost loop; loop.parent.index the one around it, and so on. */
        int up = 0;
        while (1 + up < n && !strcmp(segs[1 + up], "parent"))
            up++;
        if (n != 2 + up || loopmeta_from(segs[1 + up], &path->meta) < 0) {
            return errmsg_fail(
                err, err_len,
                "Unknown loop property \"%s\" (use loop.index, loop.index0, "
                "loop.count, loop.first, loop.last, or loop.parent.index for the enclosing loop)",
                path->text);
        }
        if (up >= names->depth) {
            return errmsg_fail(err, err_len, "\"%s\": there are only %d enclosing loops here", path->text,
                               names->depth);
        }
        path->root = PATH_LOOPMETA;
        path->frame = names->depth - 1 - up;
        skip = n;
    }
    if (path->root == PATH_DATA && n == 1 && names && names->allow_page) {
        if (!strcmp(segs[0], "page")) {
            path->root = PATH_PAGE;
            skip = 1;
        } else if (!strcmp(segs[0], "pages")) {
            path->root = PATH_PAGES;
            skip = 1;
        }
    }
    path->nseg = n - skip;
    path->seg = arena_calloc(a, (size_t)(path->nseg ? path->nseg : 1), sizeof *path->seg);
    if (!path->seg)
        goto nomem;
    for (int i = skip; i < n; i++)
        path->seg[i - skip] = segs[i];
    *pp = p;
    *out = path;
    return 0;
nomem:
    return errmsg_fail(err, err_len, "Out of memory");
}

int expr_parse_path(arena_t *a, const char *s, const expr_scope_names_t *names, expr_path_t **out, char *err,
                    size_t err_len)
{
    const char *end = s + strlen(s);
    const char *p = skip_ws(s, end);
    if (scan_path(a, &p, end, names, out, err, err_len) < 0)
        return -1;
    p = skip_ws(p, end);
    if (p != end) {
        return errmsg_fail(err, err_len, "Unexpected \"%.20s\" after the path", p);
    }
    return 0;
}

/* A quoted string literal at *pp ('…' or "…", backslash escapes the quote and itself). */
static int scan_quoted(arena_t *a, const char **pp, const char *end, const char **out, size_t *out_len,
                       char *err, size_t err_len)
{
    const char *p = *pp;
    char q = *p++;
    buf_t b;
    buf_init(&b, 64 * 1024);
    while (p < end && *p != q) {
        if (*p == '\\' && p + 1 < end && (p[1] == q || p[1] == '\\'))
            p++;
        if (buf_append_char(&b, *p++) < 0) {
            buf_free(&b);
            return errmsg_fail(err, err_len, "String literal too long");
        }
    }
    if (p >= end) {
        buf_free(&b);
        return errmsg_fail(err, err_len, "Unterminated string literal");
    }
    *out = arena_strndup(a, buf_cstr(&b), b.len);
    *out_len = b.len;
    buf_free(&b);
    if (!*out) {
        return errmsg_fail(err, err_len, "Out of memory");
    }
    *pp = p + 1;
    return 0;
}

/* ------------------------------------------------------------------ aggregates */

static const char *const agg_names[] = {"sum", "count", "avg", "min", "max"};

/* A name directly followed by "(" (blanks allowed): a function call, not a path. */
static bool at_call(const char *p, const char *end)
{
    if (p >= end || !is_ident_start(*p))
        return false;
    while (p < end && is_ident_char(*p))
        p++;
    p = skip_ws(p, end);
    return p < end && *p == '(';
}

/* The word w at *pp (not followed by a name character): consumes it and the blanks after. */
static bool take_word(const char **pp, const char *end, const char *w)
{
    size_t n = strlen(w);
    const char *p = *pp;
    if ((size_t)(end - p) < n || strncmp(p, w, n) || (p + n < end && is_ident_char(p[n])))
        return false;
    *pp = skip_ws(p + n, end);
    return true;
}

/* The end of a "where" condition: the first "," or ")" outside quotes and parentheses. */
static const char *where_end(const char *p, const char *end)
{
    int depth = 0;
    char q = 0;
    for (; p < end; p++) {
        if (q) {
            if (*p == '\\' && p + 1 < end)
                p++;
            else if (*p == q)
                q = 0;
        } else if (*p == '"' || *p == '\'') {
            q = *p;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')' && depth > 0) {
            depth--;
        } else if ((*p == ')' || *p == ',') && depth == 0) {
            return p;
        }
    }
    return end;
}

static int agg_where(arena_t *a, const char **pp, const char *end, const expr_scope_names_t *inner,
                     expr_agg_t *g, char *err, size_t err_len)
{
    const char *ws = *pp, *we = where_end(ws, end);
    while (we > ws && isspace((unsigned char)we[-1]))
        we--;
    if (!inner->owned) {
        return errmsg_fail(err, err_len, "\"where\" is not available here");
    }
    const char *cond = arena_strndup(a, ws, (size_t)(we - ws));
    char cerr[ERRMSG_LEN];
    if (!cond || expr_parse_cond(a, cond, inner, inner->owned, &g->where, cerr, sizeof cerr) < 0) {
        return errmsg_fail(err, err_len, "In \"where\" of %s(...): %s", agg_names[g->kind],
                           cond ? cerr : "Out of memory");
    }
    *pp = skip_ws(we, end);
    return 0;
}

/* The field argument: a quoted dotted name inside the element ("total", "amount.net"). */
static int agg_field(arena_t *a, const char **pp, const char *end, expr_agg_t *g, char *err, size_t err_len)
{
    const char *p = *pp;
    size_t len;
    if (p >= end || (*p != '"' && *p != '\'')) {
        return errmsg_fail(err, err_len, "%s(...): the field is a quoted name, such as %s(items, \"total\")",
                           agg_names[g->kind], agg_names[g->kind]);
    }
    if (scan_quoted(a, &p, end, &g->field_text, &len, err, err_len) < 0)
        return -1;
    const char *f = g->field_text, *fend = f + len;
    char ferr[ERRMSG_LEN];
    if (scan_path(a, &f, fend, NULL, &g->field, ferr, sizeof ferr) < 0 || f != fend) {
        return errmsg_fail(err, err_len, "%s(...): \"%s\" is not a field name (letters, digits, _ and dots)",
                           agg_names[g->kind], g->field_text);
    }
    g->field->root = PATH_ITEM;
    g->field->frame = g->frame;
    *pp = skip_ws(p, end);
    return 0;
}

/* NAME(LIST [as VAR] [where CONDITION] [, "FIELD"]) at *pp. */
static int scan_agg(arena_t *a, const char **pp, const char *end, const expr_scope_names_t *names,
                    expr_agg_t **out, char *err, size_t err_len)
{
    const char *p = *pp, *start = p;
    while (p < end && is_ident_char(*p))
        p++;
    int kind = -1;
    for (int i = 0; i < (int)(sizeof agg_names / sizeof agg_names[0]); i++)
        if (strlen(agg_names[i]) == (size_t)(p - start) && !strncmp(start, agg_names[i], (size_t)(p - start)))
            kind = i;
    if (kind < 0) {
        return errmsg_fail(
            err, err_len,
            "Unknown function \"%.*s\" (the functions are sum, count, avg, min, max and pageOf)",
            (int)(p - start > 40 ? 40 : p - start), start);
    }
    expr_agg_t *g = arena_alloc(a, sizeof *g);
    if (!g)
        goto nomem;
    g->kind = (agg_kind_t)kind;
    p = skip_ws(skip_ws(p, end) + 1, end); /* past "(" */
    if (scan_path(a, &p, end, names, &g->list, err, err_len) < 0)
        return -1;
    if (g->list->root != PATH_DATA && g->list->root != PATH_ITEM) {
        return errmsg_fail(err, err_len, "%s(...): \"%s\" is not a list", agg_names[kind], g->list->text);
    }
    p = skip_ws(p, end);
    g->var = "item";
    if (take_word(&p, end, "as")) {
        const char *vs = p;
        while (p < end && is_ident_char(*p))
            p++;
        g->var = arena_strndup(a, vs, (size_t)(p - vs));
        if (!g->var)
            goto nomem;
        if (p == vs || !is_ident_start(*vs) || !strcmp(g->var, "loop") || !strcmp(g->var, "page") ||
            !strcmp(g->var, "pages")) {
            return errmsg_fail(
                err, err_len,
                "%s(...): expected a name after \"as\" (letters, digits, _; not loop, page or pages)",
                agg_names[kind]);
        }
        p = skip_ws(p, end);
    }
    expr_scope_names_t inner = {0};
    if (names)
        inner = *names;
    if (inner.depth >= EXPR_LOOP_DEPTH_MAX) {
        return errmsg_fail(err, err_len, "%s(...) inside more than %d loops", agg_names[kind],
                           EXPR_LOOP_DEPTH_MAX - 1);
    }
    g->frame = inner.depth;
    inner.names[inner.depth++] = g->var;
    if (take_word(&p, end, "where") && agg_where(a, &p, end, &inner, g, err, err_len) < 0)
        return -1;
    if (p < end && *p == ',') {
        p = skip_ws(p + 1, end);
        if (g->kind == AGG_COUNT) {
            return errmsg_fail(err, err_len,
                               "count(...) counts elements and takes no field (choose them with \"where\")");
        }
        if (agg_field(a, &p, end, g, err, err_len) < 0)
            return -1;
    }
    if (p >= end || *p != ')') {
        return errmsg_fail(
            err, err_len, "%s(...): expected \")\"%s", agg_names[kind],
            g->field ? ""
                     : " (the list may be followed by \"as NAME\", \"where CONDITION\" and , \"field\")");
    }
    p++;
    g->text = arena_strndup(a, start, (size_t)(p - start));
    if (!g->text)
        goto nomem;
    *pp = p;
    *out = g;
    return 0;
nomem:
    return errmsg_fail(err, err_len, "Out of memory");
}

/* --------------------------------------------------------- template strings */

/* Finds the "}}" closing an expression, skipping quoted strings. */
static const char *find_close(const char *p, const char *end)
{
    while (p + 1 < end) {
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            while (p < end && *p != q) {
                if (*p == '\\' && p + 1 < end)
                    p++;
                p++;
            }
            if (p < end)
                p++;
            continue;
        }
        if (p[0] == '}' && p[1] == '}')
            return p;
        p++;
    }
    return NULL;
}

/* "pageOf" followed by "(" at *pp: consumes the name. */
static bool take_pageof(const char **pp, const char *end)
{
    if (!at_call(*pp, end))
        return false;
    const char *p = *pp;
    if (!take_word(&p, end, "pageOf"))
        return false;
    *pp = p;
    return true;
}

/* The (...) of pageOf, after the name: a path of root PATH_PAGEOF, whose anchor is a quoted name
 * or the value of a path (pageOf(item.ref)). */
static int scan_pageof(arena_t *a, const char **pp, const char *end, const expr_scope_names_t *names,
                       expr_path_t **out, char *err, size_t err_len)
{
    const char *p = skip_ws(*pp + 1, end); /* after "(" */
    const char *name = NULL;
    size_t len = 0;
    expr_path_t *arg = NULL;
    if (p < end && (*p == '"' || *p == '\'')) {
        if (scan_quoted(a, &p, end, &name, &len, err, err_len) < 0)
            return -1;
    } else if (p >= end || !is_ident_start(*p) || scan_path(a, &p, end, names, &arg, err, err_len) < 0) {
        return errmsg_fail(err, err_len,
                           "pageOf takes the name of an anchor in quotes, or a value that holds one: "
                           "pageOf(\"terms\"), pageOf(item.ref)");
    }
    p = skip_ws(p, end);
    if (p >= end || *p != ')')
        return errmsg_fail(err, err_len, "Expected \")\" after pageOf(%s%.100s%s", name ? "\"" : "",
                           name ? name : arg->text, name ? "\"" : "");
    expr_path_t *path = arena_calloc(a, 1, sizeof *path);
    char text[160];
    if (name)
        snprintf(text, sizeof text, "pageOf(\"%.100s\")", name);
    else
        snprintf(text, sizeof text, "pageOf(%.100s)", arg->text);
    if (!path || !(path->text = arena_strdup(a, text)) ||
        !(path->seg = arena_calloc(a, 1, sizeof *path->seg)))
        return errmsg_fail(err, err_len, "Out of memory");
    path->root = PATH_PAGEOF;
    path->anchor = name;
    path->anchor_path = arg;
    *pp = p + 1;
    *out = path;
    return 0;
}

/* One {{ value }}: a quoted literal, an aggregate call or a path, then its | filters. Long because
 * the value and its filter chain are parsed in one pass over the same cursor and part. */
static int parse_value(arena_t *a, const char *p, const char *end, const expr_scope_names_t *names,
                       expr_part_t *part, char *err, size_t err_len)
{
    p = skip_ws(p, end);
    if (p == end) {
        return errmsg_fail(err, err_len, "Empty {{ }}");
    }
    part->is_value = true;
    if (*p == '"' || *p == '\'') {
        if (scan_quoted(a, &p, end, &part->lit, &part->lit_len, err, err_len) < 0)
            return -1;
    } else if (take_pageof(&p, end)) {
        if (scan_pageof(a, &p, end, names, &part->path, err, err_len) < 0)
            return -1;
    } else if (at_call(p, end)) {
        if (scan_agg(a, &p, end, names, &part->agg, err, err_len) < 0)
            return -1;
    } else if (scan_path(a, &p, end, names, &part->path, err, err_len) < 0) {
        return -1;
    }
    expr_filter_t filters[EXPR_FILTERS_MAX];
    int nf = 0;
    for (;;) {
        p = skip_ws(p, end);
        if (p == end)
            break;
        if (*p != '|') {
            return errmsg_fail(err, err_len, "Unexpected \"%.*s\" in {{ }} (filters are written \"| name\")",
                               (int)(end - p > 20 ? 20 : end - p), p);
        }
        p = skip_ws(p + 1, end);
        const char *ns = p;
        while (p < end && is_ident_char(*p))
            p++;
        if (p == ns) {
            return errmsg_fail(err, err_len, "Expected a filter name after \"|\"");
        }
        if (nf == EXPR_FILTERS_MAX) {
            return errmsg_fail(err, err_len, "More than %d filters", EXPR_FILTERS_MAX);
        }
        expr_filter_t *f = &filters[nf++];
        f->name = arena_strndup(a, ns, (size_t)(p - ns));
        f->arg = NULL;
        f->arg_path = NULL;
        p = skip_ws(p, end);
        if (p < end && *p == ':' && skip_ws(p + 1, end) < end && *skip_ws(p + 1, end) == '(') {
            /* currency:(invoice.currency)[:LOCALE]: the first part comes from the data. */
            p = skip_ws(skip_ws(p + 1, end) + 1, end);
            if (scan_path(a, &p, end, names, &f->arg_path, err, err_len) < 0)
                return -1;
            p = skip_ws(p, end);
            if (p >= end || *p != ')') {
                return errmsg_fail(err, err_len, "Expected \")\" after \"(%s\" in the argument of \"%s\"",
                                   f->arg_path->text, f->name);
            }
            p = skip_ws(p + 1, end);
            if (p < end && *p != ':' && *p != '|') {
                return errmsg_fail(err, err_len, "Unexpected \"%.*s\" after \"(%s)\"",
                                   (int)(end - p > 20 ? 20 : end - p), p, f->arg_path->text);
            }
        }
        if (p < end && *p == ':') {
            /* The argument is passed to the filter as written (quotes included): format.c
             * splits "EUR:de-DE" or "EUR":"de-DE" into parts and unquotes them itself. It
             * runs to the next "|" outside quotes. */
            p = skip_ws(p + 1, end);
            const char *as = p;
            char q = 0;
            while (p < end && (q || *p != '|')) {
                if (q && *p == '\\' && p + 1 < end)
                    p++;
                else if (!q && (*p == '"' || *p == '\''))
                    q = *p;
                else if (q && *p == q)
                    q = 0;
                p++;
            }
            if (q) {
                return errmsg_fail(err, err_len, "Unterminated string in the argument of \"%s\"", f->name);
            }
            const char *ae = p;
            while (ae > as && isspace((unsigned char)ae[-1]))
                ae--;
            if (ae == as) {
                return errmsg_fail(err, err_len, "Expected an argument after \"%s:\"", f->name);
            }
            f->arg = arena_strndup(a, as, (size_t)(ae - as));
        }
    }
    if (nf) {
        part->filters = arena_calloc(a, (size_t)nf, sizeof *part->filters);
        if (!part->filters) {
            return errmsg_fail(err, err_len, "Out of memory");
        }
        memcpy(part->filters, filters, (size_t)nf * sizeof *filters);
        part->nfilters = nf;
    }
    return 0;
}

int expr_parse_str(arena_t *a, const char *s, const expr_scope_names_t *names, expr_str_t *out, char *err,
                   size_t err_len)
{
    memset(out, 0, sizeof *out);
    const char *end = s + strlen(s);
    /* Count upper bound of parts: each "{{" gives at most 2. */
    int cap = 1;
    for (const char *q = s; (q = strstr(q, "{{")); q += 2)
        cap += 2;
    expr_part_t *parts = arena_calloc(a, (size_t)cap, sizeof *parts);
    buf_t lit;
    buf_init(&lit, 1024 * 1024);
    int n = 0, rc = -1;
    if (!parts)
        goto nomem;
    const char *p = s;
    while (p < end) {
        const char *open = strstr(p, "{{");
        /* "\{{" is a literal "{{". */
        if (open && open > p && open[-1] == '\\') {
            if (buf_append(&lit, p, (size_t)(open - 1 - p)) < 0 || buf_append(&lit, "{{", 2) < 0)
                goto toolong;
            p = open + 2;
            continue;
        }
        if (!open) {
            if (buf_append(&lit, p, (size_t)(end - p)) < 0)
                goto toolong;
            break;
        }
        if (buf_append(&lit, p, (size_t)(open - p)) < 0)
            goto toolong;
        const char *close = find_close(open + 2, end);
        if (!close) {
            errmsg_fail(err, err_len, "Unclosed \"{{\" (every {{ needs a matching }})");
            goto fail;
        }
        if (lit.len) {
            parts[n].lit = arena_strndup(a, buf_cstr(&lit), lit.len);
            parts[n].lit_len = lit.len;
            if (!parts[n++].lit)
                goto nomem;
            buf_reset(&lit);
        }
        if (parse_value(a, open + 2, close, names, &parts[n], err, err_len) < 0)
            goto fail;
        n++;
        p = close + 2;
    }
    if (lit.len || n == 0) {
        parts[n].lit = arena_strndup(a, buf_cstr(&lit), lit.len);
        parts[n].lit_len = lit.len;
        if (!parts[n++].lit)
            goto nomem;
    }
    out->parts = parts;
    out->nparts = n;
    /* Constant folding: literals and quoted values without filters. */
    bool constant = true;
    for (int i = 0; i < n; i++)
        if (parts[i].is_value && (parts[i].path || parts[i].agg || parts[i].nfilters))
            constant = false;
    if (constant) {
        buf_reset(&lit);
        for (int i = 0; i < n; i++)
            if (buf_append(&lit, parts[i].lit, parts[i].lit_len) < 0)
                goto toolong;
        out->constant = arena_strndup(a, buf_cstr(&lit), lit.len);
        out->constant_len = lit.len;
        if (!out->constant)
            goto nomem;
    }
    rc = 0;
    goto done;
toolong:
    errmsg_fail(err, err_len, "Text too long");
    goto fail;
nomem:
    errmsg_fail(err, err_len, "Out of memory");
fail:
done:
    buf_free(&lit);
    return rc;
}

void expr_str_visit_paths(expr_str_t *s, expr_path_visit_fn fn, void *arg)
{
    for (int i = 0; i < s->nparts; i++) {
        if (s->parts[i].path)
            fn(s->parts[i].path, arg);
        if (s->parts[i].path && s->parts[i].path->anchor_path)
            fn(s->parts[i].path->anchor_path, arg);
        for (int f = 0; f < s->parts[i].nfilters; f++)
            if (s->parts[i].filters[f].arg_path)
                fn(s->parts[i].filters[f].arg_path, arg);
    }
}

void expr_str_visit_aggs(expr_str_t *s, expr_agg_visit_fn fn, void *arg)
{
    for (int i = 0; i < s->nparts; i++)
        if (s->parts[i].agg)
            fn(s->parts[i].agg, arg);
}

void expr_str_visit_filters(const expr_str_t *s, expr_filter_visit_fn fn, void *arg)
{
    for (int i = 0; i < s->nparts; i++)
        for (int f = 0; f < s->parts[i].nfilters; f++)
            fn(&s->parts[i].filters[f], arg);
}

/* --------------------------------------------------------------- conditions */

typedef struct cond_parser {
    arena_t *a;
    const char *p, *end;
    const expr_scope_names_t *names;
    json_t *owned;
    int depth;
    char *err;
    size_t err_len;
} cond_parser_t;

static bool cp_word(cond_parser_t *cp, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(cp->end - cp->p) >= n && !strncmp(cp->p, w, n) &&
        (cp->p + n == cp->end || !is_ident_char(cp->p[n]))) {
        cp->p = skip_ws(cp->p + n, cp->end);
        return true;
    }
    return false;
}

static bool cp_sym(cond_parser_t *cp, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(cp->end - cp->p) >= n && !strncmp(cp->p, s, n)) {
        cp->p = skip_ws(cp->p + n, cp->end);
        return true;
    }
    return false;
}

static expr_cond_t *cp_or(cond_parser_t *cp);

static int cp_operand(cond_parser_t *cp, cond_operand_t *op)
{
    const char *p = cp->p;
    if (p == cp->end) {
        return errmsg_fail(cp->err, cp->err_len, "Condition ends too early");
    }
    if (*p == '"' || *p == '\'') {
        const char *s;
        size_t len;
        if (scan_quoted(cp->a, &p, cp->end, &s, &len, cp->err, cp->err_len) < 0)
            return -1;
        op->literal = json_stringn(s, len);
    } else if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '+') && p + 1 < cp->end &&
                                              (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
        char *e;
        errno = 0;
        double v = strtod(p, &e);
        if (e == p || errno || !isfinite(v) || e > cp->end) {
            return errmsg_fail(cp->err, cp->err_len, "Bad number in condition");
        }
        op->literal = json_real(v);
        p = e;
    } else if (cp_word(cp, "true")) {
        op->literal = json_true();
        p = cp->p;
    } else if (cp_word(cp, "false")) {
        op->literal = json_false();
        p = cp->p;
    } else if (cp_word(cp, "null")) {
        op->literal = json_null();
        p = cp->p;
    } else if (at_call(p, cp->end)) {
        return errmsg_fail(
            cp->err, cp->err_len,
            "Functions such as sum(...) or count(...) are written in {{ }} text, not in conditions");
    } else {
        if (scan_path(cp->a, &p, cp->end, cp->names, &op->path, cp->err, cp->err_len) < 0)
            return -1;
    }
    if (op->literal && json_array_append_new(cp->owned, op->literal) < 0) {
        return errmsg_fail(cp->err, cp->err_len, "Out of memory");
    }
    cp->p = skip_ws(p, cp->end);
    return 0;
}

static expr_cond_t *cp_new(cond_parser_t *cp, cond_kind_t kind)
{
    expr_cond_t *c = arena_alloc(cp->a, sizeof *c);
    if (!c)
        errmsg_fail(cp->err, cp->err_len, "Out of memory");
    else
        c->kind = kind;
    return c;
}

static expr_cond_t *cp_unary(cond_parser_t *cp)
{
    if (++cp->depth > EXPR_COND_DEPTH_MAX) {
        errmsg_fail(cp->err, cp->err_len, "Condition nested too deeply");
        return NULL;
    }
    expr_cond_t *c = NULL;
    if (cp_word(cp, "not") || (cp->p < cp->end && cp->p[0] == '!' &&
                               (cp->p + 1 == cp->end || cp->p[1] != '=') && cp_sym(cp, "!"))) {
        expr_cond_t *inner = cp_unary(cp);
        if (inner && (c = cp_new(cp, COND_NOT)))
            c->a = inner;
    } else if (cp_sym(cp, "(")) {
        c = cp_or(cp);
        if (c && !cp_sym(cp, ")")) {
            errmsg_fail(cp->err, cp->err_len, "Missing \")\" in condition");
            c = NULL;
        }
    } else {
        cond_operand_t lhs = {0};
        if (cp_operand(cp, &lhs) < 0)
            goto out;
        static const struct {
            const char *s;
            cmp_op_t op;
        } ops[] = {
            {"==", CMP_EQ}, {"!=", CMP_NE}, {"<=", CMP_LE}, {">=", CMP_GE}, {"<", CMP_LT}, {">", CMP_GT},
        };
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            if (cp_sym(cp, ops[i].s)) {
                if (!(c = cp_new(cp, COND_CMP)))
                    goto out;
                c->lhs = lhs;
                c->op = ops[i].op;
                if (cp_operand(cp, &c->rhs) < 0)
                    c = NULL;
                goto out;
            }
        }
        if (!(c = cp_new(cp, COND_TRUTHY)))
            goto out;
        c->lhs = lhs;
    }
out:
    cp->depth--;
    return c;
}

static expr_cond_t *cp_and(cond_parser_t *cp)
{
    expr_cond_t *l = cp_unary(cp);
    while (l && (cp_word(cp, "and") || cp_sym(cp, "&&"))) {
        expr_cond_t *r = cp_unary(cp), *c;
        if (!r || !(c = cp_new(cp, COND_AND)))
            return NULL;
        c->a = l;
        c->b = r;
        l = c;
    }
    return l;
}

static expr_cond_t *cp_or(cond_parser_t *cp)
{
    expr_cond_t *l = cp_and(cp);
    while (l && (cp_word(cp, "or") || cp_sym(cp, "||"))) {
        expr_cond_t *r = cp_and(cp), *c;
        if (!r || !(c = cp_new(cp, COND_OR)))
            return NULL;
        c->a = l;
        c->b = r;
        l = c;
    }
    return l;
}

int expr_parse_cond(arena_t *a, const char *s, const expr_scope_names_t *names, json_t *owned,
                    expr_cond_t **out, char *err, size_t err_len)
{
    cond_parser_t cp = {
        .a = a, .end = s + strlen(s), .names = names, .owned = owned, .err = err, .err_len = err_len};
    cp.p = skip_ws(s, cp.end);
    if (cp.p == cp.end) {
        return errmsg_fail(err, err_len, "Empty condition");
    }
    expr_cond_t *c = cp_or(&cp);
    if (!c)
        return -1;
    if (cp.p != cp.end) {
        return errmsg_fail(err, err_len, "Unexpected \"%.20s\" in condition", cp.p);
    }
    *out = c;
    return 0;
}

void expr_cond_visit_paths(expr_cond_t *c, expr_path_visit_fn fn, void *arg)
{
    if (!c)
        return;
    if (c->lhs.path)
        fn(c->lhs.path, arg);
    if (c->rhs.path)
        fn(c->rhs.path, arg);
    expr_cond_visit_paths(c->a, fn, arg);
    expr_cond_visit_paths(c->b, fn, arg);
}

/* --------------------------------------------------------------- evaluation */

static bool seg_index(const char *s, size_t *out)
{
    if (!isdigit((unsigned char)*s))
        return false;
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (*e || errno)
        return false;
    *out = (size_t)v;
    return true;
}

/* The page of pageOf's anchor: its quoted name, or the text (or whole number) its path holds. */
static int page_of(const expr_scope_t *sc, const expr_path_t *p)
{
    if (!p->anchor_path)
        return sc->page_of(sc->page_of_arg, p->anchor, p->text);
    json_t *tmp;
    const json_t *v = expr_resolve(sc, p->anchor_path, &tmp);
    char num[32];
    const char *name = NULL;
    if (json_is_string(v)) {
        name = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        name = num;
    }
    int page = sc->page_of(sc->page_of_arg, name, p->text);
    json_decref(tmp);
    return page;
}

const json_t *expr_resolve(const expr_scope_t *sc, const expr_path_t *p, json_t **tmp)
{
    const json_t *v;
    *tmp = NULL;
    switch (p->root) {
    case PATH_DATA: v = sc->data; break;
    case PATH_ITEM:
        if (p->frame >= sc->depth)
            return NULL;
        v = sc->frames[p->frame].item;
        break;
    case PATH_LOOPMETA: {
        if (p->frame >= sc->depth)
            return NULL;
        const expr_frame_t *f = &sc->frames[p->frame];
        switch (p->meta) {
        case LOOPMETA_INDEX: *tmp = json_integer((json_int_t)f->index + 1); break;
        case LOOPMETA_INDEX0: *tmp = json_integer((json_int_t)f->index); break;
        case LOOPMETA_COUNT: *tmp = json_integer((json_int_t)f->count); break;
        case LOOPMETA_FIRST: *tmp = json_boolean(f->index == 0); break;
        case LOOPMETA_LAST: *tmp = json_boolean(f->index + 1 == f->count); break;
        }
        return *tmp;
    }
    case PATH_PAGE: return *tmp = json_integer(sc->page);
    case PATH_PAGES: return *tmp = json_integer(sc->pages);
    case PATH_PAGEOF: return *tmp = json_integer(sc->page_of ? page_of(sc, p) : 0);
    default: return NULL;
    }
    for (int i = 0; v && i < p->nseg; i++) {
        size_t idx;
        if (json_is_object(v))
            v = json_object_get(v, p->seg[i]);
        else if (json_is_array(v) && seg_index(p->seg[i], &idx))
            v = json_array_get(v, idx);
        else
            v = NULL;
    }
    return v;
}

void expr_describe_path(const expr_scope_t *sc, const expr_path_t *p, char *out, size_t out_len)
{
    size_t n = 0;
    if (p->root == PATH_ITEM && p->frame < sc->depth) {
        const expr_frame_t *f = &sc->frames[p->frame];
        n = (size_t)snprintf(out, out_len, "data.%s.%zu", f->path ? f->path : "?", f->index);
    } else if (p->root == PATH_DATA) {
        n = (size_t)snprintf(out, out_len, "data");
    } else {
        snprintf(out, out_len, "%s", p->text);
        return;
    }
    for (int i = 0; i < p->nseg && n < out_len; i++)
        n += (size_t)snprintf(out + n, out_len - n, ".%s", p->seg[i]);
}

/* What a {{ }} value is called in messages: its data path, the aggregate as written, or "value". */
static void describe_part(const expr_scope_t *sc, const expr_part_t *part, char *out, size_t out_len)
{
    if (part->path)
        expr_describe_path(sc, part->path, out, out_len);
    else if (part->agg)
        snprintf(out, out_len, "%s", part->agg->text);
    else
        snprintf(out, out_len, "value");
}

#define EXPR_FILTER_ARG_MAX 300 /* a filter argument with its code from the data filled in */

/* currency:(invoice.currency)[:LOCALE]: the code from the data, which must be ISO 4217. */
static int data_filter_arg(const expr_scope_t *sc, const expr_filter_t *f, char *arg, size_t arg_len,
                           char *err, size_t err_len)
{
    json_t *tmp;
    const json_t *v = expr_resolve(sc, f->arg_path, &tmp);
    char where[256];
    expr_describe_path(sc, f->arg_path, where, sizeof where);
    int rc = -1;
    if (!v || json_is_null(v))
        errmsg_fail(err, err_len, "%s is missing: the \"%s\" filter takes its currency code from it", where,
                    f->name);
    else if (!json_is_string(v))
        errmsg_fail(err, err_len,
                    "%s is not text: the \"%s\" filter expects an ISO 4217 currency code such as \"EUR\"",
                    where, f->name);
    else if (!format_currency_iso4217(json_string_value(v)))
        errmsg_fail(err, err_len,
                    "%s is \"%.40s\", which is not an ISO 4217 currency code (such as EUR, USD or GBP)",
                    where, json_string_value(v));
    else if ((size_t)snprintf(arg, arg_len, "%s%s%s", json_string_value(v), f->arg ? ":" : "",
                              f->arg ? f->arg : "") >= arg_len)
        errmsg_fail(err, err_len, "The argument of \"%s\" is too long", f->name);
    else
        rc = 0;
    json_decref(tmp);
    return rc;
}

static int apply_filters(const expr_scope_t *sc, const expr_part_t *part, const json_t *v, buf_t *out,
                         char *err, size_t err_len)
{
    buf_t tmp;
    buf_init(&tmp, out->max);
    int rc = 0;
    json_t *chain = NULL;
    for (int i = 0; i < part->nfilters; i++) {
        const expr_filter_t *f = &part->filters[i];
        bool last = i == part->nfilters - 1;
        buf_t *dst = last ? out : &tmp;
        char ferr[ERRMSG_LEN] = "", data_arg[EXPR_FILTER_ARG_MAX];
        const char *arg = f->arg;
        if (f->arg_path) {
            if (data_filter_arg(sc, f, data_arg, sizeof data_arg, err, err_len) < 0) {
                rc = -1;
                break;
            }
            arg = data_arg;
        }
        if (format_apply_in(f->name, arg, sc->lang, v, dst, ferr, sizeof ferr) < 0) {
            char where[256];
            describe_part(sc, part, where, sizeof where);
            errmsg_fail(err, err_len, "%s could not be formatted with \"%s%s%s\": %s", where, f->name,
                        arg ? ":" : "", arg ? arg : "", ferr);
            rc = -1;
            break;
        }
        if (!last) {
            if (!chain)
                chain = json_stringn_nocheck(buf_cstr(&tmp), tmp.len);
            else
                json_string_setn_nocheck(chain, buf_cstr(&tmp), tmp.len);
            buf_reset(&tmp);
            v = chain;
        }
    }
    json_decref(chain);
    buf_free(&tmp);
    return rc;
}

/* Appends one {{…}} value without filters: the manifest's format, or its plain text. Returns 0,
 * -1 with err, or 1 when it does not fit in out (nothing of it is kept). */
static int print_value(const expr_scope_t *sc, const expr_part_t *part, const json_t *v, buf_t *out,
                       char *err, size_t err_len)
{
    char where[256];
    const char *mf_format = part->path ? part->path->mf_format : part->agg->mf_format;
    const char *mf_type = part->path ? part->path->mf_type : part->agg->mf_type;
    if (mf_format && v && !json_is_null(v)) {
        char ferr[ERRMSG_LEN] = "";
        if (format_manifest_in(mf_format, mf_type, sc->lang, v, out, ferr, sizeof ferr) < 0) {
            describe_part(sc, part, where, sizeof where);
            return errmsg_fail(err, err_len, "%s could not be formatted as \"%s\": %s", where, mf_format,
                               ferr);
        }
        return 0;
    }
    size_t before = out->len;
    int rc = format_plain(v, out);
    if (rc == FORMAT_NOT_TEXT) {
        /* A list or an object is never dumped as JSON into the document. */
        describe_part(sc, part, where, sizeof where);
        if (json_is_array(v))
            errmsg_fail(
                err, err_len,
                "%s is a list, which cannot be printed as text (repeat a block over it with \"each\")",
                where);
        else
            errmsg_fail(err, err_len,
                        "%s is an object, which cannot be printed as text (print one of its fields)", where);
        return -1;
    }
    if (rc < 0) { /* never print part of a value */
        out->len = before;
        if (out->data)
            out->data[before] = 0;
        return 1;
    }
    return 0;
}

/* One element's number for sum/avg/min/max. 0, or -1 with err naming its data path. */
static int agg_element_value(const expr_scope_t *el, const expr_agg_t *g, decimal_t *out, char *err,
                             size_t err_len)
{
    json_t *tmp;
    const json_t *v = g->field ? expr_resolve(el, g->field, &tmp) : el->frames[g->frame].item;
    if (!g->field)
        tmp = NULL;
    int rc = decimal_from_json(v, out);
    json_decref(tmp);
    if (rc == DECIMAL_OK)
        return 0;
    char where[256];
    const expr_frame_t *f = &el->frames[g->frame];
    int n = snprintf(where, sizeof where, "data.%s.%zu", f->path, f->index);
    if (g->field && n > 0 && (size_t)n < sizeof where)
        snprintf(where + n, sizeof where - (size_t)n, ".%s", g->field_text);
    if (rc == DECIMAL_RANGE)
        errmsg_fail(
            err, err_len,
            "%s: %s is too large or has too many decimals to add up exactly (at most %d digits before "
            "and %d after the point)",
            g->text, where, DECIMAL_INT_DIGITS, DECIMAL_SCALE);
    else if (!v || json_is_null(v))
        errmsg_fail(err, err_len, "%s: %s is missing (skip such elements with \"where %s%s%s != null\")",
                    g->text, where, g->var, g->field ? "." : "", g->field ? g->field_text : "");
    else
        errmsg_fail(err, err_len, "%s: %s is not a number", g->text, where);
    return -1;
}

int expr_eval_agg(const expr_scope_t *sc, const expr_agg_t *g, json_t **out, char *err, size_t err_len)
{
    *out = NULL;
    json_t *ltmp;
    const json_t *list = expr_resolve(sc, g->list, &ltmp);
    char lpath[256];
    expr_describe_path(sc, g->list, lpath, sizeof lpath);
    if (list && !json_is_null(list) && !json_is_array(list)) {
        json_decref(ltmp);
        return errmsg_fail(err, err_len, "%s: %s is not a list", g->text, lpath);
    }
    /* The element is a loop frame of its own, so that "where" and the field resolve as in "each". */
    expr_scope_t el = *sc;
    el.depth = g->frame + 1;
    expr_frame_t *f = &el.frames[g->frame];
    f->path = strncmp(lpath, "data.", 5) ? lpath : lpath + 5;
    f->count = list ? json_array_size(list) : 0;
    decimal_t acc, x;
    decimal_zero(&acc);
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < f->count && rc == 0; i++) {
        f->index = i;
        f->item = json_array_get(list, i);
        if (g->where && !expr_eval_cond(&el, g->where))
            continue;
        n++;
        if (g->kind == AGG_COUNT)
            continue;
        if ((rc = agg_element_value(&el, g, &x, err, err_len)) < 0)
            break;
        if (g->kind == AGG_MIN || g->kind == AGG_MAX) {
            int d = decimal_cmp(&x, &acc);
            if (n == 1 || (g->kind == AGG_MIN ? d < 0 : d > 0))
                acc = x;
        } else if (decimal_add(&acc, &x) != DECIMAL_OK) {
            errmsg_fail(err, err_len, "%s: the total of %s is too large (more than %d digits)", g->text,
                        lpath, DECIMAL_INT_DIGITS);
            rc = -1;
        }
    }
    json_decref(ltmp);
    if (rc < 0)
        return -1;
    if (g->kind == AGG_COUNT) {
        *out = json_integer((json_int_t)n);
    } else if (n == 0 && g->kind != AGG_SUM) {
        *out = json_null(); /* no average, smallest or largest of nothing: printed as "" */
    } else {
        if (g->kind == AGG_AVG)
            (void)decimal_div_u32(&acc, n);
        char text[DECIMAL_TEXT_MAX];
        decimal_to_text(&acc, text);
        *out = json_string(text);
    }
    if (!*out) {
        return errmsg_fail(err, err_len, "Out of memory");
    }
    return 0;
}

int expr_eval_str(const expr_scope_t *sc, const expr_str_t *s, buf_t *out, char *err, size_t err_len)
{
    if (s->constant) {
        if (buf_append(out, s->constant, s->constant_len) < 0)
            goto toolong;
        return 0;
    }
    for (int i = 0; i < s->nparts; i++) {
        const expr_part_t *part = &s->parts[i];
        if (!part->is_value || (!part->path && !part->agg && !part->nfilters)) {
            if (buf_append(out, part->lit, part->lit_len) < 0)
                goto toolong;
            continue;
        }
        json_t *tmp = NULL, *litv = NULL;
        const json_t *v;
        if (part->path) {
            v = expr_resolve(sc, part->path, &tmp);
        } else if (part->agg) {
            if (expr_eval_agg(sc, part->agg, &tmp, err, err_len) < 0)
                return -1;
            v = tmp;
        } else {
            v = litv = json_stringn_nocheck(part->lit, part->lit_len);
        }
        int rc = part->nfilters ? apply_filters(sc, part, v, out, err, err_len)
                                : print_value(sc, part, v, out, err, err_len);
        json_decref(tmp);
        json_decref(litv);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            char where[256];
            describe_part(sc, part, where, sizeof where);
            return errmsg_fail(err, err_len, "longer than the limit of %zu bytes once %s is filled in",
                               out->max, where);
        }
    }
    return 0;
toolong:
    return errmsg_fail(err, err_len, "longer than the limit of %zu bytes", out->max);
}

bool expr_truthy(const json_t *v)
{
    if (!v)
        return false;
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE: return false;
    case JSON_TRUE: return true;
    case JSON_STRING: return json_string_length(v) > 0;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0.0;
    case JSON_ARRAY: return json_array_size(v) > 0;
    case JSON_OBJECT: return json_object_size(v) > 0;
    }
    return false;
}

static bool as_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (json_is_string(v) && json_string_length(v) > 0) {
        const char *s = json_string_value(v);
        char *e;
        errno = 0;
        double d = strtod(s, &e);
        while (*e == ' ')
            e++;
        if (!*e && !errno && isfinite(d)) {
            *out = d;
            return true;
        }
    }
    return false;
}

/* Three-way comparison; returns false in *comparable when the types cannot be ordered. */
static int compare(const json_t *l, const json_t *r, bool *comparable)
{
    *comparable = true;
    bool lnull = !l || json_is_null(l), rnull = !r || json_is_null(r);
    if (lnull || rnull) {
        *comparable = lnull && rnull;
        return 0;
    }
    double a, b;
    if ((json_is_number(l) || json_is_number(r)) && as_number(l, &a) && as_number(r, &b))
        return a < b ? -1 : a > b ? 1 : 0;
    if (json_is_string(l) && json_is_string(r))
        return strcmp(json_string_value(l), json_string_value(r));
    if (json_is_boolean(l) && json_is_boolean(r))
        return (int)json_is_true(l) - (int)json_is_true(r);
    *comparable = false;
    return 0;
}

static const json_t *operand_value(const expr_scope_t *sc, const cond_operand_t *op, json_t **tmp)
{
    *tmp = NULL;
    if (op->path)
        return expr_resolve(sc, op->path, tmp);
    return op->literal;
}

bool expr_eval_cond(const expr_scope_t *sc, const expr_cond_t *c)
{
    switch (c->kind) {
    case COND_NOT: return !expr_eval_cond(sc, c->a);
    case COND_AND: return expr_eval_cond(sc, c->a) && expr_eval_cond(sc, c->b);
    case COND_OR: return expr_eval_cond(sc, c->a) || expr_eval_cond(sc, c->b);
    case COND_TRUTHY: {
        json_t *tmp;
        bool r = expr_truthy(operand_value(sc, &c->lhs, &tmp));
        json_decref(tmp);
        return r;
    }
    case COND_CMP: {
        json_t *t1, *t2;
        const json_t *l = operand_value(sc, &c->lhs, &t1), *r = operand_value(sc, &c->rhs, &t2);
        bool comparable;
        int d = compare(l, r, &comparable);
        json_decref(t1);
        json_decref(t2);
        switch (c->op) {
        case CMP_EQ: return comparable && d == 0;
        case CMP_NE: return !comparable || d != 0;
        case CMP_LT: return comparable && d < 0;
        case CMP_LE: return comparable && d <= 0;
        case CMP_GT: return comparable && d > 0;
        case CMP_GE: return comparable && d >= 0;
        }
    }
    }
    return false;
}
