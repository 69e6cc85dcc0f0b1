/* compile_top — engine_compile: the layout's top level (page, styles, metadata, header/footer,
 * watermark, body) and pageConfig. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/cii.h"
#include "engine/compile.h"
#include "engine/fonts.h"
#include "core/errmsg.h"

static const struct {
    const char *name;
    double w, h;
} page_sizes[] = {
    {"A3", 841.89, 1190.55}, {"A4", 595.28, 841.89}, {"A5", 419.53, 595.28}, {"A6", 297.64, 419.53},
    {"B5", 498.90, 708.66},  {"Letter", 612, 792},   {"Legal", 612, 1008},   {"Tabloid", 792, 1224},
};

static int page_size_named(compiler_t *c, const json_t *v, const char *path, double *w, double *h)
{
    if (json_is_string(v)) {
        for (size_t i = 0; i < sizeof page_sizes / sizeof page_sizes[0]; i++)
            if (!strcasecmp(json_string_value(v), page_sizes[i].name)) {
                *w = page_sizes[i].w;
                *h = page_sizes[i].h;
                return 0;
            }
    }
    compile_issue(c, path,
                  "Unknown page size%s%s%s (use A3, A4, A5, A6, B5, Letter, Legal, Tabloid, [width, height] "
                  "or {\"width\", \"height\"})",
                  json_is_string(v) ? " \"" : "", json_is_string(v) ? json_string_value(v) : "",
                  json_is_string(v) ? "\"" : "");
    return -1;
}

static void page_dims(compiler_t *c, const json_t *w, const json_t *h, const char *path, page_spec_t *pg)
{
    double dw = pg->width, dh = pg->height;
    if (compile_pt(c, w, compile_path(c, path, "width"), &dw) < 0 ||
        compile_pt(c, h, compile_path(c, path, "height"), &dh) < 0)
        return;
    if (dw < ENGINE_PAGE_MIN_PT || dh < ENGINE_PAGE_MIN_PT || dw > ENGINE_PAGE_MAX_PT ||
        dh > ENGINE_PAGE_MAX_PT) {
        compile_issue(c, path, "Page sides must be between %g and %g pt", ENGINE_PAGE_MIN_PT,
                      ENGINE_PAGE_MAX_PT);
        return;
    }
    pg->width = dw;
    pg->height = dh;
}

static bool is_auto(const json_t *v)
{
    return json_is_string(v) && !strcmp(json_string_value(v), "auto");
}

/* One side of a page in pt, within the engine's limits; 0, or -1 after an issue at path. */
static int page_side(compiler_t *c, const json_t *v, const char *path, double *out)
{
    double d;
    if (compile_pt(c, v, path, &d) < 0)
        return -1;
    if (d < ENGINE_PAGE_MIN_PT || d > ENGINE_PAGE_MAX_PT) {
        compile_issue(c, path, "Page sides must be between %g and %g pt", ENGINE_PAGE_MIN_PT,
                      ENGINE_PAGE_MAX_PT);
        return -1;
    }
    *out = d;
    return 0;
}

/* Roll paper: [width, "auto"]. The height is the maximum (page.maxHeight) until the pages are
 * cut to their content at render time. */
static void page_dims_auto(compiler_t *c, const json_t *w, const char *path, page_spec_t *pg)
{
    if (page_side(c, w, compile_path(c, path, "width"), &pg->width) < 0)
        return;
    pg->height = ENGINE_PAGE_MAX_PT;
    pg->auto_height = true;
}

static void page_size_value(compiler_t *c, const json_t *v, const char *path, page_spec_t *pg)
{
    if (json_is_array(v) && json_array_size(v) == 2 && is_auto(json_array_get(v, 1))) {
        page_dims_auto(c, json_array_get(v, 0), path, pg);
    } else if (json_is_array(v) && json_array_size(v) == 2) {
        page_dims(c, json_array_get(v, 0), json_array_get(v, 1), path, pg);
    } else if (json_is_object(v)) {
        static const char *const keys[] = {"width", "height", NULL};
        compile_check_keys(c, v, path, keys, false, false);
        if (!json_object_get(v, "width") || !json_object_get(v, "height"))
            compile_issue(c, path, "A custom page size needs both \"width\" and \"height\"");
        else if (is_auto(json_object_get(v, "height")))
            page_dims_auto(c, json_object_get(v, "width"), path, pg);
        else
            page_dims(c, json_object_get(v, "width"), json_object_get(v, "height"), path, pg);
    } else {
        page_size_named(c, v, path, &pg->width, &pg->height);
    }
}

