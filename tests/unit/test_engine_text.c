/* Unit tests for text measurement and line breaking (src/engine/text.c): the HarfBuzz fast
 * path must agree with pango, wrap only at break opportunities, align, justify, ellipsize, and
 * hand RTL/CJK text to pango; hyphenation (src/engine/hyph.c): break points from the
 * dictionaries, words left alone, soft hyphens from the data with and without hyphenate, a
 * missing dictionary, and the test contract's widest justified inter-word space. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "craftkit/engine.h"
#include "engine/hyph.h"
#include "engine/text.h"
#include "tu.h"

static fonts_t *F;
static text_t *T;
static arena_t A;

/* Runs in the forked test process (see tests/support/engfix.h: no pango before fork). */
static void setup(void)
{
    engine_global_init();
    F = fonts_new();
    T = text_new(F);
    arena_init(&A, 64 * 1024, 1 << 26);
}

static void teardown(void)
{
    arena_free(&A);
    text_free(T);
    fonts_free(F);
}

static tstyle_t style(double size)
{
    tstyle_t st = {
        .family = "DejaVu Sans", .size = size, .weight = 400, .color = 0x000000ff, .line_height = 1};
    return st;
}

static text_para_t lay(const char *s, double width, const tstyle_t *st)
{
    text_span_t sp = {s, strlen(s), st, NULL, NULL};
    text_para_t p;
    char err[300] = "";
    ck_assert_msg(text_layout(T, &A, &sp, 1, width, st, &p, err, sizeof err) == 0, "%s", err);
    return p;
}

static void line_text(const text_line_t *l, char *out, size_t len)
{
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < l->nruns && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%.*s", l->runs[i].utf8_len, l->runs[i].utf8);
}

/* Width of a single line measured by pango itself, with the engine's own context. */
static double pango_width(const char *s, const tstyle_t *st)
{
    PangoLayout *l = pango_layout_new(fonts_context(F));
    PangoFontDescription *d = pango_font_description_new();
    pango_font_description_set_family(d, st->family);
    pango_font_description_set_weight(d, (PangoWeight)st->weight);
    pango_font_description_set_size(d, (int)(st->size * PANGO_SCALE));
    pango_layout_set_font_description(l, d);
    pango_layout_set_text(l, s, -1);
    int w, h;
    pango_layout_get_size(l, &w, &h);
    pango_font_description_free(d);
    g_object_unref(l);
    return w / (double)PANGO_SCALE;
}

START_TEST(fast_path_matches_pango_widths)
{
    static const char *samples[] = {
        "Hello, world",        "AVATAR Tokyo WAVE",
        "€1,234.50 – 20% off", "Straße déjà vu",
        "Ελληνικά Кириллица",  "fi fl ffi office",
        "0123456789",          "The quick brown fox jumps over the lazy dog.",
    };
    for (double size = 7; size <= 24; size += 8.5) {
        tstyle_t st = style(size);
        for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
            double ours;
            char err[200];
            ck_assert_int_eq(text_measure(T, samples[i], strlen(samples[i]), &st, &ours, err, sizeof err), 0);
            double theirs = pango_width(samples[i], &st);
            /* pango rounds each advance to 1/1024 pt */
            ck_assert_msg(fabs(ours - theirs) < 0.001 * (double)strlen(samples[i]),
                          "\"%s\" at %g pt: %f vs pango %f", samples[i], size, ours, theirs);
        }
        st.weight = 700;
        double ours;
        char err[200];
        ck_assert_int_eq(text_measure(T, "Bold Text", 9, &st, &ours, err, sizeof err), 0);
        ck_assert(fabs(ours - pango_width("Bold Text", &st)) < 0.01);
    }
    size_t fast, pango;
    text_stats(T, &fast, &pango);
    ck_assert_int_gt((int)fast, 0);
    ck_assert_int_eq((int)pango, 0);
}
END_TEST

