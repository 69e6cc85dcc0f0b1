/* Unit tests of uploaded fonts in the engine (issue 18): a layout's family resolves to the
 * render's uploaded files before installed families, the file of a family is picked like CSS
 * font matching (synthetic bold/italic only when no face has them), fallback for missing glyphs
 * still reaches installed fonts, two sets with the same family name never mix, the compiler
 * accepts uploaded families it is told about, and engine/fontcache reuses and bounds its sets.
 * The "uploads" are installed Debian fonts (fonts-roboto-unhinted, fonts-liberation2) copied
 * with their family renamed (tu_font_renamed), so no installed family can stand in for them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "craftkit/engine.h"
#include "engine/fontcache.h"
#include "engine/fontprobe.h"
#include "engine/woff.h"
#include "tu.h"

#define ROBOTO "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/"
#define LIBERATION "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf"

static engine_ctx_t *CTX;
static char DIR_[256];

static void setup(void)
{
    engine_global_init();
    CTX = engine_ctx_new(NULL);
    ck_assert_ptr_nonnull(CTX);
    snprintf(DIR_, sizeof DIR_, "/tmp/ck-uploads-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(DIR_));
}

static void teardown(void)
{
    engine_ctx_free(CTX);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DIR_);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes src renamed to family as DIR_/name; the asset's path. */
static const char *upload(const char *src, const char *family, const char *name)
{
    static char paths[16][300];
    static int next;
    char *path = paths[next++ % 16];
    snprintf(path, 300, "%s/%s", DIR_, name);
    size_t len;
    unsigned char *d = tu_font_renamed(src, family, &len);
    FILE *f = fopen(path, "wb");
    ck_assert(f && fwrite(d, 1, len, f) == len);
    fclose(f);
    free(d);
    return path;
}

