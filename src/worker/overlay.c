#include "worker/overlay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/errmsg.h"
#include "manifest/issues.h"
#include "pdf/pdfdoc.h"
#include "pdf/pdfraster.h"

/* One "fill" entry: a literal (true/false/null) or a {{ }} text evaluated per render. */
typedef struct {
    char *name;
    char type[16]; /* the form field's type (basePdf.fields) */
    json_t *literal;
    engine_text_t *text;
} fill_t;

struct overlay {
    char *base; /* the asset's name or id */
    bool flatten;
    fill_t *fill;
    size_t nfill;
};

static const char *const overlay_keys[] = {"templateType", "base",   "basePdf", "fill",
                                           "flatten",      "fields", NULL};
static const char *const placement_types[] = {"text",     "image", "qr",   "barcode",
                                              "checkbox", "rect",  "line", NULL};

bool overlay_is(const json_t *layout)
{
    const char *t = json_string_value(json_object_get(layout, "templateType"));
    return t && !strcmp(t, OVERLAY_TYPE);
}

const char *overlay_layout_base(const json_t *layout)
{
    const char *b = json_string_value(json_object_get(layout, "base"));
    if (b && !strncmp(b, "asset:", 6))
        b += 6;
    return b && *b ? b : NULL;
}

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return true;
    return false;
}

/* ---- describing a base ---- */

int overlay_describe_base(const unsigned char *pdf, size_t len, json_t **base_pdf, char *err, size_t err_len)
{
    pdfdoc_info_t info;
    json_t *pages = NULL, *fields = NULL, *types = NULL;
    char e[ERRMSG_LEN];
    *base_pdf = NULL;
    if (pdfdoc_check(pdf, len, &info, &pages, e, sizeof e) != 0 ||
        pdfdoc_fields(pdf, len, &fields, e, sizeof e) != 0) {
        errmsg_fail(err, err_len, "%s", e);
        goto fail;
    }
    /* Pages shown at another size than page 1: placements on them are checked against their
     * own size, and the overlay document is drawn at the largest size (overlay_compile). */
    json_t *other = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(pages, i, p)
    {
        double w = json_number_value(json_object_get(p, "width")),
               h = json_number_value(json_object_get(p, "height"));
        if (fabs(w - info.width) > OVERLAY_SIZE_TOLERANCE || fabs(h - info.height) > OVERLAY_SIZE_TOLERANCE) {
            char num[24];
            snprintf(num, sizeof num, "%zu", i + 1);
            json_object_set_new(other, num, json_pack("[f,f]", w, h));
        }
    }
    types = json_object();
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        if (name)
            json_object_set(types, name, json_object_get(f, "type"));
    }
    *base_pdf = json_pack("{s:i, s:f, s:f, s:o, s:o}", "pages", info.pages, "width", info.width, "height",
                          info.height, "otherSizes", other, "fields", types);
    json_decref(pages);
    json_decref(fields);
    if (!*base_pdf)
        return errmsg_fail(err, err_len, "could not be described (out of memory)");
    return 0;
fail:
    json_decref(pages);
    json_decref(fields);
    return -1;
}

int overlay_base_listing(const unsigned char *pdf, size_t len, json_t **out, char *err, size_t err_len)
{
    pdfdoc_info_t info;
    json_t *pages = NULL, *fields = NULL;
    *out = NULL;
    if (pdfdoc_check(pdf, len, &info, &pages, err, err_len) != 0 ||
        pdfdoc_fields(pdf, len, &fields, err, err_len) != 0) {
        json_decref(pages);
        return -1;
    }
    *out = json_pack("{s:o, s:o}", "pages", pages, "fields", fields);
    return *out ? 0 : errmsg_fail(err, err_len, "could not be described (out of memory)");
}

/* ---- compiling ---- */

void overlay_free(overlay_t *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nfill; i++) {
        free(o->fill[i].name);
        json_decref(o->fill[i].literal);
        engine_text_free(o->fill[i].text);
    }
    free(o->fill);
    free(o->base);
    free(o);
}

