/* Unit tests for src/engine/codes: data validation per kind (table-driven, hostile input),
 * drawing into PNG and PDF surfaces, and decoding the PNGs back with zbarimg (zbar-tools)
 * for the kinds zbar can read (QR, Code 128, EAN-13, Code 39). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>

#include "engine/codes.h"
#include "xorshift.h"
#include "tu.h"

static const struct {
    const char *kind;
    const char *data;
    const char *err; /* NULL: valid */
} check_cases[] = {
    {"qr", "https://example.com/invoice/42", NULL},
    {"qr", "Grüße – 日本語", NULL},
    {"code128", "INV-2026-0001", NULL},
    {"code128", "h\xC3\xA9llo", NULL}, /* é is Latin-1 */
    {"code128", "price \xE2\x82\xAC", "8859-1"},
    {"ean13", "400638133393", NULL},
    {"ean13", "4006381333931", NULL},
    {"ean13", "4006381333932", "check digit should be 1, not 2"},
    {"ean13", "40063813339", "needs 12 digits"},
    {"ean13", "40063813339310", "needs 12 digits"},
    {"ean13", "12345", "needs 12 digits"},
    {"ean13", "40063813339a", "digits only"},
    {"ean13", " 400638133393", "digits only"},
    {"code39", "ABC-123", NULL},
    {"code39", "abc 12.$/+%", NULL},
    {"code39", "ABC_12", "Invalid character"},
    {"datamatrix", "Hello, world! 123", NULL},
    {"datamatrix", "Grüße", NULL},
    {"pdf417", "Hello, world! 123", NULL},
    {"qr", "", "data is empty"},
    {"qr", NULL, "data is empty"},
    {"aztec", "x", "unknown code kind"},
    {"QR", "x", "unknown code kind"},
    {NULL, "x", "unknown code kind"},
    {"datamatrix", "\xFF\xFE invalid utf-8", "UTF-8"},
    {"pdf417", "\xC3", "UTF-8"},
    /* GS1: Application Identifiers in brackets or parentheses, checked by AI */
    {"gs1-128", "[01]09501101530003[17]260630[10]AB-123", NULL},
    {"gs1-128", "(01)09501101530003(17)260630(10)AB-123", NULL},
    {"gs1-datamatrix", "[01]09501101530003[21]SERIAL42", NULL},
    {"gs1-qr", "[01]09501101530003[8200]https://example.com", NULL},
    {"gs1-128", "[01]09501101530004", "gs1-128: AI (01) position 14: Bad checksum '4', expected '3'"},
    {"gs1-datamatrix", "[17]261350", "Invalid month '13'"},
    {"gs1-qr", "[01]0950110153000", "Invalid data length for AI (01)"},
    {"gs1-128", "0109501101530003", "does not start with an AI"},
    {"gs1-128", "[99999]x", "AI"},
};

START_TEST(check_table)
{
    char err[200] = "";
    int rc = codes_check(check_cases[_i].kind, check_cases[_i].data, err, sizeof err);
    if (!check_cases[_i].err) {
        ck_assert_msg(rc == 0, "%s \"%s\": %s", check_cases[_i].kind, check_cases[_i].data, err);
    } else {
        ck_assert_int_eq(rc, -1);
        ck_assert_msg(strstr(err, check_cases[_i].err), "error \"%s\" lacks \"%s\"", err,
                      check_cases[_i].err);
    }
}
END_TEST

START_TEST(too_long_data)
{
    char err[200];
    static char big[5000];
    memset(big, 'a', sizeof big - 1); /* lower case: 8-bit mode, 2,331 bytes at level M */
    ck_assert_int_eq(codes_check("qr", big, err, sizeof err), -1);
    ck_assert(strstr(err, "longer than"));
    big[3000] = 0; /* under our cap, over QR capacity */
    ck_assert_int_eq(codes_check("qr", big, err, sizeof err), -1);
    ck_assert(strstr(err, "too long for a QR code"));
    ck_assert_int_eq(codes_check("code39", big, err, sizeof err), -1);
    ck_assert_int_eq(codes_check("code128", big, err, sizeof err), -1);
    ck_assert_int_eq(codes_check("datamatrix", big, err, sizeof err), -1);
    ck_assert_int_eq(codes_check("pdf417", big, err, sizeof err), -1);
    big[2000] = 0; /* fits a QR code at level M */
    ck_assert_int_eq(codes_check("qr", big, err, sizeof err), 0);
}
END_TEST

