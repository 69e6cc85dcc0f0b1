#include "engine/fonts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fontconfig/fontconfig.h>
#include <hb-ot.h>

#include "engine/cfffix.h"

/* A face: one (family, weight, italic) as fontconfig resolved it. Looking a description up
 * through pango costs a fontconfig sort (around a millisecond), so it is done once per face;
 * every size of the face is then derived from it (HarfBuzz shapes in font units and cairo
 * scales the same font face), which also keeps metrics free of any rounding. */
typedef struct face {
    char *key;     /* "family|weight|italic" */
    PangoFont *pf; /* NULL when the family is not installed */
    char *err;     /* why not, for every later request */
    hb_font_t *hb; /* upem scale, shared by every size */
    cairo_font_face_t *cface;
    cairo_font_options_t *opts;
    cairo_matrix_t matrix; /* the font matrix of pf at pf_size */
    double pf_size;
    unsigned upem;
    hb_font_extents_t ext; /* font units */
    hb_position_t ul_off, ul_size, st_off, st_size;
    hb_codepoint_t space;
} face_t;

typedef struct font_entry {
    const face_t *face; /* fonts_get: the face and size; NULL for pango-chosen fonts */
    double size;
    PangoFont *pf; /* fonts_from_pango: the lookup key (kept alive by font->pango) */
    font_t *font;
} font_entry_t;

struct fonts {
    PangoFontMap *map; /* the thread's default map (not owned) */
    PangoContext *ctx; /* owned */
    face_t *faces;
    size_t nfaces, faces_cap;
    font_entry_t *entries;
    size_t n, cap;
};

fonts_t *fonts_new(void)
{
    fonts_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->map = pango_cairo_font_map_get_default();
    f->ctx = pango_font_map_create_context(f->map);
    if (!f->ctx) {
        free(f);
        return NULL;
    }
    /* 72 dpi so that pango sizes are points; no hinting and no rounding so that the PDF shows
     * exactly the advances the layout measured, at any zoom. */
    pango_cairo_context_set_resolution(f->ctx, 72.0);
    pango_context_set_round_glyph_positions(f->ctx, FALSE);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(f->ctx, fo);
    cairo_font_options_destroy(fo);
    return f;
}

typedef struct color_glyph {
    unsigned gid;
    cairo_surface_t *img; /* NULL: the glyph has no bitmap */
} color_glyph_t;

static void font_destroy(font_t *font)
{
    if (!font)
        return;
    for (size_t i = 0; i < font->ncglyphs; i++)
        if (font->cglyphs[i].img)
            cairo_surface_destroy(font->cglyphs[i].img);
    free(font->cglyphs);
    if (font->hb)
        hb_font_destroy(font->hb);
    if (font->scaled)
        cairo_scaled_font_destroy(font->scaled);
    if (font->pango)
        g_object_unref(font->pango);
    free(font);
}

static void face_clear(face_t *fc)
{
    free(fc->key);
    free(fc->err);
    if (fc->hb)
        hb_font_destroy(fc->hb);
    if (fc->opts)
        cairo_font_options_destroy(fc->opts);
    if (fc->cface)
        cairo_font_face_destroy(fc->cface);
    if (fc->pf)
        g_object_unref(fc->pf);
}

static void clear_all(fonts_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        font_destroy(f->entries[i].font);
    f->n = 0;
    for (size_t i = 0; i < f->nfaces; i++)
        face_clear(&f->faces[i]);
    f->nfaces = 0;
}

void fonts_free(fonts_t *f)
{
    if (!f)
        return;
    clear_all(f);
    cfffix_clear_sources();
    free(f->entries);
    free(f->faces);
    g_object_unref(f->ctx);
    free(f);
}

PangoContext *fonts_context(fonts_t *f)
{
    return f->ctx;
}

void fonts_trim(fonts_t *f)
{
    if (f->n > FONTS_CACHE_MAX || f->nfaces > FONTS_CACHE_MAX)
        clear_all(f);
}

static int add_entry(fonts_t *f, font_entry_t e)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        font_entry_t *v = realloc(f->entries, cap * sizeof *v);
        if (!v)
            return -1;
        f->entries = v;
        f->cap = cap;
    }
    f->entries[f->n++] = e;
    return 0;
}

#define FAMILIES_MAX 8

/* Splits "A, B ,C" into trimmed names; returns how many. */
static int split_families(const char *list, char out[FAMILIES_MAX][128])
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && n < FAMILIES_MAX;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t len = strlen(tok);
        while (len && tok[len - 1] == ' ')
            tok[--len] = '\0';
        if (len)
            snprintf(out[n++], sizeof out[0], "%s", tok);
    }
    return n;
}

