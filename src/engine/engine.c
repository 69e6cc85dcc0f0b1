/* engine — the public API: contexts, render orchestration, PDF and PNG output. */
#include "craftkit/engine.h"

#include <cairo-pdf.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/errmsg.h"
#include "core/timeutil.h"
#include "engine/cii.h"
#include "engine/engine_int.h"
#include "engine/fontcache.h"
#include "engine/layout.h"
#include "engine/pdfa.h"
#include "engine/pdfz.h"

#define RENDER_ARENA_CHUNK (256 * 1024)

struct engine_ctx {
    fonts_t *fonts;
    text_t *text;
    fontcache_t *fontsets; /* uploaded fonts (engine_render_opts_t.assets) */
    image_loader_t *images;
    arena_t arena;
    json_t *scratch;
};

int engine_global_init(void)
{
    if (!FcInit())
        return -1;
    /* Fonts do not change under a running server; rescans would stall renders. */
    FcConfigSetRescanInterval(NULL, 0);
    /* Warm-up: load fontconfig's caches and the default font once, before any worker runs. */
    fonts_t *f = fonts_new();
    if (!f)
        return -1;
    text_t *t = text_new(f);
    if (t) {
        tstyle_t st = {.family = "DejaVu Sans", .size = 10, .weight = 400, .line_height = 1};
        double w;
        char err[ERRMSG_LEN];
        text_measure(t, "Warm-up", 7, &st, &w, err, sizeof err);
        text_free(t);
    }
    fonts_free(f);
    return 0;
}

void engine_global_cleanup(void)
{
    /* Releases this thread's font map. cairo's and fontconfig's static caches are left alone:
     * cairo_debug_reset_static_data() asserts when any scaled font is still referenced (the
     * docs example run hit that), and tests/lsan.supp already covers those one-time caches. */
    pango_cairo_font_map_set_default(NULL);
}