/* The form field types "fill" can set. */
static bool fillable(const char *type)
{
    return !strcmp(type, "text") || !strcmp(type, "choice") || !strcmp(type, "checkbox") ||
           !strcmp(type, "radio");
}

/* Lists up to 20 of the base's field names for a message. */
static void field_names(const json_t *types, char *out, size_t len)
{
    const char *name;
    json_t *v;
    size_t n = 0, used = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)types, name, v)
    {
        if (n == 20) {
            snprintf(out + used, len - used, ", …");
            return;
        }
        int w = snprintf(out + used, len - used, "%s%s", n ? ", " : "", name);
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
        n++;
    }
}

static void compile_fill(overlay_t *o, const json_t *fill, const json_t *types, const json_t *manifest,
                         json_t *issues)
{
    if (!fill || json_is_null(fill))
        return;
    if (!json_is_object(fill)) {
        issues_json_field(issues, "layout.fill", "Expected an object of form field names and values");
        return;
    }
    char msg[1400], path[600];
    if (json_object_size(fill) > OVERLAY_MAX_FILL) {
        snprintf(msg, sizeof msg, "At most %d form fields can be filled; this fill has %zu", OVERLAY_MAX_FILL,
                 json_object_size(fill));
        issues_json_field(issues, "layout.fill", msg);
        return;
    }
    o->fill = calloc(json_object_size(fill) + 1, sizeof *o->fill);
    if (!o->fill) {
        issues_json_field(issues, "layout.fill", "Out of memory");
        return;
    }
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)fill, name, v)
    {
        snprintf(path, sizeof path, "layout.fill.%.500s", name);
        const char *type = json_string_value(json_object_get(types, name));
        if (!type) {
            char names[1000];
            field_names(types, names, sizeof names);
            snprintf(msg, sizeof msg, "The base PDF has no form field \"%.200s\" (%s%s)", name,
                     names[0] ? "fields: " : "it has no form", names);
            issues_json_field(issues, path, msg);
            continue;
        }
        if (!fillable(type)) {
            snprintf(msg, sizeof msg, "\"%.200s\" is a %s field, which cannot be filled", name, type);
            issues_json_field(issues, path, msg);
            continue;
        }
        fill_t *f = &o->fill[o->nfill];
        if (json_is_boolean(v) && strcmp(type, "checkbox")) {
            snprintf(msg, sizeof msg, "\"%.200s\" is a %s field: give it a string (\"{{…}}\")", name, type);
            issues_json_field(issues, path, msg);
            continue;
        }
        if (json_is_string(v)) {
            json_t *ti = NULL;
            char e[ERRMSG_LEN];
            f->text = engine_text_compile(json_string_value(v), manifest, path, &ti, e, sizeof e);
            if (!f->text) {
                json_t *fe = json_object_get(ti, "fieldErrors");
                const char *p;
                json_t *msgs, *m;
                size_t k;
                json_object_foreach(fe, p, msgs) json_array_foreach(msgs, k, m)
                    issues_json_field(issues, p, json_string_value(m));
                if (!json_object_size(fe))
                    issues_json_field(issues, path, e);
                json_decref(ti);
                continue;
            }
            json_decref(ti);
        } else if (json_is_boolean(v) || json_is_null(v)) {
            f->literal = json_incref(v);
        } else {
            issues_json_field(issues, path, "Expected a string (\"{{…}}\"), true, false or null");
            continue;
        }
        f->name = strdup(name);
        snprintf(f->type, sizeof f->type, "%s", type);
        o->nfill++;
    }
}

/* Moves key from src to dst (if present) under the name to. */
static void move_key(json_t *src, const char *key, json_t *dst, const char *to)
{
    json_t *v = json_object_get(src, key);
    if (v) {
        json_object_set(dst, to, v);
        json_object_del(src, key);
    }
}

