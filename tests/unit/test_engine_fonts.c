/* Unit tests of what reaches the PDF from fonts: CFF subsets (engine/cfffix), colour emoji,
 * control characters, languages. */
#include <check.h>
#include <fontconfig/fontconfig.h>
#include <hb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "craftkit/engine.h"
#include "engine/cfffix.h"
#include "engine/text.h"
#include "engfix.h"
#include "tu.h"
#include "xorshift.h"

static fonts_t *F;
static text_t *T;
static arena_t A;

/* Runs in the forked test process (see tests/support/engfix.h: no pango before fork). */
static void setup(void)
{
    engfix_setup();
    F = fonts_new();
    T = text_new(F);
    arena_init(&A, 64 * 1024, 1 << 26);
}

static void teardown(void)
{
    arena_free(&A);
    text_free(T);
    fonts_free(F);
    engfix_teardown();
}

static text_para_t lay(const char *s, const char *family)
{
    tstyle_t st = {.family = family, .size = 12, .weight = 400, .color = 0x000000ff, .line_height = 1};
    tstyle_t *sp_style = arena_alloc(&A, sizeof st);
    *sp_style = st;
    text_span_t sp = {s, strlen(s), sp_style, NULL, NULL};
    text_para_t p;
    char err[300] = "";
    ck_assert_msg(text_layout(T, &A, &sp, 1, 0, sp_style, &p, err, sizeof err) == 0, "%s", err);
    return p;
}

static engine_output_t render_layout(const char *layout, engine_compression_t comp)
{
    engine_template_t *t = engfix_compile(layout);
    char err[1000];
    json_t *data = json_object();
    engine_render_opts_t o = {.creation_time = 1, .compression = comp};
    engine_output_t out;
    ck_assert_msg(engine_render(engfix_ctx, t, data, &o, &out, err, sizeof err) == 0, "%s", err);
    json_decref(data);
    engine_template_free(t);
    return out;
}

/* The decompressed /FontFile3 stream of a PDF cairo wrote (its streams are /FlateDecode). */
static uint8_t *font_file3(const engine_output_t *pdf, size_t *len)
{
    const char *p = memmem(pdf->data, pdf->len, "/Subtype /CIDFontType0C", 23);
    ck_assert_ptr_nonnull(p);
    const char *s = memmem(p, pdf->len - (size_t)(p - (const char *)pdf->data), "stream\n", 7);
    ck_assert_ptr_nonnull(s);
    s += 7;
    size_t cap = 16 << 20;
    uint8_t *out = malloc(cap);
    z_stream z = {0};
    ck_assert_int_eq(inflateInit(&z), Z_OK);
    z.next_in = (Bytef *)s;
    z.avail_in = (uInt)(pdf->len - (size_t)(s - (const char *)pdf->data));
    z.next_out = out;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    *len = z.total_out;
    inflateEnd(&z);
    return out;
}

/* The CFF table of an installed family (fontconfig's file and collection index). */
static hb_blob_t *cff_table(const char *family)
{
    FcPattern *p = FcNameParse((const FcChar8 *)family);
    FcConfigSubstitute(NULL, p, FcMatchPattern);
    FcDefaultSubstitute(p);
    FcResult r;
    FcPattern *m = FcFontMatch(NULL, p, &r);
    ck_assert_ptr_nonnull(m);
    FcChar8 *file = NULL;
    int index = 0;
    FcPatternGetString(m, FC_FILE, 0, &file);
    FcPatternGetInteger(m, FC_INDEX, 0, &index);
    hb_blob_t *b = hb_blob_create_from_file((const char *)file);
    hb_face_t *face = hb_face_create(b, (unsigned)index);
    hb_blob_t *cff = hb_face_reference_table(face, HB_TAG('C', 'F', 'F', ' '));
    hb_face_destroy(face);
    hb_blob_destroy(b);
    FcPatternDestroy(m);
    FcPatternDestroy(p);
    return cff;
}

/* Issue 15: 如 came out blank because cairo emptied a subroutine it calls. The embedded subset
 * now holds every subroutine its glyphs call: repairing it again finds nothing missing, at
 * every compression level. */
