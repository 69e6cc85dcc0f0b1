/*
 * fonts — the per-thread font cache of the engine: a (family, weight, italic, size) request
 * becomes a font_t holding the pango font (for fallback layout), an unhinted HarfBuzz font (for
 * the fast shaping path), the cairo scaled font (for drawing) and metrics in points.
 *
 * A fonts_t made by fonts_new_uploaded also holds a project's uploaded font files: its own
 * FcConfig (the installed fonts, the server's fontconfig rules and those files) and its own
 * pango font map, so the files are visible to nothing else: fallback for missing glyphs finds
 * installed fonts, never another project's. Each file gets a private family name inside that
 * config ("ckupload-N"); fonts_resolve maps a layout's family to it by CSS font matching, so an
 * uploaded family wins over an installed one of the same name.
 *
 * Threads: a fonts_t belongs to one thread; it uses that thread's default pango font map
 * (pango_cairo_font_map_get_default() is per thread) or its own, so create it on the thread
 * that uses it. Memory: fonts_t owns every font_t; they stay valid until fonts_free or fonts_trim.
 */
#ifndef CRAFTKIT_ENGINE_FONTS_H
#define CRAFTKIT_ENGINE_FONTS_H

#include <stdbool.h>
#include <stddef.h>

#include <cairo.h>
#include <hb.h>
#include <pango/pangocairo.h>

#define FONTS_CACHE_MAX 256         /* distinct fonts kept per thread; trimmed between renders */
#define FONTS_COLOR_GLYPHS_MAX 2048 /* decoded colour glyph bitmaps kept per font */

typedef struct font {
    PangoFont *pango;                          /* owned reference */
    hb_font_t *hb;                             /* owned; scale = units per em, no hinting */
    cairo_scaled_font_t *scaled;               /* owned reference */
    double size;                               /* pt */
    double scale;                              /* pt per font unit */
    double ascent, descent;                    /* pt, both positive */
    double underline_pos, underline_thickness; /* pt below the baseline */
    double strike_pos, strike_thickness;       /* pt above the baseline */
    hb_codepoint_t space_glyph;
    bool color; /* bitmap colour glyphs (CBDT/sbix: Noto Color Emoji), drawn by fonts_color_glyph */
    struct color_glyph *cglyphs; /* decoded bitmaps, owned */
    size_t ncglyphs, cgcap;
} font_t;

typedef struct fonts fonts_t;

#define FONTS_UPLOADS_MAX 64 /* uploaded font files in one fonts_t */

/* One uploaded font file: path holds a TrueType/OpenType font (WOFF decoded already). family
 * is the name layouts use (NULL: the file's own first family name). */
typedef struct fonts_file {
    const char *path;
    const char *family;
} fonts_file_t;

fonts_t *fonts_new(void);
/* A fonts_t that also knows these files (at most FONTS_UPLOADS_MAX). NULL with err when one
 * cannot be read as a font or fontconfig cannot be set up. */
fonts_t *fonts_new_uploaded(const fonts_file_t *files, size_t n, char *err, size_t err_len);
void fonts_free(fonts_t *f);
/* The family list to give pango for a layout's family list: every name that is an uploaded
 * family becomes the private name of the file CSS font matching picks for weight/italic
 * (stretch normal); other names stay. Writes to buf and returns it (or family unchanged). */
const char *fonts_resolve(const fonts_t *f, const char *family, int weight, bool italic, char *buf,
                          size_t len);
/* The pango context every layout of this thread uses (72 dpi: 1 pt = 1 unit, unhinted). */
PangoContext *fonts_context(fonts_t *f);
/* The font for a style; NULL with err when the family is not installed. */
font_t *fonts_get(fonts_t *f, const char *family, int weight, bool italic, double size, char *err,
                  size_t err_len);
/* The font_t of a pango font chosen by pango itself (font fallback); NULL when out of memory. */
font_t *fonts_from_pango(fonts_t *f, PangoFont *pf);
/* The full-resolution bitmap of colour glyph gid of a colour font (NULL when it has none), with
 * its box in pt relative to the glyph origin (y down). cairo 1.16 would put such glyphs in a
 * PDF as bitmaps rendered at the text size (13 px for 12 pt); drawing this image instead keeps
 * the font's own resolution, and reusing one surface per glyph lets the PDF hold it once.
 * The surface belongs to the font. */
cairo_surface_t *fonts_color_glyph(font_t *font, unsigned gid, double *x, double *y, double *w, double *h);
/* Whether fontconfig has the family (or one of a comma-separated list; generic names such as
 * sans-serif always count). When not, *substitute gets what would be used instead.
 * Any thread (fontconfig is thread-safe); used when a layout is compiled. */
bool fonts_family_installed(const char *family, char *substitute, size_t len);
/* Drops cached fonts when more than FONTS_CACHE_MAX are held (call between renders). */
void fonts_trim(fonts_t *f);

#endif