/* A placement as a positioned block of the layout language. */
static json_t *placement_block(const json_t *field, const char *type)
{
    json_t *b = json_deep_copy(field), *pos = json_object();
    json_object_del(b, "page");
    move_key(b, "x", pos, "x");
    move_key(b, "y", pos, "y");
    json_t *width = json_object_get(b, "width");
    if (!strcmp(type, "image") || !strcmp(type, "barcode")) {
        if (width)
            json_object_set(pos, "width", width); /* the picture's width is also its box's */
    } else if (!strcmp(type, "qr")) {
        json_t *size = json_object_get(b, "size");
        if (size)
            json_object_set(pos, "width", size);
    } else {
        move_key(b, "width", pos, "width");
    }
    if (!strcmp(type, "checkbox")) {
        json_object_set_new(b, "type", json_string("text"));
        json_t *mark = json_object_get(b, "mark");
        json_object_set_new(b, "text", json_string(json_is_string(mark) ? json_string_value(mark) : "X"));
        json_object_del(b, "mark");
        const char *checked = json_string_value(json_object_get(b, "checked")),
                   *cond = json_string_value(json_object_get(b, "if"));
        char *both = NULL;
        if (checked && cond && asprintf(&both, "(%s) and (%s)", cond, checked) > 0)
            json_object_set_new(b, "if", json_string(both));
        else if (checked)
            json_object_set_new(b, "if", json_string(checked));
        free(both);
        json_object_del(b, "checked");
    } else if (!strcmp(type, "rect")) {
        json_object_set_new(b, "type", json_string("box"));
        move_key(b, "height", b, "minHeight");
        move_key(b, "color", b, "background");
        json_object_set_new(b, "children", json_array());
    } else if (!strcmp(type, "line")) {
        json_object_set_new(b, "type", json_string("rule"));
        if (!json_object_get(b, "margin"))
            json_object_set_new(b, "margin", json_integer(0));
    }
    json_object_set_new(b, "position", pos);
    return b;
}

/* The size page n (1-based) of the base is shown at: page 1's unless basePdf.otherSizes has it. */
static void page_size(const json_t *base_pdf, int n, double *w, double *h)
{
    char num[24];
    snprintf(num, sizeof num, "%d", n);
    const json_t *wh = json_object_get(json_object_get(base_pdf, "otherSizes"), num);
    *w = json_number_value(wh ? json_array_get(wh, 0) : json_object_get(base_pdf, "width"));
    *h = json_number_value(wh ? json_array_get(wh, 1) : json_object_get(base_pdf, "height"));
}

/* The largest width and height of the base's pages: the size the placements are drawn at. */
static void sheet_size(const json_t *base_pdf, double *w, double *h)
{
    *w = json_number_value(json_object_get(base_pdf, "width"));
    *h = json_number_value(json_object_get(base_pdf, "height"));
    const char *num;
    json_t *wh;
    json_object_foreach((json_t *)json_object_get(base_pdf, "otherSizes"), num, wh)
    {
        *w = fmax(*w, json_number_value(json_array_get(wh, 0)));
        *h = fmax(*h, json_number_value(json_array_get(wh, 1)));
    }
}

/* A length as the layout language reads it (a number of pt, or "12mm", "1.5in", "20pt", "10cm",
 * "16px"); false when v is not one (the engine reports that at the same path). */
static bool length_pt(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    char *e;
    double d = s ? strtod(s, &e) : 0;
    if (!s || e == s || !isfinite(d))
        return false;
    while (*e == ' ')
        e++;
    static const struct {
        const char *unit;
        double pt;
    } units[] = {{"", 1}, {"pt", 1}, {"mm", 72.0 / 25.4}, {"cm", 72.0 / 2.54}, {"in", 72}, {"px", 0.75}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcasecmp(e, units[i].unit)) {
            *out = d * units[i].pt;
            return true;
        }
    return false;
}

/* A placement's x and y against the pages it goes on that are smaller than the sheet the
 * overlay is drawn on (the engine checks them against the sheet). false after an issue. */
