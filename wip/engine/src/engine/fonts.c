#include "engine/fonts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hb-ot.h>

typedef struct font_entry {
    char *key;         /* "family|weight|italic|size" or NULL for pango-chosen fonts */
    PangoFont *pf;     /* for pango-chosen fonts: the lookup key */
    font_t *font;
} font_entry_t;

struct fonts {
    PangoFontMap *map;      /* the thread's default map (not owned) */
    PangoContext *ctx;      /* owned */
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

static void font_destroy(font_t *font)
{
    if (!font)
        return;
    if (font->hb)
        hb_font_destroy(font->hb);
    if (font->scaled)
        cairo_scaled_font_destroy(font->scaled);
    if (font->pango)
        g_object_unref(font->pango);
    free(font);
}

static void clear_entries(fonts_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->entries[i].key);
        font_destroy(f->entries[i].font);
    }
    f->n = 0;
}

void fonts_free(fonts_t *f)
{
    if (!f)
        return;
    clear_entries(f);
    free(f->entries);
    g_object_unref(f->ctx);
    free(f);
}

PangoContext *fonts_context(fonts_t *f)
{
    return f->ctx;
}

void fonts_trim(fonts_t *f)
{
    if (f->n > FONTS_CACHE_MAX)
        clear_entries(f);
}

static font_t *font_build(fonts_t *f, PangoFont *pf)
{
    font_t *font = calloc(1, sizeof *font);
    if (!font)
        return NULL;
    font->pango = g_object_ref(pf);
    cairo_scaled_font_t *sf = pango_cairo_font_get_scaled_font(PANGO_CAIRO_FONT(pf));
    if (!sf || cairo_scaled_font_status(sf) != CAIRO_STATUS_SUCCESS)
        goto fail;
    font->scaled = cairo_scaled_font_reference(sf);
    PangoFontDescription *d = pango_font_describe(pf);
    font->size = pango_font_description_get_size(d) / (double)PANGO_SCALE;
    pango_font_description_free(d);
    hb_font_t *phb = pango_font_get_hb_font(pf);
    if (!phb)
        goto fail;
    hb_face_t *face = hb_font_get_face(phb);
    font->hb = hb_font_create(face);
    unsigned upem = hb_face_get_upem(face);
    font->scale = font->size / (upem ? upem : 1000);
    PangoFontMetrics *m = pango_font_get_metrics(pf, NULL);
    font->ascent = pango_font_metrics_get_ascent(m) / (double)PANGO_SCALE;
    font->descent = pango_font_metrics_get_descent(m) / (double)PANGO_SCALE;
    font->underline_pos = -pango_font_metrics_get_underline_position(m) / (double)PANGO_SCALE;
    font->underline_thickness = pango_font_metrics_get_underline_thickness(m) / (double)PANGO_SCALE;
    font->strike_pos = pango_font_metrics_get_strikethrough_position(m) / (double)PANGO_SCALE;
    font->strike_thickness = pango_font_metrics_get_strikethrough_thickness(m) / (double)PANGO_SCALE;
    pango_font_metrics_unref(m);
    if (font->underline_thickness <= 0)
        font->underline_thickness = font->size / 16;
    if (font->strike_thickness <= 0)
        font->strike_thickness = font->size / 16;
    hb_font_get_nominal_glyph(font->hb, ' ', &font->space_glyph);
    (void)f;
    return font;
fail:
    font_destroy(font);
    return NULL;
}

static int add_entry(fonts_t *f, char *key, PangoFont *pf, font_t *font)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        font_entry_t *e = realloc(f->entries, cap * sizeof *e);
        if (!e)
            return -1;
        f->entries = e;
        f->cap = cap;
    }
    f->entries[f->n++] = (font_entry_t){key, pf, font};
    return 0;
}

/* Whether the family pango resolved is one the request named (so an uninstalled family is an
 * error, not a silent substitution). Generic names (sans-serif, serif, monospace) accept any. */
