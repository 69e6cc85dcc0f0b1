/* compile — layout JSON → node tree (see compile.h), plus engine_compile itself. */
#include "engine/compile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "engine/codes.h"
#include "engine/format.h"
#include "engine/hyph.h"

/* ------------------------------------------------------------------ issues */

void compile_issue(compiler_t *c, const char *path, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->nissues == 0) {
        snprintf(c->first_issue, sizeof c->first_issue, "%s%s%s", path ? path : "", path ? ": " : "", msg);
    }
    c->nissues++;
    if (c->nissues > ENGINE_ISSUES_MAX)
        return;
    if (c->nissues == ENGINE_ISSUES_MAX) {
        json_array_append_new(c->form_errors,
                              json_string("Too many problems; only the first ones are listed"));
        return;
    }
    if (!path) {
        json_array_append_new(c->form_errors, json_string(msg));
        return;
    }
    json_t *list = json_object_get(c->field_errors, path);
    if (!list) {
        list = json_array();
        json_object_set_new(c->field_errors, path, list);
    }
    /* The same message twice at one path (e.g. a style applied in many places) adds nothing. */
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m) if (!strcmp(json_string_value(m), msg)) return;
    json_array_append_new(list, json_string(msg));
}

const char *compile_path(compiler_t *c, const char *base, const char *key)
{
    size_t n = strlen(base) + strlen(key) + 2;
    char *p = arena_alloc(c->a, n);
    if (!p)
        return base;
    snprintf(p, n, "%s.%s", base, key);
    return p;
}

const char *compile_path_index(compiler_t *c, const char *base, size_t index)
{
    char k[24];
    snprintf(k, sizeof k, "%zu", index);
    return compile_path(c, base, k);
}

void compile_check_keys(compiler_t *c, const json_t *obj, const char *path, const char *const *allowed,
                        bool style_keys, bool spacing_keys)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool ok = (style_keys && compile_is_style_key(key)) || (spacing_keys && compile_is_spacing_key(key));
        for (int i = 0; !ok && allowed[i]; i++)
            ok = !strcmp(key, allowed[i]);
        if (!ok)
            compile_issue(c, compile_path(c, path, key), "Unknown property \"%s\"", key);
    }
}

/* ------------------------------------------------------------- bindings */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t sub = prev + (a[i - 1] != b[j - 1]);
            size_t del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    return row[lb];
}

/* The closest known name to `name` among the keys of obj (prefixed), if close enough. */
static void suggest(const json_t *obj, const char *prefix, const char *name, char *best, size_t best_len,
                    size_t *best_d)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        char cand[300];
        snprintf(cand, sizeof cand, "%s%s", prefix, key);
        size_t d = edit_distance(name, cand);
        size_t limit = strlen(name) / 3 + 1;
        if (d <= limit && d < *best_d) {
            *best_d = d;
            snprintf(best, best_len, "%s", cand);
        }
    }
}

static void item_fields_index(const json_t *loop, json_t *out)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(loop, "itemFields"), i, f)
    {
        json_t *k = json_object_get(f, "key");
        if (json_is_string(k))
            json_object_set(out, json_string_value(k), f);
    }
}

static void mf_attach(compiler_t *c, expr_path_t *p, const json_t *def)
{
    json_t *fmt = json_object_get(def, "format"), *type = json_object_get(def, "dataType");
    if (json_is_string(fmt) && json_string_length(fmt))
        p->mf_format = arena_strdup(c->a, json_string_value(fmt));
    if (json_is_string(type))
        p->mf_type = arena_strdup(c->a, json_string_value(type));
}

typedef struct bind_ctx {
    compiler_t *c;
    const char *path;
    bind_use_t use;
} bind_ctx_t;

static void unknown_name(compiler_t *c, const char *path, const expr_path_t *p, const char *what)
{
    char best[300] = "";
    size_t best_d = 99;
    if (p->root == PATH_DATA) {
        suggest(c->mf_vars, "", p->text, best, sizeof best, &best_d);
        suggest(c->mf_loops, "", p->text, best, sizeof best, &best_d);
    }
    for (int d = 0; d < c->names.depth; d++) {
        if (!c->loop_defs[d])
            continue;
        json_t *fields = json_object();
        item_fields_index(c->loop_defs[d], fields);
        char prefix[100];
        snprintf(prefix, sizeof prefix, "%s.", c->names.names[d]);
        suggest(fields, prefix, p->text, best, sizeof best, &best_d);
        json_decref(fields);
    }
    if (*best)
        compile_issue(c, path, "Unknown %s \"%s\" (did you mean \"%s\"?)", what, p->text, best);
    else
        compile_issue(c, path, "Unknown %s \"%s\"", what, p->text);
}

/* The first manifest variable inside the object at `prefix` ("customer" → "customer.name"), or
 * NULL when prefix is not an object of the manifest. */
static const char *object_field(const json_t *vars, const char *prefix)
{
    size_t n = strlen(prefix);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)vars, key, v) if (!strncmp(key, prefix, n) && key[n] == '.') return key;
    return NULL;
}