static bool check_on_pages(const json_t *f, size_t i, const json_t *base_pdf, const double sheet_wh[2],
                           int first, int last, json_t *issues)
{
    double sw = sheet_wh[0], sh = sheet_wh[1];
    static const char *const keys[] = {"x", "y"};
    for (int k = 0; k < 2; k++) {
        double v;
        if (!length_pt(json_object_get(f, keys[k]), &v))
            continue;
        for (int p = first; p <= last; p++) {
            double w, h;
            page_size(base_pdf, p, &w, &h);
            double limit = k ? h : w, sheet = k ? sh : sw;
            if (limit >= sheet - OVERLAY_SIZE_TOLERANCE || v < limit)
                continue;
            char path[64], msg[200];
            snprintf(path, sizeof path, "layout.fields.%zu.%s", i, keys[k]);
            snprintf(msg, sizeof msg, "%g pt is off the page (it is %g pt): page %d is %g x %g pt", v, limit,
                     p, w, h);
            issues_json_field(issues, path, msg);
            return false;
        }
    }
    return true;
}

/* Checks one placement's type, page and position keys; its pages (first..last) on success. */
static bool check_placement(const json_t *f, size_t i, const json_t *base_pdf, const double sheet_wh[2],
                            int *first, int *last, json_t *issues)
{
    int pages = (int)json_integer_value(json_object_get(base_pdf, "pages"));
    char path[64], msg[200];
    snprintf(path, sizeof path, "layout.fields.%zu", i);
    if (!json_is_object(f)) {
        issues_json_field(issues, path, "Expected an object (a placement)");
        return false;
    }
    const char *type = json_string_value(json_object_get(f, "type"));
    bool ok = true;
    if (!type || !in_list(type, placement_types)) {
        snprintf(path, sizeof path, "layout.fields.%zu.type", i);
        issues_json_field(
            issues, path,
            "Expected one of \"text\", \"image\", \"qr\", \"barcode\", \"checkbox\", \"rect\", \"line\"");
        ok = false;
    }
    json_t *page = json_object_get(f, "page");
    snprintf(path, sizeof path, "layout.fields.%zu.page", i);
    *first = *last = 1;
    if (json_is_string(page) && !strcmp(json_string_value(page), "all")) {
        *last = pages;
    } else if (json_is_integer(page) && json_integer_value(page) >= 1 && json_integer_value(page) <= pages) {
        *first = *last = (int)json_integer_value(page);
    } else if (json_is_integer(page) && json_integer_value(page) > pages) {
        snprintf(msg, sizeof msg, "Page %lld is past the base PDF's last page (%d)",
                 (long long)json_integer_value(page), pages);
        issues_json_field(issues, path, msg);
        ok = false;
    } else if (page) {
        issues_json_field(issues, path, "Expected a page number (1 for the first page) or \"all\"");
        ok = false;
    }
    static const char *const required[] = {"x", "y", NULL};
    for (const char *const *k = required; *k; k++)
        if (!json_object_get(f, *k)) {
            snprintf(path, sizeof path, "layout.fields.%zu.%s", i, *k);
            issues_json_field(issues, path, "Required (a length from the page's top-left: 72, \"25mm\")");
            ok = false;
        }
    if (json_object_get(f, "position")) {
        snprintf(path, sizeof path, "layout.fields.%zu.position", i);
        issues_json_field(issues, path, "A placement is positioned by its own x, y and width");
        ok = false;
    }
    return ok && check_on_pages(f, i, base_pdf, sheet_wh, *first, *last, issues);
}

/* The engine path of a placement's block → the placement's path: "layout.body.7.position.x" →
 * "layout.fields.2.x". origin[k] is the placement index of body block k (-1: a filler). */