static bool family_matches(const char *requested, const char *actual)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", requested);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n && tok[n - 1] == ' ')
            tok[--n] = '\0';
        if (!strcasecmp(tok, actual) || !strcasecmp(tok, "sans-serif") || !strcasecmp(tok, "sans") ||
            !strcasecmp(tok, "serif") || !strcasecmp(tok, "monospace") || !strcasecmp(tok, "mono"))
            return true;
    }
    return false;
}

font_t *fonts_get(fonts_t *f, const char *family, int weight, bool italic, double size, char *err, size_t err_len)
{
    char key[320];
    snprintf(key, sizeof key, "%s|%d|%d|%.3f", family, weight, italic, size);
    for (size_t i = 0; i < f->n; i++)
        if (f->entries[i].key && !strcmp(f->entries[i].key, key))
            return f->entries[i].font;
    PangoFontDescription *d = pango_font_description_new();
    pango_font_description_set_family(d, family);
    pango_font_description_set_weight(d, (PangoWeight)weight);
    pango_font_description_set_style(d, italic ? PANGO_STYLE_ITALIC : PANGO_STYLE_NORMAL);
    pango_font_description_set_size(d, (gint)(size * PANGO_SCALE + 0.5));
    PangoFont *pf = pango_font_map_load_font(f->map, f->ctx, d);
    pango_font_description_free(d);
    if (!pf) {
        snprintf(err, err_len, "font \"%s\" could not be loaded", family);
        return NULL;
    }
    PangoFontDescription *actual = pango_font_describe(pf);
    const char *af = pango_font_description_get_family(actual);
    bool ok = af && family_matches(family, af);
    if (!ok)
        snprintf(err, err_len, "font \"%s\" is not installed on this server (it would be replaced by \"%s\"); "
                               "use an installed family such as \"DejaVu Sans\", \"Liberation Serif\" or \"Noto Sans CJK SC\"",
                 family, af ? af : "?");
    pango_font_description_free(actual);
    font_t *font = ok ? font_build(f, pf) : NULL;
    char *k = font ? strdup(key) : NULL;
    if (font && (!k || add_entry(f, k, NULL, font) < 0)) {
        free(k);
        font_destroy(font);
        font = NULL;
        snprintf(err, err_len, "out of memory");
    }
    g_object_unref(pf);
    if (!font && ok)
        snprintf(err, err_len, "font \"%s\" could not be loaded", family);
    return font;
}

font_t *fonts_from_pango(fonts_t *f, PangoFont *pf)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->entries[i].pf == pf || (f->entries[i].font && f->entries[i].font->pango == pf))
            return f->entries[i].font;
    font_t *font = font_build(f, pf);
    if (!font)
        return NULL;
    /* Keyed by the pango object, which the entry keeps alive through font->pango. */
    if (add_entry(f, NULL, pf, font) < 0) {
        font_destroy(font);
        return NULL;
    }
    return font;
}

bool fonts_covers(const font_t *font, const char *utf8, size_t len)
{
    const unsigned char *p = (const unsigned char *)utf8, *end = p + len;
    while (p < end) {
        uint32_t cp;
        if (*p < 0x80) {
            cp = *p++;
        } else if ((*p & 0xe0) == 0xc0 && p + 1 < end) {
            cp = ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
            p += 2;
        } else if ((*p & 0xf0) == 0xe0 && p + 2 < end) {
            cp = ((uint32_t)(p[0] & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
            p += 3;
        } else if (p + 3 < end) {
            cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) | ((uint32_t)(p[2] & 0x3f) << 6) |
                 (p[3] & 0x3f);
            p += 4;
        } else {
            return false;
        }
        hb_codepoint_t g;
        if (cp != '\n' && !hb_font_get_nominal_glyph(font->hb, cp, &g))
            return false;
    }
    return true;
}