engine_ctx_t *engine_ctx_new(const engine_ctx_opts_t *opts)
{
    engine_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->fonts = fonts_new();
    ctx->text = ctx->fonts ? text_new(ctx->fonts) : NULL;
    ctx->fontsets = fontcache_new(opts ? opts->font_cache_bytes : 0);
    image_loader_opts_t io = {
        .timeout_ms = opts && opts->image_timeout_ms > 0 ? opts->image_timeout_ms : 10000,
        .max_bytes = opts && opts->image_max_bytes ? opts->image_max_bytes : 5u * 1024 * 1024,
        .allow_private = opts && opts->allow_private_urls,
        .assets_dir = opts ? opts->assets_dir : NULL,
    };
    ctx->images = image_loader_new(&io);
    ctx->scratch = json_string("");
    arena_init(&ctx->arena, RENDER_ARENA_CHUNK, ENGINE_RENDER_ARENA_MAX);
    if (!ctx->text || !ctx->scratch || !ctx->fontsets) {
        engine_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

void engine_ctx_free(engine_ctx_t *ctx)
{
    if (!ctx)
        return;
    fontcache_free(ctx->fontsets); /* before the thread's own fonts, which clear the CFF sources */
    text_free(ctx->text);
    fonts_free(ctx->fonts);
    if (ctx->images)
        image_loader_free(ctx->images);
    json_decref(ctx->scratch);
    arena_free(&ctx->arena);
    free(ctx);
}

void engine_output_free(engine_output_t *out)
{
    if (!out)
        return;
    free(out->data);
    out->data = NULL;
    out->len = 0;
}

/* ------------------------------------------------------------ headers and footers */

static const node_t *header_node(const engine_template_t *t, int page)
{
    return page == 0 && t->has_first_header ? t->first_header : t->header;
}

static const node_t *footer_node(const engine_template_t *t, int page)
{
    return page == 0 && t->has_first_footer ? t->first_footer : t->footer;
}

static double outer_h(const pbox_t *pb)
{
    return pb ? pb->mt + pb->h + pb->mb : 0;
}

/* Heights of the header and footer, measured with three-digit page numbers. */
static int measure_margins(render_t *r)
{
    const engine_template_t *t = r->t;
    r->scope.page = 100;
    r->scope.pages = 100;
    for (int i = 0; i < 2; i++) {
        const node_t *h = header_node(t, i), *f = footer_node(t, i);
        pbox_t *ph = h ? prepare_stack(r, h, r->content_w) : NULL;
        if (h && !ph)
            return -1;
        pbox_t *pf = f ? prepare_stack(r, f, r->content_w) : NULL;
        if (f && !pf)
            return -1;
        r->header_h[i] = outer_h(ph);
        r->footer_h[i] = outer_h(pf);
        r->body_top[i] = t->page.margin[0] + r->header_h[i];
        r->body_bottom[i] = t->page.height - t->page.margin[2] - r->footer_h[i];
        if (r->body_bottom[i] - r->body_top[i] < ENGINE_CONTENT_MIN_PT)
            return render_fail(r, "the header and footer leave no room for the content on page %d", i + 1);
    }
    r->scope.page = r->scope.pages = 0;
    return 0;
}

static int place_margins(render_t *r, int page)
{
    const engine_template_t *t = r->t;
    const node_t *h = header_node(t, page), *f = footer_node(t, page);
    if (!h && !f)
        return 0;
    int i = page == 0 ? 0 : 1;
    r->scope.page = page + 1;
    r->scope.pages = r->npages;
    int saved = r->page;
    r->page = page;
    int rc = 0;
    if (h) {
        pbox_t *pb = prepare_stack(r, h, r->content_w);
        rc = pb ? place_fixed(r, pb, r->content_x, t->page.margin[0], r->content_w) : -1;
    }
    if (f && rc == 0) {
        pbox_t *pb = prepare_stack(r, f, r->content_w);
        double y = place_page_height(r, page) - t->page.margin[2] - r->footer_h[i];
        rc = pb ? place_fixed(r, pb, r->content_x, y, r->content_w) : -1;
    }
    r->page = saved;
    r->scope.page = r->scope.pages = 0;
    return rc < 0 || r->failed ? -1 : 0;
}

/* ------------------------------------------------------------ output */

typedef struct out_buf {
    buf_t b;
    bool overflow;
} out_buf_t;

static cairo_status_t write_out(void *closure, const unsigned char *data, unsigned int len)
{
    out_buf_t *o = closure;
    if (buf_append(&o->b, data, len) < 0) {
        o->overflow = true;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

static void iso_date(int64_t unix_s, char out[32])
{
    time_t ts = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&ts, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Sets the PDF's metadata and records it in *info (for PDF/A's XMP, which must match). */
static void set_metadata(render_t *r, cairo_surface_t *s, const engine_render_opts_t *opts, pdfa_info_t *info)
{
    const char **slots[] = {&info->title, &info->author, &info->subject, &info->keywords};
    memset(info, 0, sizeof *info);
    const engine_template_t *t = r->t;
    struct {
        const expr_str_t *s;
        cairo_pdf_metadata_t m;
    } fields[] = {
        {t->meta_title, CAIRO_PDF_METADATA_TITLE},
        {t->meta_author, CAIRO_PDF_METADATA_AUTHOR},
        {t->meta_subject, CAIRO_PDF_METADATA_SUBJECT},
        {t->meta_keywords, CAIRO_PDF_METADATA_KEYWORDS},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!fields[i].s)
            continue;
        size_t len;
        const char *v = prepare_string(r, fields[i].s, &len);
        if (v && len) {
            cairo_pdf_surface_set_metadata(s, fields[i].m, v);
            *slots[i] = v;
        }
    }
    info->creator = "craftkit " CRAFTKIT_VERSION;
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, info->creator);
    char date[32];
    info->created = opts->creation_time ? opts->creation_time : time_now_ms() / 1000;
    iso_date(info->created, date);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, date);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_MOD_DATE, date);
}

static int watermark_opts(render_t *r, const engine_render_opts_t *opts, draw_opts_t *d)
{
    d->scale = 1;
    d->watermark = NULL;
    d->watermark_color = 0x9ca3af2e;
    d->watermark_size = 0;
    d->watermark_angle = NAN;
    const watermark_spec_t *w = r->t->watermark;
    if (opts->watermark && *opts->watermark) {
        d->watermark = opts->watermark;
    } else if (w) {
        size_t len;
        const char *s = prepare_string(r, &w->text, &len);
        if (!s)
            return -1;
        d->watermark = len ? s : NULL;
        d->watermark_color = w->color;
        d->watermark_size = w->size;
        d->watermark_angle = w->angle;
    }
    return 0;
}