START_TEST(wraps_at_spaces_within_width)
{
    tstyle_t st = style(10);
    const char *s =
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
        "labore et dolore magna aliqua.";
    for (double width = 60; width <= 400; width += 37) {
        arena_reset(&A);
        text_para_t p = lay(s, width, &st);
        ck_assert_int_gt(p.nlines, 0);
        char all[1000] = "";
        for (int i = 0; i < p.nlines; i++) {
            ck_assert_msg(p.lines[i].width <= width + 0.01, "line %d wider than %g", i, width);
            char lt[300];
            line_text(&p.lines[i], lt, sizeof lt);
            /* every line ends at a word end: the next char in the source is a space or the end */
            size_t at = strlen(all) + strlen(lt);
            ck_assert_msg(s[at] == ' ' || s[at] == 0 || (i + 1 < p.nlines && all[0] == 0 && 0),
                          "line %d: \"%s\"", i, lt);
            strcat(all, lt);
            if (s[at] == ' ') /* trailing space is not part of the line's runs: put it back */
                strcat(all, " ");
            if (i > 0)
                ck_assert_double_eq_tol(p.lines[i].top, p.lines[i - 1].top + p.lines[i - 1].height, 1e-6);
        }
        ck_assert_str_eq(all, s);
    }
}
END_TEST

START_TEST(hard_breaks_long_words_and_empty)
{
    tstyle_t st = style(10);
    text_para_t p = lay("one\ntwo\n\nfour", 0, &st);
    ck_assert_int_eq(p.nlines, 4);
    char lt[100];
    line_text(&p.lines[1], lt, sizeof lt);
    ck_assert_str_eq(lt, "two");
    ck_assert_int_eq(p.lines[2].nruns, 0);
    ck_assert(p.lines[2].height > 0);
    /* A word longer than the line breaks between characters, never overflowing. */
    p = lay("Supercalifragilisticexpialidocious", 50, &st);
    ck_assert_int_gt(p.nlines, 2);
    for (int i = 0; i < p.nlines; i++)
        ck_assert(p.lines[i].width <= 50.01);
    p = lay("", 100, &st);
    ck_assert_int_eq(p.nlines, 0);
    ck_assert_double_eq(p.height, 0);
    /* Hyphens are break opportunities, numbers after a hyphen are not split off. */
    p = lay("state-of-the-art 2024-03-15", 70, &st);
    char first[100];
    line_text(&p.lines[0], first, sizeof first);
    ck_assert_msg(first[strlen(first) - 1] == '-' || strchr(first, ' '), "%s", first);
    for (int i = 0; i < p.nlines; i++) {
        line_text(&p.lines[i], lt, sizeof lt);
        ck_assert_msg(strncmp(lt, "03", 2) && strncmp(lt, "15", 2), "split a date: %s", lt);
    }
}
END_TEST

START_TEST(alignment_and_justify)
{
    tstyle_t st = style(10);
    st.align = ALIGN_RIGHT;
    text_para_t p = lay("right", 200, &st);
    ck_assert_double_eq_tol(p.lines[0].runs[0].x + p.lines[0].width, 200, 0.01);
    st.align = ALIGN_CENTER;
    p = lay("centre", 200, &st);
    ck_assert_double_eq_tol(p.lines[0].runs[0].x * 2 + p.lines[0].width, 200, 0.01);
    st.align = ALIGN_JUSTIFY;
    p = lay("Justified text fills every line to the full width except the last line of the paragraph.", 150,
            &st);
    ck_assert_int_gt(p.nlines, 2);
    for (int i = 0; i + 1 < p.nlines; i++)
        ck_assert_double_eq_tol(p.lines[i].width, 150, 0.01);
    ck_assert(p.lines[p.nlines - 1].width < 150);
}
END_TEST

START_TEST(max_lines_ellipsis)
{
    tstyle_t st = style(10);
    st.max_lines = 2;
    text_para_t p =
        lay("A long paragraph that certainly needs more than two lines at this narrow width of the box.", 120,
            &st);
    ck_assert_int_eq(p.nlines, 2);
    const text_line_t *l = &p.lines[1];
    const glyph_run_t *last = &l->runs[l->nruns - 1];
    ck_assert_int_eq(last->utf8_len, 3);
    ck_assert(!memcmp(last->utf8, "\xe2\x80\xa6", 3));
    ck_assert(l->width <= 120.01);
    st.max_lines = 1;
    p = lay("Short", 120, &st);
    ck_assert_int_eq(p.nlines, 1);
    ck_assert_int_eq(p.lines[0].nruns, 1);
}
END_TEST