static void map_issue_path(const char *path, const int *origin, const char **types, size_t nbody, char *out,
                           size_t len)
{
    unsigned long k;
    int n = 0;
    if (sscanf(path, "layout.body.%lu%n", &k, &n) != 1 || k >= nbody || origin[k] < 0) {
        snprintf(out, len, "layout");
        return;
    }
    const char *rest = path + n, *type = types[origin[k]];
    static const struct {
        const char *from, *to, *type; /* type NULL: any */
    } renames[] = {{".position.x", ".x", NULL},         {".position.y", ".y", NULL},
                   {".position.width", ".width", NULL}, {".position", "", NULL},
                   {".minHeight", ".height", "rect"},   {".background", ".color", "rect"},
                   {".if", ".checked", "checkbox"},     {".text", ".mark", "checkbox"}};
    for (size_t i = 0; i < sizeof renames / sizeof renames[0]; i++)
        if (!strncmp(rest, renames[i].from, strlen(renames[i].from)) &&
            (!renames[i].type || !strcmp(renames[i].type, type))) {
            snprintf(out, len, "layout.fields.%d%s%s", origin[k], renames[i].to,
                     rest + strlen(renames[i].from));
            return;
        }
    snprintf(out, len, "layout.fields.%d%s", origin[k], rest);
}

/* The layout drawing the placements: one page per base page (a 1 pt spacer starts each, so
 * that pageBreak never finds an empty page to skip), each placement a positioned block on it.
 * Every page is w x h, the largest base page: positions count from the top-left, so a smaller
 * page takes the top-left part of its size (pdfdoc_merge). */
/* A placement without a width reaches the right edge of its page, not of the (larger) sheet. */
static void fit_to_page(json_t *block, const json_t *field, const char *type, const json_t *base_pdf,
                        int page, double sheet_w)
{
    double x, pw, ph;
    if (json_object_get(field, "width") || !strcmp(type, "image") || !strcmp(type, "qr") ||
        !strcmp(type, "barcode") || !length_pt(json_object_get(field, "x"), &x))
        return;
    page_size(base_pdf, page, &pw, &ph);
    if (pw < sheet_w - OVERLAY_SIZE_TOLERANCE && x < pw)
        json_object_set_new(json_object_get(block, "position"), "width", json_real(pw - x));
}

static json_t *engine_layout(const json_t *fields, const int *first, const int *last, const json_t *base_pdf,
                             int pages, double w, double h, int **origin_out, const char ***types_out,
                             size_t *nbody)
{
    size_t nf = json_array_size(fields), total = 0;
    for (size_t i = 0; i < nf; i++)
        total += (size_t)(last[i] - first[i] + 1);
    size_t cap = total + 2 * (size_t)pages;
    int *origin = malloc(cap * sizeof *origin);
    const char **types = calloc(nf + 1, sizeof *types);
    json_t *body = json_array();
    if (!origin || !types || !body) {
        free(origin);
        free(types);
        json_decref(body);
        return NULL;
    }
    for (size_t i = 0; i < nf; i++)
        types[i] = json_string_value(json_object_get(json_array_get(fields, i), "type"));
    size_t n = 0;
    for (int p = 1; p <= pages; p++) {
        if (p > 1) {
            json_array_append_new(body, json_pack("{s:s}", "type", "pageBreak"));
            origin[n++] = -1;
        }
        json_array_append_new(body, json_pack("{s:s, s:i}", "type", "spacer", "height", 1));
        origin[n++] = -1;
        for (size_t i = 0; i < nf; i++) {
            if (p < first[i] || p > last[i])
                continue;
            json_t *block = placement_block(json_array_get(fields, i), types[i]);
            fit_to_page(block, json_array_get(fields, i), types[i], base_pdf, p, w);
            json_array_append_new(body, block);
            origin[n++] = (int)i;
        }
    }
    *origin_out = origin;
    *types_out = types;
    *nbody = n;
    return json_pack("{s:{s:[f,f], s:i}, s:o}", "page", "size", w, h, "margins", 0, "body", body);
}