/* Headings become the PDF's outline (bookmarks), nested by level. */
static void add_outline(render_t *r, cairo_surface_t *s)
{
    int parent[4] = {CAIRO_PDF_OUTLINE_ROOT, CAIRO_PDF_OUTLINE_ROOT, CAIRO_PDF_OUTLINE_ROOT,
                     CAIRO_PDF_OUTLINE_ROOT};
    for (size_t i = 0; i < r->noutline; i++) {
        const outline_entry_t *e = &r->outline[i];
        int level = e->level < 1 ? 1 : e->level > 3 ? 3 : e->level;
        char dest[96];
        snprintf(dest, sizeof dest, "page=%d pos=[%.2f %.2f]", e->page + 1, e->x, e->y);
        int id = cairo_pdf_surface_add_outline(s, parent[level - 1], e->title, dest,
                                               level == 1 ? CAIRO_PDF_OUTLINE_FLAG_OPEN : 0);
        for (int l = level; l < 4; l++)
            parent[l] = id;
    }
}

/* The PDF/A level a render gets: the render's own, else the template's; Factur-X implies 3b,
 * and so do embedded files when the level was not asked for explicitly (PDF/A-2 allows none). */
static engine_pdfa_t pdfa_level(const engine_template_t *t, const engine_render_opts_t *opts)
{
    engine_pdfa_t level = opts->pdfa != ENGINE_PDFA_DEFAULT ? opts->pdfa : t->pdfa;
    bool asked = opts->pdfa != ENGINE_PDFA_DEFAULT;
    if ((opts->facturx.profile != ENGINE_FX_NONE && !asked) ||
        (opts->nattachments && !asked && level == ENGINE_PDFA_2B))
        level = ENGINE_PDFA_3B; /* an explicit 2b with embedded files fails in pdfa_finish */
    return level == ENGINE_PDFA_DEFAULT ? ENGINE_PDFA_NONE : level;
}

static int output_pdf(render_t *r, const engine_render_opts_t *opts, engine_output_t *out)
{
    const engine_template_t *t = r->t;
    out_buf_t ob = {.overflow = false};
    buf_init(&ob.b, ENGINE_OUTPUT_MAX);
    static const pdfz_policy_t policies[] = {[ENGINE_COMPRESS_FAST] = PDFZ_FAST,
                                             [ENGINE_COMPRESS_STANDARD] = PDFZ_STANDARD,
                                             [ENGINE_COMPRESS_NONE] = PDFZ_NONE};
    pdfz_level_set(opts->compression <= ENGINE_COMPRESS_NONE ? policies[opts->compression] : PDFZ_FAST);
    cairo_surface_t *s =
        cairo_pdf_surface_create_for_stream(write_out, &ob, t->page.width, place_page_height(r, 0));
    pdfa_info_t info;
    set_metadata(r, s, opts, &info);
    cairo_t *cr = cairo_create(s);
    draw_opts_t d;
    int rc = watermark_opts(r, opts, &d);
    info.lang = t->meta_lang;
    if (rc == 0 && t->meta_lang_expr)
        rc = prepare_lang(r, t->meta_lang_expr, "layout.metadata.lang", &info.lang);
    for (int p = 0; rc == 0 && p < r->npages; p++) {
        if (t->page.auto_height) /* roll paper: every page has its own height */
            cairo_pdf_surface_set_size(s, t->page.width, place_page_height(r, p));
        if (place_margins(r, p) < 0 || draw_page(r, cr, p, &d) < 0) {
            rc = -1;
            break;
        }
        cairo_show_page(cr);
    }
    if (rc == 0)
        add_outline(r, s);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    bool pdfz_oom = pdfz_failed();
    pdfz_level_clear();
    cairo_status_t st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    if (rc == 0 && ob.overflow)
        rc = render_fail(r, "the PDF would be larger than %u MB", (unsigned)(ENGINE_OUTPUT_MAX >> 20));
    if (rc == 0 && st != CAIRO_STATUS_SUCCESS)
        rc = render_fail(r, "writing the PDF failed: %s", cairo_status_to_string(st));
    if (rc == 0 && pdfz_oom)
        rc = render_fail(r, "writing the PDF failed: out of memory");
    char err[ERRMSG_LEN];
    /* A template with an e-invoice mapping makes its own Factur-X XML unless the render brought one. */
    engine_render_opts_t fx_opts = *opts;
    char *xml = NULL;
    if (rc == 0 && t->einvoice && opts->facturx.profile == ENGINE_FX_NONE) {
        json_t *issues = NULL;
        if (cii_build(t->einvoice, r->scope.data, &xml, &fx_opts.facturx.len, &issues) < 0) {
            const char *path;
            json_t *list;
            json_object_foreach(json_object_get(issues, "fieldErrors"), path, list)
            {
                rc = render_fail(r, "e-invoice: data.%s: %s", path,
                                 json_string_value(json_array_get(list, 0)));
                break;
            }
            if (rc == 0)
                rc = render_fail(r, "e-invoice: the XML cannot be made");
            json_decref(issues);
        }
        fx_opts.facturx.xml = xml;
        fx_opts.facturx.profile = (engine_fx_profile_t)t->einvoice_profile;
    }
    if (rc == 0 && pdfa_finish(&ob.b, pdfa_level(t, &fx_opts), &info, &fx_opts, err, sizeof err) < 0)
        rc = render_fail(r, "%s", err);
    free(xml);
    if (rc < 0) {
        buf_free(&ob.b);
        return -1;
    }
    out->data = (unsigned char *)buf_detach(&ob.b, &out->len);
    return 0;
}

