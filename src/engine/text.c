#include "engine/text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hb.h>

#include "engine/grow.h"
#include "engine/hyph.h"
#include "core/errmsg.h"

#define TEXT_SPANS_MAX 4096

typedef struct gent {
    hb_codepoint_t gid;
    float adv, xoff, yoff;
} gent_t;

enum { CL_SPACE = 1, CL_BREAK_AFTER = 2, CL_HARD = 4 };

typedef struct clus {
    uint32_t start, len; /* bytes in the paragraph text */
    uint32_t g0, ng;     /* glyph entries */
    float w;             /* advance incl. letter spacing */
    uint16_t span;
    uint8_t flags;
} clus_t;

typedef struct font_memo {
    char family[64];
    int weight;
    bool italic;
    double size;
    font_t *font;
} font_memo_t;

struct text {
    fonts_t *fonts;
    hb_buffer_t *hb;
    PangoLayout *layout;
    gent_t *g;
    size_t gcap;
    clus_t *cl;
    size_t clcap;
    font_t **span_fonts;
    size_t sfcap;
    font_memo_t memo[8];
    unsigned memo_next;
    size_t nfast, npango;
    hyph_t *hyph;         /* created when a paragraph first asks for hyphenation */
    const char *hyph_dir; /* NULL: HYPH_DIR_DEFAULT */
};

text_t *text_new(fonts_t *fonts)
{
    text_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->fonts = fonts;
    t->hb = hb_buffer_create();
    t->layout = pango_layout_new(fonts_context(fonts));
    if (!hb_buffer_allocation_successful(t->hb) || !t->layout) {
        text_free(t);
        return NULL;
    }
    return t;
}

void text_free(text_t *t)
{
    if (!t)
        return;
    hb_buffer_destroy(t->hb);
    if (t->layout)
        g_object_unref(t->layout);
    free(t->g);
    free(t->cl);
    free(t->span_fonts);
    hyph_free(t->hyph);
    free(t);
}

void text_set_hyphen_dir(text_t *t, const char *dir)
{
    hyph_free(t->hyph);
    t->hyph = NULL;
    t->hyph_dir = dir;
}

fonts_t *text_fonts(text_t *t)
{
    return t->fonts;
}

void text_stats(const text_t *t, size_t *fast, size_t *pango)
{
    *fast = t->nfast;
    *pango = t->npango;
}

static font_t *style_font(text_t *t, const tstyle_t *st, char *err, size_t err_len)
{
    for (int i = 0; i < 8; i++) {
        font_memo_t *m = &t->memo[i];
        if (m->font && m->weight == st->weight && m->size == st->size && !strcmp(m->family, st->family) &&
            m->weight == st->weight && m->italic == st->italic && m->size == st->size)
            return m->font;
    }
    font_t *f = fonts_get(t->fonts, st->family, st->weight, st->italic, st->size, err, err_len);
    if (f && strlen(st->family) < sizeof t->memo[0].family) {
        font_memo_t *m = &t->memo[t->memo_next++ % 8];
        snprintf(m->family, sizeof m->family, "%s", st->family);
        m->weight = st->weight;
        m->italic = st->italic;
        m->size = st->size;
        m->font = f;
    }
    return f;
}

/* The memo holds font_t pointers owned by fonts_t; forget them when the cache is trimmed. */
static void memo_clear(text_t *t)
{
    memset(t->memo, 0, sizeof t->memo);
}

/* ------------------------------------------------------------ UTF-8 helpers */

static uint32_t utf8_next(const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp;
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
        cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
             ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
        p += 4;
    } else {
        cp = 0xfffd;
        p++;
    }
    *pp = p;
    return cp;
}

/* Code points the fast path handles: left-to-right scripts without complex shaping or special
 * line-breaking rules (Latin, Greek, Cyrillic, Armenian, punctuation, symbols). */
static bool fast_codepoint(uint32_t cp)
{
    if (cp >= 0x20 && cp < 0x7f)
        return true;
    if (cp == '\n')
        return true;
    if (cp >= 0xa0 && cp < 0x0590)
        return cp != 0xad && !(cp >= 0x0483 && cp <= 0x0489);
    if (cp >= 0x1e00 && cp < 0x2000)
        return true;
    if (cp >= 0x2000 && cp <= 0x200a)
        return true;
    if (cp >= 0x2010 && cp <= 0x2027)
        return true;
    if (cp >= 0x202f && cp <= 0x205f)
        return true;
    if (cp >= 0x2070 && cp < 0x2c00)
        return true;
    return false;
}

static bool is_break_space(uint32_t cp)
{
    return cp == ' ' || (cp >= 0x2000 && cp <= 0x200a && cp != 0x2007) || cp == 0x205f;
}

static bool is_digit(uint32_t cp)
{
    return cp >= '0' && cp <= '9';
}

/* ---------------------------------------------------------------- fast path */

typedef struct para_in {
    const char *text; /* concatenated spans */
    size_t len;
    const uint32_t *span_start;
    const text_span_t *spans;
    int nspans;
} para_in_t;

/* ---------------------------------------------------------------- languages */

bool text_lang_valid(const char *tag)
{
    size_t len = strlen(tag);
    if (len < 2 || len > 63)
        return false;
    int sub = 0;
    for (const char *p = tag; *p;) {
        size_t n = 0;
        bool alpha = true;
        while (p[n] && p[n] != '-') {
            if (!g_ascii_isalnum(p[n]))
                return false;
            alpha &= g_ascii_isalpha(p[n]) != 0;
            n++;
        }
        /* The primary subtag is 2-8 letters (or "x"/"i" for private and grandfathered tags);
         * the others 1-8 letters or digits. */
        if (n == 0 || n > 8)
            return false;
        if (sub == 0 && (!alpha || (n == 1 && g_ascii_tolower(p[0]) != 'x' && g_ascii_tolower(p[0]) != 'i')))
            return false;
        sub++;
        p += n;
        if (*p == '-' && !*++p)
            return false;
    }
    return true;
}

static const char *span_lang(const text_span_t *sp)
{
    return sp->lang ? sp->lang : sp->style->lang;
}

/* The pango language for a tag: fontconfig knows Chinese by region (zh-cn, zh-tw, zh-hk), so
 * scripts and regions are mapped onto those; other tags pass through (pango lowercases). */
static PangoLanguage *pango_lang_for(const char *tag)
{
    char low[64];
    size_t n = 0;
    for (; tag[n] && n + 1 < sizeof low; n++)
        low[n] = (char)g_ascii_tolower(tag[n]);
    low[n] = 0;
    if ((low[0] == 'z' && low[1] == 'h' && (!low[2] || low[2] == '-')) || !strncmp(low, "cmn", 3) ||
        !strncmp(low, "yue", 3)) {
        const char *r = "zh-cn";
        if (strstr(low, "-hant") || strstr(low, "-tw"))
            r = "zh-tw";
        if (strstr(low, "-hk") || strstr(low, "-mo") || !strncmp(low, "yue", 3))
            r = strstr(low, "-hans") ? "zh-cn" : "zh-hk";
        return pango_language_from_string(r);
    }
    return pango_language_from_string(low);
}