static void check_keys(const json_t *layout, json_t *issues)
{
    const char *key;
    json_t *v;
    char path[300], msg[300];
    json_object_foreach((json_t *)layout, key, v)
    {
        if (in_list(key, overlay_keys))
            continue;
        snprintf(path, sizeof path, "layout.%.200s", key);
        snprintf(msg, sizeof msg, "Unknown property \"%.200s\" of a pdf-overlay layout", key);
        issues_json_field(issues, path, msg);
    }
    if (!overlay_layout_base(layout))
        issues_json_field(issues, "layout.base",
                          "Required: the base PDF, \"asset:NAME\" (upload it with POST /v1/assets)");
    json_t *flatten = json_object_get(layout, "flatten");
    if (flatten && !json_is_boolean(flatten))
        issues_json_field(issues, "layout.flatten", "Expected boolean");
}

/* Draws the placements with the engine; engine issues come back at the placements' paths. */
static engine_template_t *compile_placements(const json_t *fields, const int *first, const int *last,
                                             const json_t *base_pdf, const json_t *manifest,
                                             const engine_compile_opts_t *opts, json_t *issues, char *err,
                                             size_t err_len)
{
    int pages = (int)json_integer_value(json_object_get(base_pdf, "pages"));
    double w, h;
    sheet_size(base_pdf, &w, &h); /* pdfdoc_merge uses each page's top-left part of its size */
    int *origin = NULL;
    const char **types = NULL;
    size_t nbody = 0;
    json_t *layout = engine_layout(fields, first, last, base_pdf, pages, w, h, &origin, &types, &nbody);
    if (!layout) {
        errmsg_fail(err, err_len, "out of memory");
        return NULL;
    }
    json_t *e_issues = NULL;
    engine_template_t *t = engine_compile_ex(layout, NULL, manifest, opts, &e_issues, err, err_len);
    const char *path;
    json_t *msgs, *m;
    size_t k;
    json_object_foreach(json_object_get(e_issues, "fieldErrors"), path, msgs)
    {
        char mapped[700];
        map_issue_path(path, origin, types, nbody, mapped, sizeof mapped);
        json_array_foreach(msgs, k, m)
        {
            json_t *have = json_object_get(json_object_get(issues, "fieldErrors"), mapped);
            bool dup = false; /* an "all" placement reports the same problem on every page */
            for (size_t j = 0; have && j < json_array_size(have); j++)
                dup = dup || json_equal(json_array_get(have, j), m);
            if (!dup)
                issues_json_field(issues, mapped, json_string_value(m));
        }
    }
    json_array_extend(json_object_get(issues, "formErrors"), json_object_get(e_issues, "formErrors"));
    json_decref(e_issues);
    json_decref(layout);
    free(origin);
    free(types);
    return t;
}

static size_t issue_count(const json_t *issues)
{
    return json_object_size(json_object_get(issues, "fieldErrors")) +
           json_array_size(json_object_get(issues, "formErrors"));
}

