/* bidiext — extraction order of right-to-left text (see bidiext.h). */
#include "engine/bidiext.h"

#include <string.h>

#include <glib.h>
#include <hb.h>

#include "engine/grow.h"

#define MARK_RLM "\xe2\x80\x8f" /* U+200F RIGHT-TO-LEFT MARK */
#define MARK_LRM "\xe2\x80\x8e" /* U+200E LEFT-TO-RIGHT MARK */
#define MARK_BYTES 3
/* How far left of a ligature its further characters' empty glyphs sit (pt): enough to sort
 * after the glyph, far too little to see or to count as a gap between words. */
#define SLOT_NUDGE 0.01

enum {
    CL_R = 1,     /* a strong right-to-left character */
    CL_L = 2,     /* a strong left-to-right character */
    CL_NUM = 4,   /* a digit: poppler keeps digit runs left to right */
    CL_PUNCT = 8, /* punctuation or a symbol: poppler may count it as part of a number */
};

static int classify(const char *s, int len)
{
    int c = 0;
    for (const char *p = s, *end = s + len; p < end; p = g_utf8_next_char(p)) {
        gunichar cp = g_utf8_get_char(p);
        if (g_unichar_isdigit(cp))
            c |= CL_NUM;
        else if (g_unichar_isspace(cp) || g_unichar_ismark(cp))
            continue;
        else if (!g_unichar_isalpha(cp))
            c |= CL_PUNCT; /* also the Arabic comma, semicolon and question mark */
        else if (text_char_is_rtl(cp))
            c |= CL_R;
        else
            c |= CL_L;
    }
    return c;
}

/* What makes a cluster strong in its run's direction. */
static int strong_mask(const glyph_run_t *run)
{
    return run->backward ? CL_R : CL_L | CL_NUM;
}

bool bidiext_line_has_rtl(const text_line_t *line)
{
    for (int i = 0; i < line->nruns; i++)
        if (line->runs[i].backward)
            return true;
    return false;
}