START_TEST(letter_spacing_and_runs)
{
    tstyle_t st = style(10), bold = style(10);
    bold.weight = 700;
    double plain, spaced;
    char err[200];
    text_measure(T, "ABCD", 4, &st, &plain, err, sizeof err);
    st.letter_spacing = 2;
    text_measure(T, "ABCD", 4, &st, &spaced, err, sizeof err);
    ck_assert_double_eq_tol(spaced - plain, 8, 0.01);
    st.letter_spacing = 0;
    text_span_t spans[] = {{"Total: ", 7, &st, NULL, NULL},
                           {"€12.00", 8, &bold, "https://example.com", NULL}};
    text_para_t p;
    ck_assert_int_eq(text_layout(T, &A, spans, 2, 0, &st, &p, err, sizeof err), 0);
    ck_assert_int_eq(p.nlines, 1);
    ck_assert_int_eq(p.lines[0].nruns, 2);
    ck_assert_str_eq(p.lines[0].runs[1].link, "https://example.com");
    ck_assert(p.lines[0].runs[1].font != p.lines[0].runs[0].font);
    ck_assert_double_eq_tol(p.lines[0].runs[1].x, p.lines[0].runs[0].width, 0.01);
}
END_TEST

START_TEST(rtl_and_cjk_use_pango)
{
    tstyle_t st = style(12);
    size_t f0, p0, f1, p1;
    text_stats(T, &f0, &p0);
    text_para_t p = lay("مرحبا بالعالم", 0, &st);
    ck_assert_int_eq(p.nlines, 1);
    ck_assert(p.lines[0].runs[0].backward);
    p = lay("שלום עולם and English", 300, &st);
    ck_assert_int_eq(p.nlines, 1);
    /* RTL paragraph, "start" alignment: the line hugs the right edge. */
    double right = 0;
    for (int i = 0; i < p.lines[0].nruns; i++)
        right = fmax(right, p.lines[0].runs[i].x + p.lines[0].runs[i].width);
    ck_assert_double_eq_tol(right, 300, 0.5);
    /* CJK falls back to Noto CJK (DejaVu has no Han glyphs) and breaks between characters. */
    p = lay("日本語のテキストは単語の間に空白がありませんが、きちんと折り返されます。", 100, &st);
    ck_assert_int_gt(p.nlines, 2);
    for (int i = 0; i < p.nlines; i++)
        ck_assert(p.lines[i].width <= 100.5);
    const char *fam = pango_font_description_get_family(pango_font_describe(p.lines[0].runs[0].font->pango));
    ck_assert_msg(strstr(fam, "Noto") != NULL, "%s", fam);
    text_stats(T, &f1, &p1);
    ck_assert_int_eq((int)(p1 - p0), 3);
    ck_assert_int_eq((int)(f1 - f0), 0);
}
END_TEST

/* s repeated until it is n bytes long or more (a malloc'd string). */
static char *repeat_to(const char *s, size_t n)
{
    size_t l = strlen(s), count = (n + l - 1) / l;
    char *out = malloc(count * l + 1);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < count; i++)
        memcpy(out + i * l, s, l);
    out[count * l] = 0;
    return out;
}

/* The lines hold the whole text, each byte once and in order (left-to-right text). */
static void assert_covers(const text_para_t *p, const char *s)
{
    const char *at = s;
    for (int i = 0; i < p->nlines; i++)
        for (int k = 0; k < p->lines[i].nruns; k++) {
            const glyph_run_t *r = &p->lines[i].runs[k];
            ck_assert_msg(r->utf8 == at, "line %d run %d starts at byte %td, not %td", i, k, r->utf8 - s,
                          at - s);
            at += r->utf8_len;
        }
    ck_assert_msg(*at == 0, "the lines end at byte %td of %zu", at - s, strlen(s));
}

START_TEST(very_long_paragraphs_wrap)
{
    /* 233,017 CJK characters at 9 pt are wider than 2^31 Pango units: the paragraph came out as
     * one line running off the page. Laid out in pieces, it wraps like a short one: every line
     * but the last is full (the next character did not fit) and no line is wider than the box. */
    tstyle_t st = style(9);
    char *cjk = repeat_to("中", 233017 * 3);
    text_para_t p = lay(cjk, 400, &st);
    ck_assert_int_gt(p.nlines, 4000);
    for (int i = 0; i < p.nlines; i++) {
        ck_assert_msg(p.lines[i].width <= 400.01, "line %d is %.2f pt wide", i, p.lines[i].width);
        if (i + 1 < p.nlines)
            ck_assert_msg(p.lines[i].width + 9 > 400, "line %d is short (%.2f pt)", i, p.lines[i].width);
        ck_assert(i == 0 || p.lines[i].top > p.lines[i - 1].top);
    }
    assert_covers(&p, cjk);
    free(cjk);
    /* Emoji, and text that mixes scripts and spaces, at a larger size. */
    st = style(20);
    char *emoji = repeat_to("\xf0\x9f\x98\x80", 240000 * 4);
    p = lay(emoji, 400, &st);
    ck_assert_int_gt(p.nlines, 1000);
    for (int i = 0; i < p.nlines; i++)
        ck_assert(p.lines[i].width <= 400.01);
    assert_covers(&p, emoji);
    free(emoji);
    char *mixed = repeat_to("中文 mixed with Latin words, 数字 12345 and more. ", 300000);
    p = lay(mixed, 250, &st);
    ck_assert_int_gt(p.nlines, 1000);
    for (int i = 0; i < p.nlines; i++)
        ck_assert(p.lines[i].width <= 250.01);
    assert_covers(&p, mixed);
    /* maxLines across pieces: exactly that many lines, the last one ellipsized. */
    st.max_lines = 700;
    p = lay(mixed, 250, &st);
    ck_assert_int_eq(p.nlines, 700);
    free(mixed);
}
END_TEST