/* Whether the family pango resolved is one the request named (so an uninstalled family is an
 * error, not a silent substitution). Generic names (sans-serif, serif, monospace) accept any. */
static bool family_matches(const char *requested, const char *actual)
{
    char names[FAMILIES_MAX][128];
    int n = split_families(requested, names);
    for (int i = 0; i < n; i++) {
        const char *tok = names[i];
        if (!strcasecmp(tok, actual) || !strcasecmp(tok, "sans-serif") || !strcasecmp(tok, "sans") ||
            !strcasecmp(tok, "serif") || !strcasecmp(tok, "monospace") || !strcasecmp(tok, "mono"))
            return true;
    }
    return false;
}

/* Loads a face through pango (fontconfig matching, synthetic bold/italic included). */
static void face_load(fonts_t *f, face_t *fc, const char *family, int weight, bool italic, double size)
{
    PangoFontDescription *d = pango_font_description_new();
    pango_font_description_set_family(d, family);
    pango_font_description_set_weight(d, (PangoWeight)weight);
    pango_font_description_set_style(d, italic ? PANGO_STYLE_ITALIC : PANGO_STYLE_NORMAL);
    pango_font_description_set_size(d, (gint)(size * PANGO_SCALE + 0.5));
    PangoFont *pf = pango_font_map_load_font(f->map, f->ctx, d);
    pango_font_description_free(d);
    char err[400];
    if (!pf) {
        snprintf(err, sizeof err, "font \"%s\" could not be loaded", family);
        fc->err = strdup(err);
        return;
    }
    PangoFontDescription *actual = pango_font_describe(pf);
    const char *af = pango_font_description_get_family(actual);
    if (!af || !family_matches(family, af)) {
        snprintf(
            err, sizeof err,
            "font \"%s\" is not installed on this server (it would be replaced by \"%s\"); use an installed "
            "family such as \"DejaVu Sans\", \"Liberation Serif\" or \"Noto Sans CJK SC\"",
            family, af ? af : "?");
        fc->err = strdup(err);
        pango_font_description_free(actual);
        g_object_unref(pf);
        return;
    }
    fc->pf_size = pango_font_description_get_size(actual) / (double)PANGO_SCALE;
    pango_font_description_free(actual);
    cairo_scaled_font_t *sf = pango_cairo_font_get_scaled_font(PANGO_CAIRO_FONT(pf));
    hb_font_t *phb = pango_font_get_hb_font(pf);
    if (!sf || cairo_scaled_font_status(sf) != CAIRO_STATUS_SUCCESS || !phb || fc->pf_size <= 0) {
        snprintf(err, sizeof err, "font \"%s\" could not be loaded", family);
        fc->err = strdup(err);
        g_object_unref(pf);
        return;
    }
    fc->pf = pf;
    fc->cface = cairo_font_face_reference(cairo_scaled_font_get_font_face(sf));
    fc->opts = cairo_font_options_create();
    cairo_scaled_font_get_font_options(sf, fc->opts);
    cairo_scaled_font_get_font_matrix(sf, &fc->matrix);
    hb_face_t *face = hb_font_get_face(phb);
    cfffix_add_source(face); /* CFF fonts: the original of the subsets cairo embeds */
    fc->hb = hb_font_create(face);
    fc->upem = hb_face_get_upem(face);
    if (!fc->upem)
        fc->upem = 1000;
    hb_font_get_h_extents(fc->hb, &fc->ext);
    if (!hb_ot_metrics_get_position(fc->hb, HB_OT_METRICS_TAG_UNDERLINE_OFFSET, &fc->ul_off))
        fc->ul_off = -(hb_position_t)fc->upem / 10;
    if (!hb_ot_metrics_get_position(fc->hb, HB_OT_METRICS_TAG_UNDERLINE_SIZE, &fc->ul_size) ||
        fc->ul_size <= 0)
        fc->ul_size = (hb_position_t)fc->upem / 16;
    if (!hb_ot_metrics_get_position(fc->hb, HB_OT_METRICS_TAG_STRIKEOUT_OFFSET, &fc->st_off))
        fc->st_off = (hb_position_t)fc->upem * 3 / 10;
    if (!hb_ot_metrics_get_position(fc->hb, HB_OT_METRICS_TAG_STRIKEOUT_SIZE, &fc->st_size) ||
        fc->st_size <= 0)
        fc->st_size = (hb_position_t)fc->upem / 16;
    hb_font_get_nominal_glyph(fc->hb, ' ', &fc->space);
}