static void apply_orientation(compiler_t *c, const json_t *v, const char *path, page_spec_t *pg)
{
    static const char *const names[] = {"portrait", "landscape", NULL};
    int o = compile_enum(c, v, path, names);
    if (o == 1 && pg->auto_height) {
        compile_issue(c, path, "A page whose height is \"auto\" cannot be turned to landscape");
        return;
    }
    bool landscape = pg->width > pg->height;
    if (o >= 0 && (o == 1) != landscape) {
        double t = pg->width;
        pg->width = pg->height;
        pg->height = t;
    }
}

static void page_max_height(compiler_t *c, const json_t *v, const char *path, page_spec_t *pg)
{
    if (!pg->auto_height)
        compile_issue(
            c, path,
            "maxHeight is for roll paper, whose height is \"auto\" (\"size\": [\"80mm\", \"auto\"])");
    else
        page_side(c, v, path, &pg->height);
}

static void compile_page(compiler_t *c, const json_t *v, page_spec_t *pg)
{
    const char *path = "layout.page";
    if (!json_is_object(v)) {
        compile_issue(c, path, "Expected an object such as {\"size\": \"A4\", \"margins\": \"20mm\"}");
        return;
    }
    static const char *const keys[] = {"size",       "orientation", "margins", "margin",
                                       "background", "maxHeight",   NULL};
    compile_check_keys(c, v, path, keys, false, false);
    json_t *x;
    if ((x = json_object_get(v, "size")))
        page_size_value(c, x, compile_path(c, path, "size"), pg);
    if ((x = json_object_get(v, "maxHeight")))
        page_max_height(c, x, compile_path(c, path, "maxHeight"), pg);
    if ((x = json_object_get(v, "orientation")))
        apply_orientation(c, x, compile_path(c, path, "orientation"), pg);
    if ((x = json_object_get(v, "margins")) || (x = json_object_get(v, "margin")))
        compile_sides(c, x, compile_path(c, path, json_object_get(v, "margins") ? "margins" : "margin"),
                      pg->margin);
    if ((x = json_object_get(v, "background")))
        compile_background(c, x, compile_path(c, path, "background"), pg);
}

/* pageConfig (the API's page settings) overrides the layout's page. */
static void compile_page_config(compiler_t *c, const json_t *v, page_spec_t *pg)
{
    const char *path = "pageConfig";
    if (!json_is_object(v)) {
        compile_issue(c, path,
                      "Expected an object such as {\"format\": \"A4\", \"orientation\": \"portrait\"}");
        return;
    }
    static const char *const keys[] = {"format", "orientation",     "margin", "margins", "width",
                                       "height", "printBackground", "pdfa",   NULL};
    compile_check_keys(c, v, path, keys, false, false);
    json_t *x, *w = json_object_get(v, "width"), *h = json_object_get(v, "height");
    if ((x = json_object_get(v, "format")) &&
        page_size_named(c, x, "pageConfig.format", &pg->width, &pg->height) == 0)
        pg->auto_height = false;
    if (w || h) {
        pg->auto_height = false;
        if (!w || !h)
            compile_issue(c, path, "A custom page size needs both \"width\" and \"height\"");
        else
            page_dims(c, w, h, path, pg);
    }
    if ((x = json_object_get(v, "orientation")))
        apply_orientation(c, x, "pageConfig.orientation", pg);
    if ((x = json_object_get(v, "margin")) || (x = json_object_get(v, "margins")))
        compile_sides(c, x, json_object_get(v, "margin") ? "pageConfig.margin" : "pageConfig.margins",
                      pg->margin);
    if ((x = json_object_get(v, "printBackground"))) {
        bool b;
        compile_bool(c, x, "pageConfig.printBackground", &b); /* backgrounds are always printed */
    }
    if ((x = json_object_get(v, "pdfa"))) {
        int level = json_is_string(x) ? engine_pdfa_parse(json_string_value(x)) : -1;
        if (level < 0)
            compile_issue(c, "pageConfig.pdfa", "Invalid enum value. Expected '2b' | '3b'");
        else
            c->t->pdfa = (engine_pdfa_t)level;
    }
}