START_TEST(very_long_rtl_paragraph_keeps_its_direction)
{
    /* Every piece of a long right-to-left paragraph is right-to-left: its lines hug the right
     * edge ("start"), including those of pieces that begin in the middle of the paragraph. */
    tstyle_t st = style(10);
    char *he = repeat_to("שלום עולם ", 60000);
    text_para_t p = lay(he, 300, &st);
    ck_assert_int_gt(p.nlines, 100);
    for (int i = 0; i < p.nlines; i++) {
        double right = 0;
        for (int k = 0; k < p.lines[i].nruns; k++) {
            const glyph_run_t *r = &p.lines[i].runs[k];
            ck_assert(r->backward);
            right = fmax(right, r->x + r->width);
        }
        ck_assert_msg(fabs(right - 300) < 0.5, "line %d of %d ends at %.2f pt", i, p.nlines, right);
    }
    free(he);
}
END_TEST

START_TEST(unknown_font_is_an_error)
{
    tstyle_t st = style(10);
    st.family = "Comic Sans Nonexistent";
    text_span_t sp = {"x", 1, &st, NULL, NULL};
    text_para_t p;
    char err[300] = "";
    ck_assert_int_lt(text_layout(T, &A, &sp, 1, 100, &st, &p, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "\"Comic Sans Nonexistent\" is not installed"), "%s", err);
    st.family = "Liberation Serif, DejaVu Sans";
    ck_assert_int_eq(text_layout(T, &A, &sp, 1, 100, &st, &p, err, sizeof err), 0);
    st.family = "serif";
    ck_assert_int_eq(text_layout(T, &A, &sp, 1, 100, &st, &p, err, sizeof err), 0);
}
END_TEST

START_TEST(clusters_cover_text_and_glyphs)
{
    /* cairo_show_text_glyphs refuses inconsistent clusters; check every run of mixed text. */
    tstyle_t st = style(10);
    const char *samples[] = {"office affinity", "e\xcc\x81t\xc3\xa9 na\xc3\xafve", "مرحبا world", "中文 text",
                             "tab\there"};
    for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++) {
        text_para_t p = lay(samples[s], 80, &st);
        for (int i = 0; i < p.nlines; i++)
            for (int r = 0; r < p.lines[i].nruns; r++) {
                const glyph_run_t *run = &p.lines[i].runs[r];
                int bytes = 0, glyphs = 0;
                for (int c = 0; c < run->nclusters; c++) {
                    ck_assert(run->clusters[c].num_bytes > 0 || run->clusters[c].num_glyphs > 0);
                    bytes += run->clusters[c].num_bytes;
                    glyphs += run->clusters[c].num_glyphs;
                }
                ck_assert_int_eq(bytes, run->utf8_len);
                ck_assert_int_eq(glyphs, run->nglyphs);
            }
    }
}
END_TEST

/* The x where line l starts (its first run). */
static double line_x(const text_para_t *p, int l)
{
    ck_assert_int_lt(l, p->nlines);
    ck_assert_int_gt(p->lines[l].nruns, 0);
    return p->lines[l].runs[0].x;
}