overlay_t *overlay_compile(const json_t *layout, const json_t *manifest, const engine_compile_opts_t *opts,
                           engine_template_t **engine, json_t **issues, char *err, size_t err_len)
{
    *engine = NULL;
    *issues = json_pack("{s:[], s:{}}", "formErrors", "fieldErrors");
    overlay_t *o = calloc(1, sizeof *o);
    int *first = NULL, *last = NULL;
    if (!o || !*issues) {
        errmsg_fail(err, err_len, "out of memory");
        goto fail;
    }
    check_keys(layout, *issues);
    const json_t *base_pdf = json_object_get(layout, "basePdf"), *fields = json_object_get(layout, "fields");
    int pages = (int)json_integer_value(json_object_get(base_pdf, "pages"));
    if (!json_is_object(base_pdf) || pages < 1 || !json_is_object(json_object_get(base_pdf, "fields"))) {
        json_array_append_new(
            json_object_get(*issues, "formErrors"),
            json_string("The base PDF was not described (save the version through the API)"));
        errmsg_fail(err, err_len, "the pdf-overlay layout has no basePdf");
        goto fail;
    }
    o->flatten = !json_is_false(json_object_get(layout, "flatten"));
    const char *base = overlay_layout_base(layout);
    o->base = strdup(base ? base : "");
    compile_fill(o, json_object_get(layout, "fill"), json_object_get(base_pdf, "fields"), manifest, *issues);
    if (fields && !json_is_array(fields))
        issues_json_field(*issues, "layout.fields", "Expected a list of placements");
    size_t nf = json_is_array(fields) ? json_array_size(fields) : 0, drawn = 0;
    first = calloc(nf + 1, sizeof *first);
    last = calloc(nf + 1, sizeof *last);
    if (!first || !last) {
        errmsg_fail(err, err_len, "out of memory");
        goto fail;
    }
    bool placements_ok = nf <= OVERLAY_MAX_PLACEMENTS;
    double sheet_wh[2];
    sheet_size(base_pdf, &sheet_wh[0], &sheet_wh[1]);
    /* Stops once too many are drawn: checking a placement costs one step per page it is on. */
    for (size_t i = 0; placements_ok && i < nf && drawn <= OVERLAY_MAX_PLACEMENTS; i++) {
        if (!check_placement(json_array_get(fields, i), i, base_pdf, sheet_wh, &first[i], &last[i], *issues))
            placements_ok = false;
        drawn += (size_t)(last[i] - first[i] + 1);
    }
    if (nf > OVERLAY_MAX_PLACEMENTS || drawn > OVERLAY_MAX_PLACEMENTS) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "At most %d placements (one on \"all\" pages counts once per page); this overlay has %zu",
                 OVERLAY_MAX_PLACEMENTS, nf > OVERLAY_MAX_PLACEMENTS ? nf : drawn);
        issues_json_field(*issues, "layout.fields", msg);
        placements_ok = false;
    }
    if (placements_ok)
        *engine = compile_placements(fields, first, last, base_pdf, manifest, opts, *issues, err, err_len);
    if (issue_count(*issues) || !*engine) {
        if (issue_count(*issues))
            errmsg_fail(err, err_len, "the pdf-overlay layout is not valid");
        goto fail;
    }
    free(first);
    free(last);
    json_decref(*issues);
    *issues = NULL;
    return o;
fail:
    free(first);
    free(last);
    engine_template_free(*engine);
    *engine = NULL;
    overlay_free(o);
    return NULL;
}

/* ---- rendering ---- */

int overlay_check_opts(const engine_render_opts_t *opts, char *err, size_t err_len)
{
    if (opts->pdfa == ENGINE_PDFA_2B || opts->pdfa == ENGINE_PDFA_3B ||
        opts->facturx.profile != ENGINE_FX_NONE)
        return errmsg_fail(err, err_len,
                           "PDF/A and Factur-X output of pdf-overlay templates is not available");
    if (opts->nattachments)
        return errmsg_fail(err, err_len, "attachments are not available for pdf-overlay templates");
    return 0;
}

const engine_asset_t *overlay_find_base(const engine_asset_t *assets, size_t n, const char *ref)
{
    for (int by_id = 0; by_id < 2; by_id++)
        for (size_t i = 0; i < n; i++)
            if (!strcmp(assets[i].kind, "pdf") && !strcmp(by_id ? assets[i].id : assets[i].name, ref))
                return &assets[i];
    return NULL;
}

unsigned char *overlay_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size > 0 && (size_t)size <= max && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size)) &&
        fread(buf, 1, (size_t)size, f) == (size_t)size) {
        *len = (size_t)size;
    } else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

/* The base's bytes: the pdf asset named (or with the id) o->base. malloc'd. */
static unsigned char *read_base(const overlay_t *o, const engine_render_opts_t *opts, size_t *len, char *err,
                                size_t err_len)
{
    const engine_asset_t *a = opts->assets ? overlay_find_base(opts->assets, opts->nassets, o->base) : NULL;
    if (!a) {
        errmsg_fail(err, err_len, "the base PDF \"%s\" is not one of the project's PDF assets", o->base);
        return NULL;
    }
    unsigned char *buf = overlay_read_file(a->path, PDFDOC_MAX_STREAM_BYTES, len);
    if (buf)
        return buf;
    errmsg_fail(err, err_len, "the base PDF \"%s\" could not be read", o->base);
    return NULL;
}