/* Shapes text[start, start+len) of one span with the span's font; appends glyphs and clusters. */
static int shape_segment(text_t *t, const para_in_t *in, size_t start, size_t len, int span, font_t *font,
                         size_t *ng, size_t *ncl)
{
    const tstyle_t *st = in->spans[span].style;
    hb_buffer_clear_contents(t->hb);
    hb_buffer_add_utf8(t->hb, in->text, (int)in->len, (unsigned)start, (int)len);
    hb_buffer_set_direction(t->hb, HB_DIRECTION_LTR);
    const char *lang = span_lang(&in->spans[span]);
    if (lang)
        hb_buffer_set_language(t->hb, hb_language_from_string(lang, -1));
    hb_buffer_guess_segment_properties(t->hb);
    hb_feature_t nolig[2];
    unsigned nfeat = 0;
    if (st->letter_spacing != 0) {
        hb_feature_from_string("liga=0", -1, &nolig[nfeat++]);
        hb_feature_from_string("clig=0", -1, &nolig[nfeat++]);
    }
    hb_shape(font->hb, t->hb, nfeat ? nolig : NULL, nfeat);
    unsigned n;
    hb_glyph_info_t *gi = hb_buffer_get_glyph_infos(t->hb, &n);
    hb_glyph_position_t *gp = hb_buffer_get_glyph_positions(t->hb, &n);
    if (grow_array((void **)&t->g, &t->gcap, *ng + n + 1, sizeof *t->g) < 0 ||
        grow_array((void **)&t->cl, &t->clcap, *ncl + n + 2, sizeof *t->cl) < 0)
        return -1;
    size_t first = *ncl;
    double sc = font->scale;
    float ls = (float)st->letter_spacing;
    for (unsigned k = 0; k < n; k++) {
        gent_t *g = &t->g[*ng + k];
        g->gid = gi[k].codepoint;
        g->adv = (float)(gp[k].x_advance * sc);
        g->xoff = (float)(gp[k].x_offset * sc);
        g->yoff = (float)(gp[k].y_offset * sc);
        if (k == 0 || gi[k].cluster != gi[k - 1].cluster) {
            clus_t *c = &t->cl[(*ncl)++];
            c->start = gi[k].cluster;
            c->g0 = (uint32_t)(*ng + k);
            c->ng = 0;
            c->w = ls;
            c->span = (uint16_t)span;
            c->flags = 0;
        }
        clus_t *c = &t->cl[*ncl - 1];
        c->ng++;
        c->w += g->adv;
    }
    /* Cluster byte lengths (clusters are monotonic for LTR). */
    for (size_t i = first; i < *ncl; i++) {
        size_t next = i + 1 < *ncl ? t->cl[i + 1].start : start + len;
        t->cl[i].len = (uint32_t)(next - t->cl[i].start);
    }
    *ng += n;
    return 0;
}

static uint32_t first_cp(const para_in_t *in, const clus_t *c)
{
    const unsigned char *p = (const unsigned char *)in->text + c->start;
    return utf8_next(&p, p + c->len);
}

static uint32_t last_cp(const para_in_t *in, const clus_t *c)
{
    const unsigned char *p = (const unsigned char *)in->text + c->start, *end = p + c->len;
    uint32_t cp = 0;
    while (p < end)
        cp = utf8_next(&p, end);
    return cp;
}

static void mark_breaks(const para_in_t *in, clus_t *cl, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (cl[i].flags & CL_HARD)
            continue;
        uint32_t c = last_cp(in, &cl[i]);
        if (is_break_space(c))
            cl[i].flags |= CL_SPACE;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        if ((cl[i].flags & CL_HARD) || (cl[i + 1].flags & CL_HARD))
            continue;
        uint32_t c = last_cp(in, &cl[i]), nx = first_cp(in, &cl[i + 1]);
        bool nx_space = (cl[i + 1].flags & CL_SPACE) != 0;
        if ((cl[i].flags & CL_SPACE) && !nx_space) {
            cl[i].flags |= CL_BREAK_AFTER;
        } else if ((c == '-' || c == 0x2010 || c == 0x2012 || c == 0x2013) && !nx_space && !is_digit(nx) &&
                   i > 0 && !(cl[i - 1].flags & CL_SPACE)) {
            cl[i].flags |= CL_BREAK_AFTER;
        } else if (c == 0x2014 && !nx_space) {
            cl[i].flags |= CL_BREAK_AFTER;
        } else if (nx == 0x2014 && !(cl[i].flags & CL_SPACE)) {
            cl[i].flags |= CL_BREAK_AFTER;
        }
    }
}

typedef struct line_range {
    size_t a, b;   /* clusters [a, b) */
    bool hard_end; /* ended by a newline or the end of text */
} line_range_t;

/* The indents of a paragraph (tstyle_t.indent and friends): lines that start a paragraph are
 * indented by `first`, the others by `rest` (both from the left edge, may be negative); `base`
 * is the smaller, `any` whether either is not 0. As pango does with its indent (the pango path
 * uses it), the difference between the two comes off the side the line is aligned to and is
 * ignored when centring: see line_shift. */
typedef struct indents {
    double first, rest, base;
    bool any;
} indents_t;

static indents_t indents_of(const tstyle_t *ps)
{
    indents_t in = {ps->indent + ps->first_indent, ps->indent + ps->hanging_indent, 0, false};
    in.base = fmin(in.first, in.rest);
    in.any = in.first != 0 || in.rest != 0;
    return in;
}

/* The indent of line l: the first of a paragraph when it follows a newline. */
static double line_off(const indents_t *ind, const line_range_t *lines, size_t l)
{
    return l == 0 || lines[l - 1].hard_end ? ind->first : ind->rest;
}

/* The width lines may fill (<= 0: no wrapping, unchanged), at least 1 pt when indented. */
static double indent_avail(double width, double off)
{
    return width > 0 && off != 0 ? fmax(width - off, 1) : width;
}

/* Where a line whose start is indented by off goes, added to its aligned position in its
 * available width: aligned left (or justified) it starts at off; aligned right its end is
 * off - base in from the right edge; centred, it is centred in the box [base, width]. */
static double line_shift(const indents_t *ind, align_t al, double width, double off)
{
    if (width > 0 && (al == ALIGN_RIGHT || al == ALIGN_END))
        return ind->base;
    if (width > 0 && al == ALIGN_CENTER)
        return ind->base + (off - ind->base) / 2;
    return off;
}

static void line_metrics(const font_t *const *span_fonts, const clus_t *cl, size_t a, size_t b,
                         int fallback_span, double *asc, double *desc)
{
    double A = 0, D = 0;
    for (size_t i = a; i < b; i++) {
        const font_t *f = span_fonts[cl[i].span];
        if (f->ascent > A)
            A = f->ascent;
        if (f->descent > D)
            D = f->descent;
    }
    if (a == b) {
        const font_t *f = span_fonts[fallback_span];
        A = f->ascent;
        D = f->descent;
    }
    *asc = A;
    *desc = D;
}