/* indent, firstLineIndent and hangingIndent move lines on both paths and narrow them. */
static void check_indents(const char *s, bool pango)
{
    tstyle_t st = style(10);
    const double width = 160;
    size_t fast0, pango0, fast1, pango1;
    text_stats(T, &fast0, &pango0);
    st.indent = 20;
    st.first_indent = -20; /* a hanging first line */
    text_para_t p = lay(s, width, &st);
    ck_assert_int_ge(p.nlines, 3);
    ck_assert_double_eq_tol(line_x(&p, 0), 0, 0.01);
    for (int l = 1; l < p.nlines; l++) {
        ck_assert_double_eq_tol(line_x(&p, l), 20, 0.01);
        ck_assert_msg(p.lines[l].width <= width - 20 + 0.01, "line %d too wide: %f", l, p.lines[l].width);
    }
    arena_reset(&A);
    st.indent = 0;
    st.first_indent = 10;
    st.hanging_indent = 15;
    p = lay(s, width, &st);
    ck_assert_double_eq_tol(line_x(&p, 0), 10, 0.01);
    ck_assert_msg(p.lines[0].width <= width - 10 + 0.01, "first line too wide");
    for (int l = 1; l < p.nlines; l++)
        ck_assert_double_eq_tol(line_x(&p, l), 15, 0.01);
    /* right-aligned, indented on the left only: lines still end at the right edge */
    arena_reset(&A);
    st = style(10);
    st.indent = 30;
    st.align = ALIGN_RIGHT;
    p = lay(s, width, &st);
    for (int l = 0; l < p.nlines; l++) {
        ck_assert_double_eq_tol(line_x(&p, l) + p.lines[l].width, width, 0.05);
        ck_assert_double_ge(line_x(&p, l), 30 - 0.01);
    }
    /* every paragraph (after a newline) starts with the first-line indent */
    arena_reset(&A);
    st = style(10);
    st.first_indent = 12;
    char two[600];
    snprintf(two, sizeof two, "%s\n%s", s, s);
    p = lay(two, width, &st);
    int firsts = 0;
    for (int l = 0; l < p.nlines; l++)
        firsts += fabs(line_x(&p, l) - 12) < 0.01;
    ck_assert_int_eq(firsts, 2);
    text_stats(T, &fast1, &pango1);
    ck_assert_int_eq((int)(pango ? pango1 - pango0 : fast1 - fast0), 4);
    ck_assert_int_eq((int)(pango ? fast1 - fast0 : pango1 - pango0), 0);
}

START_TEST(indents_move_lines)
{
    check_indents("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
                  "incididunt ut labore et dolore magna aliqua.",
                  false);
    arena_reset(&A);
    /* CJK takes the pango path */
    check_indents("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
                  "incididunt ut labore et dolore magna aliqua 漢字.",
                  true);
}
END_TEST

/* ---------------------------------------------------- hyphenation (engine/hyph) */

#define SHY "\xc2\xad"

/* A justified style in lang, hyphenated or not. */
static tstyle_t hstyle(bool hyphenate, const char *lang)
{
    tstyle_t st = style(10);
    st.align = ALIGN_JUSTIFY;
    st.lang = lang;
    st.hyphenate = hyphenate;
    return st;
}

/* s hyphenated in lang, "-" for each soft hyphen (a static buffer). */
static const char *hyph(hyph_t *h, const char *lang, const char *s)
{
    static char shown[1000];
    char *o = NULL, err[300] = "";
    size_t n = 0;
    ck_assert_msg(hyph_text(h, lang, s, strlen(s), false, false, &o, &n, err, sizeof err) == 0, "%s", err);
    size_t k = 0;
    const char *src = o ? o : s;
    size_t len = o ? n : strlen(s);
    for (size_t i = 0; i < len && k + 1 < sizeof shown; i++) {
        if (i + 1 < len && !memcmp(src + i, SHY, 2)) {
            shown[k++] = '-';
            i++;
        } else {
            shown[k++] = src[i];
        }
    }
    shown[k] = 0;
    free(o);
    return shown;
}