static const face_t *face_get(fonts_t *f, const char *family, int weight, bool italic, double size)
{
    char key[300];
    snprintf(key, sizeof key, "%s|%d|%d", family, weight, italic);
    for (size_t i = 0; i < f->nfaces; i++)
        if (!strcmp(f->faces[i].key, key))
            return &f->faces[i];
    /* Faces are never moved or dropped during a render (fonts_trim runs between renders), so a
     * document that asks for more than FONTS_CACHE_MAX faces is refused instead. */
    if (!f->faces) {
        f->faces = calloc(FONTS_CACHE_MAX, sizeof *f->faces);
        if (!f->faces)
            return NULL;
        f->faces_cap = FONTS_CACHE_MAX;
    }
    if (f->nfaces == f->faces_cap)
        return NULL;
    face_t *fc = &f->faces[f->nfaces];
    memset(fc, 0, sizeof *fc);
    fc->key = strdup(key);
    if (!fc->key)
        return NULL;
    face_load(f, fc, family, weight, italic, size);
    f->nfaces++;
    return fc;
}

/* A font_t of a face at a size. */
static font_t *font_at_size(const face_t *fc, double size)
{
    font_t *font = calloc(1, sizeof *font);
    if (!font)
        return NULL;
    cairo_matrix_t m = fc->matrix;
    cairo_matrix_scale(&m, size / fc->pf_size, size / fc->pf_size);
    cairo_matrix_t identity;
    cairo_matrix_init_identity(&identity);
    font->scaled = cairo_scaled_font_create(fc->cface, &m, &identity, fc->opts);
    if (cairo_scaled_font_status(font->scaled) != CAIRO_STATUS_SUCCESS) {
        font_destroy(font);
        return NULL;
    }
    font->pango = g_object_ref(fc->pf);
    font->hb = hb_font_reference(fc->hb);
    font->size = size;
    font->scale = size / fc->upem;
    font->ascent = fc->ext.ascender * font->scale;
    font->descent = -fc->ext.descender * font->scale;
    font->underline_pos = -fc->ul_off * font->scale;
    font->underline_thickness = fc->ul_size * font->scale;
    font->strike_pos = fc->st_off * font->scale;
    font->strike_thickness = fc->st_size * font->scale;
    font->space_glyph = fc->space;
    font->color = hb_ot_color_has_png(hb_font_get_face(fc->hb));
    return font;
}

font_t *fonts_get(fonts_t *f, const char *family, int weight, bool italic, double size, char *err,
                  size_t err_len)
{
    const face_t *fc = face_get(f, family, weight, italic, size);
    if (!fc) {
        snprintf(err, err_len, "the document uses more than %d different fonts", FONTS_CACHE_MAX);
        return NULL;
    }
    if (!fc->pf) {
        snprintf(err, err_len, "%s", fc->err ? fc->err : "font could not be loaded");
        return NULL;
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->entries[i].face == fc && f->entries[i].size == size)
            return f->entries[i].font;
    font_t *font = font_at_size(fc, size);
    if (!font || add_entry(f, (font_entry_t){.face = fc, .size = size, .font = font}) < 0) {
        font_destroy(font);
        snprintf(err, err_len, "font \"%s\" could not be loaded at %g pt", family, size);
        return NULL;
    }
    return font;
}

/* A font pango chose itself (fallback, or the pango layout path): metrics from its own
 * HarfBuzz font, drawing through its own cairo scaled font. */