/* Builds the glyph runs of one line. `ell` (may be NULL) is an ellipsis run appended at the end. */
static int build_line(text_t *t, arena_t *a, const para_in_t *in, font_t *const *span_fonts, const clus_t *cl,
                      const line_range_t *lr, double width, double shift, const tstyle_t *ps,
                      bool justify_line, const glyph_run_t *ell, text_line_t *line)
{
    size_t A = lr->a, B = lr->b;
    /* Trailing spaces hang: they do not count for alignment. */
    size_t ink_end = B;
    while (ink_end > A && (cl[ink_end - 1].flags & (CL_SPACE | CL_HARD)))
        ink_end--;
    double lw = 0;
    size_t inner_spaces = 0;
    for (size_t i = A; i < ink_end; i++) {
        lw += cl[i].w;
        if (cl[i].flags & CL_SPACE)
            inner_spaces++;
    }
    if (ell)
        lw += ell->width;
    double x0 = 0, extra = 0;
    align_t al = ps->align;
    if (width > 0) {
        double slack = width - lw;
        if (al == ALIGN_CENTER)
            x0 = slack / 2;
        else if (al == ALIGN_RIGHT || al == ALIGN_END)
            x0 = slack;
        else if (al == ALIGN_JUSTIFY && justify_line && inner_spaces && slack > 0)
            extra = slack / (double)inner_spaces;
    }
    /* Count runs: a new run starts where the span changes. */
    int nruns = 0;
    for (size_t i = A; i < ink_end; i++)
        if (i == A || cl[i].span != cl[i - 1].span)
            nruns++;
    line->nruns = nruns + (ell ? 1 : 0);
    line->runs = arena_calloc(a, (size_t)(line->nruns ? line->nruns : 1), sizeof(glyph_run_t));
    if (!line->runs)
        return -1;
    line->width = lw + extra * (double)inner_spaces;
    double x = x0 + shift;
    size_t i = A;
    for (int r = 0; r < nruns; r++) {
        size_t j = i;
        uint32_t ng = 0;
        while (j < ink_end && cl[j].span == cl[i].span) {
            ng += cl[j].ng;
            j++;
        }
        const text_span_t *sp = &in->spans[cl[i].span];
        glyph_run_t *run = &line->runs[r];
        run->font = span_fonts[cl[i].span];
        run->color = sp->style->color;
        run->link = sp->link;
        run->underline = sp->style->underline;
        run->strike = sp->style->strike;
        run->x = x;
        run->nglyphs = (int)ng;
        run->nclusters = (int)(j - i);
        run->glyphs = arena_calloc(a, ng ? ng : 1, sizeof(pglyph_t));
        run->clusters = arena_calloc(a, j - i, sizeof(cairo_text_cluster_t));
        if (!run->glyphs || !run->clusters)
            return -1;
        run->utf8 = in->text + cl[i].start;
        run->utf8_len = (int)(cl[j - 1].start + cl[j - 1].len - cl[i].start);
        int gk = 0;
        for (size_t c = i; c < j; c++) {
            double cx = x;
            for (uint32_t k = 0; k < cl[c].ng; k++) {
                const gent_t *g = &t->g[cl[c].g0 + k];
                run->glyphs[gk].id = g->gid;
                run->glyphs[gk].x = (float)(cx + g->xoff);
                run->glyphs[gk].y = (float)(-g->yoff);
                cx += g->adv;
                gk++;
            }
            run->clusters[c - i].num_bytes = (int)cl[c].len;
            run->clusters[c - i].num_glyphs = (int)cl[c].ng;
            x += cl[c].w;
            if ((cl[c].flags & CL_SPACE) && c < ink_end)
                x += extra;
        }
        run->width = x - run->x;
        i = j;
    }
    if (ell) {
        glyph_run_t *run = &line->runs[nruns];
        *run = *ell;
        run->x = x;
        run->glyphs = arena_calloc(a, (size_t)ell->nglyphs, sizeof(pglyph_t));
        if (!run->glyphs)
            return -1;
        for (int k = 0; k < ell->nglyphs; k++) {
            run->glyphs[k] = ell->glyphs[k];
            run->glyphs[k].x += (float)x;
        }
    }
    return 0;
}

/* An ellipsis run ("…", or "..." when the font lacks it) in font f, positioned at x = 0. */
static int make_ellipsis(text_t *t, arena_t *a, font_t *f, const text_span_t *sp, glyph_run_t *out)
{
    hb_codepoint_t g;
    const char *s = hb_font_get_nominal_glyph(f->hb, 0x2026, &g) ? "\xe2\x80\xa6" : "...";
    hb_buffer_clear_contents(t->hb);
    hb_buffer_add_utf8(t->hb, s, -1, 0, -1);
    hb_buffer_set_direction(t->hb, HB_DIRECTION_LTR);
    hb_buffer_guess_segment_properties(t->hb);
    hb_shape(f->hb, t->hb, NULL, 0);
    unsigned n;
    hb_glyph_info_t *gi = hb_buffer_get_glyph_infos(t->hb, &n);
    hb_glyph_position_t *gp = hb_buffer_get_glyph_positions(t->hb, &n);
    memset(out, 0, sizeof *out);
    out->font = f;
    out->color = sp->style->color;
    out->link = sp->link;
    out->nglyphs = (int)n;
    out->glyphs = arena_calloc(a, n ? n : 1, sizeof(pglyph_t));
    out->clusters = arena_calloc(a, 1, sizeof(cairo_text_cluster_t));
    if (!out->glyphs || !out->clusters)
        return -1;
    double x = 0;
    for (unsigned k = 0; k < n; k++) {
        out->glyphs[k].id = gi[k].codepoint;
        out->glyphs[k].x = (float)(x + gp[k].x_offset * f->scale);
        out->glyphs[k].y = (float)(-gp[k].y_offset * f->scale);
        x += gp[k].x_advance * f->scale;
    }
    out->width = x;
    out->utf8 = s;
    out->utf8_len = (int)strlen(s);
    out->nclusters = 1;
    out->clusters[0].num_bytes = out->utf8_len;
    out->clusters[0].num_glyphs = (int)n;
    return 0;
}

/* Returns 1 when the paragraph needs the pango path, 0 when laid out, -1 on error. Long because
 * it is the hot path of plain paragraphs (shaping, greedy line filling, maxLines with an
 * ellipsis) over state it shares step to step; the steps are marked inside. */