static engine_template_t *compile(const char *layout, const char *family)
{
    json_error_t je;
    json_t *l = json_loads(layout, 0, &je), *issues = NULL;
    ck_assert_msg(l != NULL, "%s", je.text);
    const char *families[] = {family};
    engine_compile_opts_t o = {.families = families, .nfamilies = family ? 1 : 0};
    char err[1000];
    engine_template_t *t = engine_compile_ex(l, NULL, NULL, &o, &issues, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    json_decref(l);
    return t;
}

/* Renders layout with the assets; the PDF (caller frees), or NULL with err. */
static engine_output_t render(const char *layout, const engine_asset_t *assets, size_t n)
{
    engine_template_t *t = compile(layout, "Brand");
    engine_render_opts_t o = {
        .creation_time = 1, .compression = ENGINE_COMPRESS_NONE, .assets = assets, .nassets = n};
    engine_output_t out;
    char err[1000];
    ck_assert_msg(engine_render(CTX, t, NULL, &o, &out, err, sizeof err) == 0, "%s", err);
    engine_template_free(t);
    return out;
}

static bool has(const engine_output_t *pdf, const char *s)
{
    return memmem(pdf->data, pdf->len, s, strlen(s)) != NULL;
}

/* The one-paragraph layout of a text with style properties props ("" or ",\"bold\":true"). */
static char *para(const char *family, const char *text, const char *props)
{
    static char buf[600];
    snprintf(buf, sizeof buf, "{\"body\":[{\"text\":\"%s\",\"font\":\"%s\"%s}]}", text, family, props);
    return buf;
}

START_TEST(faces_are_matched_like_css)
{
    engine_asset_t a[] = {
        {"r", "1", "font", "s1", upload(ROBOTO "Roboto-Regular.ttf", "Brand", "r.ttf"), "Brand"},
        {"b", "2", "font", "s2", upload(ROBOTO "Roboto-Bold.ttf", "Brand", "b.ttf"), "Brand"},
        {"i", "3", "font", "s3", upload(ROBOTO "Roboto-Italic.ttf", "Brand", "i.ttf"), "Brand"},
        {"l", "4", "font", "s4", upload(ROBOTO "Roboto-Light.ttf", "Brand", "l.ttf"), "Brand"},
        {"logo", "5", "image", "s5", "/nonexistent.png", NULL},
    };
    static const struct {
        const char *props, *face;
    } cases[] = {
        {"", "+Roboto-Regular"},
        {",\"bold\":true", "+Roboto-Bold"},
        {",\"italic\":true", "+Roboto-Italic"},
        {",\"weight\":300", "+Roboto-Light"},
        {",\"weight\":200", "+Roboto-Light"},   /* lighter first below 400 */
        {",\"weight\":500", "+Roboto-Regular"}, /* no 500: lighter before heavier */
        {",\"weight\":600", "+Roboto-Bold"},    /* above 500: heavier first */
        {",\"weight\":900", "+Roboto-Bold"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        engine_output_t pdf = render(para("Brand", "Hamburgefonstiv", cases[i].props), a, 5);
        ck_assert_msg(has(&pdf, cases[i].face), "%s: not %s", cases[i].props, cases[i].face);
        static const char *const all[] = {"+Roboto-Regular", "+Roboto-Bold", "+Roboto-Italic",
                                          "+Roboto-Light"};
        for (int k = 0; k < 4; k++)
            if (strcmp(all[k], cases[i].face))
                ck_assert_msg(!has(&pdf, all[k]), "%s: also %s", cases[i].props, all[k]);
        ck_assert_msg(!has(&pdf, "DejaVu"), "%s fell back to DejaVu", cases[i].props);
        engine_output_free(&pdf);
    }
    /* bold italic: the italic face (style before weight), made bold by synthesis */
    engine_output_t pdf = render(para("Brand", "Hamburgefonstiv", ",\"bold\":true,\"italic\":true"), a, 5);
    ck_assert(!has(&pdf, "+Roboto-Bold") && !has(&pdf, "+Roboto-Regular"));
    engine_output_free(&pdf);
}
END_TEST

START_TEST(synthetic_italic_only_without_an_italic_face)
{
    engine_asset_t a[] = {
        {"r", "1", "font", "s1", upload(ROBOTO "Roboto-Regular.ttf", "Brand", "r.ttf"), "Brand"}};
    engine_output_t plain = render(para("Brand", "Hamburgefonstiv", ""), a, 1);
    engine_output_t slanted = render(para("Brand", "Hamburgefonstiv", ",\"italic\":true"), a, 1);
    ck_assert(has(&plain, "+Roboto-Regular") && has(&slanted, "+Roboto-Regular"));
    /* the oblique is a text matrix with a shear (cairo writes "1 0 0.2 1 ..." style Tm) */
    ck_assert(plain.len != slanted.len || memcmp(plain.data, slanted.data, plain.len) != 0);
    engine_output_free(&plain);
    engine_output_free(&slanted);
}
END_TEST

START_TEST(uploaded_family_wins_over_an_installed_one)
{
    engine_asset_t a[] = {
        {"d", "1", "font", "s1", upload(LIBERATION, "DejaVu Sans", "d.ttf"), "DejaVu Sans"},
    };
    json_t *l = json_loads(para("DejaVu Sans", "Hello", ""), 0, NULL);
    char err[1000];
    engine_template_t *t = engine_compile(l, NULL, NULL, NULL, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    engine_render_opts_t o = {
        .creation_time = 1, .compression = ENGINE_COMPRESS_NONE, .assets = a, .nassets = 1};
    engine_output_t with, without;
    ck_assert_msg(engine_render(CTX, t, NULL, &o, &with, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(engine_render(CTX, t, NULL, NULL, &without, err, sizeof err) == 0, "%s", err);
    ck_assert(has(&with, "+LiberationSans") && !has(&with, "+DejaVuSans"));
    ck_assert(has(&without, "+DejaVuSans") && !has(&without, "+LiberationSans"));
    engine_output_free(&with);
    engine_output_free(&without);
    engine_template_free(t);
    json_decref(l);
}
END_TEST

START_TEST(missing_glyphs_fall_back_to_installed_fonts)
{
    engine_asset_t a[] = {
        {"r", "1", "font", "s1", upload(ROBOTO "Roboto-Regular.ttf", "Brand", "r.ttf"), "Brand"}};
    engine_output_t pdf = render(para("Brand", "Total 漢字 ok", ""), a, 1);
    ck_assert(has(&pdf, "+Roboto-Regular"));
    ck_assert_msg(has(&pdf, "NotoSansCJK"), "no CJK fallback");
    engine_output_free(&pdf);
}
END_TEST

START_TEST(same_family_name_in_two_sets_never_mixes)
{
    engine_asset_t a[] = {
        {"a", "1", "font", "s1", upload(ROBOTO "Roboto-Regular.ttf", "Brand", "a.ttf"), "Brand"}};
    engine_asset_t b[] = {{"b", "2", "font", "s2", upload(LIBERATION, "Brand", "b.ttf"), "Brand"}};
    for (int round = 0; round < 2; round++) {
        engine_output_t pa = render(para("Brand", "Hello", ""), a, 1);
        engine_output_t pb = render(para("Brand", "Hello", ""), b, 1);
        ck_assert(has(&pa, "+Roboto-Regular") && !has(&pa, "Liberation"));
        ck_assert(has(&pb, "+LiberationSans") && !has(&pb, "Roboto"));
        engine_output_free(&pa);
        engine_output_free(&pb);
    }
    /* without the files the family does not exist */
    engine_template_t *t = compile(para("Brand", "Hello", ""), "Brand");
    engine_output_t out;
    char err[1000];
    ck_assert_int_eq(engine_render(CTX, t, NULL, NULL, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "\"Brand\" is not installed"), "%s", err);
    engine_template_free(t);
}
END_TEST

START_TEST(compiler_accepts_uploaded_families_only_when_told)
{
    json_t *l =
        json_loads("{\"body\":[{\"text\":\"x\"},{\"text\":\"y\",\"font\":\"brand, sans-serif\"}]}", 0, NULL);
    json_t *issues = NULL;
    char err[1000];
    /* a list that ends in a generic family always has a font */
    engine_template_t *t = engine_compile(l, NULL, NULL, &issues, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    engine_template_free(t);
    json_decref(l);
    l = json_loads("{\"body\":[{\"text\":\"x\"},{\"text\":\"y\",\"font\":\"Brand\"}]}", 0, NULL);
    ck_assert_ptr_null(engine_compile(l, NULL, NULL, &issues, err, sizeof err));
    json_t *fe = json_object_get(issues, "fieldErrors");
    ck_assert_msg(json_object_get(fe, "layout.body.1.font") != NULL, "%s", err);
    json_decref(issues);
    const char *families[] = {"BRAND"};
    engine_compile_opts_t o = {.families = families, .nfamilies = 1};
    t = engine_compile_ex(l, NULL, NULL, &o, &issues, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    const json_t *refs = engine_template_font_refs(t);
    ck_assert_int_eq(json_array_size(refs), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(refs, 0), "family")), "Brand");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(refs, 0), "path")),
                     "layout.body.1.font");
    engine_template_free(t);
    engine_compile_opts_t skip = {.skip_font_check = true};
    t = engine_compile_ex(l, NULL, NULL, &skip, &issues, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    engine_template_free(t);
    json_decref(l);
}
END_TEST

START_TEST(font_sets_are_reused_and_bounded)
{
    fonts_file_t a = {upload(ROBOTO "Roboto-Regular.ttf", "Brand", "a.ttf"), "Brand"};
    fonts_file_t b = {upload(LIBERATION, "Brand", "b.ttf"), "Brand"};
    char err[400];
    size_t sets, bytes, built;
    fontcache_t *c = fontcache_new(0);
    text_t *ta = fontcache_get(c, &a, 1, err, sizeof err);
    ck_assert_msg(ta != NULL, "%s", err);
    ck_assert_ptr_eq(fontcache_get(c, &a, 1, err, sizeof err), ta);
    ck_assert_ptr_ne(fontcache_get(c, &b, 1, err, sizeof err), ta);
    fontcache_stats(c, &sets, &bytes, &built);
    ck_assert_int_eq(sets, 2);
    ck_assert_int_eq(built, 2);
    fontcache_free(c);
    /* a budget below one set keeps only the last one */
    c = fontcache_new(1);
    ck_assert_ptr_nonnull(fontcache_get(c, &a, 1, err, sizeof err));
    ck_assert_ptr_nonnull(fontcache_get(c, &b, 1, err, sizeof err));
    ck_assert_ptr_nonnull(fontcache_get(c, &a, 1, err, sizeof err));
    fontcache_stats(c, &sets, &bytes, &built);
    ck_assert_int_eq(sets, 1);
    ck_assert_int_eq(built, 3);
    /* a file that is not a font */
    char bad_path[300];
    snprintf(bad_path, sizeof bad_path, "%s/bad.ttf", DIR_);
    FILE *f = fopen(bad_path, "w");
    ck_assert(f && fputs("not a font", f) >= 0);
    fclose(f);
    fonts_file_t bad = {bad_path, "Brand"};
    ck_assert_ptr_null(fontcache_get(c, &bad, 1, err, sizeof err));
    ck_assert_msg(strstr(err, "could not be read"), "%s", err);
    fontcache_free(c);
}
END_TEST

/* Debian's python3 with fontTools (scripts/deps: python3-fonttools, python3-brotli) writes src as flavor
 * ("woff" | "woff2") to dst; with a table of extra zero bytes when bomb > 0. */
static void web_font(const char *src, const char *dst, const char *flavor, long bomb)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import sys; from fontTools.ttLib import TTFont, newTable; f = "
             "TTFont(sys.argv[1]);\n"
             "if int(sys.argv[4]):\n t = newTable('zzzz'); t.data = bytes(int(sys.argv[4])); f['zzzz'] = t\n"
             "f.flavor = sys.argv[3]; f.save(sys.argv[2])\" '%s' '%s' %s %ld",
             src, dst, flavor, bomb);
    ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc(*len);
    ck_assert(fread(d, 1, *len, f) == *len);
    fclose(f);
    return d;
}

START_TEST(woff_and_woff2_unpack_to_fonts_that_render)
{
    const char *ttf = upload(ROBOTO "Roboto-Regular.ttf", "Brand", "r.ttf");
    static const char *const flavors[] = {"woff", "woff2"};
    for (int k = 0; k < 2; k++) {
        char web[300], sfnt_path[300];
        snprintf(web, sizeof web, "%s/r.%s", DIR_, flavors[k]);
        web_font(ttf, web, flavors[k], 0);
        size_t len, out_len;
        unsigned char *d = slurp(web, &len), *out;
        ck_assert(woff_is_woff(d, len));
        char err[400];
        ck_assert_msg(woff_to_sfnt(d, len, 20u << 20, &out, &out_len, err, sizeof err) == 0, "%s", err);
        fontprobe_t fp, orig;
        ck_assert_msg(fontprobe(out, out_len, 20u << 20, &fp, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq(fp.family, "Brand");
        ck_assert_str_eq(fp.media_type, "font/ttf");
        /* the upload check unpacks it the same way */
        ck_assert_msg(fontprobe(d, len, 20u << 20, &orig, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq(orig.media_type, k ? "font/woff2" : "font/woff");
        ck_assert_int_eq(orig.glyphs, fp.glyphs);
        snprintf(sfnt_path, sizeof sfnt_path, "%s/unpacked-%d.ttf", DIR_, k);
        FILE *f = fopen(sfnt_path, "wb");
        ck_assert(fwrite(out, 1, out_len, f) == out_len);
        fclose(f);
        engine_asset_t a[] = {{"r", "1", "font", "s1", sfnt_path, "Brand"}};
        engine_output_t pdf = render(para("Brand", "Hamburgefonstiv", ""), a, 1);
        ck_assert_msg(has(&pdf, "+Roboto-Regular"), "%s", flavors[k]);
        engine_output_free(&pdf);
        free(out);
        free(d);
    }
}
END_TEST

START_TEST(woff2_bomb_is_refused)
{
    const char *ttf = upload(ROBOTO "Roboto-Regular.ttf", "Brand", "r.ttf");
    char web[300];
    snprintf(web, sizeof web, "%s/bomb.woff2", DIR_);
    web_font(ttf, web, "woff2", 8L << 20); /* 8 MB of zeros: a few hundred bytes compressed */
    size_t len, out_len;
    unsigned char *d = slurp(web, &len), *out = NULL;
    ck_assert(len < 200000);
    char err[400];
    ck_assert_int_eq(woff_to_sfnt(d, len, 1u << 20, &out, &out_len, err, sizeof err), -1);
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(err, "more than the limit"), "%s", err);
    fontprobe_t fp;
    ck_assert_int_eq(fontprobe(d, len, 1u << 20, &fp, err, sizeof err), -1);
    /* garbage after a valid header, a wrong flavor, a collection */
    memset(d + 48, 0x5a, len - 48);
    ck_assert_int_eq(woff_to_sfnt(d, len, 20u << 20, &out, &out_len, err, sizeof err), -1);
    memcpy(d + 4, "wOFF", 4);
    ck_assert_int_eq(woff_to_sfnt(d, len, 20u << 20, &out, &out_len, err, sizeof err), -1);
    memcpy(d + 4, "ttcf", 4);
    ck_assert_int_eq(woff_to_sfnt(d, len, 20u << 20, &out, &out_len, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "collection"), "%s", err);
    free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine_uploads");
    TCase *tc = tcase_create("uploads");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, faces_are_matched_like_css);
    tcase_add_test(tc, synthetic_italic_only_without_an_italic_face);
    tcase_add_test(tc, uploaded_family_wins_over_an_installed_one);
    tcase_add_test(tc, missing_glyphs_fall_back_to_installed_fonts);
    tcase_add_test(tc, same_family_name_in_two_sets_never_mixes);
    tcase_add_test(tc, compiler_accepts_uploaded_families_only_when_told);
    tcase_add_test(tc, font_sets_are_reused_and_bounded);
    tcase_add_test(tc, woff_and_woff2_unpack_to_fonts_that_render);
    tcase_add_test(tc, woff2_bomb_is_refused);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
