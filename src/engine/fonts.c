#include "engine/fonts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fontconfig/fontconfig.h>
#include <hb-ot.h>
#include <pango/pangofc-fontmap.h>

#include "core/errmsg.h"
#include "craftkit/engine.h"
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

/* An uploaded font file as fontconfig described it. */
typedef struct upload {
    char family[128];  /* the family layouts name */
    char internal[24]; /* its private family in this fonts_t's FcConfig */
    double weight;     /* OpenType scale, 1..1000 */
    int slant;         /* FC_SLANT_ROMAN, _ITALIC or _OBLIQUE */
    int width;         /* FC_WIDTH: percent of normal, like CSS font-stretch */
} upload_t;

struct fonts {
    PangoFontMap *map; /* the thread's default map (not owned), or this set's own (owned) */
    bool own_map;
    upload_t *uploads;
    size_t nuploads;
    PangoContext *ctx; /* owned */
    face_t *faces;
    size_t nfaces, faces_cap;
    font_entry_t *entries;
    size_t n, cap;
};

/* The context every layout uses, on f->map. -1 when out of memory. */
static int context_init(fonts_t *f)
{
    f->ctx = pango_font_map_create_context(f->map);
    if (!f->ctx)
        return -1;
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
    return 0;
}

fonts_t *fonts_new(void)
{
    fonts_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->map = pango_cairo_font_map_get_default();
    if (context_init(f) != 0) {
        free(f);
        return NULL;
    }
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
    /* The thread's CFF sources are its default fonts'; an uploaded set leaves them (the list is
     * bounded, CFFFIX_SOURCES_MAX). */
    if (!f->own_map)
        cfffix_clear_sources();
    free(f->entries);
    free(f->faces);
    if (f->ctx)
        g_object_unref(f->ctx);
    if (f->own_map && f->map)
        g_object_unref(f->map);
    free(f->uploads);
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
    char err[ERRMSG_LEN];
    if (!pf) {
        errmsg_fail(err, sizeof err, "font \"%s\" could not be loaded", family);
        fc->err = strdup(err);
        return;
    }
    PangoFontDescription *actual = pango_font_describe(pf);
    const char *af = pango_font_description_get_family(actual);
    if (!af || !family_matches(family, af)) {
        errmsg_fail(
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
        errmsg_fail(err, sizeof err, "font \"%s\" could not be loaded", family);
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
    char resolved[512];
    family = fonts_resolve(f, family, weight, italic, resolved, sizeof resolved);
    const face_t *fc = face_get(f, family, weight, italic, size);
    if (!fc) {
        errmsg_fail(err, err_len, "the document uses more than %d different fonts", FONTS_CACHE_MAX);
        return NULL;
    }
    if (!fc->pf) {
        errmsg_fail(err, err_len, "%s", fc->err ? fc->err : "font could not be loaded");
        return NULL;
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->entries[i].face == fc && f->entries[i].size == size)
            return f->entries[i].font;
    font_t *font = font_at_size(fc, size);
    if (!font || add_entry(f, (font_entry_t){.face = fc, .size = size, .font = font}) < 0) {
        font_destroy(font);
        errmsg_fail(err, err_len, "font \"%s\" could not be loaded at %g pt", family, size);
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

/* ------------------------------------------------------------ uploaded fonts */

/* Registers one file in cfg under the private family name internal and records how
 * fontconfig describes it. -1 with err when fontconfig cannot read it as a font. */
static int upload_add(FcConfig *cfg, const fonts_file_t *file, const char *internal, upload_t *u, char *err,
                      size_t err_len)
{
    FcFontSet *set = FcConfigGetFonts(cfg, FcSetApplication);
    int before = set ? set->nfont : 0;
    if (!FcConfigAppFontAddFile(cfg, (const FcChar8 *)file->path) ||
        !(set = FcConfigGetFonts(cfg, FcSetApplication)) || set->nfont != before + 1) {
        return errmsg_fail(err, err_len, "font file %s could not be read as one font", file->path);
    }
    FcPattern *p = set->fonts[before];
    FcChar8 *own = NULL;
    FcPatternGetString(p, FC_FAMILY, 0, &own);
    snprintf(u->family, sizeof u->family, "%s", file->family ? file->family : own ? (const char *)own : "");
    double w = FC_WEIGHT_REGULAR;
    FcPatternGetDouble(p, FC_WEIGHT, 0, &w);
    u->weight = FcWeightToOpenTypeDouble(w);
    u->slant = FC_SLANT_ROMAN;
    FcPatternGetInteger(p, FC_SLANT, 0, &u->slant);
    u->width = FC_WIDTH_NORMAL;
    FcPatternGetInteger(p, FC_WIDTH, 0, &u->width);
    snprintf(u->internal, sizeof u->internal, "%s", internal);
    /* Only the private name finds the file, so an installed family of the same name cannot win
     * and nothing matches it by accident. */
    FcPatternDel(p, FC_FAMILY);
    FcPatternDel(p, FC_FAMILYLANG);
    FcPatternDel(p, FC_FULLNAME);
    FcPatternDel(p, FC_FULLNAMELANG);
    FcPatternAddString(p, FC_FAMILY, (const FcChar8 *)internal);
    return 0;
}

fonts_t *fonts_new_uploaded(const fonts_file_t *files, size_t n, char *err, size_t err_len)
{
    if (n > FONTS_UPLOADS_MAX) {
        errmsg_fail(err, err_len, "more than %d font files", FONTS_UPLOADS_MAX);
        return NULL;
    }
    fonts_t *f = calloc(1, sizeof *f);
    FcConfig *cfg = FcConfigCreate();
    if (f)
        f->own_map = true; /* (fonts_free leaves the thread's CFF sources alone) */
    if (!f || !cfg || !(f->uploads = calloc(n ? n : 1, sizeof *f->uploads))) {
        errmsg_fail(err, err_len, "out of memory");
        goto fail;
    }
    /* The server's own rules (aliases, synthetic bold and italic, language preferences) and its
     * installed fonts, read from fontconfig's caches: fallback works as for installed fonts. */
    if (!FcConfigParseAndLoad(cfg, NULL, FcTrue) || !FcConfigBuildFonts(cfg)) {
        errmsg_fail(err, err_len, "fontconfig could not be set up for uploaded fonts");
        goto fail;
    }
    FcConfigSetRescanInterval(cfg, 0);
    for (size_t i = 0; i < n; i++) {
        char internal[24];
        snprintf(internal, sizeof internal, "ckupload-%zu", i);
        if (upload_add(cfg, &files[i], internal, &f->uploads[i], err, err_len) != 0)
            goto fail;
        f->nuploads++;
    }
    f->map = pango_cairo_font_map_new_for_font_type(CAIRO_FONT_TYPE_FT);
    if (!f->map || context_init(f) != 0) {
        errmsg_fail(err, err_len, "out of memory");
        goto fail;
    }
    pango_fc_font_map_set_config(PANGO_FC_FONT_MAP(f->map), cfg); /* takes its own reference */
    FcConfigDestroy(cfg);
    return f;
fail:
    if (cfg)
        FcConfigDestroy(cfg);
    fonts_free(f);
    return NULL;
}

/* CSS Fonts 4 §5.2 for weight: how far face weight w is from the desired d (0 = exact;
 * lower wins). Between 400 and 500 the heavier faces up to 500 come first, then the lighter
 * ones, then the rest; below 400 lighter first; above 500 heavier first. */
static double weight_distance(double d, double w)
{
    if (w == d)
        return 0;
    if (d >= 400 && d <= 500) {
        if (w > d && w <= 500)
            return w - d;
        return w < d ? 1000 + (d - w) : 2000 + (w - d);
    }
    if (d < 400)
        return w < d ? d - w : 1000 + (w - d);
    return w > d ? w - d : 1000 + (d - w);
}

/* How far a face's style is from the desired one (italic: italic, oblique, normal). */
static int slant_distance(bool italic, int slant)
{
    if (italic)
        return slant == FC_SLANT_ITALIC ? 0 : slant == FC_SLANT_OBLIQUE ? 1 : 2;
    return slant == FC_SLANT_ROMAN ? 0 : slant == FC_SLANT_OBLIQUE ? 1 : 2;
}

/* Normal width first, then the narrower faces (widest first), then the wider ones. */
static int width_distance(int width)
{
    return width == FC_WIDTH_NORMAL  ? 0
           : width < FC_WIDTH_NORMAL ? FC_WIDTH_NORMAL - width
                                     : 1000 + width - FC_WIDTH_NORMAL;
}

/* The face of family that CSS font matching picks (stretch, then style, then weight), or NULL
 * when family is not uploaded. Synthetic bold and italic are left to fontconfig's rules, which
 * apply only when the picked face lacks them. */
static const upload_t *upload_match(const fonts_t *f, const char *family, int weight, bool italic)
{
    const upload_t *best = NULL;
    for (size_t i = 0; i < f->nuploads; i++) {
        const upload_t *u = &f->uploads[i];
        if (strcasecmp(u->family, family) != 0)
            continue;
        if (!best)
            best = u;
        else if (width_distance(u->width) != width_distance(best->width)) {
            if (width_distance(u->width) < width_distance(best->width))
                best = u;
        } else if (slant_distance(italic, u->slant) != slant_distance(italic, best->slant)) {
            if (slant_distance(italic, u->slant) < slant_distance(italic, best->slant))
                best = u;
        } else if (weight_distance(weight, u->weight) < weight_distance(weight, best->weight)) {
            best = u;
        }
    }
    return best;
}

const char *fonts_resolve(const fonts_t *f, const char *family, int weight, bool italic, char *buf,
                          size_t len)
{
    if (!f->nuploads)
        return family;
    char names[FAMILIES_MAX][128];
    int n = split_families(family, names);
    bool changed = false;
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && off < len; i++) {
        const upload_t *u = upload_match(f, names[i], weight, italic);
        changed |= u != NULL;
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", u ? u->internal : names[i]);
    }
    return changed && off < len ? buf : family;
}

bool engine_family_list_has(const char *list, const char *name)
{
    char names[FAMILIES_MAX][128];
    int n = split_families(list, names);
    for (int i = 0; i < n; i++)
        if (!strcasecmp(names[i], name))
            return true;
    return false;
}