static void compile_styles(compiler_t *c, const json_t *styles)
{
    if (!json_is_object(styles)) {
        compile_issue(c, "layout.styles",
                      "Expected an object of named styles: {\"title\": {\"fontSize\": 18}}");
        c->styles = NULL;
        return;
    }
    const char *name;
    json_t *def;
    json_object_foreach((json_t *)styles, name, def)
    {
        const char *p = compile_path(c, "layout.styles", name);
        if (!json_is_object(def)) {
            compile_issue(c, p, "Expected an object of style properties");
            continue;
        }
        const char *key;
        json_t *v;
        json_object_foreach(def, key, v) if (!compile_is_style_key(key) && !compile_is_spacing_key(key))
            compile_issue(c, compile_path(c, p, key), "Unknown style property \"%s\"", key);
        tstyle_t scratch;
        node_t dummy;
        compile_default_style(&scratch);
        memset(&dummy, 0, sizeof dummy);
        compile_apply_style_props(c, def, p, &scratch);
        compile_apply_spacing(c, def, p, &dummy);
    }
}

/* "partials" (key "partials") or "libraryPartials": named blocks (or lists of blocks) that
 * {"type": "partial", "name": ...} blocks use; each is compiled where it is used
 * (compile_partial), so here only the shape. Returns v, or NULL when it is not an object. */
static const json_t *compile_partials(compiler_t *c, const json_t *v, const char *key)
{
    const char *base = compile_path(c, "layout", key);
    if (!json_is_object(v)) {
        compile_issue(c, base, "Expected an object of named partials: {\"letterhead\": [blocks...]}");
        return NULL;
    }
    const char *name;
    json_t *def;
    json_object_foreach((json_t *)v, name, def)
    {
        const char *p = compile_path(c, base, name);
        if (!*name || strlen(name) > 100 || strchr(name, '.'))
            compile_issue(c, p, "A partial's name is 1 to 100 characters without \".\"");
        else if (!json_is_array(def) && !json_is_object(def) && !json_is_string(def))
            compile_issue(c, p, "Expected a block or a list of blocks");
    }
    return v;
}

static void report_issue(void *arg, const char *path, const char *msg)
{
    compile_issue(arg, path, "%s", msg);
}

static void compile_metadata(compiler_t *c, const json_t *v, engine_template_t *t)
{
    const char *path = "layout.metadata";
    if (!json_is_object(v)) {
        compile_issue(c, path,
                      "Expected an object: {\"title\": ..., \"author\": ..., \"subject\": ..., \"keywords\": "
                      "..., \"lang\": ...}");
        return;
    }
    static const char *const keys[] = {"title", "author", "subject", "keywords", "lang", NULL};
    compile_check_keys(c, v, path, keys, false, false);
    json_t *lang = json_object_get(v, "lang");
    if (lang &&
        compile_lang(c, lang, compile_path(c, path, "lang"), &t->meta_lang, &t->meta_lang_expr) == 0 &&
        !t->base_style.lang && !t->base_style.lang_expr) {
        /* The document's language is the default of its text (defaultStyle.lang wins). */
        t->base_style.lang = t->meta_lang;
        t->base_style.lang_expr = t->meta_lang_expr;
    }
    expr_str_t **slots[] = {&t->meta_title, &t->meta_author, &t->meta_subject, &t->meta_keywords};
    for (int i = 0; i < 4; i++) {
        json_t *x = json_object_get(v, keys[i]);
        if (x)
            *slots[i] = compile_text(c, x, compile_path(c, path, keys[i]));
    }
}