/* Draws a code on a white PNG; returns the surface. */
static cairo_surface_t *render_png(const char *kind, const char *data, int w, int h, bool text)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    char err[200] = "";
    int rc = codes_draw(cr, kind, data, 10, 10, w - 20, h - 20, text, err, sizeof err);
    ck_assert_msg(rc == 0, "%s: %s", kind, err);
    ck_assert_int_eq(cairo_status(cr), CAIRO_STATUS_SUCCESS);
    cairo_destroy(cr);
    return s;
}

/* Fraction of dark pixels in a rectangle of the image. */
static double dark_fraction(cairo_surface_t *s, int x0, int y0, int x1, int y1)
{
    cairo_surface_flush(s);
    const unsigned char *px = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    long dark = 0, all = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++, all++)
            if ((((const uint32_t *)(px + y * stride))[x] & 0xFF) < 128)
                dark++;
    return all ? (double)dark / (double)all : 0;
}

static bool have_zbarimg(void)
{
    return system("command -v zbarimg >/dev/null 2>&1") == 0;
}

/* Decodes a PNG with zbarimg; returns the decoded text (static buffer) or NULL. */
static const char *zbar_decode(const char *path)
{
    static char out[4096];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "zbarimg -q --raw '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t n = fread(out, 1, sizeof out - 1, p);
    int status = pclose(p);
    out[n] = 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = 0;
    return status == 0 ? out : NULL;
}

static const struct {
    const char *kind;
    const char *data;
    const char *decoded; /* what a scanner reads back */
    int w, h;
    bool text;
} decode_cases[] = {
    {"qr", "https://example.com/invoice/42?x=1", "https://example.com/invoice/42?x=1", 300, 300, false},
    {"qr", "Grüße aus Köln", "Grüße aus Köln", 300, 200, false},
    {"code128", "INV-2026-0001", "INV-2026-0001", 500, 160, true},
    {"code128", "abc123", "abc123", 500, 120, false},
    {"ean13", "400638133393", "4006381333931", 400, 200, true},
    {"ean13", "5901234123457", "5901234123457", 400, 160, false},
    {"code39", "abc-123", "ABC-123", 500, 160, true},
    /* a scanner reads GS1 element strings without brackets (a variable-length AI that is not
     * last is followed by a GS character) */
    {"gs1-128", "[01]09501101530003[17]260630[10]AB-123",
     "010950110153000317260630"
     "10AB-123",
     600, 160, true},
    {"gs1-qr", "(01)09501101530003(10)AB-123",
     "0109501101530003"
     "10AB-123",
     300, 300, false},
};

START_TEST(draw_and_decode)
{
    cairo_surface_t *s = render_png(decode_cases[_i].kind, decode_cases[_i].data, decode_cases[_i].w,
                                    decode_cases[_i].h, decode_cases[_i].text);
    char path[128];
    snprintf(path, sizeof path, "/tmp/craftkit-codes-%d-%d.png", (int)getpid(), _i);
    ck_assert_int_eq(cairo_surface_write_to_png(s, path), CAIRO_STATUS_SUCCESS);
    if (getenv("CRAFTKIT_KEEP_CODES"))
        fprintf(stderr, "kept %s\n", path);
    /* something was drawn, and the margins outside the box stayed white */
    ck_assert(dark_fraction(s, 10, 10, decode_cases[_i].w - 10, decode_cases[_i].h - 10) > 0.1);
    ck_assert(dark_fraction(s, 0, 0, decode_cases[_i].w, 10) == 0);
    if (have_zbarimg()) {
        const char *got = zbar_decode(path);
        ck_assert_msg(got != NULL, "zbarimg could not read %s", path);
        ck_assert_str_eq(got, decode_cases[_i].decoded);
    } else {
        fprintf(stderr, "test_codes: zbarimg not installed (scripts/deps), decode check skipped\n");
    }
    if (!getenv("CRAFTKIT_KEEP_CODES"))
        unlink(path);
    cairo_surface_destroy(s);
}
END_TEST