static void bind_path(expr_path_t *p, void *arg)
{
    bind_ctx_t *b = arg;
    compiler_t *c = b->c;
    if (p->root == PATH_PAGEOF) {
        compile_page_ref(c, p, b->path);
        return;
    }
    if (p->root == PATH_DATA && (!strcmp(p->text, "page") || !strcmp(p->text, "pages")) &&
        !c->names.allow_page && !(c->mf_vars && json_object_get(c->mf_vars, p->text))) {
        compile_issue(c, b->path, "{{%s}} is only defined in header and footer blocks", p->text);
        return;
    }
    if (p->root == PATH_DATA && p->nseg > 0 && !strcmp(p->seg[0], "loop") && c->names.depth == 0 &&
        !(c->mf_vars && json_object_get(c->mf_vars, p->text))) {
        compile_issue(c, b->path, "\"%s\" is only defined inside a block or row with \"each\"", p->text);
        return;
    }
    if (!c->manifest)
        return;
    if (p->root == PATH_DATA) {
        json_t *var = json_object_get(c->mf_vars, p->text);
        json_t *loop = json_object_get(c->mf_loops, p->text);
        if (b->use == BIND_LOOP) {
            if (!loop)
                unknown_name(c, b->path, p, var ? "loop (it is a variable, not a loop)" : "loop");
            return;
        }
        if (var) {
            mf_attach(c, p, var);
            return;
        }
        if (loop) {
            if (b->use != BIND_COND)
                compile_issue(c, b->path,
                              "\"%s\" is a loop: repeat a block or table rows over it with \"each\"",
                              p->text);
            return;
        }
        const char *field = b->use == BIND_COND ? NULL : object_field(c->mf_vars, p->text);
        if (field) { /* printing it would print a whole object */
            compile_issue(c, b->path, "\"%s\" is an object: print one of its fields, such as \"%s\"", p->text,
                          field);
            return;
        }
        if (b->use == BIND_COND && object_field(c->mf_vars, p->text))
            return; /* "if": customer is there when one of its fields is */
        unknown_name(c, b->path, p, "variable");
        return;
    }
    if (p->root == PATH_ITEM && c->group_frame[p->frame]) {
        if (p->nseg == 0 ||
            (strcmp(p->seg[0], "key") && strcmp(p->seg[0], "count") && strcmp(p->seg[0], "items")))
            compile_issue(c, b->path, "\"%s\": %s has key, count and items (%s.key, %s.count, %s.items)",
                          p->text, c->names.names[p->frame], c->names.names[p->frame],
                          c->names.names[p->frame], c->names.names[p->frame]);
        else if (b->use == BIND_TEXT && !strcmp(p->seg[0], "items") && p->nseg == 1)
            compile_issue(c, b->path, "\"%s\" is a list: add it up with sum(%s, \"field\") or count(%s)",
                          p->text, p->text, p->text);
        return;
    }
    if (p->root != PATH_ITEM || !c->loop_defs[p->frame])
        return;
    const char *var_name = c->names.names[p->frame];
    if (b->use == BIND_LOOP) {
        unknown_name(c, b->path, p, "loop (loops cannot be nested inside manifest loops)");
        return;
    }
    if (p->nseg == 0) {
        if (b->use != BIND_COND)
            compile_issue(c, b->path, "\"%s\" is a whole row: use %s.<field>", var_name, var_name);
        return;
    }
    json_t *fields = json_object();
    item_fields_index(c->loop_defs[p->frame], fields);
    json_t *f = json_object_get(fields, p->seg[0]);
    if (f && p->nseg == 1)
        mf_attach(c, p, f);
    else
        unknown_name(c, b->path, p, "field");
    json_decref(fields);
}

/* Unknown filters and bad arguments (an unknown currency, a bad date pattern, a locale ICU has
 * no data for) are layout problems. */
static void check_filter(const expr_filter_t *f, void *arg)
{
    bind_ctx_t *b = arg;
    if (!format_filter_known(f->name)) {
        compile_issue(b->c, b->path, "Unknown filter \"%s\"", f->name);
        return;
    }
    char data_arg[300];
    const char *farg = f->arg;
    if (f->arg_path) {
        if (strcmp(f->name, "currency") && strcmp(f->name, "money")) {
            compile_issue(
                b->c, b->path,
                "Only the currency and money filters take their argument from the data (\"%s:(%s)\")",
                f->name, f->arg_path->text);
            return;
        }
        /* The code is checked at render time; the rest (a locale) now, with a stand-in code. */
        snprintf(data_arg, sizeof data_arg, "EUR%s%s", f->arg ? ":" : "", f->arg ? f->arg : "");
        farg = data_arg;
    }
    char err[ERRMSG_LEN] = "";
    if (format_check(f->name, farg, err, sizeof err) < 0)
        compile_issue(b->c, b->path, "%s", err);
}

typedef struct lang_ctx {
    compiler_t *c;
    const char *path;
    const char *lang;
} lang_ctx_t;

static void check_filter_lang(const expr_filter_t *f, void *arg)
{
    lang_ctx_t *l = arg;
    char err[ERRMSG_LEN] = "";
    if (format_needs_locale(f->name, f->arg) &&
        format_check_in(f->name, f->arg, l->lang, err, sizeof err) < 0)
        compile_issue(l->c, l->path, "%s", err);
}

/* hyphenate needs a language with a dictionary; a lang from the data without one is laid out
 * unhyphenated (docs/templates.md). */
static void check_run_hyphenate(compiler_t *c, const run_t *r, const char *path)
{
    if (!r->style.hyphenate || r->style.lang_expr)
        return;
    if (!r->style.lang)
        compile_issue(c, path,
                      "hyphenate needs the text's language: set \"lang\" (here, on a parent, in defaultStyle "
                      "or in metadata.lang)");
    else if (!hyph_dict_file(r->style.lang))
        compile_issue(c, path, "No hyphenation dictionary for \"%.60s\" (hyphenate works for %s)",
                      r->style.lang, hyph_languages());
}

/* Dates and words that follow a literal `lang` need ICU data for that language (a lang from
 * the data is checked when it is known, at render time); so does hyphenate. */
static void check_run_lang(compiler_t *c, run_t *r, const char *path)
{
    check_run_hyphenate(c, r, path);
    if (!r->style.lang || r->style.lang_expr)
        return;
    lang_ctx_t l = {c, path, r->style.lang};
    expr_str_visit_filters(&r->text, check_filter_lang, &l);
}

static bool numeric_type(const char *t)
{
    return !t || !strcmp(t, "number") || !strcmp(t, "currency");
}

/* An aggregate: its list is bound like an "each", then "where" and the field inside a loop scope
 * of their own, so that the manifest's itemFields check them. */