static int layout_fast(text_t *t, arena_t *a, const para_in_t *in, double width, const tstyle_t *ps,
                       text_para_t *out, char *err, size_t err_len)
{
    if (grow_array((void **)&t->span_fonts, &t->sfcap, (size_t)in->nspans, sizeof *t->span_fonts) < 0)
        goto nomem;
    font_t **span_fonts = t->span_fonts;
    for (int s = 0; s < in->nspans; s++) {
        span_fonts[s] = style_font(t, in->spans[s].style, err, err_len);
        if (!span_fonts[s])
            return -1;
        const unsigned char *p = (const unsigned char *)in->text + in->span_start[s];
        const unsigned char *end = p + in->spans[s].len;
        while (p < end) {
            uint32_t cp = utf8_next(&p, end);
            hb_codepoint_t g;
            if (!fast_codepoint(cp) || (cp != '\n' && !hb_font_get_nominal_glyph(span_fonts[s]->hb, cp, &g)))
                return 1;
        }
    }
    size_t ng = 0, ncl = 0;
    for (int s = 0; s < in->nspans; s++) {
        size_t st = in->span_start[s], en = st + in->spans[s].len;
        while (st < en) {
            const char *nl = memchr(in->text + st, '\n', en - st);
            size_t seg_end = nl ? (size_t)(nl - in->text) : en;
            if (seg_end > st && shape_segment(t, in, st, seg_end - st, s, span_fonts[s], &ng, &ncl) < 0)
                goto nomem;
            if (nl) {
                if (grow_array((void **)&t->cl, &t->clcap, ncl + 1, sizeof *t->cl) < 0)
                    goto nomem;
                t->cl[ncl++] = (clus_t){.start = (uint32_t)seg_end,
                                        .len = 1,
                                        .g0 = (uint32_t)ng,
                                        .ng = 0,
                                        .w = 0,
                                        .span = (uint16_t)s,
                                        .flags = CL_HARD};
                seg_end++;
            }
            st = seg_end;
        }
    }
    clus_t *cl = t->cl;
    mark_breaks(in, cl, ncl);

    /* Greedy line filling. */
    line_range_t *lines = NULL;
    size_t nlines = 0, lcap = 0;
    size_t start = 0, i = 0;
    double x = 0;
    long brk = -1;
    const double eps = 1e-6;
    const indents_t ind = indents_of(ps);
    double avail = ind.any ? indent_avail(width, ind.first) : width; /* of the line being filled */
    while (i < ncl) {
        clus_t *c = &cl[i];
        if (c->flags & CL_HARD) {
            if (grow_array((void **)&lines, &lcap, nlines + 1, sizeof *lines) < 0)
                goto nomem_lines;
            lines[nlines++] = (line_range_t){start, i + 1, true};
            start = ++i;
            x = 0;
            brk = -1;
            if (ind.any)
                avail = indent_avail(width, ind.first);
            continue;
        }
        if (width > 0 && !(c->flags & CL_SPACE) && x + c->w > avail + eps && i > start) {
            size_t end = (brk >= (long)start) ? (size_t)brk + 1 : i;
            if (grow_array((void **)&lines, &lcap, nlines + 1, sizeof *lines) < 0)
                goto nomem_lines;
            lines[nlines++] = (line_range_t){start, end, false};
            start = i = end;
            x = 0;
            brk = -1;
            if (ind.any)
                avail = indent_avail(width, ind.rest);
            continue;
        }
        x += c->w;
        if (c->flags & CL_BREAK_AFTER)
            brk = (long)i;
        i++;
    }
    if (start < ncl || (ncl > 0 && (cl[ncl - 1].flags & CL_HARD)) || ncl == 0) {
        if (ncl > 0 || in->len > 0) {
            if (grow_array((void **)&lines, &lcap, nlines + 1, sizeof *lines) < 0)
                goto nomem_lines;
            lines[nlines++] = (line_range_t){start, ncl, true};
        }
    }

    /* maxLines: cut, and end the last kept line with an ellipsis that fits. */
    glyph_run_t ell_run, *ell = NULL;
    if (ps->max_lines > 0 && nlines > (size_t)ps->max_lines) {
        nlines = (size_t)ps->max_lines;
        line_range_t *last = &lines[nlines - 1];
        double last_w = ind.any ? indent_avail(width, line_off(&ind, lines, nlines - 1)) : width;
        int sp_idx = last->b > last->a ? cl[last->b - 1].span : 0;
        if (make_ellipsis(t, a, span_fonts[sp_idx], &in->spans[sp_idx], &ell_run) < 0)
            goto nomem_lines;
        ell = &ell_run;
        while (last->b > last->a && (cl[last->b - 1].flags & CL_HARD))
            last->b--;
        for (;;) {
            double w = ell->width;
            size_t e = last->b;
            while (e > last->a && (cl[e - 1].flags & CL_SPACE))
                e--;
            for (size_t k = last->a; k < e; k++)
                w += cl[k].w;
            if (width <= 0 || w <= last_w + eps || e == last->a) {
                last->b = e;
                break;
            }
            last->b = e - 1;
        }
        last->hard_end = true;
    }

    out->nlines = (int)nlines;
    out->lines = arena_calloc(a, nlines ? nlines : 1, sizeof(text_line_t));
    if (!out->lines)
        goto nomem_lines;
    double top = 0, maxw = 0;
    for (size_t l = 0; l < nlines; l++) {
        text_line_t *line = &out->lines[l];
        double asc, desc;
        int fb = lines[l].a < ncl ? cl[lines[l].a].span : (ncl ? cl[ncl - 1].span : 0);
        line_metrics((const font_t *const *)span_fonts, cl, lines[l].a, lines[l].b, fb, &asc, &desc);
        line->height = (asc + desc) * ps->line_height;
        line->top = top;
        line->baseline = top + (line->height - (asc + desc)) / 2 + asc;
        bool last_line = l + 1 == nlines;
        double off = ind.any ? line_off(&ind, lines, l) : 0;
        double lwidth = ind.any ? indent_avail(width, off) : width;
        double shift = ind.any ? line_shift(&ind, ps->align, width, off) : 0;
        if (build_line(t, a, in, span_fonts, cl, &lines[l], lwidth, shift, ps,
                       !lines[l].hard_end && !last_line, (ell && last_line) ? ell : NULL, line) < 0)
            goto nomem_lines;
        top += line->height;
        if (line->width + off > maxw)
            maxw = line->width + off;
    }
    out->height = top;
    out->width = maxw;
    free(lines);
    t->nfast++;
    return 0;
nomem_lines:
    free(lines);
nomem:
    return errmsg_fail(err, err_len, "out of memory while laying out text");
}

/* --------------------------------------------------------------- pango path */