START_TEST(cjk_subset_keeps_called_subroutines)
{
    hb_blob_t *src = cff_table("Noto Sans CJK SC");
    unsigned srclen;
    const uint8_t *srcp = (const uint8_t *)hb_blob_get_data(src, &srclen);
    ck_assert_uint_gt(srclen, 1000);
    for (int c = 0; c <= ENGINE_COMPRESS_NONE; c++) {
        engine_output_t pdf =
            render_layout("{\"page\":{\"size\":\"A6\"},\"body\":[{\"type\":\"text\",\"text\":"
                          "\"如果您有任何问题，请与我们联系。\",\"font\":\"Noto Sans CJK SC\"}]}",
                          (engine_compression_t)c);
        size_t len;
        uint8_t *sub = font_file3(&pdf, &len);
        uint8_t *fixed;
        size_t fixed_len;
        ck_assert_msg(cfffix_repair_with(sub, len, srcp, srclen, &fixed, &fixed_len) == 0,
                      "compression %d: the embedded subset lacks subroutines its glyphs call", c);
        free(sub);
        engine_output_free(&pdf);
    }
    hb_blob_destroy(src);
}
END_TEST

/* Hostile or damaged font programs: never a crash, never a read out of bounds (ASan). */
START_TEST(repair_survives_damaged_fonts)
{
    hb_blob_t *src = cff_table("Noto Sans CJK SC");
    unsigned srclen;
    const uint8_t *srcp = (const uint8_t *)hb_blob_get_data(src, &srclen);
    engine_output_t pdf =
        render_layout("{\"body\":[{\"type\":\"text\",\"text\":\"如果您\",\"font\":\"Noto Sans CJK "
                      "SC\"}]}",
                      ENGINE_COMPRESS_FAST);
    size_t len;
    uint8_t *sub = font_file3(&pdf, &len);
    uint8_t *copy = malloc(len);
    uint64_t rng = 42;
    for (int round = 0; round < 400; round++) {
        memcpy(copy, sub, len);
        size_t n = round < 100 ? (size_t)(xorshift_next(&rng) % len) : len; /* truncated */
        int flips = 1 + (int)(xorshift_next(&rng) % 8);
        for (int k = 0; k < flips && round >= 100; k++) {
            size_t at = (size_t)(xorshift_next(&rng) % (round < 300 ? 400 : len)); /* mostly the tables */
            copy[at] = (uint8_t)xorshift_next(&rng);
        }
        uint8_t *fixed = NULL;
        size_t fixed_len;
        int rc = cfffix_repair_with(copy, n, srcp, srclen, &fixed, &fixed_len);
        ck_assert_int_ge(rc, 0);
        free(fixed);
    }
    /* not a CFF font at all, and an empty one */
    uint8_t *fixed;
    size_t fixed_len;
    ck_assert_int_eq(cfffix_repair_with((const uint8_t *)"hello", 5, srcp, srclen, &fixed, &fixed_len), 0);
    ck_assert_int_eq(cfffix_repair_with(sub, 0, srcp, srclen, &fixed, &fixed_len), 0);
    /* the subset is not its own original */
    ck_assert_int_eq(cfffix_repair_with(sub, len, sub, len, &fixed, &fixed_len), 0);
    free(copy);
    free(sub);
    engine_output_free(&pdf);
    hb_blob_destroy(src);
}
END_TEST

/* Issue 15 item 6: emoji are colour glyphs of the emoji fallback font, one glyph per emoji
 * (ZWJ family, flag, skin tone), drawn from the font's full-resolution bitmaps. */
START_TEST(emoji_are_colour_glyphs)
{
    text_para_t p =
        lay("A \xf0\x9f\x98\x80 \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 "
            "\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd B",
            "DejaVu Sans");
    ck_assert_int_eq(p.nlines, 1);
    int colour = 0;
    for (int r = 0; r < p.lines[0].nruns; r++) {
        glyph_run_t *run = &p.lines[0].runs[r];
        for (int k = 0; k < run->nglyphs; k++) {
            ck_assert_uint_ne(run->glyphs[k].id, 0); /* no missing-glyph box */
            if (!run->font->color)
                continue;
            colour++;
            double x, y, w, h;
            cairo_surface_t *img = fonts_color_glyph(run->font, run->glyphs[k].id, &x, &y, &w, &h);
            ck_assert_ptr_nonnull(img);
            ck_assert_int_ge(cairo_image_surface_get_width(img), 100); /* the font's strike, not 12 px */
            ck_assert(w > 8 && w < 24 && h > 8 && h < 24);
        }
    }
    ck_assert_int_eq(colour, 4); /* 😀, 👨‍👩‍👧, 🇩🇪 and 👍🏽: one glyph each */
}
END_TEST

static cairo_status_t png_read(void *closure, unsigned char *data, unsigned int len)
{
    engine_output_t *o = closure;
    static _Thread_local size_t off;
    if (!data) {
        off = 0;
        return CAIRO_STATUS_SUCCESS;
    }
    if (len > o->len - off)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, o->data + off, len);
    off += len;
    return CAIRO_STATUS_SUCCESS;
}