START_TEST(break_points_from_the_dictionaries)
{
    hyph_t *h = hyph_new(NULL);
    ck_assert_ptr_nonnull(h);
    ck_assert_str_eq(hyph(h, "en", "hyphenation"), "hy-phen-ation");
    ck_assert_str_eq(hyph(h, "en-GB", "Confidentiality"), "Con-fi-den-tial-ity");
    /* an ISO 8859-1 dictionary (nl; de is another, tested with the contract: its
     * dictionary takes seconds to load) gets its words converted */
    ck_assert_str_eq(hyph(h, "nl", "Verantwoordelijkheid"), "Ver-ant-woor-de-lijk-heid");
    ck_assert_ptr_nonnull(strchr(hyph(h, "fr", "responsabilité"), '-'));
    ck_assert_ptr_nonnull(strchr(hyph(h, "es", "responsabilidad"), '-'));
    ck_assert_ptr_nonnull(strchr(hyph(h, "it", "responsabilità"), '-'));
    /* left alone: short words, capitals, numbers, addresses, hand-hyphenated words */
    ck_assert_str_eq(hyph(h, "en", "the cat sat"), "the cat sat");
    ck_assert_str_eq(hyph(h, "en", "UNDERSTANDING"), "UNDERSTANDING");
    ck_assert_str_eq(hyph(h, "en", "ABC123international"), "ABC123international");
    ck_assert_str_eq(hyph(h, "en", "https://example.com/documentation"), "https://example.com/documentation");
    ck_assert_str_eq(hyph(h, "en", "administration@example.com"), "administration@example.com");
    ck_assert_str_eq(hyph(h, "en", "www.administration.org"), "www.administration.org");
    ck_assert_str_eq(hyph(h, "en", "admin" SHY "istration"), "admin-istration");
    /* punctuation around a word, and words joined by a hyphen */
    ck_assert_str_eq(hyph(h, "en", "(documentation),"), "(doc-u-men-ta-tion),");
    ck_assert_str_eq(hyph(h, "en", "self-documentation"), "self-doc-u-men-ta-tion");
    /* no dictionary: unchanged, no error (a lang from the data) */
    ck_assert_str_eq(hyph(h, "pt", "documentation"), "documentation");
    ck_assert_str_eq(hyph(h, NULL, "documentation"), "documentation");
    /* glued to the runs before / after: that word is left alone */
    char *o = NULL, err[300];
    size_t n;
    const char *s = "documentation documentation documentation";
    ck_assert_int_eq(hyph_text(h, "en", s, strlen(s), true, true, &o, &n, err, sizeof err), 0);
    ck_assert_ptr_nonnull(o);
    ck_assert(n > 14 && !memcmp(o, "documentation ", 14));
    ck_assert(!memcmp(o + n - 14, " documentation", 14));
    free(o);
    ck_assert_ptr_null(hyph_dict_file("pt"));
    ck_assert_str_eq(hyph_dict_file("de-AT"), "hyph_de_DE.dic");
    hyph_free(h);
}
END_TEST

/* Whether line l ends in a soft hyphen (where pango shows a hyphen). */
static bool ends_in_shy(const text_line_t *l)
{
    const glyph_run_t *r = &l->runs[l->nruns - 1];
    return r->utf8_len >= 2 && !memcmp(r->utf8 + r->utf8_len - 2, SHY, 2);
}

/* Soft hyphens that do not break a line are not in the runs' text (copy and search find the
 * words whole); one that does ends its line. */
static void shys_only_at_breaks(const text_para_t *p)
{
    for (int l = 0; l < p->nlines; l++)
        for (int r = 0; r < p->lines[l].nruns; r++) {
            const glyph_run_t *run = &p->lines[l].runs[r];
            for (int i = 0; i + 1 < run->utf8_len; i++)
                if (!memcmp(run->utf8 + i, SHY, 2))
                    ck_assert_msg(r == p->lines[l].nruns - 1 && i + 2 == run->utf8_len,
                                  "line %d: a soft hyphen inside \"%.*s\"", l, run->utf8_len, run->utf8);
        }
}

/* The text of the paragraph's runs without soft hyphens: what copying the text gives. */
static void para_text(const text_para_t *p, char *out, size_t cap)
{
    size_t n = 0;
    for (int l = 0; l < p->nlines; l++)
        for (int r = 0; r < p->lines[l].nruns; r++) {
            const glyph_run_t *run = &p->lines[l].runs[r];
            for (int i = 0; i < run->utf8_len && n + 1 < cap; i++) {
                if (i + 1 < run->utf8_len && !memcmp(run->utf8 + i, SHY, 2))
                    i++;
                else
                    out[n++] = run->utf8[i];
            }
        }
    out[n] = 0;
}