static void compile_watermark(compiler_t *c, const json_t *v, engine_template_t *t)
{
    const char *path = "layout.watermark";
    watermark_spec_t *w = arena_alloc(c->a, sizeof *w);
    if (!w)
        return;
    w->color = 0x9ca3af00;
    double opacity = 0.18;
    w->angle = NAN;
    const json_t *text = v;
    const char *tpath = path;
    if (json_is_object(v)) {
        static const char *const keys[] = {"text", "color", "opacity", "fontSize", "angle", NULL};
        compile_check_keys(c, v, path, keys, false, false);
        json_t *x;
        if ((x = json_object_get(v, "color"))) {
            uint32_t col;
            if (compile_color(c, x, compile_path(c, path, "color"), &col) == 0)
                w->color = col & 0xffffff00u;
        }
        if ((x = json_object_get(v, "opacity")))
            compile_number(c, x, compile_path(c, path, "opacity"), 0, 1, &opacity);
        if ((x = json_object_get(v, "fontSize")))
            compile_pt(c, x, compile_path(c, path, "fontSize"), &w->size);
        if ((x = json_object_get(v, "angle")))
            compile_number(c, x, compile_path(c, path, "angle"), -360, 360, &w->angle);
        text = json_object_get(v, "text");
        tpath = compile_path(c, path, "text");
        if (!text) {
            compile_issue(c, path, "A watermark needs \"text\"");
            return;
        }
    }
    if (!json_is_string(text)) {
        compile_issue(c, tpath, "Expected the watermark text, or {\"text\": ..., \"opacity\": ...}");
        return;
    }
    if (compile_text_into(c, json_string_value(text), tpath, &w->text, BIND_TEXT) < 0)
        return;
    w->color |= (uint32_t)lround(opacity * 255);
    t->watermark = w;
}

static node_t *compile_header_footer(compiler_t *c, const json_t *layout, const char *key)
{
    json_t *v = json_object_get(layout, key);
    if (!v)
        return NULL;
    c->names.allow_page = true;
    node_t *n = compile_block_list(c, v, compile_path(c, "layout", key), &c->t->base_style);
    c->names.allow_page = false;
    return n;
}

static void index_manifest(compiler_t *c, const json_t *manifest)
{
    c->mf_vars = json_object();
    c->mf_loops = json_object();
    if (!manifest)
        return;
    if (!json_is_object(manifest)) {
        compile_issue(c, NULL, "The manifest must be an object with \"variables\" and \"loops\"");
        return;
    }
    c->manifest = manifest;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(manifest, "variables"), i, v)
    {
        json_t *k = json_object_get(v, "key");
        if (json_is_string(k))
            json_object_set(c->mf_vars, json_string_value(k), v);
    }
    json_array_foreach(json_object_get(manifest, "loops"), i, v)
    {
        json_t *k = json_object_get(v, "key");
        if (json_is_string(k))
            json_object_set(c->mf_loops, json_string_value(k), v);
    }
}

/* Whether the family list names a family the project uploaded. */
static bool family_uploaded(const compiler_t *c, const char *family)
{
    for (size_t i = 0; c->opts && i < c->opts->nfamilies; i++)
        if (c->opts->families[i] && engine_family_list_has(family, c->opts->families[i]))
            return true;
    return false;
}

/* Fonts are checked when the layout is saved, not only when it renders: each family list must
 * name an uploaded family or resolve to an installed one. */
static void check_families(compiler_t *c)
{
    const char *family;
    json_t *path;
    json_object_foreach(c->families, family, path)
    {
        json_array_append_new(c->t->font_refs, json_pack("{s:s, s:O}", "family", family, "path", path));
        if ((c->opts && c->opts->skip_font_check) || family_uploaded(c, family))
            continue;
        char sub[200] = "";
        if (!fonts_family_installed(family, sub, sizeof sub))
            compile_issue(
                c, json_string_value(path),
                "Font \"%s\" is not installed on this server nor uploaded to this project (it would be "
                "replaced "
                "by \"%s\"): upload it with POST /v1/assets or use an installed family such as DejaVu Sans, "
                "DejaVu Serif, Liberation Sans, Liberation Serif or Noto Sans CJK SC",
                family, sub);
    }
}

