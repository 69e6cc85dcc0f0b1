/* Unit tests for what POST /v1/assets checks before anything is stored: the multipart parser
 * (http/multipart), font checks (engine/fontprobe: formats, collections, truncation, no Unicode
 * cmap, WOFF2 decompression bombs) and image checks (engine/image: image_probe, with SVG that
 * must be self-contained and a header claiming 50,000×50,000 pixels). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fontprobe.h"
#include "engine/image.h"
#include "http/multipart.h"
#include "tu.h"

#define DEJAVU "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define DEJAVU_BOLD "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
#define NOTO_TTC "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc((size_t)n);
    ck_assert(fread(d, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return d;
}

/* ---- multipart ---- */

#define CT "multipart/form-data; boundary=XyZ"

static int parse(const char *ct, const char *body, multipart_part_t *parts, int *n, char *err)
{
    return multipart_parse(ct, body, strlen(body), parts, MULTIPART_MAX_PARTS, n, err, 256);
}

START_TEST(multipart_file_and_name)
{
    const char *body = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"logo.png\"\r\n"
                       "Content-Type: image/png\r\n\r\nAB\r\nCD\r\n--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"name\"\r\n\r\nmy logo\r\n--XyZ--\r\n";
    multipart_part_t parts[MULTIPART_MAX_PARTS];
    int n = 0;
    char err[256] = "";
    ck_assert_msg(parse(CT, body, parts, &n, err) == 0, "%s", err);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(parts[0].name, "file");
    ck_assert(parts[0].has_filename);
    ck_assert_str_eq(parts[0].filename, "logo.png");
    ck_assert_str_eq(parts[0].content_type, "image/png");
    ck_assert_int_eq(parts[0].len, 6);
    ck_assert(memcmp(parts[0].data, "AB\r\nCD", 6) == 0);
    ck_assert_str_eq(parts[1].name, "name");
    ck_assert(!parts[1].has_filename);
    ck_assert_int_eq(parts[1].len, 7);
    /* a quoted boundary and a preamble */
    const char *b2 =
        "preamble\r\n--a b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
        "1\r\n--a b--";
    ck_assert_msg(parse("multipart/form-data; boundary=\"a b\"", b2, parts, &n, err) == 0, "%s", err);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(parts[0].len, 1);
}
END_TEST

START_TEST(multipart_refusals)
{
    multipart_part_t parts[MULTIPART_MAX_PARTS];
    int n = 0;
    char err[256];
    const char *ok_part =
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nA\r\n";
    ck_assert_int_eq(parse("multipart/form-data", "--XyZ--", parts, &n, err), -1);
    ck_assert_msg(strstr(err, "no boundary") != NULL, "%s", err);
    ck_assert_int_eq(parse("application/json", "{}", parts, &n, err), -1);
    ck_assert_int_eq(parse(CT, "nothing here", parts, &n, err), -1);
    ck_assert_msg(strstr(err, "does not contain its boundary") != NULL, "%s", err);
    ck_assert_int_eq(parse(CT, ok_part, parts, &n, err), -1); /* no closing boundary */
    ck_assert_msg(strstr(err, "closing boundary") != NULL, "%s", err);
    ck_assert_int_eq(parse(CT, "--XyZ\r\nContent-Type: text/plain\r\n\r\nA\r\n--XyZ--", parts, &n, err), -1);
    ck_assert_msg(strstr(err, "Content-Disposition") != NULL, "%s", err);
    ck_assert_int_eq(parse(CT, "--XyZ\r\nContent-Disposition: form-data\r\n\r\nA\r\n--XyZ--", parts, &n, err),
                     -1);
    ck_assert_int_eq(parse(CT, "--XyZ--", parts, &n, err), -1);
    ck_assert_msg(strstr(err, "no parts") != NULL, "%s", err);
    /* more parts than allowed */
    char many[4096] = "";
    for (int i = 0; i <= MULTIPART_MAX_PARTS; i++)
        strcat(many, ok_part);
    strcat(many, "--XyZ--");
    ck_assert_int_eq(parse(CT, many, parts, &n, err), -1);
    ck_assert_msg(strstr(err, "more than") != NULL, "%s", err);
    /* headers without an end, longer than the cap */
    size_t big = MULTIPART_HEADERS_MAX + 200;
    char *h = malloc(big + 64);
    strcpy(h, "--XyZ\r\nX-Filler: ");
    memset(h + strlen(h), 'x', big);
    h[17 + big] = '\0';
    strcat(h, "\r\n--XyZ--");
    ck_assert_int_eq(parse(CT, h, parts, &n, err), -1);
    free(h);
    /* a boundary longer than RFC 2046 allows */
    char ct[200];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%0*d", MULTIPART_BOUNDARY_MAX + 1, 0);
    ck_assert_int_eq(parse(ct, "x", parts, &n, err), -1);
}
END_TEST

/* ---- fonts ---- */