static void bind_agg(expr_agg_t *g, void *arg)
{
    bind_ctx_t *b = arg;
    compiler_t *c = b->c;
    int before = c->nissues;
    bind_ctx_t lb = {c, b->path, BIND_LOOP};
    bool group_items = g->list->root == PATH_ITEM && c->group_frame[g->list->frame] && g->list->nseg == 1 &&
                       !strcmp(g->list->seg[0], "items");
    if (group_items)
        ; /* the elements of a groupBy group: the row's loop */
    else if (c->manifest && g->list->root == PATH_DATA && json_object_get(c->mf_vars, g->list->text))
        compile_issue(c, b->path, "%s: \"%s\" is a variable, not a loop of the manifest", g->text,
                      g->list->text);
    else
        bind_path(g->list, &lb);
    int d = c->names.depth;
    if (d >= EXPR_LOOP_DEPTH_MAX) { /* the parser refuses this; belt and braces */
        compile_issue(c, b->path, "%s: loops nested too deeply", g->text);
        return;
    }
    c->names.names[d] = g->var;
    c->loop_defs[d] = (c->nissues == before && c->manifest && g->list->root == PATH_DATA)
                          ? json_object_get(c->mf_loops, g->list->text)
                          : NULL;
    if (group_items)
        c->loop_defs[d] = c->group_defs[g->list->frame];
    c->loop_keys[d] = g->list->text;
    c->group_frame[d] = false;
    c->names.depth++;
    bind_ctx_t cb = {c, b->path, BIND_COND}, fb = {c, b->path, BIND_TEXT};
    expr_cond_visit_paths(g->where, bind_path, &cb);
    if (g->field) {
        int fbefore = c->nissues;
        bind_path(g->field, &fb);
        if (c->nissues == fbefore && c->loop_defs[d] && !numeric_type(g->field->mf_type))
            compile_issue(c, b->path, "%s: \"%s\" is a %s field, not a number", g->text, g->field_text,
                          g->field->mf_type);
        else if (g->kind != AGG_COUNT) {
            g->mf_format = g->field->mf_format;
            g->mf_type = g->field->mf_type;
        }
    }
    c->names.depth--;
}

int compile_text_into(compiler_t *c, const char *s, const char *path, expr_str_t *out, bind_use_t use)
{
    char err[ERRMSG_LEN];
    c->names.owned = c->t->owned; /* literals of an aggregate's "where" */
    if (expr_parse_str(c->a, s, &c->names, out, err, sizeof err) < 0) {
        compile_issue(c, path, "%s", err);
        return -1;
    }
    bind_ctx_t b = {c, path, use};
    int before = c->nissues;
    expr_str_visit_paths(out, bind_path, &b);
    expr_str_visit_aggs(out, bind_agg, &b);
    expr_str_visit_filters(out, check_filter, &b);
    return c->nissues == before ? 0 : -1;
}

expr_str_t *compile_text(compiler_t *c, const json_t *v, const char *path)
{
    if (!json_is_string(v)) {
        compile_issue(c, path, "Expected text (a string)");
        return NULL;
    }
    expr_str_t *s = arena_alloc(c->a, sizeof *s);
    if (!s || compile_text_into(c, json_string_value(v), path, s, BIND_TEXT) < 0)
        return NULL;
    return s;
}

expr_cond_t *compile_cond(compiler_t *c, const json_t *v, const char *path)
{
    if (!json_is_string(v)) {
        compile_issue(c, path,
                      "Expected a condition (a string such as \"customer.vatId\" or \"item.qty > 1\")");
        return NULL;
    }
    char err[ERRMSG_LEN];
    expr_cond_t *cond;
    if (expr_parse_cond(c->a, json_string_value(v), &c->names, c->t->owned, &cond, err, sizeof err) < 0) {
        compile_issue(c, path, "%s", err);
        return NULL;
    }
    bind_ctx_t b = {c, path, BIND_COND};
    expr_cond_visit_paths(cond, bind_path, &b);
    return cond;
}