/* 2-D codes keep their aspect (square QR in a wide box is centred with blank sides); 1-D
 * codes use the box's height. */
START_TEST(geometry)
{
    cairo_surface_t *s = render_png("qr", "hello", 420, 220, false);
    /* box 400x200 at (10,10): QR occupies the centre 200x200 (x 110..310) */
    ck_assert(dark_fraction(s, 10, 10, 105, 210) == 0);
    ck_assert(dark_fraction(s, 315, 10, 410, 210) == 0);
    ck_assert(dark_fraction(s, 110, 10, 310, 210) > 0.2);
    cairo_surface_destroy(s);

    s = render_png("datamatrix", "hello", 220, 420, false);
    ck_assert(dark_fraction(s, 10, 10, 210, 105) == 0);
    ck_assert(dark_fraction(s, 10, 315, 210, 410) == 0);
    cairo_surface_destroy(s);

    s = render_png("code128", "hello", 420, 320, false);
    /* tall bars: dark pixels near the top and the bottom of the box */
    ck_assert(dark_fraction(s, 10, 20, 410, 40) > 0.2);
    ck_assert(dark_fraction(s, 10, 280, 410, 300) > 0.2);
    cairo_surface_destroy(s);

    s = render_png("code128", "hello", 420, 320, true);
    ck_assert(dark_fraction(s, 10, 20, 410, 40) > 0.2);
    cairo_surface_destroy(s);

    /* a very flat box still gives a symbol (bars at their minimum height, centred) */
    s = render_png("code39", "FLAT", 400, 40, true);
    ck_assert(dark_fraction(s, 150, 10, 250, 30) > 0.1);
    ck_assert(dark_fraction(s, 10, 10, 100, 30) == 0);
    cairo_surface_destroy(s);
}
END_TEST

static cairo_status_t count_bytes(void *closure, const unsigned char *data, unsigned int len)
{
    *(size_t *)closure += len;
    return CAIRO_STATUS_SUCCESS;
}

/* PDF output is vector: small, and the same size whatever the box. */
START_TEST(pdf_is_vector)
{
    const char *kinds[] = {"qr", "code128", "ean13", "code39", "datamatrix", "pdf417"};
    const char *data[] = {"hello", "hello", "400638133393", "HELLO", "hello", "hello"};
    for (size_t i = 0; i < 6; i++) {
        size_t small = 0, large = 0;
        for (int pass = 0; pass < 2; pass++) {
            cairo_surface_t *s =
                cairo_pdf_surface_create_for_stream(count_bytes, pass ? &large : &small, 595, 842);
            cairo_t *cr = cairo_create(s);
            double side = pass ? 500 : 50;
            char err[200];
            ck_assert_msg(codes_draw(cr, kinds[i], data[i], 20, 20, side, side / 2, true, err, sizeof err) ==
                              0,
                          "%s: %s", kinds[i], err);
            cairo_destroy(cr);
            cairo_surface_destroy(s);
        }
        ck_assert_msg(small < 40000 && large < 40000, "%s: %zu / %zu bytes", kinds[i], small, large);
        ck_assert_msg(large < small + 400, "%s grew with the box: %zu -> %zu", kinds[i], small, large);
    }
}
END_TEST