/* The PDF holds each emoji once, as an image at the font's resolution; the PNG shows colour. */
START_TEST(emoji_reach_pdf_and_png)
{
    const char *layout = "{\"page\":{\"size\":\"A6\"},\"body\":[{\"type\":\"text\",\"text\":"
                         "\"\xf0\x9f\x98\x80 \xf0\x9f\x98\x80 \xf0\x9f\x98\x80 ok\",\"fontSize\":30}]}";
    engine_output_t pdf = render_layout(layout, ENGINE_COMPRESS_FAST);
    size_t images = 0;
    for (const char *p = (const char *)pdf.data;
         (p = memmem(p, pdf.len - (size_t)(p - (const char *)pdf.data), "/Subtype /Image", 15)); p++)
        images++;
    ck_assert_int_eq(images, 2); /* the bitmap and its alpha mask, once for three emoji */
    ck_assert_ptr_nonnull(memmem(pdf.data, pdf.len, "/Width 136", 10));
    engine_output_free(&pdf);

    engine_template_t *t = engfix_compile(layout);
    char err[300];
    engine_render_opts_t o = {.format = ENGINE_PNG, .dpi = 72};
    engine_output_t png;
    json_t *data = json_object();
    ck_assert_msg(engine_render(engfix_ctx, t, data, &o, &png, err, sizeof err) == 0, "%s", err);
    png_read(NULL, NULL, 0);
    cairo_surface_t *img = cairo_image_surface_create_from_png_stream(png_read, &png);
    ck_assert_int_eq(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    cairo_surface_flush(img);
    int w = cairo_image_surface_get_width(img), h = cairo_image_surface_get_height(img);
    int stride = cairo_image_surface_get_stride(img);
    const unsigned char *px = cairo_image_surface_get_data(img);
    int yellow = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const unsigned char *q = px + y * stride + x * 4; /* B G R A */
            if (q[2] > 200 && q[1] > 150 && q[0] < 90)
                yellow++;
        }
    ck_assert_int_gt(yellow, 200); /* three yellow faces, not outlines or boxes */
    cairo_surface_destroy(img);
    engine_output_free(&png);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

/* BEL, ESC, DEL, CR and C1 controls are dropped, not drawn as boxes; tab and newline stay. */
START_TEST(control_characters_are_dropped)
{
    text_para_t p = lay("a\x07"
                        "b\x1b"
                        "c\x7f"
                        "d\xc2\x85"
                        "e\r\x01",
                        "DejaVu Sans");
    text_para_t q = lay("abcde", "DejaVu Sans");
    ck_assert_int_eq(p.nlines, 1);
    int n = 0;
    for (int r = 0; r < p.lines[0].nruns; r++)
        for (int k = 0; k < p.lines[0].runs[r].nglyphs; k++, n++)
            ck_assert_uint_ne(p.lines[0].runs[r].glyphs[k].id, 0);
    ck_assert_int_eq(n, 5);
    ck_assert_double_eq_tol(p.width, q.width, 1e-6);
    p = lay("a\tb\nc", "DejaVu Sans");
    ck_assert_int_eq(p.nlines, 2);
}
END_TEST

/* The family pango chose for the first glyph run of a one-line paragraph. */
static char *first_family(const char *text, const char *style_lang, const char *data_lang)
{
    tstyle_t *st = arena_alloc(&A, sizeof *st);
    *st =
        (tstyle_t){.family = "DejaVu Sans", .size = 12, .weight = 400, .line_height = 1, .lang = style_lang};
    text_span_t sp = {text, strlen(text), st, NULL, data_lang};
    text_para_t p;
    char err[300] = "";
    ck_assert_msg(text_layout(T, &A, &sp, 1, 0, st, &p, err, sizeof err) == 0, "%s", err);
    ck_assert_int_ge(p.nlines, 1);
    ck_assert_int_ge(p.lines[0].nruns, 1);
    PangoFontDescription *d = pango_font_describe(p.lines[0].runs[0].font->pango);
    char *fam = strdup(pango_font_description_get_family(d));
    pango_font_description_free(d);
    return fam;
}

/* Issue 15 item 7: the language picks the CJK fallback (骨 直 写 take each region's forms). */
START_TEST(lang_steers_cjk_fallback)
{
    static const struct {
        const char *style, *data, *family;
    } cases[] = {
        {"zh-Hans", NULL, "Noto Sans CJK SC"}, {"zh-CN", NULL, "Noto Sans CJK SC"},
        {"ja", NULL, "Noto Sans CJK JP"},      {"zh-Hant", NULL, "Noto Sans CJK TC"},
        {"zh-HK", NULL, "Noto Sans CJK HK"},   {"ja", "zh-Hans", "Noto Sans CJK SC"}, /* data wins */
        {NULL, "ja-JP", "Noto Sans CJK JP"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *fam = first_family("\xe9\xaa\xa8\xe7\x9b\xb4\xe5\x86\x99", cases[i].style, cases[i].data);
        ck_assert_msg(!strcmp(fam, cases[i].family), "%s/%s: %s", cases[i].style, cases[i].data, fam);
        free(fam);
    }
}
END_TEST

START_TEST(lang_tags_are_checked)
{
    const char *good[] = {"en", "de-CH", "zh-Hans", "zh-Hant-TW", "sr-Latn-RS", "x-private", "es-419", "gsw"};
    const char *bad[] = {"",    "e",   "english language", "en_US", "en-",
                         "-en", "123", "en-toolongsubtag", "zh--CN"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(text_lang_valid(good[i]), "%s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!text_lang_valid(bad[i]), "%s", bad[i]);

    json_error_t je;
    json_t *l = json_loads("{\"metadata\":{\"lang\":\"en_GB\"},\"defaultStyle\":{\"lang\":7},"
                           "\"body\":[{\"type\":\"text\",\"text\":\"x\",\"lang\":\"not a tag\"},"
                           "{\"type\":\"text\",\"runs\":[{\"text\":\"y\",\"lang\":\"zh-\"}]}]}",
                           0, &je),
           *issues = NULL;
    char err[300];
    engine_template_t *t = engine_compile(l, NULL, NULL, &issues, err, sizeof err);
    ck_assert_ptr_null(t);
    char *s = json_dumps(issues, 0);
    ck_assert_msg(strstr(s, "layout.metadata.lang") && strstr(s, "layout.defaultStyle.lang") &&
                      strstr(s, "layout.body.0.lang") && strstr(s, "layout.body.1.runs.0.lang") &&
                      strstr(s, "is not a language tag"),
                  "%s", s);
    free(s);
    json_decref(issues);
    json_decref(l);
}
END_TEST

static engine_output_t render_data(const char *layout, const char *data_json, int want_rc, char *err,
                                   size_t len)
{
    engine_template_t *t = engfix_compile(layout);
    json_t *data = engfix_json(data_json);
    engine_render_opts_t o = {.creation_time = 1};
    engine_output_t out = {0};
    ck_assert_int_eq(engine_render(engfix_ctx, t, data, &o, &out, err, len), want_rc);
    json_decref(data);
    engine_template_free(t);
    return out;
}

/* metadata.lang is the catalog's /Lang (from the layout or the data); a bad tag in the data
 * stops the render naming its path. */
START_TEST(document_lang_in_catalog)
{
    char err[400];
    engine_output_t a = render_data("{\"metadata\":{\"lang\":\"de-CH\"},\"body\":[\"Gr\xc3\xbc"
                                    "ezi\"]}",
                                    "{}", 0, err, sizeof err);
    ck_assert_ptr_nonnull(memmem(a.data, a.len, "/Lang (de-CH)", 13));
    engine_output_free(&a);
    engine_output_t b = render_data("{\"metadata\":{\"lang\":\"{{l}}\"},\"body\":[\"x\"]}", "{\"l\":\"ja\"}",
                                    0, err, sizeof err);
    ck_assert_ptr_nonnull(memmem(b.data, b.len, "/Lang (ja)", 10));
    engine_output_free(&b);
    engine_output_t c = render_data("{\"body\":[\"x\"]}", "{}", 0, err, sizeof err);
    ck_assert_ptr_null(memmem(c.data, c.len, "/Lang", 5));
    engine_output_free(&c);
    render_data("{\"metadata\":{\"lang\":\"{{l}}\"},\"body\":[\"x\"]}", "{\"l\":\"(evil) /Foo\"}", -1, err,
                sizeof err);
    ck_assert_msg(strstr(err, "data.l") && strstr(err, "not a language tag"), "%s", err);
    render_data("{\"body\":[{\"type\":\"text\",\"text\":\"x\",\"lang\":\"{{c.lang}}\"}]}",
                "{\"c\":{\"lang\":\"en_GB\"}}", -1, err, sizeof err);
    ck_assert_msg(strstr(err, "data.c.lang") && strstr(err, "not a language tag"), "%s", err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("engine_fonts");
    TCase *tc = tcase_create("fonts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cjk_subset_keeps_called_subroutines);
    tcase_add_test(tc, repair_survives_damaged_fonts);
    tcase_add_test(tc, emoji_are_colour_glyphs);
    tcase_add_test(tc, emoji_reach_pdf_and_png);
    tcase_add_test(tc, control_characters_are_dropped);
    tcase_add_test(tc, lang_steers_cjk_fallback);
    tcase_add_test(tc, lang_tags_are_checked);
    tcase_add_test(tc, document_lang_in_catalog);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