static bool valid_ident(const char *s)
{
    if (!*s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

loop_spec_t *compile_loop_push(compiler_t *c, const json_t *each, const json_t *as, const char *path)
{
    const char *each_path = compile_path(c, path, "each");
    if (!json_is_string(each)) {
        compile_issue(c, each_path, "Expected the name of a list, such as \"items\"");
        return NULL;
    }
    if (c->names.depth >= EXPR_LOOP_DEPTH_MAX) {
        compile_issue(c, each_path, "Loops nested more than %d deep", EXPR_LOOP_DEPTH_MAX);
        return NULL;
    }
    const char *name = "item";
    if (as) {
        if (!json_is_string(as) || !valid_ident(json_string_value(as)) ||
            !strcmp(json_string_value(as), "loop") || !strcmp(json_string_value(as), "page") ||
            !strcmp(json_string_value(as), "pages")) {
            compile_issue(c, compile_path(c, path, "as"),
                          "Expected a variable name (letters, digits, _; not loop, page or pages)");
            return NULL;
        }
        name = arena_strdup(c->a, json_string_value(as));
    }
    char err[ERRMSG_LEN];
    loop_spec_t *l = arena_alloc(c->a, sizeof *l);
    if (!l || expr_parse_path(c->a, json_string_value(each), &c->names, &l->path, err, sizeof err) < 0) {
        compile_issue(c, each_path, "%s", l ? err : "Out of memory");
        return NULL;
    }
    if (l->path->root != PATH_DATA && l->path->root != PATH_ITEM) {
        compile_issue(c, each_path, "\"%s\" is not a list", l->path->text);
        return NULL;
    }
    bind_ctx_t b = {c, each_path, BIND_LOOP};
    int before = c->nissues;
    bind_path(l->path, &b);
    l->as = name;
    int d = c->names.depth++;
    c->names.names[d] = name;
    c->loop_defs[d] = (c->nissues == before && c->manifest && l->path->root == PATH_DATA)
                          ? json_object_get(c->mf_loops, l->path->text)
                          : NULL;
    c->loop_keys[d] = l->path->text;
    c->group_frame[d] = false;
    return l;
}

void compile_loop_pop(compiler_t *c)
{
    if (c->names.depth > 0)
        c->names.depth--;
}

/* ---------------------------------------------------------------- blocks */

static node_t *new_node(compiler_t *c, node_kind_t kind, const char *path, const tstyle_t *style)
{
    if (++c->nodes > ENGINE_NODES_MAX) {
        if (c->nodes == ENGINE_NODES_MAX + 1)
            compile_issue(c, path, "Layout has more than %d blocks", ENGINE_NODES_MAX);
        return NULL;
    }
    node_t *n = arena_alloc(c->a, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->path = path;
    n->style = *style;
    return n;
}

node_t *compile_new_node(compiler_t *c, node_kind_t kind, const char *path, const tstyle_t *style)
{
    return new_node(c, kind, path, style);
}

static const char *const common_keys_list[] = {"type",         "if",       "each",   "as", "style",
                                               "keepTogether", "position", "anchor", NULL};

/* Keys of a block: the common ones plus the kind's own. */
static void check_block_keys(compiler_t *c, const json_t *obj, const char *path, const char *const *own)
{
    const char *all[40];
    int n = 0;
    for (int i = 0; common_keys_list[i]; i++)
        all[n++] = common_keys_list[i];
    for (int i = 0; own[i] && n < 39; i++)
        all[n++] = own[i];
    all[n] = NULL;
    compile_check_keys(c, obj, path, all, true, true);
}

static int compile_runs(compiler_t *c, const json_t *obj, const char *path, node_t *n)
{
    json_t *text = json_object_get(obj, "text"), *runs = json_object_get(obj, "runs");
    json_t *link = json_object_get(obj, "link");
    if (text && runs) {
        compile_issue(c, path, "Give either \"text\" or \"runs\", not both");
        return -1;
    }
    if (!text && !runs) {
        compile_issue(c, path, "A text block needs \"text\" or \"runs\"");
        return -1;
    }
    expr_str_t *link_s = NULL;
    if (link && !(link_s = compile_link(c, link, compile_path(c, path, "link"))))
        return -1;
    if (text) {
        n->u.text.nruns = 1;
        n->u.text.runs = arena_calloc(c->a, 1, sizeof(run_t));
        if (!n->u.text.runs)
            return -1;
        run_t *r = &n->u.text.runs[0];
        r->style = n->style;
        r->link = link_s;
        const char *p = compile_path(c, path, "text");
        if (!json_is_string(text)) {
            compile_issue(c, p, "Expected text (a string)");
            return -1;
        }
        int rc = compile_text_into(c, json_string_value(text), p, &r->text, BIND_TEXT);
        if (rc == 0)
            check_run_lang(c, r, p);
        return rc;
    }
    const char *rp = compile_path(c, path, "runs");
    if (!json_is_array(runs) || json_array_size(runs) == 0) {
        compile_issue(c, rp, "Expected a non-empty list of runs");
        return -1;
    }
    size_t nr = json_array_size(runs);
    n->u.text.runs = arena_calloc(c->a, nr, sizeof(run_t));
    if (!n->u.text.runs)
        return -1;
    n->u.text.nruns = (int)nr;
    static const char *const run_keys[] = {"text",          "link",   "font",      "fontSize",  "bold",
                                           "weight",        "italic", "color",     "underline", "strike",
                                           "letterSpacing", "lang",   "hyphenate", NULL};
    size_t i;
    json_t *rv;
    json_array_foreach(runs, i, rv)
    {
        const char *p = compile_path_index(c, rp, i);
        run_t *r = &n->u.text.runs[i];
        r->style = n->style;
        r->link = link_s;
        c->nodes++;
        if (json_is_string(rv)) {
            if (compile_text_into(c, json_string_value(rv), p, &r->text, BIND_TEXT) == 0)
                check_run_lang(c, r, p);
            continue;
        }
        if (!json_is_object(rv)) {
            compile_issue(c, p, "Expected a run: a string or {\"text\": ..., \"bold\": true, ...}");
            continue;
        }
        if (json_object_get(rv, "footnote")) {
            compile_footnote(c, rv, p, r);
            continue;
        }
        compile_check_keys(c, rv, p, run_keys, false, false);
        compile_apply_style_props(c, rv, p, &r->style);
        json_t *rt = json_object_get(rv, "text"), *rl = json_object_get(rv, "link");
        if (!rt) {
            compile_issue(c, p, "A run needs \"text\"");
            continue;
        }
        if (!json_is_string(rt)) {
            compile_issue(c, compile_path(c, p, "text"), "Expected text (a string)");
            continue;
        }
        const char *tp = compile_path(c, p, "text");
        if (compile_text_into(c, json_string_value(rt), tp, &r->text, BIND_TEXT) == 0)
            check_run_lang(c, r, tp);
        if (rl)
            r->link = compile_link(c, rl, compile_path(c, p, "link"));
    }
    return 0;
}

static node_t *text_from_string(compiler_t *c, const char *s, const char *path, const tstyle_t *parent)
{
    node_t *n = new_node(c, N_TEXT, path, parent);
    if (!n)
        return NULL;
    n->u.text.nruns = 1;
    n->u.text.runs = arena_calloc(c->a, 1, sizeof(run_t));
    if (!n->u.text.runs)
        return NULL;
    n->u.text.runs[0].style = n->style;
    if (compile_text_into(c, s, path, &n->u.text.runs[0].text, BIND_TEXT) == 0)
        check_run_lang(c, &n->u.text.runs[0], path);
    return n;
}

static const char *const kind_names[] = {"text",    "heading",   "stack", "columns", "box", "rule",
                                         "spacer",  "pageBreak", "table", "image",   "qr",  "barcode",
                                         "partial", "list",      "toc",   NULL};

static int compile_children(compiler_t *c, const json_t *obj, const char *path, node_t *n, bool required)
{
    json_t *ch = json_object_get(obj, "children");
    n->u.stack.gap = 0;
    json_t *gap = json_object_get(obj, "gap");
    if (gap)
        compile_pt(c, gap, compile_path(c, path, "gap"), &n->u.stack.gap);
    if (!ch) {
        if (required)
            compile_issue(c, path, "Missing \"children\" (a list of blocks)");
        return required ? -1 : 0;
    }
    const char *cp = compile_path(c, path, "children");
    if (!json_is_array(ch)) {
        compile_issue(c, cp, "Expected a list of blocks");
        return -1;
    }
    size_t nc = json_array_size(ch);
    n->u.stack.children = arena_calloc(c->a, nc ? nc : 1, sizeof(node_t *));
    if (!n->u.stack.children)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(ch, i, v)
    {
        node_t *child = compile_block(c, v, compile_path_index(c, cp, i), &n->style);
        if (child)
            n->u.stack.children[n->u.stack.n++] = child;
    }
    return 0;
}

static void compile_columns(compiler_t *c, const json_t *obj, const char *path, node_t *n)
{
    json_t *cols = json_object_get(obj, "columns"), *gap = json_object_get(obj, "gap");
    n->u.columns.gap = 12;
    if (gap)
        compile_pt(c, gap, compile_path(c, path, "gap"), &n->u.columns.gap);
    const char *cp = compile_path(c, path, "columns");
    if (!json_is_array(cols) || json_array_size(cols) == 0) {
        compile_issue(c, cp,
                      "Expected a non-empty list of columns ({\"width\": \"*\", \"children\": [...]})");
        return;
    }
    size_t nc = json_array_size(cols);
    n->u.columns.cols = arena_calloc(c->a, nc, sizeof(column_spec_t));
    if (!n->u.columns.cols)
        return;
    static const char *const col_keys[] = {"width", "children", "gap", "style", "if", "keepTogether", NULL};
    size_t i;
    json_t *v;
    json_array_foreach(cols, i, v)
    {
        const char *p = compile_path_index(c, cp, i);
        column_spec_t *col = &n->u.columns.cols[n->u.columns.n];
        col->width.kind = LEN_FLEX;
        col->width.v = 1;
        if (!json_is_object(v)) {
            compile_issue(c, p, "Expected a column object: {\"width\": \"*\", \"children\": [...]}");
            continue;
        }
        compile_check_keys(c, v, p, col_keys, true, false);
        json_t *w = json_object_get(v, "width");
        if (w && compile_length(c, w, compile_path(c, p, "width"), true, &col->width) == 0 &&
            col->width.kind == LEN_AUTO) {
            compile_issue(c, compile_path(c, p, "width"), "Column widths are points, percentages or \"*\"");
        }
        node_t *st = new_node(c, N_STACK, p, &n->style);
        if (!st)
            continue;
        json_t *sref = json_object_get(v, "style");
        if (sref)
            compile_apply_style_ref(c, sref, compile_path(c, p, "style"), &st->style, NULL);
        compile_apply_style_props(c, v, p, &st->style);
        json_t *cond = json_object_get(v, "if");
        if (cond)
            st->cond = compile_cond(c, cond, compile_path(c, p, "if"));
        json_t *kt = json_object_get(v, "keepTogether");
        if (kt)
            compile_bool(c, kt, compile_path(c, p, "keepTogether"), &st->keep_together);
        compile_children(c, v, p, st, true);
        col->content = st;
        n->u.columns.n++;
    }
}

static void compile_box(compiler_t *c, const json_t *obj, const char *path, node_t *n)
{
    json_t *v;
    n->u.box.border_color = 0xd1d5dbff;
    if ((v = json_object_get(obj, "padding")))
        compile_sides(c, v, compile_path(c, path, "padding"), n->u.box.padding);
    if ((v = json_object_get(obj, "border"))) {
        const char *p = compile_path(c, path, "border");
        if (json_is_object(v)) {
            static const char *const keys[] = {"width", "color", NULL};
            compile_check_keys(c, v, p, keys, false, false);
            json_t *w = json_object_get(v, "width"), *col = json_object_get(v, "color");
            n->u.box.border_width = 1;
            if (w)
                compile_pt(c, w, compile_path(c, p, "width"), &n->u.box.border_width);
            if (col)
                compile_color(c, col, compile_path(c, p, "color"), &n->u.box.border_color);
        } else {
            compile_pt(c, v, p, &n->u.box.border_width);
        }
    }
    if ((v = json_object_get(obj, "borderWidth")))
        compile_pt(c, v, compile_path(c, path, "borderWidth"), &n->u.box.border_width);
    if ((v = json_object_get(obj, "borderColor")))
        compile_color(c, v, compile_path(c, path, "borderColor"), &n->u.box.border_color);
    if ((v = json_object_get(obj, "background")))
        compile_color(c, v, compile_path(c, path, "background"), &n->u.box.background);
    if ((v = json_object_get(obj, "radius")))
        compile_pt(c, v, compile_path(c, path, "radius"), &n->u.box.radius);
    if ((v = json_object_get(obj, "minHeight")))
        compile_pt(c, v, compile_path(c, path, "minHeight"), &n->u.box.min_height);
    if ((v = json_object_get(obj, "valign"))) {
        static const char *const valigns[] = {"top", "middle", "bottom", NULL};
        int va = compile_enum(c, v, compile_path(c, path, "valign"), valigns);
        if (va >= 0)
            n->u.box.valign = (valign_t)va;
    }
    node_t *st = new_node(c, N_STACK, path, &n->style);
    if (!st)
        return;
    compile_children(c, obj, path, st, true);
    n->u.box.content = st;
}

static const char *const fit_names[] = {"contain", "cover", "fill", NULL};

/* The width of an image or a code: points, a unit, or a percentage of the block's width ("auto"
 * leaves the default). The same forms for every block that has one. */
static void compile_block_width(compiler_t *c, const json_t *v, const char *path, const char *what,
                                len_t *out)
{
    len_t l;
    if (compile_length(c, v, path, true, &l) < 0)
        return;
    if (l.kind == LEN_FLEX) {
        compile_issue(c, path, "%s is points or a percentage", what);
        return;
    }
    if (l.kind != LEN_AUTO)
        *out = l;
}

int compile_image_src(compiler_t *c, const json_t *v, const char *path, expr_str_t *out)
{
    if (!json_is_string(v)) {
        compile_issue(c, path, "Expected text (a string)");
        return -1;
    }
    const char *src = json_string_value(v);
    if (compile_text_into(c, src, path, out, BIND_IMAGE) < 0)
        return -1;
    if (!strncmp(src, "asset:", 6) && !strstr(src, "{{") && c->t->asset_refs)
        json_array_append_new(c->t->asset_refs, json_pack("{s:s, s:s}", "ref", src + 6, "path", path));
    return 0;
}

static void compile_image(compiler_t *c, const json_t *obj, const char *path, node_t *n)
{
    json_t *v;
    if (!(v = json_object_get(obj, "src")))
        compile_issue(c, path, "An image needs \"src\" (e.g. \"{{logo}}\", \"asset:logo.png\" or a URL)");
    else
        compile_image_src(c, v, compile_path(c, path, "src"), &n->u.image.src);
    if ((v = json_object_get(obj, "width")))
        compile_block_width(c, v, compile_path(c, path, "width"), "Image width", &n->u.image.width);
    if ((v = json_object_get(obj, "height")) &&
        compile_pt(c, v, compile_path(c, path, "height"), &n->u.image.height.v) == 0)
        n->u.image.height.kind = LEN_PT;
    if ((v = json_object_get(obj, "fit"))) {
        int f = compile_enum(c, v, compile_path(c, path, "fit"), fit_names);
        if (f >= 0)
            n->u.image.fit = (fit_t)f;
    }
}

static const char *const symbologies[] = {"qr",     "code128", "ean13",          "code39", "datamatrix",
                                          "pdf417", "gs1-128", "gs1-datamatrix", "gs1-qr", NULL};

static void compile_code(compiler_t *c, const json_t *obj, const char *path, node_t *n, bool qr)
{
    json_t *v;
    n->u.code.symbology = "qr";
    if (!qr) {
        v = json_object_get(obj, "symbology");
        if (!v) {
            compile_issue(c, path,
                          "A barcode needs \"symbology\" (code128, ean13, code39, datamatrix, pdf417, qr, "
                          "gs1-128, gs1-datamatrix or gs1-qr)");
        } else {
            int s = compile_enum(c, v, compile_path(c, path, "symbology"), symbologies);
            if (s >= 0)
                n->u.code.symbology = symbologies[s];
        }
    }
    const char *p = compile_path(c, path, "data");
    if (!(v = json_object_get(obj, "data")))
        compile_issue(c, path, "Missing \"data\" (the text to encode, e.g. \"{{order.url}}\")");
    else if (!json_is_string(v))
        compile_issue(c, p, "Expected text (a string)");
    else if (compile_text_into(c, json_string_value(v), p, &n->u.code.data, BIND_TEXT) == 0 &&
             n->u.code.data.constant) {
        char err[ERRMSG_LEN];
        if (codes_check(n->u.code.symbology, n->u.code.data.constant, err, sizeof err) < 0)
            compile_issue(c, p, "%s", err);
    }
    if (qr) {
        n->u.code.width.kind = n->u.code.height.kind = LEN_PT;
        n->u.code.width.v = n->u.code.height.v = 72;
        if ((v = json_object_get(obj, "size"))) {
            compile_block_width(c, v, compile_path(c, path, "size"), "A QR code's size", &n->u.code.width);
            n->u.code.height = n->u.code.width; /* square: a percentage is of the block's width */
        }
        return;
    }
    bool two_d = codes_square(n->u.code.symbology);
    n->u.code.width.kind = n->u.code.height.kind = LEN_PT;
    n->u.code.width.v = two_d ? 72 : 180;
    n->u.code.height.v = two_d ? 72 : 54;
    if ((v = json_object_get(obj, "width")))
        compile_block_width(c, v, compile_path(c, path, "width"), "A barcode's width", &n->u.code.width);
    if ((v = json_object_get(obj, "height")))
        compile_pt(c, v, compile_path(c, path, "height"), &n->u.code.height.v);
    else if (two_d && json_object_get(obj, "width"))
        n->u.code.height = n->u.code.width; /* square codes stay square */
    n->u.code.show_text = !codes_two_d(n->u.code.symbology);
    if ((v = json_object_get(obj, "showText")))
        compile_bool(c, v, compile_path(c, path, "showText"), &n->u.code.show_text);
}

static void compile_rule(compiler_t *c, const json_t *obj, const char *path, node_t *n)
{
    json_t *v;
    n->u.rule.thickness = 0.75;
    n->u.rule.color = 0xd1d5dbff;
    n->margin[0] = n->margin[2] = 6;
    compile_apply_spacing(c, obj, path, n);
    if ((v = json_object_get(obj, "thickness")))
        compile_pt(c, v, compile_path(c, path, "thickness"), &n->u.rule.thickness);
    if ((v = json_object_get(obj, "color")))
        compile_color(c, v, compile_path(c, path, "color"), &n->u.rule.color);
    if ((v = json_object_get(obj, "dash"))) {
        static const char *const dashes[] = {"solid", "dashed", "dotted", NULL};
        int d = compile_enum(c, v, compile_path(c, path, "dash"), dashes);
        if (d >= 0)
            n->u.rule.dash = d;
    }
}

/* Where the partial name used at np is defined: the layout's "partials", else its
 * "libraryPartials" (the project's library as it was when the version was saved); inside a
 * library partial only the library. *lib says which; NULL after an issue. */
static const json_t *partial_def(compiler_t *c, const char *name, const char *np, bool *lib)
{
    const json_t *def = NULL;
    *lib = c->in_library;
    if (!c->in_library && c->partials)
        def = json_object_get(c->partials, name);
    if (!def && c->library) {
        def = json_object_get(c->library, name);
        *lib = true;
    }
    if (!def)
        compile_issue(c, np, "Unknown partial \"%.100s\"%s", name,
                      c->in_library               ? " (a library partial uses only library partials)"
                      : c->partials || c->library ? ""
                                                  : " (the layout has no \"partials\")");
    return def;
}

/* Whether def is being expanded already (reported with the chain). */
static bool partial_cycle(compiler_t *c, const json_t *def, const char *name, const char *np)
{
    for (int i = 0; i < c->npartial_chain; i++) {
        if (c->partial_defs[i] != def)
            continue;
        char chain[400];
        size_t len = 0;
        for (int j = i; j < c->npartial_chain && len < sizeof chain; j++)
            len += (size_t)snprintf(chain + len, sizeof chain - len, "%s → ", c->partial_chain[j]);
        if (len < sizeof chain)
            snprintf(chain + len, sizeof chain - len, "%s", name);
        compile_issue(c, np, "Partial \"%.100s\" uses itself (%s)", name, chain);
        return true;
    }
    return false;
}

/* A "partial" block: the blocks of layout.partials.<name> (or layout.libraryPartials.<name>),
 * compiled here, in the scope (loop variables, inherited style) of the place that uses it.
 * Their problems are reported at their own paths, where they are fixed. A partial that uses
 * itself, directly or through others, is reported with the chain. */
static void compile_partial(compiler_t *c, const json_t *obj, const char *path, node_t *n)
{
    json_t *name_v = json_object_get(obj, "name");
    const char *np = compile_path(c, path, "name");
    if (!name_v) {
        compile_issue(c, path, "A partial block needs \"name\" (a key of \"partials\")");
        return;
    }
    if (!json_is_string(name_v)) {
        compile_issue(c, np, "Expected the name of a partial (a string)");
        return;
    }
    const char *name = json_string_value(name_v);
    bool lib;
    const json_t *def = partial_def(c, name, np, &lib);
    if (!def || partial_cycle(c, def, name, np))
        return;
    if (c->npartial_chain >= COMPILE_PARTIAL_DEPTH_MAX) {
        compile_issue(c, np, "Partials used inside partials more than %d deep", COMPILE_PARTIAL_DEPTH_MAX);
        return;
    }
    bool was_library = c->in_library;
    c->partial_defs[c->npartial_chain] = def;
    c->partial_chain[c->npartial_chain++] = name;
    c->in_library = lib;
    node_t *body = compile_block_list(
        c, def, compile_path(c, lib ? "layout.libraryPartials" : "layout.partials", name), &n->style);
    c->in_library = was_library;
    c->npartial_chain--;
    n->u.stack.children = arena_calloc(c->a, 1, sizeof(node_t *));
    if (body && n->u.stack.children)
        n->u.stack.children[n->u.stack.n++] = body;
}

static void partial_names(const json_t *v, json_t *names, int depth)
{
    if (depth > ENGINE_PARTIAL_WALK_MAX)
        return;
    size_t i;
    json_t *x;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x) partial_names(x, names, depth + 1);
        return;
    }
    if (!json_is_object(v))
        return;
    const char *type = json_string_value(json_object_get(v, "type"));
    const char *name = json_string_value(json_object_get(v, "name"));
    if (type && name && !strcmp(type, "partial"))
        json_object_set_new(names, name, json_true());
    const char *key;
    json_object_foreach((json_t *)v, key, x) partial_names(x, names, depth + 1);
}

void engine_partial_names(const json_t *v, json_t *names)
{
    partial_names(v, names, 0);
}

/* One block object of the layout. Long because it is the dispatch over every block type (a case
 * per type after the keys all blocks share: each, if, style, keepTogether, position); the larger
 * types have functions of their own (compile_table, ...). */
static node_t *compile_block_obj(compiler_t *c, const json_t *obj, const char *path, const tstyle_t *parent)
{
    json_t *type = json_object_get(obj, "type");
    int kind;
    if (!type) {
        if (json_object_get(obj, "text") || json_object_get(obj, "runs"))
            kind = 0;
        else if (json_object_get(obj, "children"))
            kind = 2;
        else {
            compile_issue(c, path,
                          "Missing \"type\" (one of text, heading, stack, columns, box, rule, spacer, "
                          "pageBreak, table, image, qr, barcode, partial, list, toc)");
            return NULL;
        }
    } else {
        kind = compile_enum(c, type, compile_path(c, path, "type"), kind_names);
        if (kind < 0)
            return NULL;
    }
    static const node_kind_t kinds[] = {N_TEXT, N_TEXT,   N_STACK,     N_COLUMNS, N_BOX,
                                        N_RULE, N_SPACER, N_PAGEBREAK, N_TABLE,   N_IMAGE,
                                        N_CODE, N_CODE,   N_STACK,     N_STACK,   N_TOC};
    node_t *n = new_node(c, kinds[kind], path, parent);
    if (!n)
        return NULL;
    bool is_table = n->kind == N_TABLE || kind == 13;
    json_t *each = json_object_get(obj, "each"), *as = json_object_get(obj, "as");
    /* "each" on a table repeats its rows (compile_table), on a list its items (compile_list); on
     * any other block, the block. */
    bool pushed = false;
    if (each && !is_table) {
        n->each = compile_loop_push(c, each, as, path);
        pushed = n->each != NULL;
    } else if (as && !each) {
        compile_issue(c, compile_path(c, path, "as"), "\"as\" names the variable of \"each\"; add \"each\"");
    }
    json_t *cond = json_object_get(obj, "if");
    if (cond)
        n->cond = compile_cond(c, cond, compile_path(c, path, "if"));
    if (kind == 1) { /* heading: style h1..h3 from level, before the block's own style */
        int level = 1;
        json_t *lv = json_object_get(obj, "level");
        if (lv)
            compile_int(c, lv, compile_path(c, path, "level"), 1, 3, &level);
        char hs[4];
        snprintf(hs, sizeof hs, "h%d", level);
        n->outline = (uint8_t)level;
        json_t *ol = json_object_get(obj, "outline");
        bool in_outline = true;
        if (ol && compile_bool(c, ol, compile_path(c, path, "outline"), &in_outline) == 0 && !in_outline)
            n->outline = 0;
        json_t *name = json_string(hs);
        compile_apply_style_ref(c, name, path, &n->style, n);
        json_decref(name);
    }
    json_t *sref = json_object_get(obj, "style");
    if (sref)
        compile_apply_style_ref(c, sref, compile_path(c, path, "style"), &n->style, n);
    compile_apply_style_props(c, obj, path, &n->style);
    if (n->kind != N_RULE)
        compile_apply_spacing(c, obj, path, n);
    json_t *kt = json_object_get(obj, "keepTogether");
    if (kt)
        compile_bool(c, kt, compile_path(c, path, "keepTogether"), &n->keep_together);
    json_t *pos = json_object_get(obj, "position");
    if (pos)
        n->position = compile_position(c, pos, compile_path(c, path, "position"));
    c->in_positioned += pos != NULL;
    json_t *anchor = json_object_get(obj, "anchor");
    if (anchor)
        compile_anchor(c, anchor, compile_path(c, path, "anchor"), n);

    switch (kind) {
    case 0:
    case 1: {
        static const char *const k_text[] = {"text", "runs", "link", "level", "outline", NULL};
        check_block_keys(c, obj, path, k_text);
        if (kind == 0 && json_object_get(obj, "level"))
            compile_issue(c, compile_path(c, path, "level"),
                          "\"level\" belongs to headings (\"type\": \"heading\")");
        if (kind == 0 && json_object_get(obj, "outline"))
            compile_issue(c, compile_path(c, path, "outline"),
                          "\"outline\" belongs to headings (\"type\": \"heading\")");
        compile_runs(c, obj, path, n);
        break;
    }
    case 2: {
        static const char *const k[] = {"children", "gap", NULL};
        check_block_keys(c, obj, path, k);
        compile_children(c, obj, path, n, true);
        break;
    }
    case 3: {
        static const char *const k[] = {"columns", "gap", NULL};
        check_block_keys(c, obj, path, k);
        compile_columns(c, obj, path, n);
        break;
    }
    case 4: {
        static const char *const k[] = {"children",   "padding", "border",    "borderWidth", "borderColor",
                                        "background", "radius",  "minHeight", "valign",      NULL};
        check_block_keys(c, obj, path, k);
        compile_box(c, obj, path, n);
        break;
    }
    case 5: {
        static const char *const k[] = {"thickness", "dash", NULL};
        check_block_keys(c, obj, path, k);
        compile_rule(c, obj, path, n);
        break;
    }
    case 6: {
        static const char *const k[] = {"height", NULL};
        check_block_keys(c, obj, path, k);
        json_t *h = json_object_get(obj, "height");
        n->u.spacer.height = 12;
        if (h)
            compile_pt(c, h, compile_path(c, path, "height"), &n->u.spacer.height);
        break;
    }
    case 7: {
        static const char *const k[] = {NULL};
        check_block_keys(c, obj, path, k);
        break;
    }
    case 8: compile_table(c, obj, path, n); break;
    case 9: {
        static const char *const k[] = {"src", "width", "height", "fit", NULL};
        check_block_keys(c, obj, path, k);
        compile_image(c, obj, path, n);
        break;
    }
    case 10: {
        static const char *const k[] = {"data", "size", NULL};
        check_block_keys(c, obj, path, k);
        compile_code(c, obj, path, n, true);
        break;
    }
    case 11: {
        static const char *const k[] = {"symbology", "data", "width", "height", "showText", NULL};
        check_block_keys(c, obj, path, k);
        compile_code(c, obj, path, n, false);
        break;
    }
    case 12: {
        static const char *const k[] = {"name", NULL};
        check_block_keys(c, obj, path, k);
        compile_partial(c, obj, path, n);
        break;
    }
    case 13: {
        static const char *const k[] = {"items",       "item", "listStyle", "marker", "start",
                                        "markerWidth", "gap",  "spacing",   NULL};
        check_block_keys(c, obj, path, k);
        compile_list(c, obj, path, n);
        break;
    }
    case 14: {
        static const char *const k[] = {"levels", "levelIndent", "title", NULL};
        check_block_keys(c, obj, path, k);
        compile_toc(c, obj, path, n);
        break;
    }
    }
    c->in_positioned -= pos != NULL;
    if (pushed)
        compile_loop_pop(c);
    return n;
}

node_t *compile_block(compiler_t *c, const json_t *v, const char *path, const tstyle_t *parent)
{
    if (json_is_string(v))
        return text_from_string(c, json_string_value(v), path, parent);
    if (!json_is_object(v)) {
        compile_issue(c, path, "Expected a block (an object with \"type\") or a string");
        return NULL;
    }
    if (++c->depth > ENGINE_DEPTH_MAX) {
        c->depth--;
        compile_issue(c, path, "Blocks nested more than %d deep", ENGINE_DEPTH_MAX);
        return NULL;
    }
    node_t *n = compile_block_obj(c, v, path, parent);
    c->depth--;
    return n;
}

node_t *compile_block_list(compiler_t *c, const json_t *v, const char *path, const tstyle_t *parent)
{
    node_t *st = new_node(c, N_STACK, path, parent);
    if (!st)
        return NULL;
    if (json_is_object(v) || json_is_string(v)) {
        st->u.stack.children = arena_calloc(c->a, 1, sizeof(node_t *));
        node_t *child = compile_block(c, v, path, parent);
        if (st->u.stack.children && child)
            st->u.stack.children[st->u.stack.n++] = child;
        return st;
    }
    if (!json_is_array(v)) {
        compile_issue(c, path, "Expected a list of blocks");
        return st;
    }
    size_t n = json_array_size(v);
    st->u.stack.children = arena_calloc(c->a, n ? n : 1, sizeof(node_t *));
    if (!st->u.stack.children)
        return st;
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b)
    {
        node_t *child = compile_block(c, b, compile_path_index(c, path, i), parent);
        if (child)
            st->u.stack.children[st->u.stack.n++] = child;
    }
    return st;
}