/* An evaluated text as a checkbox's state: false for "", "false", "0", "no", "off". */
static bool text_checked(const char *s)
{
    static const char *const no[] = {"", "false", "0", "no", "off", NULL};
    for (const char *const *n = no; *n; n++)
        if (!strcasecmp(s, *n))
            return false;
    return true;
}

/* {"<field>": value} for pdfdoc_merge, from the data. */
static json_t *fill_values(const overlay_t *o, const json_t *data, char *err, size_t err_len)
{
    json_t *fill = json_object();
    for (size_t i = 0; fill && i < o->nfill; i++) {
        const fill_t *f = &o->fill[i];
        if (f->literal) {
            json_object_set(fill, f->name, f->literal);
            continue;
        }
        char *s = NULL, e[ERRMSG_LEN];
        if (engine_text_eval(f->text, data, &s, e, sizeof e) != 0) {
            errmsg_fail(err, err_len, "form field \"%s\": %s", f->name, e);
            json_decref(fill);
            return NULL;
        }
        json_t *v;
        if (!strcmp(f->type, "checkbox"))
            v = json_boolean(text_checked(s));
        else if (!s[0] && (!strcmp(f->type, "radio") || !strcmp(f->type, "choice")))
            v = json_null(); /* nothing chosen: the field stays as the base has it */
        else
            v = json_string(s);
        json_object_set_new(fill, f->name, v);
        free(s);
    }
    return fill;
}

int overlay_merge(const overlay_t *o, const json_t *data, const engine_render_opts_t *opts,
                  engine_output_t *out, char *err, size_t err_len)
{
    size_t base_len = 0, merged_len = 0;
    unsigned char *base = read_base(o, opts, &base_len, err, err_len), *merged = NULL;
    json_t *fill = base ? fill_values(o, data, err, err_len) : NULL;
    int rc = -1;
    char e[600];
    if (fill) {
        if (pdfdoc_merge(base, base_len, fill, o->flatten, out->data, out->len, &merged, &merged_len, e,
                         sizeof e) == 0) {
            free(out->data);
            out->data = merged;
            out->len = merged_len;
            rc = 0;
        } else {
            errmsg_fail(err, err_len, "the base PDF %s", e);
        }
    }
    json_decref(fill);
    free(base);
    return rc;
}

/* Replaces the merged PDF in out by the PNG of opts->page. */
static int rasterize(const engine_render_opts_t *opts, engine_output_t *out, char *err, size_t err_len)
{
    unsigned char *png = NULL;
    size_t len = 0;
    int pages = 0;
    if (pdfraster_png(out->data, out->len, opts->page, opts->dpi, &png, &len, &pages, err, err_len) != 0)
        return -1;
    free(out->data);
    out->data = png;
    out->len = len;
    out->pages = pages;
    return 0;
}

int overlay_render(engine_ctx_t *ctx, const engine_template_t *t, const overlay_t *o, const json_t *data,
                   const engine_render_opts_t *opts, engine_output_t *out, char *err, size_t err_len)
{
    engine_render_opts_t pdf = *opts;
    pdf.format = ENGINE_PDF;
    *out = (engine_output_t){0};
    if (overlay_check_opts(opts, err, err_len) != 0 ||
        engine_render(ctx, t, data, &pdf, out, err, err_len) != 0)
        return -1;
    if (overlay_merge(o, data, &pdf, out, err, err_len) != 0 ||
        (opts->format == ENGINE_PNG && rasterize(opts, out, err, err_len) != 0)) {
        engine_output_free(out);
        return -1;
    }
    return 0;
}