static int output_png(render_t *r, const engine_render_opts_t *opts, engine_output_t *out)
{
    const engine_template_t *t = r->t;
    int page = opts->page > 0 ? opts->page : 1;
    if (page > r->npages)
        return render_fail(r, "page %d does not exist: the document has %d page%s", page, r->npages,
                           r->npages == 1 ? "" : "s");
    double dpi = opts->dpi > 0 ? opts->dpi : 96;
    if (dpi > ENGINE_PNG_DPI_MAX || dpi < ENGINE_PNG_DPI_MIN)
        return render_fail(r, "dpi must be between %g and %g", ENGINE_PNG_DPI_MIN, ENGINE_PNG_DPI_MAX);
    double scale = dpi / 72.0;
    int w = (int)ceil(t->page.width * scale), h = (int)ceil(place_page_height(r, page - 1) * scale);
    if ((double)w * h > ENGINE_PNG_PIXELS_MAX)
        return render_fail(r, "the image would be too large; lower the dpi");
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return render_fail(r, "the %d x %d px picture needs more memory than the render has; lower the dpi",
                           w, h);
    }
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    draw_opts_t d;
    int rc = watermark_opts(r, opts, &d);
    d.scale = scale;
    if (rc == 0 && (place_margins(r, page - 1) < 0 || draw_page(r, cr, page - 1, &d) < 0))
        rc = -1;
    cairo_destroy(cr);
    out_buf_t ob = {.overflow = false};
    buf_init(&ob.b, ENGINE_OUTPUT_MAX);
    if (rc == 0) {
        cairo_surface_flush(s);
        cairo_status_t st = cairo_surface_write_to_png_stream(s, write_out, &ob);
        if (st != CAIRO_STATUS_SUCCESS)
            rc = render_fail(r, "writing the PNG failed: %s", cairo_status_to_string(st));
    }
    cairo_surface_destroy(s);
    if (rc < 0) {
        buf_free(&ob.b);
        return -1;
    }
    out->data = (unsigned char *)buf_detach(&ob.b, &out->len);
    return 0;
}

/* Prepares and paginates the body. A body that shows pageOf() numbers is laid out again with the
 * pages the last layout found, until they are the pages it produces (usually the second time);
 * one whose columns' footnotes ran under another column's text, with room left for them. */
static int layout_body(render_t *r)
{
    for (int pass = 1;; pass++) {
        notes_reset(r);
        r->notes_again = false;
        pbox_t *body = prepare_stack(r, r->t->body, r->content_w);
        if (!body || place_document(r, body) < 0)
            return -1;
        bool settled = true;
        if (r->t->page_refs && refs_settled(r, &settled) < 0)
            return -1;
        bool refs_again = !settled && r->t->body_page_refs;
        if (!refs_again && !r->notes_again)
            return 0;
        /* Footnotes that still move a column's text after that many layouts: the last one
         * stands (the floors only grow, so this takes a contrived document). */
        if (pass == ENGINE_LAYOUT_PASSES_MAX && !refs_again)
            return 0;
        if (pass == ENGINE_LAYOUT_PASSES_MAX)
            return render_fail(r,
                               "the page numbers of pageOf() do not settle: after %d layouts, showing them "
                               "still moves the blocks they point to to other pages",
                               pass);
        layout_free_pages(r);
        links_reset(r);
        r->noutline = 0;
    }
}