static void compile_layout(compiler_t *c, const json_t *layout, const json_t *page_config)
{
    engine_template_t *t = c->t;
    if (!json_is_object(layout)) {
        compile_issue(c, NULL, "The layout must be a JSON object with a \"body\"");
        return;
    }
    /* "$schema" is ignored: editors use it to find GET /v1/schemas/layout.json. */
    static const char *const keys[] = {
        "$schema",   "version", "page",     "styles",          "defaultStyle",
        "metadata",  "header",  "footer",   "firstPageHeader", "firstPageFooter",
        "watermark", "body",    "einvoice", "partials",        "libraryPartials",
        NULL};
    compile_check_keys(c, layout, "layout", keys, false, false);
    json_t *x;
    if ((x = json_object_get(layout, "version")) && !(json_is_integer(x) && json_integer_value(x) == 1))
        compile_issue(c, "layout.version", "Only version 1 of the layout language exists");
    t->page.width = 595.28;
    t->page.height = 841.89;
    for (int i = 0; i < 4; i++)
        t->page.margin[i] = 56.69; /* 20 mm */
    if ((x = json_object_get(layout, "page")))
        compile_page(c, x, &t->page);
    if (page_config && !json_is_null(page_config))
        compile_page_config(c, page_config, &t->page);
    if (t->page.margin[1] + t->page.margin[3] > t->page.width - ENGINE_CONTENT_MIN_PT ||
        t->page.margin[0] + t->page.margin[2] > t->page.height - ENGINE_CONTENT_MIN_PT)
        compile_issue(c, page_config ? "pageConfig.margin" : "layout.page.margins",
                      "Margins leave no room for the content (less than %g pt)", ENGINE_CONTENT_MIN_PT);

    if ((x = json_object_get(layout, "styles"))) {
        c->styles = x;
        compile_styles(c, x);
    }
    compile_default_style(&t->base_style);
    if ((x = json_object_get(layout, "defaultStyle"))) {
        if (!json_is_object(x)) {
            compile_issue(c, "layout.defaultStyle", "Expected an object of style properties");
        } else {
            const char *key;
            json_t *v;
            json_object_foreach(x, key, v) if (!compile_is_style_key(key)) compile_issue(
                c, compile_path(c, "layout.defaultStyle", key), "Unknown style property \"%s\"", key);
            compile_apply_style_props(c, x, "layout.defaultStyle", &t->base_style);
        }
    }
    if ((x = json_object_get(layout, "metadata")))
        compile_metadata(c, x, t);
    if ((x = json_object_get(layout, "watermark")))
        compile_watermark(c, x, t);
    if ((x = json_object_get(layout, "einvoice"))) {
        int profile = cii_check_mapping(x, report_issue, c);
        if (profile > 0) {
            t->einvoice = json_deep_copy(x);
            t->einvoice_profile = profile;
        }
    }
    if ((x = json_object_get(layout, "partials")))
        c->partials = compile_partials(c, x, "partials");
    if ((x = json_object_get(layout, "libraryPartials")))
        c->library = compile_partials(c, x, "libraryPartials");
    t->header = compile_header_footer(c, layout, "header");
    t->footer = compile_header_footer(c, layout, "footer");
    t->has_first_header = json_object_get(layout, "firstPageHeader") != NULL;
    t->has_first_footer = json_object_get(layout, "firstPageFooter") != NULL;
    t->first_header = compile_header_footer(c, layout, "firstPageHeader");
    t->first_footer = compile_header_footer(c, layout, "firstPageFooter");
    json_t *body = json_object_get(layout, "body");
    if (!body) {
        compile_issue(c, "layout.body", "Required: the list of blocks that make up the document");
        return;
    }
    if (!json_is_array(body)) {
        compile_issue(c, "layout.body", "Expected a list of blocks");
        return;
    }
    c->in_body = true;
    t->body = compile_block_list(c, body, "layout.body", &t->base_style);
    c->in_body = false;
    compile_check_page_refs(c);
    check_families(c);
}

engine_template_t *engine_compile(const json_t *layout, const json_t *page_config, const json_t *manifest,
                                  json_t **issues, char *err, size_t err_len)
{
    return engine_compile_ex(layout, page_config, manifest, NULL, issues, err, err_len);
}