START_TEST(soft_hyphens_break_lines)
{
    const char *word = "Donau" SHY "dampf" SHY "schiff" SHY "fahrts" SHY "gesellschaft";
    /* soft hyphens from the data: with and without hyphenate */
    for (int on = 0; on < 2; on++) {
        tstyle_t st = hstyle(on, "de");
        text_para_t p = lay(word, 70, &st);
        ck_assert_int_gt(p.nlines, 1);
        for (int l = 0; l + 1 < p.nlines; l++)
            ck_assert_msg(ends_in_shy(&p.lines[l]), "line %d does not end at a soft hyphen", l);
        char all[200];
        para_text(&p, all, sizeof all);
        ck_assert_str_eq(all, "Donaudampfschifffahrtsgesellschaft");
        shys_only_at_breaks(&p);
        arena_reset(&A);
    }
    /* hyphenate breaks words the data did not mark; without it they stay whole */
    const char *s = "Notwithstanding characteristically";
    tstyle_t off = hstyle(false, "en"), on = hstyle(true, "en");
    text_para_t p = lay(s, 70, &off);
    for (int l = 0; l < p.nlines; l++)
        ck_assert(!ends_in_shy(&p.lines[l]));
    p = lay(s, 70, &on);
    int broken = 0;
    for (int l = 0; l + 1 < p.nlines; l++) {
        broken += ends_in_shy(&p.lines[l]);
        ck_assert_double_le(p.lines[l].width, 70 + 0.01);
    }
    ck_assert_int_gt(broken, 0);
    shys_only_at_breaks(&p);
    char all[300];
    para_text(&p, all, sizeof all);
    ck_assert_str_eq(all, s);
    /* several runs: the text keeps its runs' styles and links */
    const char *s1 = "Géoréférencement", *s2 = "responsabilités", *s3 = " administratives";
    tstyle_t fr = hstyle(true, "fr"), frb = fr;
    frb.weight = 700;
    text_span_t sp[3] = {{s1, strlen(s1), &fr, NULL, NULL},
                         {s2, strlen(s2), &frb, "https://example.com", NULL},
                         {s3, strlen(s3), &fr, NULL, NULL}};
    char err[300] = "";
    ck_assert_msg(text_layout(T, &A, sp, 3, 80, &fr, &p, err, sizeof err) == 0, "%s", err);
    para_text(&p, all, sizeof all);
    ck_assert_str_eq(all, "Géoréférencementresponsabilités administratives");
    bool linked = false;
    for (int l = 0; l < p.nlines; l++)
        for (int r = 0; r < p.lines[l].nruns; r++)
            linked |= p.lines[l].runs[r].link != NULL;
    ck_assert(linked);
    /* a language from the data without a dictionary: laid out unhyphenated */
    text_span_t pt = {s, strlen(s), &on, NULL, "pt-BR"};
    ck_assert_msg(text_layout(T, &A, &pt, 1, 110, &on, &p, err, sizeof err) == 0, "%s", err);
    for (int l = 0; l < p.nlines; l++)
        ck_assert(!ends_in_shy(&p.lines[l]));
}
END_TEST

/* Right-to-left text with soft hyphens stays justified (by pango). */
START_TEST(rtl_text_with_soft_hyphens_is_justified)
{
    tstyle_t st = hstyle(false, "he");
    const char *s = "\u05d4\u05ea\u05d7" SHY "\u05d9\u05d9\u05d1\u05d5\u05ea \u05d4\u05e1\u05db\u05de\u05d4 "
                    "\u05e9\u05dc\u05d5\u05dd \u05d4\u05ea\u05d7" SHY "\u05d9\u05d9\u05d1\u05d5\u05ea "
                    "\u05d4\u05e1\u05db\u05de\u05d4 \u05e9\u05dc\u05d5\u05dd \u05d4\u05ea\u05d7" SHY
                    "\u05d9\u05d9\u05d1\u05d5\u05ea \u05d4\u05e1\u05db\u05de\u05d4 \u05e9\u05dc\u05d5\u05dd";
    text_para_t p = lay(s, 90, &st);
    ck_assert_int_gt(p.nlines, 2);
    for (int l = 0; l + 1 < p.nlines; l++)
        ck_assert_msg(fabs(p.lines[l].width - 90) < 0.5, "line %d: %f pt wide", l, p.lines[l].width);
}
END_TEST

START_TEST(missing_dictionary_is_an_error)
{
    text_set_hyphen_dir(T, "/nonexistent/hyphen");
    tstyle_t st = hstyle(true, "en");
    const char *s = "Notwithstanding";
    text_span_t sp = {s, strlen(s), &st, NULL, NULL};
    text_para_t p;
    char err[300] = "";
    ck_assert_int_eq(text_layout(T, &A, &sp, 1, 100, &st, &p, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "hyphenation dictionary for \"en\" is missing on this server") &&
                      strstr(err, "/nonexistent/hyphen/hyph_en_US.dic"),
                  "%s", err);
    /* without hyphenate nothing is read */
    st.hyphenate = false;
    ck_assert_int_eq(text_layout(T, &A, &sp, 1, 100, &st, &p, err, sizeof err), 0);
    text_set_hyphen_dir(T, NULL);
    st.hyphenate = true;
    ck_assert_int_eq(text_layout(T, &A, &sp, 1, 100, &st, &p, err, sizeof err), 0);
}
END_TEST