START_TEST(font_described)
{
    size_t len;
    unsigned char *d = slurp(DEJAVU_BOLD, &len);
    fontprobe_t fp;
    char err[300] = "";
    ck_assert(fontprobe_is_font(d, len));
    ck_assert_msg(fontprobe(d, len, 20u << 20, &fp, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(fp.media_type, "font/ttf");
    ck_assert_str_eq(fp.family, "DejaVu Sans");
    ck_assert_str_eq(fp.style, "Bold");
    ck_assert_int_eq(fp.weight, 700);
    ck_assert_str_eq(fp.stretch, "normal");
    ck_assert(!fp.italic);
    ck_assert(fp.glyphs > 1000);
    free(d);
}
END_TEST

START_TEST(font_collection_refused)
{
    size_t len;
    unsigned char *d = slurp(NOTO_TTC, &len);
    fontprobe_t fp;
    char err[300] = "";
    ck_assert_int_eq(fontprobe(d, len, 64u << 20, &fp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "font collection") != NULL, "%s", err);
    free(d);
}
END_TEST

START_TEST(font_truncated_or_corrupt_refused)
{
    size_t len;
    unsigned char *d = slurp(DEJAVU, &len);
    fontprobe_t fp;
    char err[300] = "";
    ck_assert_int_eq(fontprobe(d, len / 2, 20u << 20, &fp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "truncated") != NULL, "%s", err);
    ck_assert_int_eq(fontprobe(d, 10, 20u << 20, &fp, err, sizeof err), -1);
    /* a table directory that points past the end */
    unsigned char *c = malloc(len);
    memcpy(c, d, len);
    c[12 + 8] = 0x7F; /* first table's offset */
    ck_assert_int_eq(fontprobe(c, len, 20u << 20, &fp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "damaged") != NULL, "%s", err);
    /* glyph data overwritten with noise */
    memcpy(c, d, len);
    unsigned n = (unsigned)(c[4] << 8 | c[5]);
    for (unsigned i = 0; i < n; i++) {
        unsigned char *r = c + 12 + i * 16;
        if (!memcmp(r, "loca", 4) || !memcmp(r, "glyf", 4)) {
            uint32_t off = (uint32_t)r[8] << 24 | (uint32_t)r[9] << 16 | (uint32_t)r[10] << 8 | r[11];
            uint32_t tl = (uint32_t)r[12] << 24 | (uint32_t)r[13] << 16 | (uint32_t)r[14] << 8 | r[15];
            memset(c + off, 0xFF, tl);
        }
    }
    ck_assert_int_eq(fontprobe(c, len, 20u << 20, &fp, err, sizeof err), -1);
    /* not a font at all */
    ck_assert(!fontprobe_is_font((const unsigned char *)"hello", 5));
    ck_assert_int_eq(fontprobe((const unsigned char *)"hello", 5, 1000, &fp, err, sizeof err), -1);
    free(c);
    free(d);
}
END_TEST

START_TEST(font_without_unicode_cmap_refused)
{
    size_t len;
    unsigned char *d = slurp(DEJAVU, &len);
    fontprobe_t fp;
    char err[300] = "";
    unsigned n = (unsigned)(d[4] << 8 | d[5]);
    unsigned char *cmap_entry = NULL;
    for (unsigned i = 0; i < n; i++)
        if (!memcmp(d + 12 + i * 16, "cmap", 4))
            cmap_entry = d + 12 + i * 16;
    ck_assert(cmap_entry != NULL);
    /* every encoding record becomes an Apple Roman one (platform 1, encoding 0) */
    uint32_t off = (uint32_t)cmap_entry[8] << 24 | (uint32_t)cmap_entry[9] << 16 |
                   (uint32_t)cmap_entry[10] << 8 | cmap_entry[11];
    unsigned char *cmap = d + off;
    unsigned records = (unsigned)(cmap[2] << 8 | cmap[3]);
    for (unsigned i = 0; i < records; i++) {
        unsigned char *r = cmap + 4 + i * 8;
        r[0] = 0, r[1] = 1, r[2] = 0, r[3] = 0;
    }
    ck_assert_int_eq(fontprobe(d, len, 20u << 20, &fp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "Unicode") != NULL, "%s", err);
    /* and no cmap table at all */
    memcpy(cmap_entry, "xmap", 4);
    ck_assert_int_eq(fontprobe(d, len, 20u << 20, &fp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "character map") != NULL, "%s", err);
    free(d);
}
END_TEST

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
    p[3] = (unsigned char)v;
}

START_TEST(woff2_bomb_refused_before_inflating)
{
    unsigned char w[256] = {0};
    memcpy(w, "wOF2", 4);
    put32(w + 4, 0x00010000u);
    put32(w + 8, sizeof w);
    w[12] = 0, w[13] = 1;       /* numTables */
    put32(w + 16, 0xFFFFFF00u); /* totalSfntSize: ~4 GB */
    fontprobe_t fp;
    char err[300] = "";
    ck_assert_int_eq(fontprobe(w, sizeof w, 20u << 20, &fp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "decompress") != NULL, "%s", err);
    /* a header that says the file is longer than it is */
    put32(w + 8, 100000);
    ck_assert_int_eq(fontprobe(w, sizeof w, 20u << 20, &fp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "truncated") != NULL, "%s", err);
    /* a WOFF collection */
    memcpy(w, "wOFF", 4);
    memcpy(w + 4, "ttcf", 4);
    put32(w + 8, sizeof w);
    ck_assert_int_eq(fontprobe(w, sizeof w, 20u << 20, &fp, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "collection") != NULL, "%s", err);
}
END_TEST

/* ---- images ---- */

static int probe_str(const char *s, char *err)
{
    const char *mt;
    double w, h;
    return image_probe((const uint8_t *)s, strlen(s), &mt, &w, &h, err, 300);
}

START_TEST(svg_must_be_self_contained)
{
    char err[300] = "";
    const char *mt;
    double w = 0, h = 0;
    const char *ok =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"20\"><defs><linearGradient "
        "id=\"g\"/></defs><rect fill=\"url(#g)\" width=\"40\" height=\"20\"/></svg>";
    ck_assert_msg(image_probe((const uint8_t *)ok, strlen(ok), &mt, &w, &h, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(mt, "image/svg+xml");
    ck_assert(w == 40 && h == 20);
    ck_assert_int_eq(
        probe_str("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>", err), -1);
    ck_assert_msg(strstr(err, "script") != NULL, "%s", err);
    ck_assert_int_eq(
        probe_str("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect onload =\"x()\"/></svg>", err), -1);
    ck_assert_int_eq(
        probe_str("<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">"
                  "<image xlink:href=\"https://example.com/a.png\"/></svg>",
                  err),
        -1);
    ck_assert_msg(strstr(err, "external reference") != NULL, "%s", err);
    ck_assert_int_eq(
        probe_str("<svg xmlns=\"http://www.w3.org/2000/svg\"><use href = 'file:///etc/passwd'/></svg>", err),
        -1);
    ck_assert_int_eq(
        probe_str("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect style=\"fill:url(http://x/y)\"/></svg>",
                  err),
        -1);
    /* XML allows any blanks around '=' (tabs, line breaks): they must not hide a handler or a reference */
    ck_assert_int_eq(
        probe_str("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect onload\n=\"x()\"/></svg>", err), -1);
    ck_assert_msg(strstr(err, "event handler") != NULL, "%s", err);
    ck_assert_int_eq(
        probe_str("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect onload\t\r\n =\"x()\"/></svg>", err), -1);
    ck_assert_int_eq(
        probe_str("<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">"
                  "<image xlink:href\n=\n\"https://example.com/a.png\"/></svg>",
                  err),
        -1);
    ck_assert_msg(strstr(err, "external reference") != NULL, "%s", err);
    ck_assert_int_eq(
        probe_str(
            "<svg xmlns=\"http://www.w3.org/2000/svg\"><image src\t=\"https://example.com/a.png\"/></svg>",
            err),
        -1);
    /* a CSS escape spelling url( */
    ck_assert_int_eq(
        probe_str("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect style=\"fill:u\\72l(http://x/y)\"/></svg>",
                  err),
        -1);
    ck_assert_int_eq(probe_str("<svg xmlns=\"http://www.w3.org/2000/svg\"><foreignObject/></svg>", err), -1);
    ck_assert_int_eq(
        probe_str("<!DOCTYPE svg [<!ENTITY a \"b\">]><svg xmlns=\"http://www.w3.org/2000/svg\"/>", err), -1);
    ck_assert_int_eq(probe_str("hello", err), -1);
    ck_assert_str_eq(err, "is not a PNG, JPEG or SVG image");
}
END_TEST

START_TEST(image_claiming_huge_size_refused)
{
    /* a PNG signature and an IHDR saying 50,000 x 50,000 */
    uint8_t png[64] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    put32(png + 16, 50000);
    put32(png + 20, 50000);
    const char *mt;
    double w, h;
    char err[300] = "";
    ck_assert_int_eq(image_probe(png, sizeof png, &mt, &w, &h, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "50000x50000") != NULL, "%s", err);
    /* a truncated PNG with a sane header */
    put32(png + 16, 10);
    put32(png + 20, 10);
    ck_assert_int_eq(image_probe(png, sizeof png, &mt, &w, &h, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "could not be decoded") != NULL, "%s", err);
}
END_TEST

static Suite *assets_suite(void)
{
    Suite *s = suite_create("assets");
    TCase *tc = tcase_create("checks");
    tcase_add_test(tc, multipart_file_and_name);
    tcase_add_test(tc, multipart_refusals);
    tcase_add_test(tc, font_described);
    tcase_add_test(tc, font_collection_refused);
    tcase_add_test(tc, font_truncated_or_corrupt_refused);
    tcase_add_test(tc, font_without_unicode_cmap_refused);
    tcase_add_test(tc, woff2_bomb_refused_before_inflating);
    tcase_add_test(tc, svg_must_be_self_contained);
    tcase_add_test(tc, image_claiming_huge_size_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(assets_suite());
}