engine_template_t *engine_compile_ex(const json_t *layout, const json_t *page_config, const json_t *manifest,
                                     const engine_compile_opts_t *opts, json_t **issues, char *err,
                                     size_t err_len)
{
    if (issues)
        *issues = NULL;
    engine_template_t *t = calloc(1, sizeof *t);
    if (!t) {
        errmsg_fail(err, err_len, "out of memory");
        return NULL;
    }
    arena_init(&t->arena, 32 * 1024, ENGINE_TEMPLATE_ARENA_MAX);
    t->owned = json_array();
    t->asset_refs = json_array();
    t->font_refs = json_array();
    compiler_t c = {.a = &t->arena,
                    .t = t,
                    .field_errors = json_object(),
                    .form_errors = json_array(),
                    .families = json_object(),
                    .anchors = json_object(),
                    .anchor_refs = json_array(),
                    .opts = opts};
    json_t *generated = NULL;
    index_manifest(&c, manifest);
    if (!layout)
        layout = generated = engine_default_layout(manifest);
    compile_layout(&c, layout, page_config);
    if (t->arena.full && !c.nissues)
        compile_issue(&c, NULL, "The layout is too large");
    json_decref(generated);
    json_decref(c.anchors);
    json_decref(c.anchor_refs);
    json_decref(c.mf_vars);
    json_decref(c.mf_loops);
    json_decref(c.families);
    if (c.nissues) {
        errmsg_fail(err, err_len, "invalid layout: %d problem%s; the first is %s", c.nissues,
                    c.nissues == 1 ? "" : "s", c.first_issue);
        if (issues)
            *issues = json_pack("{s:o,s:o}", "formErrors", c.form_errors, "fieldErrors", c.field_errors);
        else {
            json_decref(c.form_errors);
            json_decref(c.field_errors);
        }
        engine_template_free(t);
        return NULL;
    }
    json_decref(c.form_errors);
    json_decref(c.field_errors);
    return t;
}

void engine_template_free(engine_template_t *t)
{
    if (!t)
        return;
    arena_free(&t->arena);
    json_decref(t->owned);
    json_decref(t->einvoice);
    json_decref(t->asset_refs);
    json_decref(t->font_refs);
    free(t);
}

const json_t *engine_template_asset_refs(const engine_template_t *t)
{
    return t->asset_refs;
}

const json_t *engine_template_font_refs(const engine_template_t *t)
{
    return t->font_refs;
}

void engine_template_page_size(const engine_template_t *t, double *width_pt, double *height_pt)
{
    *width_pt = t->page.width;
    *height_pt = t->page.height;
}

/* ---- engine_text: one template string outside a layout ---- */

struct engine_text {
    engine_template_t *t; /* holds the arena and json literals */
    expr_str_t *s;
};

engine_text_t *engine_text_compile(const char *text, const json_t *manifest, const char *path,
                                   json_t **issues, char *err, size_t err_len)
{
    *issues = NULL;
    engine_text_t *et = calloc(1, sizeof *et);
    engine_template_t *t = calloc(1, sizeof *t);
    if (!et || !t) {
        free(et);
        free(t);
        errmsg_fail(err, err_len, "out of memory");
        return NULL;
    }
    arena_init(&t->arena, 4096, ENGINE_TEMPLATE_ARENA_MAX);
    t->owned = json_array();
    et->t = t;
    compiler_t c = {.a = &t->arena,
                    .t = t,
                    .field_errors = json_object(),
                    .form_errors = json_array(),
                    .families = json_object()};
    index_manifest(&c, manifest);
    et->s = arena_alloc(c.a, sizeof *et->s);
    if (!et->s)
        compile_issue(&c, path, "Out of memory");
    else
        compile_text_into(&c, text, path, et->s, BIND_TEXT);
    json_decref(c.mf_vars);
    json_decref(c.mf_loops);
    json_decref(c.families);
    if (c.nissues) {
        errmsg_fail(err, err_len, "%s", c.first_issue);
        *issues = json_pack("{s:o,s:o}", "formErrors", c.form_errors, "fieldErrors", c.field_errors);
        engine_text_free(et);
        return NULL;
    }
    json_decref(c.form_errors);
    json_decref(c.field_errors);
    return et;
}

int engine_text_eval(const engine_text_t *et, const json_t *data, char **out, char *err, size_t err_len)
{
    *out = NULL;
    buf_t b;
    buf_init(&b, ENGINE_TEXT_EVAL_MAX);
    expr_scope_t sc = {.data = data, .scratch = json_string("")};
    int rc = sc.scratch ? expr_eval_str(&sc, et->s, &b, err, err_len) : -1;
    if (rc == 0 && b.len >= ENGINE_TEXT_EVAL_MAX) {
        errmsg_fail(err, err_len, "the text is longer than %d bytes", ENGINE_TEXT_EVAL_MAX);
        rc = -1;
    }
    if (rc == 0)
        *out = buf_detach(&b, NULL);
    json_decref(sc.scratch);
    buf_free(&b);
    return rc;
}

void engine_text_free(engine_text_t *et)
{
    if (!et)
        return;
    engine_template_free(et->t);
    free(et);
}