/* The widest inter-word space of p's justified lines (all but the last): a space cluster's
 * advance, from its glyph to the next one. */
static double widest_gap(const text_para_t *p)
{
    double w = 0;
    for (int l = 0; l + 1 < p->nlines; l++)
        for (int r = 0; r < p->lines[l].nruns; r++) {
            const glyph_run_t *run = &p->lines[l].runs[r];
            int g = 0, b = 0;
            for (int c = 0; c < run->nclusters; c++) {
                const cairo_text_cluster_t *cl = &run->clusters[c];
                if (cl->num_bytes == 1 && run->utf8[b] == ' ' && cl->num_glyphs == 1 && g + 1 < run->nglyphs)
                    w = fmax(w, run->glyphs[g + 1].x - run->glyphs[g].x);
                b += cl->num_bytes;
                g += cl->num_glyphs;
            }
        }
    return w;
}

/* The widest justified inter-word space of the test contract's paragraphs in lang. */
static double contract_gap(json_t *contract, const char *lang, bool hyphenate, int *lines)
{
    tstyle_t st = hstyle(hyphenate, lang);
    double w = 0;
    size_t i;
    json_t *para;
    *lines = 0;
    json_array_foreach(json_object_get(contract, lang), i, para)
    {
        text_para_t p = lay(json_string_value(para), 200, &st);
        w = fmax(w, widest_gap(&p));
        for (int l = 0; l < p.nlines; l++)
            ck_assert_msg(p.lines[l].width <= 200.01, "%s paragraph %zu line %d: %f pt wide", lang, i, l,
                          p.lines[l].width);
        *lines += p.nlines;
    }
    return w;
}

START_TEST(contract_gaps_shrink)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/contract/contract.json", getenv("CRAFTKIT_TEST_DATA"));
    json_error_t je;
    json_t *contract = json_load_file(path, 0, &je);
    hyph_t *h = hyph_new(NULL);
    ck_assert_str_eq(hyph(h, "de", "Vertragsbedingungen"), "Ver-trags-bedin-gun-gen");
    ck_assert_str_eq(hyph(h, "de-CH", "Größenänderung"), "Grö-ßen-än-de-rung");
    hyph_free(h);
    ck_assert_msg(contract != NULL, "%s: %s", path, je.text);
    static const char *const langs[] = {"en", "de"};
    for (int k = 0; k < 2; k++) {
        int n_off, n_on;
        double off = contract_gap(contract, langs[k], false, &n_off);
        double on = contract_gap(contract, langs[k], true, &n_on);
        /* the numbers docs/templates.md quotes */
        fprintf(stderr,
                "contract %s, 200 pt justified: widest space %.1f pt (%d lines) without, %.1f pt (%d lines) "
                "with hyphenation\n",
                langs[k], off, n_off, on, n_on);
        ck_assert_double_gt(off, 0);
        ck_assert_double_lt(on, off * 0.75);
    }
    json_decref(contract);
}
END_TEST

Suite *text_suite(void)
{
    Suite *s = suite_create("engine_text");
    TCase *tc = tcase_create("text");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fast_path_matches_pango_widths);
    tcase_add_test(tc, wraps_at_spaces_within_width);
    tcase_add_test(tc, hard_breaks_long_words_and_empty);
    tcase_add_test(tc, alignment_and_justify);
    tcase_add_test(tc, max_lines_ellipsis);
    tcase_add_test(tc, letter_spacing_and_runs);
    tcase_add_test(tc, rtl_and_cjk_use_pango);
    tcase_add_test(tc, very_long_paragraphs_wrap);
    tcase_add_test(tc, very_long_rtl_paragraph_keeps_its_direction);
    tcase_add_test(tc, unknown_font_is_an_error);
    tcase_add_test(tc, clusters_cover_text_and_glyphs);
    tcase_add_test(tc, indents_move_lines);
    tcase_add_test(tc, break_points_from_the_dictionaries);
    tcase_add_test(tc, soft_hyphens_break_lines);
    tcase_add_test(tc, rtl_text_with_soft_hyphens_is_justified);
    tcase_add_test(tc, missing_dictionary_is_an_error);
    tcase_add_test(tc, contract_gaps_shrink);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(text_suite());
}