/* Sets up a render and lays the body out (prepare + paginate); render_end releases it. */
static int render_layout(engine_ctx_t *ctx, text_t *text, const engine_template_t *t, const json_t *data,
                         int64_t deadline_ms, render_t *r)
{
    arena_reset(&ctx->arena);
    text_trim(text);
    memset(r, 0, sizeof *r);
    r->t = t;
    r->text = text;
    r->images = ctx->images;
    image_loader_set_deadline(ctx->images, deadline_ms);
    r->a = &ctx->arena;
    r->deadline_ms = deadline_ms;
    r->scope.data = data;
    r->scope.scratch = ctx->scratch;
    buf_init(&r->tmp, ENGINE_TEXT_MAX);
    r->content_x = t->page.margin[3];
    r->content_w = t->page.width - t->page.margin[1] - t->page.margin[3];
    if (t->page_refs) {
        r->scope.page_of = refs_page_of;
        r->scope.page_of_arg = r;
    }
    r->refs_measure = true;
    int rc = measure_margins(r);
    r->refs_measure = false;
    if (rc < 0 || prepare_backgrounds(r) < 0 || layout_body(r) < 0 || links_check(r) < 0)
        return -1;
    place_fit_pages(r);
    if (place_backgrounds(r) < 0)
        return -1;
    return 0;
}

static void render_end(render_t *r)
{
    for (size_t i = 0; i < r->nloaded; i++)
        image_unref(r->loaded[i]);
    layout_free_pages(r);
    refs_free(r);
    links_free(r);
    buf_free(&r->tmp);
}

static json_t *describe_item(const ditem_t *it)
{
    static const char *const kinds[] = {"text", "rect", "line", "image", "code"};
    json_t *o = json_pack("{s:s,s:f,s:f,s:f,s:f}", "kind", kinds[it->kind], "x", it->x, "y", it->y, "w",
                          it->w, "h", it->h);
    if (it->kind == DI_TEXT) {
        const text_line_t *l = it->u.line;
        buf_t b;
        buf_init(&b, ENGINE_TEXT_MAX);
        for (int i = 0; i < l->nruns; i++)
            if (buf_append(&b, l->runs[i].utf8, (size_t)l->runs[i].utf8_len) != BUF_OK)
                break; /* a line is far below ENGINE_TEXT_MAX; at worst the dump shows less */
        json_object_set_new(o, "text", json_stringn(buf_cstr(&b), b.len));
        buf_free(&b);
        json_object_set_new(o, "y", json_real(it->y + l->top));
        json_object_set_new(o, "w", json_real(l->width));
        json_object_set_new(o, "h", json_real(l->height));
        json_object_set_new(o, "baseline", json_real(it->y + l->baseline));
        double x0 = l->nruns ? l->runs[0].x : 0;
        json_object_set_new(o, "x", json_real(it->x + x0));
    } else if (it->kind == DI_CODE) {
        json_object_set_new(o, "data", json_string(it->u.code.data));
    }
    return o;
}

json_t *engine_debug_layout(engine_ctx_t *ctx, const engine_template_t *t, const json_t *data, char *err,
                            size_t err_len)
{
    json_t *empty = NULL;
    if (!data)
        data = empty = json_object();
    render_t r;
    json_t *pages = NULL;
    image_loader_set_budget(ctx->images, 0);
    if (render_layout(ctx, ctx->text, t, data, 0, &r) == 0) {
        pages = json_array();
        for (int p = 0; p < r.npages; p++) {
            if (place_margins(&r, p) < 0)
                break;
            json_t *items = json_array();
            for (size_t i = 0; i < r.pages[p].n; i++)
                json_array_append_new(items, describe_item(&r.pages[p].items[i]));
            json_array_append_new(pages,
                                  json_pack("{s:o,s:f}", "items", items, "height", place_page_height(&r, p)));
        }
    }
    json_t *res = NULL;
    if (r.failed || !pages) {
        errmsg_fail(err, err_len, "%s", r.failed ? r.err : "layout failed");
        json_decref(pages);
    } else {
        res = json_pack("{s:o}", "pages", pages);
    }
    render_end(&r);
    json_decref(empty);
    return res;
}