font_t *fonts_from_pango(fonts_t *f, PangoFont *pf)
{
    for (size_t i = 0; i < f->n; i++)
        if (!f->entries[i].face && f->entries[i].pf == pf)
            return f->entries[i].font;
    font_t *font = calloc(1, sizeof *font);
    if (!font)
        return NULL;
    cairo_scaled_font_t *sf = pango_cairo_font_get_scaled_font(PANGO_CAIRO_FONT(pf));
    hb_font_t *phb = pango_font_get_hb_font(pf);
    if (!sf || cairo_scaled_font_status(sf) != CAIRO_STATUS_SUCCESS || !phb) {
        free(font);
        return NULL;
    }
    font->pango = g_object_ref(pf);
    font->scaled = cairo_scaled_font_reference(sf);
    PangoFontDescription *d = pango_font_describe(pf);
    font->size = pango_font_description_get_size(d) / (double)PANGO_SCALE;
    pango_font_description_free(d);
    hb_face_t *face = hb_font_get_face(phb);
    cfffix_add_source(face);
    font->hb = hb_font_create(face);
    unsigned upem = hb_face_get_upem(face);
    font->scale = font->size / (upem ? upem : 1000);
    hb_font_extents_t ext;
    hb_font_get_h_extents(font->hb, &ext);
    font->ascent = ext.ascender * font->scale;
    font->descent = -ext.descender * font->scale;
    hb_position_t v;
    font->underline_pos = hb_ot_metrics_get_position(font->hb, HB_OT_METRICS_TAG_UNDERLINE_OFFSET, &v)
                              ? -v * font->scale
                              : font->size / 10;
    font->underline_thickness =
        hb_ot_metrics_get_position(font->hb, HB_OT_METRICS_TAG_UNDERLINE_SIZE, &v) && v > 0 ? v * font->scale
                                                                                            : font->size / 16;
    font->strike_pos = hb_ot_metrics_get_position(font->hb, HB_OT_METRICS_TAG_STRIKEOUT_OFFSET, &v)
                           ? v * font->scale
                           : font->size * 0.3;
    font->strike_thickness =
        hb_ot_metrics_get_position(font->hb, HB_OT_METRICS_TAG_STRIKEOUT_SIZE, &v) && v > 0 ? v * font->scale
                                                                                            : font->size / 16;
    hb_font_get_nominal_glyph(font->hb, ' ', &font->space_glyph);
    font->color = hb_ot_color_has_png(face);
    if (add_entry(f, (font_entry_t){.pf = pf, .font = font}) < 0) {
        font_destroy(font);
        return NULL;
    }
    return font;
}

typedef struct png_reader {
    const unsigned char *p;
    unsigned n, off;
} png_reader_t;

static cairo_status_t read_png(void *closure, unsigned char *data, unsigned int len)
{
    png_reader_t *r = closure;
    if (len > r->n - r->off)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->p + r->off, len);
    r->off += len;
    return CAIRO_STATUS_SUCCESS;
}

cairo_surface_t *fonts_color_glyph(font_t *font, unsigned gid, double *x, double *y, double *w, double *h)
{
    if (!font->color)
        return NULL;
    hb_glyph_extents_t ext;
    if (!hb_font_get_glyph_extents(font->hb, gid, &ext) || ext.width == 0 || ext.height == 0)
        return NULL;
    *x = ext.x_bearing * font->scale;
    *y = -ext.y_bearing * font->scale;
    *w = ext.width * font->scale;
    *h = -ext.height * font->scale;
    for (size_t i = 0; i < font->ncglyphs; i++)
        if (font->cglyphs[i].gid == gid)
            return font->cglyphs[i].img;
    if (font->ncglyphs == FONTS_COLOR_GLYPHS_MAX)
        return NULL; /* cairo draws the rest */
    if (font->ncglyphs == font->cgcap) {
        size_t cap = font->cgcap ? font->cgcap * 2 : 8;
        color_glyph_t *v = realloc(font->cglyphs, cap * sizeof *v);
        if (!v)
            return NULL;
        font->cglyphs = v;
        font->cgcap = cap;
    }
    /* hb's font has no ppem set, so it picks the largest strike. */
    hb_blob_t *b = hb_ot_color_glyph_reference_png(font->hb, gid);
    unsigned n;
    const char *d = hb_blob_get_data(b, &n);
    cairo_surface_t *img = NULL;
    if (n) {
        png_reader_t r = {(const unsigned char *)d, n, 0};
        img = cairo_image_surface_create_from_png_stream(read_png, &r);
        if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
            cairo_surface_destroy(img);
            img = NULL;
        }
    }
    hb_blob_destroy(b);
    font->cglyphs[font->ncglyphs++] = (color_glyph_t){gid, img};
    return img;
}

bool fonts_family_installed(const char *family, char *substitute, size_t len)
{
    FcPattern *p = FcPatternCreate();
    if (!p)
        return true;
    char names[FAMILIES_MAX][128];
    int n = split_families(family, names);
    for (int i = 0; i < n; i++)
        FcPatternAddString(p, FC_FAMILY, (const FcChar8 *)names[i]);
    FcConfigSubstitute(NULL, p, FcMatchPattern);
    FcDefaultSubstitute(p);
    FcResult res;
    FcPattern *m = FcFontMatch(NULL, p, &res);
    FcPatternDestroy(p);
    if (!m)
        return true; /* no fontconfig answer: let the render decide */
    FcChar8 *actual = NULL;
    bool ok = true;
    if (FcPatternGetString(m, FC_FAMILY, 0, &actual) == FcResultMatch && actual) {
        ok = family_matches(family, (const char *)actual);
        if (!ok)
            snprintf(substitute, len, "%s", (const char *)actual);
    }
    FcPatternDestroy(m);
    return ok;
}