static int span_at(const para_in_t *in, uint32_t offset)
{
    int lo = 0, hi = in->nspans - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (in->span_start[mid] <= offset)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

bool text_char_is_rtl(uint32_t cp)
{
    if ((cp >= 0x0660 && cp <= 0x0669) || (cp >= 0x06f0 && cp <= 0x06f9))
        return false; /* Arabic-Indic digits are weak */
    return (cp >= 0x0590 && cp < 0x0900) || (cp >= 0xfb1d && cp < 0xfe00) || (cp >= 0xfe70 && cp < 0xff00) ||
           (cp >= 0x10800 && cp < 0x10fff) || (cp >= 0x1e800 && cp < 0x1efff);
}

/* The paragraph direction by the first strong character (the Unicode bidi rule P2), which is
 * what pango's auto-dir uses too. */
static bool first_strong_is_rtl(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    while (p < end) {
        uint32_t cp = utf8_next(&p, end);
        if ((cp >= 0x0660 && cp <= 0x0669) || (cp >= 0x06f0 && cp <= 0x06f9))
            continue; /* digits are weak */
        if (text_char_is_rtl(cp))
            return true;
        if (g_unichar_isalpha(cp))
            return false;
    }
    return false;
}

static PangoFontDescription *style_desc(const text_t *t, const tstyle_t *st)
{
    PangoFontDescription *d = pango_font_description_new();
    char resolved[512];
    /* an uploaded family names its file's private family (fonts_resolve), as in fonts_get */
    pango_font_description_set_family(
        d, fonts_resolve(t->fonts, st->family, st->weight, st->italic, resolved, sizeof resolved));
    pango_font_description_set_weight(d, (PangoWeight)st->weight);
    pango_font_description_set_style(d, st->italic ? PANGO_STYLE_ITALIC : PANGO_STYLE_NORMAL);
    pango_font_description_set_size(d, (gint)(st->size * PANGO_SCALE + 0.5));
    return d;
}

/* Whether the text has a soft hyphen (U+00AD). */
static bool has_shy(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while ((p = memchr(p, 0xc2, (size_t)(end - p))) && p + 1 < end) {
        if ((unsigned char)p[1] == 0xad)
            return true;
        p++;
    }
    return false;
}

/* Whether cluster c (its text at utf8, its glyphs from g) is a soft hyphen that shows nothing
 * (the line does not break there: pango gives it an empty glyph with no advance). */
static bool hidden_shy(const glyph_run_t *r, const char *utf8, const cairo_text_cluster_t *c, int g)
{
    if (c->num_bytes != 2 || memcmp(utf8, "\xc2\xad", 2) || c->num_glyphs != 1)
        return false;
    double next = g + 1 < r->nglyphs ? r->glyphs[g + 1].x : r->x + r->width;
    return fabs(next - r->glyphs[g].x) < 1e-3;
}

/* Drops the soft hyphens where a left-to-right run does not break from its glyphs, clusters and
 * text, so that copying or searching the PDF's text finds the words whole (a soft hyphen at a
 * break stays: it shows as the hyphen, as with pango). The text becomes an arena copy. */
static int drop_hidden_shys(arena_t *a, glyph_run_t *r)
{
    char *u = arena_alloc(a, (size_t)r->utf8_len + 1);
    if (!u)
        return -1;
    int nb = 0, ng = 0, nc = 0, b = 0, g = 0;
    for (int c = 0; c < r->nclusters; c++) {
        cairo_text_cluster_t cl = r->clusters[c];
        if (!hidden_shy(r, r->utf8 + b, &cl, g)) {
            memcpy(u + nb, r->utf8 + b, (size_t)cl.num_bytes);
            nb += cl.num_bytes;
            memmove(&r->glyphs[ng], &r->glyphs[g], (size_t)cl.num_glyphs * sizeof *r->glyphs);
            ng += cl.num_glyphs;
            r->clusters[nc++] = cl;
        }
        b += cl.num_bytes;
        g += cl.num_glyphs;
    }
    if (nc == 0)
        return 0; /* nothing but soft hyphens (cannot happen: a line holds more): keep as is */
    r->utf8 = u;
    r->utf8_len = nb;
    r->nglyphs = ng;
    r->nclusters = nc;
    return 0;
}

/* Converts one pango run of a layout whose text starts at in->text + base. */
static int convert_run(text_t *t, arena_t *a, const para_in_t *in, size_t base, PangoGlyphItem *gi, double x,
                       glyph_run_t *run)
{
    PangoGlyphString *gs = gi->glyphs;
    PangoItem *item = gi->item;
    const char *ltext = in->text + base;
    int sp = span_at(in, (uint32_t)(base + (size_t)item->offset));
    const text_span_t *span = &in->spans[sp];
    run->font = fonts_from_pango(t->fonts, item->analysis.font);
    if (!run->font)
        return -1;
    run->color = span->style->color;
    run->link = span->link;
    run->underline = span->style->underline;
    run->strike = span->style->strike;
    run->x = x;
    run->nglyphs = gs->num_glyphs;
    run->glyphs = arena_calloc(a, (size_t)(gs->num_glyphs ? gs->num_glyphs : 1), sizeof(pglyph_t));
    if (!run->glyphs)
        return -1;
    double cx = x;
    for (int k = 0; k < gs->num_glyphs; k++) {
        PangoGlyphInfo *g = &gs->glyphs[k];
        PangoGlyph id = g->glyph;
        if (id == PANGO_GLYPH_EMPTY)
            id = run->font->space_glyph;
        else if (id & PANGO_GLYPH_UNKNOWN_FLAG)
            id = 0; /* .notdef: the font's "missing glyph" box */
        run->glyphs[k].id = id;
        run->glyphs[k].x = (float)(cx + g->geometry.x_offset / (double)PANGO_SCALE);
        run->glyphs[k].y = (float)(g->geometry.y_offset / (double)PANGO_SCALE);
        cx += g->geometry.width / (double)PANGO_SCALE;
    }
    run->width = cx - x;
    run->utf8 = ltext + item->offset;
    run->utf8_len = item->length;
    run->backward = (item->analysis.level & 1) != 0;
    /* Clusters in logical order (what cairo_show_text_glyphs expects, with the backward flag
     * for right-to-left runs whose glyphs are in visual order). */
    int nc = 0;
    PangoGlyphItemIter iter;
    for (gboolean ok = pango_glyph_item_iter_init_start(&iter, gi, ltext); ok;
         ok = pango_glyph_item_iter_next_cluster(&iter))
        nc++;
    run->clusters = arena_calloc(a, (size_t)(nc ? nc : 1), sizeof(cairo_text_cluster_t));
    if (!run->clusters)
        return -1;
    nc = 0;
    for (gboolean ok = pango_glyph_item_iter_init_start(&iter, gi, ltext); ok;
         ok = pango_glyph_item_iter_next_cluster(&iter)) {
        run->clusters[nc].num_bytes = iter.end_index - iter.start_index;
        run->clusters[nc].num_glyphs = abs(iter.end_glyph - iter.start_glyph);
        nc++;
    }
    run->nclusters = nc;
    if (!run->backward && has_shy(run->utf8, (size_t)run->utf8_len))
        return drop_hidden_shys(a, run);
    return 0;
}

/* Pango measures in 32-bit Pango units (1/1024 pt): an item wider than 2^31 units — 233,017
 * CJK characters at 9 pt, or 240,000 emoji — overflows, and the paragraph came out as one
 * unwrapped line. Longer paragraphs are therefore laid out in pieces of at most this many
 * bytes, sized so that no piece can reach 2^29 units even at 8 em per character; each piece
 * starts at the beginning of the last line of the one before (laid out again with what
 * follows), so lines break where one layout would break them. Ordinary paragraphs (under
 * ~13 KB at 10 pt) are one piece. */
#define PIECE_UNITS_MAX (1 << 29)
#define PIECE_BYTES_MIN 256

static size_t piece_bytes(const para_in_t *in)
{
    double per_char = 0;
    for (int s = 0; s < in->nspans; s++) {
        const tstyle_t *st = in->spans[s].style;
        per_char = fmax(per_char, (8 * st->size + fabs(st->letter_spacing)) * PANGO_SCALE);
    }
    double n = per_char > 0 ? PIECE_UNITS_MAX / per_char : PIECE_UNITS_MAX;
    return n < PIECE_BYTES_MIN ? PIECE_BYTES_MIN : (size_t)n;
}

/* The piece of text that starts at base: at most max bytes, cut on a character boundary; a
 * piece that starts inside a paragraph (after a line break of ours) ends at its newline, so
 * that it holds one paragraph whose direction is set, not guessed from the piece. */
static size_t piece_len(const para_in_t *in, size_t base, size_t max, bool mid_paragraph)
{
    size_t len = in->len - base;
    if (mid_paragraph) {
        const char *nl = memchr(in->text + base, '\n', len < max ? len : max);
        if (nl)
            return (size_t)(nl - (in->text + base)) + 1;
    }
    if (len <= max)
        return len;
    len = max;
    while (len > 1 && ((unsigned char)in->text[base + len] & 0xc0) == 0x80)
        len--;
    return len;
}

/* The direction of the paragraph (between newlines) that contains byte `at`. */
static bool paragraph_is_rtl(const para_in_t *in, size_t at)
{
    size_t start = at;
    while (start > 0 && in->text[start - 1] != '\n')
        start--;
    const char *nl = memchr(in->text + start, '\n', in->len - start);
    size_t end = nl ? (size_t)(nl - in->text) : in->len;
    return first_strong_is_rtl(in->text + start, end - start);
}

/* Sets the context's base direction (for the layout's next lines). */
static void set_base_dir(PangoLayout *L, PangoDirection dir)
{
    PangoContext *ctx = pango_layout_get_context(L);
    if (pango_context_get_base_dir(ctx) != dir) {
        pango_context_set_base_dir(ctx, dir);
        pango_layout_context_changed(L);
    }
}

/* Whether the paragraph piece text[0, len) is justified by pango_justify_line instead of
 * pango: justified text with soft hyphens, unless it has right-to-left text (whose lines
 * pango_justify_line leaves alone, so pango's justification is the better one there). */
static bool own_justify(const char *text, size_t len, double width, const tstyle_t *ps)
{
    if (ps->align != ALIGN_JUSTIFY || width <= 0 || !has_shy(text, len))
        return false;
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    while (p < end)
        if (*p < 0x80)
            p++;
        else if (text_char_is_rtl(utf8_next(&p, end)))
            return false;
    return true;
}

/* Sets the layout's text to in->text[base, base + len) with the spans' attributes. With
 * auto_dir each paragraph's direction comes from its text, else it is base_dir. lines: 0 =
 * unlimited, else at most that many per paragraph, the last one ellipsized when cut. */
static void pango_setup(text_t *t, const para_in_t *in, size_t base, size_t len, double width,
                        const tstyle_t *ps, bool rtl, bool auto_dir, PangoDirection base_dir, int lines)
{
    /* width is that of the box after the smaller of the indents; the paragraphs' first lines
     * are narrower still by their greater indent (pango: > 0), or the others (< 0). */
    const indents_t ind = indents_of(ps);
    double indent = 0;
    if (ind.any) {
        double off = auto_dir ? ind.base : ind.rest; /* a piece set mid-paragraph has no first line */
        width = indent_avail(width, off);
        indent = auto_dir ? ind.first - ind.rest : 0;
    }
    PangoLayout *L = t->layout;
    set_base_dir(L, base_dir);
    pango_layout_set_auto_dir(L, auto_dir);
    pango_layout_set_text(L, in->text + base, (int)len);
    PangoFontDescription *fd = style_desc(t, ps);
    pango_layout_set_font_description(L, fd);
    pango_font_description_free(fd);
    PangoAttrList *attrs = pango_attr_list_new();
    for (int s = 0; s < in->nspans; s++) {
        const tstyle_t *st = in->spans[s].style;
        size_t st_i = in->span_start[s], en_i = st_i + in->spans[s].len;
        if (en_i <= base || st_i >= base + len)
            continue;
        guint a0 = (guint)((st_i > base ? st_i : base) - base);
        guint a1 = (guint)((en_i < base + len ? en_i : base + len) - base);
        PangoFontDescription *d = style_desc(t, st);
        PangoAttribute *fa = pango_attr_font_desc_new(d);
        pango_font_description_free(d);
        fa->start_index = a0;
        fa->end_index = a1;
        pango_attr_list_insert(attrs, fa);
        const char *lang = span_lang(&in->spans[s]);
        if (lang) {
            PangoAttribute *la = pango_attr_language_new(pango_lang_for(lang));
            la->start_index = st_i;
            la->end_index = en_i;
            pango_attr_list_insert(attrs, la);
        }
        if (st->letter_spacing != 0) {
            PangoAttribute *ls = pango_attr_letter_spacing_new((int)(st->letter_spacing * PANGO_SCALE));
            ls->start_index = a0;
            ls->end_index = a1;
            pango_attr_list_insert(attrs, ls);
        }
    }
    pango_layout_set_attributes(L, attrs);
    pango_attr_list_unref(attrs);
    pango_layout_set_width(L, width > 0 ? (int)(width * PANGO_SCALE) : -1);
    pango_layout_set_indent(L, (int)lround(indent * PANGO_SCALE));
    pango_layout_set_wrap(L, PANGO_WRAP_WORD_CHAR);
    PangoAlignment al = PANGO_ALIGN_LEFT;
    /* With auto-dir, pango mirrors the alignment of right-to-left paragraphs; start/end follow
     * the text direction, left/right are absolute. */
    switch (ps->align) {
    case ALIGN_CENTER: al = PANGO_ALIGN_CENTER; break;
    case ALIGN_END: al = PANGO_ALIGN_RIGHT; break;
    case ALIGN_LEFT: al = rtl ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT; break;
    case ALIGN_RIGHT: al = rtl ? PANGO_ALIGN_LEFT : PANGO_ALIGN_RIGHT; break;
    default: al = PANGO_ALIGN_LEFT; break;
    }
    /* Pango mirrors only with auto-dir: a piece with its direction set is mirrored here. */
    if (!auto_dir && base_dir == PANGO_DIRECTION_RTL && al != PANGO_ALIGN_CENTER)
        al = al == PANGO_ALIGN_LEFT ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT;
    pango_layout_set_alignment(L, al);
    /* Pango justifies a line broken at a soft hyphen without the hyphen it adds, which then
     * sticks out of the box: text with soft hyphens is justified by pango_justify_line. */
    pango_layout_set_justify(L, ps->align == ALIGN_JUSTIFY && width > 0 &&
                                    !own_justify(in->text + base, len, width, ps));
    pango_layout_set_height(L, lines > 0 ? -lines : -1);
    pango_layout_set_ellipsize(L, lines > 0 ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
}

typedef struct line_vec {
    text_line_t *v;
    size_t n, cap;
    double top, maxw;
    /* indents: the piece's layout starts `shift` in from the left for left-to-right lines (it
     * is narrower by that on the start side), lines that start a paragraph are indented by
     * off_first and the others by off_rest */
    double shift, off_first, off_rest;
    double justify_to; /* > 0: lines but a paragraph's last are justified to end there */
} line_vec_t;

/* The advance of glyph g of a run: to the next glyph, or to the run's end. */
static double glyph_adv(const glyph_run_t *r, int g)
{
    return (g + 1 < r->nglyphs ? r->glyphs[g + 1].x : r->x + r->width) - r->glyphs[g].x;
}

/* A glyph that shows a space (not the empty glyph of a soft hyphen, which has no advance). */
static bool glyph_is_gap(const glyph_run_t *r, int g)
{
    return r->glyphs[g].id == r->font->space_glyph && glyph_adv(r, g) > 0.01;
}

/* Justifies a left-to-right line laid out unjustified: the room between its last visible
 * glyph (a hyphen included) and `to` goes to its inner spaces, as the fast path does. */
static void pango_justify_line(text_line_t *line, double to)
{
    double end = 0;
    int gaps = 0, pending = 0;
    for (int r = 0; r < line->nruns; r++)
        for (int g = 0; g < line->runs[r].nglyphs; g++) {
            const glyph_run_t *run = &line->runs[r];
            if (glyph_is_gap(run, g)) {
                pending++;
            } else if (glyph_adv(run, g) > 0) {
                end = run->glyphs[g].x + glyph_adv(run, g);
                gaps += pending;
                pending = 0;
            }
        }
    if (gaps == 0 || end >= to)
        return;
    double extra = (to - end) / gaps, shift = 0;
    int seen = 0;
    for (int r = 0; r < line->nruns; r++) {
        glyph_run_t *run = &line->runs[r];
        double start = shift;
        for (int g = 0; g < run->nglyphs; g++) {
            bool gap = glyph_is_gap(run, g) && seen < gaps;
            run->glyphs[g].x += (float)shift;
            if (gap) {
                seen++;
                shift = extra * seen;
            }
        }
        run->x += start;
        run->width += shift - start;
    }
    line->width += shift;
}

/* Whether a line of text that ends at byte `end` is the last of its paragraph. */
static bool ends_paragraph(const char *text, size_t len, size_t end)
{
    return end >= len || text[end] == '\n' || text[end] == '\r' || !strncmp(text + end, "\xe2\x80\xa9", 3);
}

/* Appends the first `keep` lines of the layout (whose text starts at base) to lv; *next_start
 * gets the byte offset (in the layout's text) of the line after them (unchanged when none). */
static int pango_take_lines(text_t *t, arena_t *a, const para_in_t *in, size_t base, int keep,
                            const tstyle_t *ps, line_vec_t *lv, size_t *next_start)
{
    PangoLayout *L = t->layout;
    if (grow_array((void **)&lv->v, &lv->cap, lv->n + (size_t)keep + 1, sizeof *lv->v) < 0)
        return -1;
    const char *ltext = pango_layout_get_text(L);
    size_t ltext_len = lv->justify_to > 0 ? strlen(ltext) : 0;
    PangoLayoutIter *it = pango_layout_get_iter(L);
    int l = 0, rc = 0;
    do {
        PangoLayoutLine *pl = pango_layout_iter_get_line_readonly(it);
        if (l >= keep) {
            *next_start = (size_t)pl->start_index;
            break;
        }
        PangoRectangle logical;
        pango_layout_iter_get_line_extents(it, NULL, &logical);
        int baseline = pango_layout_iter_get_baseline(it);
        double asc = (baseline - logical.y) / (double)PANGO_SCALE;
        double desc = (logical.y + logical.height - baseline) / (double)PANGO_SCALE;
        text_line_t *line = &lv->v[lv->n++];
        memset(line, 0, sizeof *line);
        l++;
        line->height = (asc + desc) * ps->line_height;
        line->top = lv->top;
        line->baseline = lv->top + (line->height - (asc + desc)) / 2 + asc;
        line->width = logical.width / (double)PANGO_SCALE;
        double off = pl->is_paragraph_start ? lv->off_first : lv->off_rest;
        int nr = (int)g_slist_length(pl->runs);
        line->runs = arena_calloc(a, (size_t)(nr ? nr : 1), sizeof(glyph_run_t));
        if (!line->runs) {
            rc = -1;
            break;
        }
        double x =
            logical.x / (double)PANGO_SCALE + (pl->resolved_dir == PANGO_DIRECTION_RTL ? 0 : lv->shift);
        for (GSList *r = pl->runs; r; r = r->next) {
            glyph_run_t *run = &line->runs[line->nruns++];
            if (convert_run(t, a, in, base, r->data, x, run) < 0) {
                rc = -1;
                break;
            }
            x += run->width;
        }
        if (rc < 0)
            break;
        if (lv->justify_to > 0 && pl->resolved_dir != PANGO_DIRECTION_RTL &&
            !ends_paragraph(ltext, ltext_len, (size_t)(pl->start_index + pl->length)))
            pango_justify_line(line, lv->justify_to);
        lv->top += line->height;
        if (line->width + off > lv->maxw)
            lv->maxw = line->width + off;
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
    return rc;
}

static int layout_pango(text_t *t, arena_t *a, const para_in_t *in, double width, const tstyle_t *ps,
                        text_para_t *out, char *err, size_t err_len)
{
    /* Every family must exist (same rule as the fast path). */
    for (int s = 0; s < in->nspans; s++)
        if (!style_font(t, in->spans[s].style, err, err_len))
            return -1;
    PangoDirection saved_dir = pango_context_get_base_dir(pango_layout_get_context(t->layout));
    bool rtl = first_strong_is_rtl(in->text, in->len);
    const indents_t ind = indents_of(ps);
    size_t max = width > 0 ? piece_bytes(in) : in->len; /* unwrapped text is one line anyway */
    line_vec_t lv = {0};
    size_t base = 0;
    int rc = 0;
    for (;;) {
        /* A piece that starts inside a paragraph keeps that paragraph's direction. */
        bool mid = base > 0 && in->text[base - 1] != '\n';
        PangoDirection dir = !mid                         ? saved_dir
                             : paragraph_is_rtl(in, base) ? PANGO_DIRECTION_RTL
                                                          : PANGO_DIRECTION_LTR;
        size_t len = piece_len(in, base, max, mid);
        bool last = base + len >= in->len;
        int room = ps->max_lines > 0 ? ps->max_lines - (int)lv.n : 0;
        /* The last piece, or the last line maxLines allows: pango ellipsizes what it cuts. */
        bool final = last || room == 1;
        pango_setup(t, in, base, len, width, ps, rtl, !mid, dir, final ? room : 0);
        lv.justify_to = own_justify(in->text + base, len, width, ps) ? width : 0;
        if (ind.any) {
            lv.shift = mid ? ind.rest : ind.base;
            lv.off_first = mid ? ind.rest : ind.first;
            lv.off_rest = ind.rest;
        }
        int nl = pango_layout_get_line_count(t->layout);
        int keep = final ? nl : nl - 1; /* the last line of a piece is laid out again */
        if (!final && room > 0 && keep > room - 1)
            keep = room - 1; /* leave the last allowed line to a final piece */
        if (final && room > 0 && keep > room)
            keep = room;
        if (keep < 1)
            keep = 1; /* one line longer than a piece (a cluster of thousands of marks): cut */
        size_t next = len;
        if (pango_take_lines(t, a, in, base, keep, ps, &lv, &next) < 0) {
            rc = -1;
            break;
        }
        if (final)
            break;
        base += next;
    }
    set_base_dir(t->layout, saved_dir);
    if (rc < 0)
        goto nomem;
    out->lines = arena_calloc(a, lv.n ? lv.n : 1, sizeof(text_line_t));
    if (!out->lines)
        goto nomem;
    memcpy(out->lines, lv.v, lv.n * sizeof *lv.v);
    out->nlines = (int)lv.n;
    out->height = lv.top;
    out->width = lv.maxw;
    free(lv.v);
    t->npango++;
    return 0;
nomem:
    free(lv.v);
    return errmsg_fail(err, err_len, "out of memory while laying out text");
}

/* Control characters (C0 but tab and newline, DEL, C1) have no glyph: fonts would draw them as
 * missing-glyph boxes. They are dropped; a span that holds any is copied without them. */
static bool is_control_at(const unsigned char *p, size_t left, size_t *len)
{
    if (p[0] < 0x20 && p[0] != '\t' && p[0] != '\n') {
        *len = 1;
        return true;
    }
    if (p[0] == 0x7f) {
        *len = 1;
        return true;
    }
    if (p[0] == 0xc2 && left > 1 && p[1] >= 0x80 && p[1] <= 0x9f) {
        *len = 2;
        return true;
    }
    return false;
}

static bool has_control(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t n;
    for (size_t i = 0; i < len; i++)
        if ((p[i] < 0x20 || p[i] == 0x7f || p[i] == 0xc2) && is_control_at(p + i, len - i, &n))
            return true;
    return false;
}

static int drop_controls(arena_t *a, const text_span_t **spans, int nspans)
{
    int s = 0;
    while (s < nspans && !has_control((*spans)[s].text, (*spans)[s].len))
        s++;
    if (s == nspans)
        return 0;
    text_span_t *copy = arena_alloc(a, (size_t)nspans * sizeof *copy);
    if (!copy)
        return -1;
    memcpy(copy, *spans, (size_t)nspans * sizeof *copy);
    for (; s < nspans; s++) {
        if (!has_control(copy[s].text, copy[s].len))
            continue;
        const unsigned char *p = (const unsigned char *)copy[s].text;
        char *buf = arena_alloc(a, copy[s].len + 1);
        if (!buf)
            return -1;
        size_t n = 0, skip;
        for (size_t i = 0; i < copy[s].len;) {
            if (is_control_at(p + i, copy[s].len - i, &skip)) {
                i += skip;
                continue;
            }
            buf[n++] = (char)p[i++];
        }
        copy[s].text = buf;
        copy[s].len = n;
    }
    *spans = copy;
    return 0;
}

/* Whether two spans touch inside a word (no space between them). */
static bool spans_glued(const text_span_t *x, const text_span_t *y)
{
    return x->len && y->len && !g_ascii_isspace(x->text[x->len - 1]) && !g_ascii_isspace(y->text[0]);
}

/* Spans with hyphenate get soft hyphens at their words' break points (engine/hyph); *spans is
 * replaced by an arena copy when any span changed. */
static int hyphenate_spans(text_t *t, arena_t *a, const text_span_t **spans, int nspans, char *err,
                           size_t err_len)
{
    int s = 0;
    while (s < nspans && !(*spans)[s].style->hyphenate)
        s++;
    if (s == nspans)
        return 0;
    if (!t->hyph && !(t->hyph = hyph_new(t->hyph_dir)))
        return errmsg_fail(err, err_len, "out of memory while hyphenating");
    const text_span_t *in = *spans;
    text_span_t *copy = NULL;
    for (; s < nspans; s++) {
        const text_span_t *sp = &in[s];
        if (!sp->style->hyphenate || !sp->len)
            continue;
        bool gs = s > 0 && spans_glued(&in[s - 1], sp), ge = s + 1 < nspans && spans_glued(sp, &in[s + 1]);
        char *o;
        size_t olen;
        if (hyph_text(t->hyph, span_lang(sp), sp->text, sp->len, gs, ge, &o, &olen, err, err_len) < 0)
            return -1;
        if (!o)
            continue;
        if (!copy && (copy = arena_alloc(a, (size_t)nspans * sizeof *copy)))
            memcpy(copy, in, (size_t)nspans * sizeof *copy);
        char *text = copy ? arena_alloc(a, olen + 1) : NULL;
        if (text)
            memcpy(text, o, olen);
        free(o);
        if (!text)
            return errmsg_fail(err, err_len, "out of memory while hyphenating");
        copy[s].text = text;
        copy[s].len = olen;
    }
    if (copy)
        *spans = copy;
    return 0;
}

int text_layout(text_t *t, arena_t *a, const text_span_t *spans, int nspans, double width,
                const tstyle_t *pstyle, text_para_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (nspans <= 0)
        return 0;
    if (nspans > TEXT_SPANS_MAX) {
        return errmsg_fail(err, err_len, "paragraph has more than %d runs", TEXT_SPANS_MAX);
    }
    if (drop_controls(a, &spans, nspans) < 0)
        goto nomem;
    if (width > 0 && hyphenate_spans(t, a, &spans, nspans, err, err_len) < 0)
        return -1;
    uint32_t starts_small[16];
    uint32_t *starts = nspans <= 16 ? starts_small : malloc((size_t)nspans * sizeof *starts);
    if (!starts)
        goto nomem;
    size_t total = 0;
    for (int s = 0; s < nspans; s++) {
        starts[s] = (uint32_t)total;
        total += spans[s].len;
    }
    if (total > UINT32_MAX / 2) {
        if (starts != starts_small)
            free(starts);
        return errmsg_fail(err, err_len, "paragraph too long");
    }
    const char *text;
    if (nspans == 1) {
        text = spans[0].text;
    } else {
        char *buf = arena_alloc(a, total + 1);
        if (!buf) {
            if (starts != starts_small)
                free(starts);
            goto nomem;
        }
        for (int s = 0; s < nspans; s++)
            memcpy(buf + starts[s], spans[s].text, spans[s].len);
        text = buf;
    }
    para_in_t in = {text, total, starts, spans, nspans};
    int rc = layout_fast(t, a, &in, width, pstyle, out, err, err_len);
    if (rc == 1) {
        memset(out, 0, sizeof *out);
        rc = layout_pango(t, a, &in, width, pstyle, out, err, err_len);
    }
    if (starts != starts_small)
        free(starts);
    return rc;
nomem:
    return errmsg_fail(err, err_len, "out of memory while laying out text");
}

int text_measure(text_t *t, const char *utf8, size_t len, const tstyle_t *style, double *width, char *err,
                 size_t err_len)
{
    arena_t a;
    arena_init(&a, 4096, 16 * 1024 * 1024);
    text_span_t sp = {utf8, len, style, NULL, NULL};
    text_para_t p;
    int rc = text_layout(t, &a, &sp, 1, 0, style, &p, err, err_len);
    *width = rc == 0 ? p.width : 0;
    arena_free(&a);
    return rc;
}

void text_trim(text_t *t)
{
    memo_clear(t);
    fonts_trim(t->fonts);
}