void bidiext_logical_order(const text_line_t *line, int *order)
{
    /* Every run points into the paragraph's text, so text order is pointer order. Lines have
     * a handful of runs: insertion sort. */
    for (int i = 0; i < line->nruns; i++) {
        int j = i;
        while (j > 0 && line->runs[order[j - 1]].utf8 > line->runs[i].utf8) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

static int reserve(bidiext_t *b, size_t glyphs, size_t bytes)
{
    if (grow_array((void **)&b->glyphs, &b->gcap, b->ng + glyphs, sizeof *b->glyphs) < 0 ||
        grow_array((void **)&b->utf8, &b->bcap, b->nb + bytes, 1) < 0 ||
        grow_array((void **)&b->clusters, &b->ccap, b->nc + 1, sizeof *b->clusters) < 0)
        return -1;
    return 0;
}

static void put_glyph(bidiext_t *b, unsigned id, double x, double y)
{
    b->glyphs[b->ng++] = (cairo_glyph_t){.index = id, .x = x, .y = y};
}

static void put_text(bidiext_t *b, const char *s, size_t n)
{
    memcpy(b->utf8 + b->nb, s, n);
    b->nb += n;
}

static void close_cluster(bidiext_t *b, size_t nb0, size_t ng0)
{
    b->clusters[b->nc++] =
        (cairo_text_cluster_t){.num_bytes = (int)(b->nb - nb0), .num_glyphs = (int)(b->ng - ng0)};
}

/* One cluster as shaped: its glyphs (first..first+n of the run, left to right) written in
 * reading order, text as given. With a mark, the text is mark + text + mark and, when the
 * cluster is one glyph, an invisible pad glyph joins it so that cairo writes the marked text
 * as /ActualText instead of making it the glyph's /ToUnicode for the whole document. The pad
 * comes first, on the glyph's origin: poppler takes a span's box from the origin of its first
 * glyph to the advance of its last, so the box stays the glyph's own. */
static int put_cluster(bidiext_t *b, const glyph_run_t *run, int first, int n, const char *text, int len,
                       const char *mark, hb_codepoint_t pad_glyph, double ox, double by)
{
    size_t nb0 = b->nb, ng0 = b->ng;
    bool pad = mark && n == 1;
    if (reserve(b, (size_t)n + 1, (size_t)len + 2 * MARK_BYTES) < 0)
        return -1;
    if (pad)
        put_glyph(b, pad_glyph, ox + run->glyphs[first].x, by + run->glyphs[first].y);
    for (int k = 0; k < n; k++) {
        const pglyph_t *g = &run->glyphs[run->backward ? first + n - 1 - k : first + k];
        put_glyph(b, g->id, ox + g->x, by + g->y);
    }
    if (mark)
        put_text(b, mark, MARK_BYTES);
    put_text(b, text, (size_t)len);
    if (mark)
        put_text(b, mark, MARK_BYTES);
    close_cluster(b, nb0, ng0);
    return 0;
}

/* The font's glyph for cp if it is empty (no ink, no advance), else 0. The zero-width joiner
 * and non-joiner have such glyphs, which pango never draws itself (it turns default-ignorable
 * characters into spaces), so using them cannot clash with text drawn elsewhere. */
static hb_codepoint_t empty_glyph(const font_t *font, hb_codepoint_t cp)
{
    hb_codepoint_t g;
    hb_glyph_extents_t ext;
    if (hb_font_get_nominal_glyph(font->hb, cp, &g) && g && hb_font_get_glyph_h_advance(font->hb, g) == 0 &&
        hb_font_get_glyph_extents(font->hb, g, &ext) && ext.width == 0 && ext.height == 0)
        return g;
    return 0;
}

/* A right-to-left cluster of more characters than glyphs (a ligature, lam-alef): the glyphs
 * carry the first character and each further character gets an empty glyph of its own a hair
 * further left, where a reader that goes by position expects it; its /ToUnicode is that
 * character, so readers that ignore /ActualText read it too. */
static int put_ligature(bidiext_t *b, const glyph_run_t *run, int first, int n, const char *text, int len,
                        hb_codepoint_t slot, double ox, double by)
{
    const char *second = g_utf8_next_char(text);
    if (put_cluster(b, run, first, n, text, (int)(second - text), NULL, 0, ox, by) < 0)
        return -1;
    double left = ox + run->glyphs[first].x, y = by + run->glyphs[first].y;
    int k = 1;
    for (const char *p = second, *end = text + len; p < end; p = g_utf8_next_char(p), k++) {
        const char *next = g_utf8_next_char(p);
        size_t nb0 = b->nb, ng0 = b->ng;
        if (reserve(b, 1, (size_t)(next - p)) < 0)
            return -1;
        put_glyph(b, slot, left - SLOT_NUDGE * k, y);
        put_text(b, p, (size_t)(next - p));
        close_cluster(b, nb0, ng0);
    }
    return 0;
}

/* The first and last clusters (in text order) that are strong in the run's direction; -1 and
 * -1 when none is. */
static void strong_span(const glyph_run_t *run, int *first, int *last)
{
    int want = strong_mask(run);
    const char *p = run->utf8;
    *first = *last = -1;
    for (int c = 0; c < run->nclusters; c++) {
        if (classify(p, run->clusters[c].num_bytes) & want) {
            if (*first < 0)
                *first = c;
            *last = c;
        }
        p += run->clusters[c].num_bytes;
    }
}

void bidiext_reset(bidiext_t *b)
{
    b->ng = b->nb = b->nc = 0;
}

int bidiext_add_run(bidiext_t *out, const glyph_run_t *run, double ox, double by)
{
    /* Empty glyphs: the ligature slots' (U+200C, whose /ToUnicode becomes the character it
     * stands for) and the pads' (U+200D, no /ToUnicode of its own; else a space). */
    hb_codepoint_t slot = empty_glyph(run->font, 0x200c), pad = empty_glyph(run->font, 0x200d);
    if (!pad || pad == slot)
        pad = run->font->space_glyph;
    bool can_pad = pad != 0;
    int first_strong, last_strong;
    strong_span(run, &first_strong, &last_strong);
    const char *text = run->utf8;
    int g = run->backward ? run->nglyphs : 0; /* backward: glyphs are taken from the end */
    for (int c = 0; c < run->nclusters; c++) {
        int len = run->clusters[c].num_bytes, n = run->clusters[c].num_glyphs;
        int first = run->backward ? g - n : g;
        g = run->backward ? g - n : g + n;
        int cls = classify(text, len);
        bool edge = first_strong < 0 || c < first_strong || c > last_strong;
        const char *mark = NULL;
        if (can_pad && n > 0 && !(cls & strong_mask(run))) {
            if (run->backward && (edge || (cls & (CL_PUNCT | CL_NUM))))
                mark = MARK_RLM;
            else if (!run->backward && edge && !(cls & CL_NUM))
                mark = MARK_LRM;
        }
        bool ligature = run->backward && n > 0 && (cls & CL_R) && g_utf8_strlen(text, len) > n;
        int rc;
        if (ligature && slot)
            rc = put_ligature(out, run, first, n, text, len, slot, ox, by);
        else
            rc = put_cluster(out, run, first, n, text, len, mark, pad, ox, by);
        if (rc < 0)
            return -1;
        text += len;
    }
    return 0;
}

void bidiext_free(bidiext_t *b)
{
    free(b->glyphs);
    free(b->utf8);
    free(b->clusters);
    memset(b, 0, sizeof *b);
}