START_TEST(draw_rejects_bad_input)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 50, 50);
    cairo_t *cr = cairo_create(s);
    char err[200];
    ck_assert_int_eq(codes_draw(cr, "qr", "x", 0, 0, 0, 10, false, err, sizeof err), -1);
    ck_assert(strstr(err, "positive"));
    ck_assert_int_eq(codes_draw(cr, "qr", "x", 0, 0, -5, 10, false, err, sizeof err), -1);
    ck_assert_int_eq(codes_draw(cr, "qr", "x", 0, 0, 10, NAN, false, err, sizeof err), -1);
    ck_assert_int_eq(codes_draw(cr, "qr", "x", INFINITY, 0, 10, 10, false, err, sizeof err), -1);
    ck_assert_int_eq(codes_draw(cr, "ean13", "123", 0, 0, 10, 10, true, err, sizeof err), -1);
    ck_assert_int_eq(codes_draw(NULL, "qr", "x", 0, 0, 10, 10, false, err, sizeof err), -1);
    ck_assert_int_eq(codes_draw(cr, "nope", "x", 0, 0, 10, 10, false, NULL, 0), -1);
    /* tiny and huge boxes draw without error */
    ck_assert_int_eq(codes_draw(cr, "code128", "x", 0, 0, 0.01, 0.01, true, err, sizeof err), 0);
    ck_assert_int_eq(codes_draw(cr, "code128", "x", 0, 0, 1e6, 1e-3, true, err, sizeof err), 0);
    ck_assert_int_eq(codes_draw(cr, "ean13", "400638133393", 0, 0, 1e-3, 1e6, true, err, sizeof err), 0);
    ck_assert_int_eq(cairo_status(cr), CAIRO_STATUS_SUCCESS);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}
END_TEST

/* Random data for every kind: codes_check and codes_draw agree, and nothing crashes. */
START_TEST(random_data)
{
    uint64_t st = 0x853C49E6748FEA9Bull;
    const char *kinds[] = {"qr", "code128", "ean13", "code39", "datamatrix", "pdf417"};
    static const char *const pieces[] = {"0",
                                         "12345",
                                         "400638133393",
                                         "A",
                                         "z",
                                         " ",
                                         "-",
                                         "$",
                                         "%",
                                         "\xC3\xA9",
                                         "\xE2\x82\xAC",
                                         "\xFF",
                                         "\x01",
                                         "\x7F",
                                         "\xF0\x9F\x98\x80",
                                         "https://example.com/?q=",
                                         "\t"};
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 120, 60);
    cairo_t *cr = cairo_create(s);
    char data[256], err[200];
    for (int i = 0; i < 600; i++) {
        size_t n = 0;
        data[0] = 0;
        int parts = 1 + (int)(st % 12);
        for (int p = 0; p < parts; p++) {
            const char *piece = pieces[xorshift_next(&st) % (sizeof pieces / sizeof pieces[0])];
            if (n + strlen(piece) >= sizeof data)
                break;
            strcpy(data + n, piece);
            n += strlen(piece);
        }
        const char *kind = kinds[i % 6];
        int ok = codes_check(kind, data, err, sizeof err);
        int drawn = codes_draw(cr, kind, data, 0, 0, 120, 60, i % 2, err, sizeof err);
        ck_assert_msg(ok == drawn, "%s \"%s\": check %d but draw %d (%s)", kind, data, ok, drawn, err);
    }
    ck_assert_int_eq(cairo_status(cr), CAIRO_STATUS_SUCCESS);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}
END_TEST

static Suite *codes_suite(void)
{
    Suite *s = suite_create("codes");
    TCase *t = tcase_create("codes");
    tcase_add_loop_test(t, check_table, 0, sizeof check_cases / sizeof check_cases[0]);
    tcase_add_test(t, too_long_data);
    tcase_add_loop_test(t, draw_and_decode, 0, sizeof decode_cases / sizeof decode_cases[0]);
    tcase_add_test(t, geometry);
    tcase_add_test(t, pdf_is_vector);
    tcase_add_test(t, draw_rejects_bad_input);
    tcase_add_test(t, random_data);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run(codes_suite());
}