int engine_einvoice_build(const engine_template_t *t, const json_t *data, char **xml, size_t *len,
                          engine_fx_profile_t *profile, json_t **issues)
{
    *issues = NULL;
    if (!t->einvoice)
        return 0;
    char *x = NULL;
    size_t n = 0;
    if (cii_build(t->einvoice, data, &x, &n, issues) < 0)
        return -1;
    if (xml) {
        *xml = x;
        *len = n;
    } else {
        free(x);
    }
    if (profile)
        *profile = (engine_fx_profile_t)t->einvoice_profile;
    return 1;
}

int engine_pdfa_parse(const char *name)
{
    return !name ? -1 : !strcmp(name, "2b") ? ENGINE_PDFA_2B : !strcmp(name, "3b") ? ENGINE_PDFA_3B : -1;
}

/* Whether the layout names the family of an uploaded font. */
static bool font_named(const engine_template_t *t, const char *family)
{
    size_t i;
    json_t *ref;
    json_array_foreach(t->font_refs, i, ref)
    {
        if (engine_family_list_has(json_string_value(json_object_get(ref, "family")), family))
            return true;
    }
    return false;
}

/* The text_t a render lays out with: the context's own (installed fonts), or, when the layout
 * names families of the render's uploaded fonts, the cached set of those files. NULL + err. */
static text_t *render_text(engine_ctx_t *ctx, const engine_template_t *t, const engine_render_opts_t *opts,
                           char *err, size_t err_len)
{
    fonts_file_t files[FONTS_UPLOADS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < opts->nassets && opts->assets; i++) {
        const engine_asset_t *a = &opts->assets[i];
        if (!a->kind || strcmp(a->kind, "font") || !a->family || !a->path || !font_named(t, a->family))
            continue;
        if (n == FONTS_UPLOADS_MAX) {
            errmsg_fail(err, err_len, "the layout uses more than %d uploaded font files", FONTS_UPLOADS_MAX);
            return NULL;
        }
        files[n++] = (fonts_file_t){a->path, a->family};
    }
    if (n == 0)
        return ctx->text;
    char why[400];
    text_t *text = fontcache_get(ctx->fontsets, files, n, why, sizeof why);
    if (!text)
        errmsg_fail(err, err_len, "the project's fonts could not be loaded: %s", why);
    return text;
}

int engine_render(engine_ctx_t *ctx, const engine_template_t *t, const json_t *data,
                  const engine_render_opts_t *opts, engine_output_t *out, char *err, size_t err_len)
{
    static const engine_render_opts_t defaults = {0};
    if (!opts)
        opts = &defaults;
    memset(out, 0, sizeof *out);
    if (!ctx || !t) {
        return errmsg_fail(err, err_len, "engine_render: no context or template");
    }
    json_t *empty = NULL;
    if (!data)
        data = empty = json_object();
    text_t *text = render_text(ctx, t, opts, err, err_len);
    if (!text) {
        json_decref(empty);
        return -1;
    }
    render_t r;
    image_loader_set_budget(ctx->images, opts->image_budget_bytes);
    image_loader_set_assets(ctx->images, opts->assets, opts->nassets);
    int rc = render_layout(ctx, text, t, data, opts->deadline_ms, &r);
    if (rc == 0) {
        out->pages = r.npages;
        rc = opts->format == ENGINE_PNG ? output_png(&r, opts, out) : output_pdf(&r, opts, out);
        /* Writing the file is not ticked: a render that ends past its deadline still fails, so
         * the limit bounds the whole render. */
        if (rc == 0)
            rc = render_deadline_check(&r);
    }
    if (rc < 0 || r.failed) {
        errmsg_fail(err, err_len, "%s", r.failed ? r.err : "rendering failed");
        engine_output_free(out);
        rc = -1;
    }
    render_end(&r);
    image_loader_set_assets(ctx->images, NULL, 0);
    json_decref(empty);
    return rc;
}
