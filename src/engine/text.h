/*
 * text — paragraph layout: styled spans of UTF-8 → lines of positioned glyph runs.
 *
 * Two paths give the same kind of result:
 *  - the fast path (most text: left-to-right scripts fully covered by the requested font, no
 *    tabs or bidi controls) shapes each span with HarfBuzz and breaks lines itself at spaces,
 *    hyphens and dashes (hyphenation-free), which costs a few microseconds per paragraph;
 *  - everything else (RTL, CJK, font fallback, complex scripts) goes through a PangoLayout with
 *    attributes — never markup, so text from data can never change the formatting.
 * Lines never break inside a word unless the word alone is wider than the line, or at a soft
 * hyphen (U+00AD, from the data or put there by hyphenate: true, engine/hyph), where the line
 * then ends in a hyphen; text with soft hyphens takes the pango path.
 *
 * Threads: a text_t belongs to one thread (it holds that thread's fonts, a HarfBuzz buffer and a
 * reusable PangoLayout).
 * Memory: results are allocated in the caller's arena and reference the caller's strings and
 * the text_t's fonts (valid until fonts_trim/text_free).
 */
#ifndef CRAFTKIT_ENGINE_TEXT_H
#define CRAFTKIT_ENGINE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cairo.h>

#include "engine/arena.h"
#include "engine/fonts.h"
#include "engine/tree.h"

typedef struct text_span {
    const char *text; /* UTF-8 (validated by the caller) */
    size_t len;
    const tstyle_t *style; /* font, colour, decorations, letter spacing */
    const char *link;      /* NULL or a URI */
    const char *lang;      /* BCP 47 tag from the data, or NULL for style->lang (which also
                            * picks the dictionary of style->hyphenate) */
} text_span_t;

/* A positioned glyph, compact (12 bytes; cairo_glyph_t is 24) because a 10,000-row document
 * keeps about a million of them until its pages are drawn. */
typedef struct pglyph {
    uint32_t id;
    float x, y;
} pglyph_t;

typedef struct glyph_run {
    font_t *font;
    uint32_t color;
    const char *link;
    bool underline, strike;
    double x, width; /* relative to the paragraph's left edge */
    int nglyphs;
    pglyph_t *glyphs; /* x from the paragraph's left edge, y from the baseline */
    const char *utf8; /* the text these glyphs show (for copy/paste and search) */
    int utf8_len;
    int nclusters;
    cairo_text_cluster_t *clusters;
    bool backward; /* right-to-left run: clusters map glyphs from the end */
} glyph_run_t;

typedef struct text_line {
    double top, height; /* line box, relative to the paragraph top */
    double baseline;    /* relative to the paragraph top */
    double width;       /* ink advance, without trailing spaces */
    int nruns;
    glyph_run_t *runs;
} text_line_t;

typedef struct text_para {
    int nlines;
    text_line_t *lines;
    double height; /* sum of line heights */
    double width;  /* widest line */
} text_para_t;

typedef struct text text_t;

text_t *text_new(fonts_t *fonts);
void text_free(text_t *t);
fonts_t *text_fonts(text_t *t);

/* Lays out spans in a box `width` pt wide (<= 0: no wrapping) with the paragraph settings of
 * pstyle (align, line_height, max_lines). Returns 0, or -1 with err (unknown font, too long). */
int text_layout(text_t *t, arena_t *a, const text_span_t *spans, int nspans, double width,
                const tstyle_t *pstyle, text_para_t *out, char *err, size_t err_len);
/* Where the hyphenation dictionaries are (tests; NULL: HYPH_DIR_DEFAULT, the Debian hyphen-*
 * packages' /usr/share/hyphen). dir is borrowed until the next call or text_free. */
void text_set_hyphen_dir(text_t *t, const char *dir);
/* Whether tag is a well-formed BCP 47 language tag ("en", "de-CH", "zh-Hans", "sr-Latn-RS"). */
bool text_lang_valid(const char *tag);

/* Whether cp is a strong right-to-left character (Hebrew, Arabic, Syriac, Thaana, N'Ko ... and
 * their presentation forms; Arabic-Indic digits are weak, so not). Any thread. */
bool text_char_is_rtl(uint32_t cp);
/* Width in pt of a single line of plain text (no wrapping). */
int text_measure(text_t *t, const char *utf8, size_t len, const tstyle_t *style, double *width, char *err,
                 size_t err_len);
/* Between renders: lets the font cache drop fonts when it holds too many. */
void text_trim(text_t *t);
/* Counters for tests: how many paragraphs took each path since text_new. */
void text_stats(const text_t *t, size_t *fast, size_t *pango);

#endif
