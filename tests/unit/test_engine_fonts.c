/* Unit tests of what reaches the PDF from fonts: CFF subsets (engine/cfffix). */
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
#include "tu.h"
#include "xorshift.h"

static engine_ctx_t *CTX;

static void setup(void)
{
    engine_global_init();
    CTX = engine_ctx_new(NULL);
    ck_assert_ptr_nonnull(CTX);
}

static void teardown(void)
{
    engine_ctx_free(CTX);
}

static engine_output_t render_layout(const char *layout, engine_compression_t comp)
{
    json_error_t je;
    json_t *l = json_loads(layout, 0, &je), *issues = NULL;
    ck_assert_msg(l != NULL, "%s", je.text);
    char err[1000];
    engine_template_t *t = engine_compile(l, NULL, NULL, &issues, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    json_t *data = json_object();
    engine_render_opts_t o = {.creation_time = 1, .compression = comp};
    engine_output_t out;
    ck_assert_msg(engine_render(CTX, t, data, &o, &out, err, sizeof err) == 0, "%s", err);
    json_decref(data);
    json_decref(l);
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

static Suite *suite(void)
{
    Suite *s = suite_create("engine_fonts");
    TCase *tc = tcase_create("fonts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cjk_subset_keeps_called_subroutines);
    tcase_add_test(tc, repair_survives_damaged_fonts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
