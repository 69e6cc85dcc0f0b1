/* Unit tests for src/engine/image: PNG/JPEG/SVG from data: URIs, assets and a local stub HTTP
 * server (200, 404, slow, huge, redirect, mislabelled), size and pixel caps, the SSRF guard,
 * the LRU cache, fit modes, and JPEG pass-through into PDF. Fixtures are generated here. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <curl/curl.h>
#include <glib.h>
#include <jpeglib.h>

#include "core/buf.h"
#include "engine/image.h"
#include "stub_http.h"
#include "xorshift.h"
#include "tu.h"

/* ---- fixtures ---- */

/* A w×h PNG; the left half red, the right half blue. */
static tu_bytes_t make_png(int w, int h)
{
    tu_bytes_t b = {0};
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 0, 0, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 1, 0, 0);
    cairo_rectangle(cr, 0, 0, w / 2.0, h);
    cairo_fill(cr);
    cairo_destroy(cr);
    cairo_surface_write_to_png_stream(s, tu_bytes_append, &b);
    cairo_surface_destroy(s);
    return b;
}

typedef void (*jpeg_row_fn)(unsigned char *row, int w, int y, int h, int components);

/* Encodes a w×h JPEG whose rows fill_row paints, with an optional APP1 marker (EXIF). */
static tu_bytes_t encode_jpeg(int w, int h, int components, jpeg_row_fn fill_row, const unsigned char *app1,
                              unsigned app1_len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *out = NULL;
    unsigned long out_len = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &out_len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = components;
    c.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (app1)
        jpeg_write_marker(&c, JPEG_APP0 + 1, app1, app1_len);
    unsigned char *row = malloc((size_t)w * (size_t)components);
    while (c.next_scanline < c.image_height) {
        fill_row(row, w, (int)c.next_scanline, h, components);
        JSAMPROW r[1] = {row};
        jpeg_write_scanlines(&c, r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return (tu_bytes_t){out, out_len};
}

static void uniform_row(unsigned char *row, int w, int y, int h, int components)
{
    (void)y, (void)h;
    for (int x = 0; x < w; x++) {
        unsigned char *px = row + x * components;
        if (components == 1)
            px[0] = 200;
        else if (components == 3)
            px[0] = 0, px[1] = 160, px[2] = 0; /* green */
        else
            px[0] = 0, px[1] = 160, px[2] = 0, px[3] = 255; /* Adobe-inverted (255 = no ink): green */
    }
}

/* A w×h JPEG with 1, 3 or 4 (Adobe CMYK) components, uniformly coloured. */
static tu_bytes_t make_jpeg(int w, int h, int components)
{
    return encode_jpeg(w, h, components, uniform_row, NULL, 0);
}

/* Top-left quarter green, bottom-left red, right half blue. */
static void quarters_row(unsigned char *row, int w, int y, int h, int components)
{
    (void)components;
    bool top = y < h / 2;
    for (int x = 0; x < w; x++) {
        unsigned char *px = row + x * 3;
        bool left = x < w / 2;
        px[0] = left && !top ? 255 : 0, px[1] = left && top ? 255 : 0, px[2] = left ? 0 : 255;
    }
}

/* A w×h RGB JPEG of quarters_row, tagged with EXIF orientation o (0: no EXIF at all).
 * big_endian picks the "MM" byte order, else "II". */
static tu_bytes_t make_jpeg_oriented(int w, int h, int o, bool big_endian)
{
    /* "Exif\0\0", TIFF header, IFD0 at 8 with one entry: Orientation (0x0112), SHORT, 1. */
    unsigned char exif[6 + 8 + 2 + 12 + 4] = "Exif\0\0";
    unsigned char *t = exif + 6;
    if (big_endian) {
        memcpy(t, "MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01", 18);
        t[18] = 0, t[19] = (unsigned char)o;
    } else {
        memcpy(t, "II\x2a\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0", 18);
        t[18] = (unsigned char)o, t[19] = 0;
    }
    return encode_jpeg(w, h, 3, quarters_row, o ? exif : NULL, sizeof exif);
}

static const char svg_text[] =
    "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"60\">"
    "<rect x=\"0\" y=\"0\" width=\"120\" height=\"60\" fill=\"#ff0000\"/></svg>";

/* data:<type>;base64,<b64> (caller frees). */
static char *data_uri(const char *type, const void *data, size_t len)
{
    gchar *b64 = g_base64_encode(data, len);
    size_t n = strlen(type) + strlen(b64) + 32;
    char *uri = malloc(n);
    snprintf(uri, n, "data:%s;base64,%s", type, b64);
    g_free(b64);
    return uri;
}

/* ---- helpers ---- */

static image_loader_t *loader(bool allow_private, size_t max_bytes, int timeout_ms, const char *assets)
{
    image_loader_opts_t o = {timeout_ms, max_bytes, allow_private, assets};
    image_loader_t *l = image_loader_new(&o);
    ck_assert_ptr_nonnull(l);
    return l;
}

static image_t *load_ok(image_loader_t *l, const char *src)
{
    image_t *img = NULL;
    char err[256] = "";
    int rc = image_load(l, src, &img, err, sizeof err);
    ck_assert_msg(rc == 0, "loading %.80s failed: %s", src, err);
    ck_assert_ptr_nonnull(img);
    return img;
}

static void load_fails(image_loader_t *l, const char *src, const char *want)
{
    image_t *img = (image_t *)1;
    char err[256] = "";
    int rc = image_load(l, src ? src : NULL, &img, err, sizeof err);
    ck_assert_msg(rc == -1, "loading %.80s should fail with \"%s\"", src ? src : "(null)", want);
    ck_assert_ptr_null(img);
    ck_assert_msg(strstr(err, want), "error \"%s\" lacks \"%s\"", err, want);
}

static uint32_t pixel(cairo_surface_t *s, int x, int y)
{
    cairo_surface_flush(s);
    const unsigned char *p = cairo_image_surface_get_data(s) + y * cairo_image_surface_get_stride(s);
    return ((const uint32_t *)p)[x] & 0xFFFFFF;
}

static bool near(uint32_t px, uint32_t want)
{
    for (int shift = 0; shift < 24; shift += 8) {
        int a = (int)(px >> shift & 0xFF), b = (int)(want >> shift & 0xFF);
        if (abs(a - b) > 40)
            return false;
    }
    return true;
}

#define WHITE 0xFFFFFFu
#define RED 0xFF0000u
#define BLUE 0x0000FFu
#define GREEN 0x00A000u
#define GREEN_FULL 0x00FF00u

/* Draws img into a 100×100 white surface at (10,10,80,80). */
static cairo_surface_t *draw_box(const image_t *img, image_fit_t fit)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 100, 100);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    image_draw(img, cr, 10, 10, 80, 80, fit);
    ck_assert_int_eq(cairo_status(cr), CAIRO_STATUS_SUCCESS);
    cairo_destroy(cr);
    return s;
}

/* ---- data: URIs and decoding ---- */

START_TEST(png_jpeg_svg_from_data_uris)
{
    image_loader_t *l = loader(false, 0, 0, NULL);
    tu_bytes_t png = make_png(40, 20);
    char *uri = data_uri("image/png", png.data, png.len);
    image_t *img = load_ok(l, uri);
    double w, h;
    image_size(img, &w, &h);
    ck_assert_double_eq_tol(w, 30, 1e-9); /* 40 px at 96 dpi = 30 pt */
    ck_assert_double_eq_tol(h, 15, 1e-9);
    image_unref(img);
    free(uri);
    free(png.data);

    const int comps[] = {1, 3, 4};
    const uint32_t colours[] = {0xC8C8C8u, GREEN, GREEN};
    for (int i = 0; i < 3; i++) {
        tu_bytes_t jpg = make_jpeg(64, 32, comps[i]);
        uri = data_uri("image/jpeg", jpg.data, jpg.len);
        img = load_ok(l, uri);
        image_size(img, &w, &h);
        ck_assert_double_eq_tol(w, 48, 1e-9);
        ck_assert_double_eq_tol(h, 24, 1e-9);
        cairo_surface_t *s = draw_box(img, IMAGE_FIT_FILL);
        ck_assert_msg(near(pixel(s, 50, 50), colours[i]), "%d components: got %06x", comps[i],
                      pixel(s, 50, 50));
        cairo_surface_destroy(s);
        image_unref(img);
        free(uri);
        free(jpg.data);
    }

    uri = data_uri("image/svg+xml", svg_text, strlen(svg_text));
    img = load_ok(l, uri);
    image_size(img, &w, &h);
    ck_assert_double_eq_tol(w, 90, 1e-9);
    ck_assert_double_eq_tol(h, 45, 1e-9);
    cairo_surface_t *s = draw_box(img, IMAGE_FIT_FILL);
    ck_assert(near(pixel(s, 50, 50), RED));
    cairo_surface_destroy(s);
    image_unref(img);
    free(uri);
    image_loader_free(l);
}
END_TEST

START_TEST(svg_sizes)
{
    static const struct {
        const char *svg;
        double w, h; /* pt */
    } cases[] = {
        {"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 200 100\"/>", 150, 75},
        {"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", 225, 112.5},
        {"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"2in\" height=\"1in\"/>", 144, 72},
        {"\xEF\xBB\xBF  <!-- logo -->\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10mm\" "
         "height=\"10mm\"/>",
         28.3464566929, 28.3464566929},
    };
    image_loader_t *l = loader(false, 0, 0, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *uri = data_uri("image/svg+xml", cases[i].svg, strlen(cases[i].svg));
        image_t *img = load_ok(l, uri);
        double w, h;
        image_size(img, &w, &h);
        ck_assert_double_eq_tol(w, cases[i].w, 1e-6);
        ck_assert_double_eq_tol(h, cases[i].h, 1e-6);
        image_unref(img);
        free(uri);
    }
    image_loader_free(l);
}
END_TEST

static const struct {
    const char *src;
    const char *err;
} bad_sources[] = {
    {"", "not a valid image source"},
    {"ftp://example.com/a.png", "not a valid image source"},
    {"file:///etc/passwd", "not a valid image source"},
    {"javascript:alert(1)", "not a valid image source"},
    {"/etc/passwd", "not a valid image source"},
    {"https://user:pw@example.com/a.png", "not a valid image URL"},
    {"https://exa mple.com/a.png", "not a valid image URL"},
    {"http:///a.png", "not a valid image URL"},
    {"data:image/png,abc", "not a valid data URI"},
    {"data:text/html;base64,PGh0bWw+", "not a valid data URI"},
    {"data:image/png;base64", "not a valid data URI"},
    {"data:image/png;base64,@@@@", "bad base64"},
    {"data:image/png;base64,AAA=A", "bad base64"},
    {"data:image/png;base64,A", "bad base64"},
    {"data:image/png;base64,", "not a PNG, JPEG or SVG"},
    {"data:image/png;base64,aGVsbG8gd29ybGQ=", "not a PNG, JPEG or SVG"},     /* hello world */
    {"data:image/gif;base64,R0lGODlhAQABAAAAACw=", "not a PNG, JPEG or SVG"}, /* GIF */
    {"data:image/png;base64,iVBORw0KGgo=", "PNG header is missing"},          /* signature only */
    {"data:image/jpeg;base64,/9j/AAAA", "could not be decoded"},              /* SOI + junk */
    {"data:image/svg+xml;base64,PHN2ZyA8PjwvZz4=", "could not be decoded"},   /* <svg <></g> */
    {"asset:logo.png", "no assets directory"},
};

START_TEST(bad_source_table)
{
    image_loader_t *l = loader(false, 0, 0, NULL);
    load_fails(l, bad_sources[_i].src, bad_sources[_i].err);
    image_loader_free(l);
}
END_TEST

START_TEST(null_source_and_loader)
{
    image_loader_t *l = loader(false, 0, 0, NULL);
    load_fails(l, NULL, "empty");
    image_t *img;
    char err[100];
    ck_assert_int_eq(image_load(NULL, "asset:x", &img, err, sizeof err), -1);
    image_loader_free(l);
    image_loader_free(NULL);
    image_unref(NULL);
    image_ref(NULL);
    double w = 1, h = 1;
    image_size(NULL, &w, &h);
    ck_assert(w == 0 && h == 0);
    image_draw(NULL, NULL, 0, 0, 1, 1, IMAGE_FIT_FILL);
}
END_TEST

/* A PNG header claiming 20000×20000 with nothing behind it. */
static tu_bytes_t png_bomb_header(uint32_t w, uint32_t h)
{
    tu_bytes_t png = make_png(2, 2);
    png.data[16] = (unsigned char)(w >> 24), png.data[17] = (unsigned char)(w >> 16);
    png.data[18] = (unsigned char)(w >> 8), png.data[19] = (unsigned char)w;
    png.data[20] = (unsigned char)(h >> 24), png.data[21] = (unsigned char)(h >> 16);
    png.data[22] = (unsigned char)(h >> 8), png.data[23] = (unsigned char)h;
    return png;
}

START_TEST(pixel_caps)
{
    image_loader_t *l = loader(false, 0, 0, NULL);
    const uint32_t dims[][2] = {{20000, 20000}, {10001, 1}, {1, 10001},
                                {8000, 8000},   {0, 10},    {0xFFFFFFFF, 1}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        tu_bytes_t png = png_bomb_header(dims[i][0], dims[i][1]);
        char *uri = data_uri("image/png", png.data, png.len);
        load_fails(l, uri, "is too large");
        free(uri);
        free(png.data);
    }
    /* a real, well-compressed 10001×1 PNG and an oversized JPEG */
    tu_bytes_t png = make_png(10001, 1);
    char *uri = data_uri("image/png", png.data, png.len);
    load_fails(l, uri, "is too large: 10001x1 pixels");
    free(uri);
    free(png.data);
    tu_bytes_t jpg = make_jpeg(10001, 8, 3);
    uri = data_uri("image/jpeg", jpg.data, jpg.len);
    load_fails(l, uri, "is too large: 10001x8 pixels");
    free(uri);
    free(jpg.data);
    /* a corrupt body behind a plausible header */
    png = make_png(64, 64);
    memset(png.data + 40, 0xAB, png.len - 48);
    uri = data_uri("image/png", png.data, png.len);
    load_fails(l, uri, "could not be decoded");
    free(uri);
    free(png.data);
    image_loader_free(l);
}
END_TEST

START_TEST(data_uri_size_cap)
{
    image_loader_t *l = loader(false, 1000, 0, NULL);
    tu_bytes_t png = make_png(300, 300); /* a few hundred bytes: solid colours compress well */
    ck_assert(png.len < 1000);
    char *uri = data_uri("image/png", png.data, png.len);
    image_unref(load_ok(l, uri));
    free(uri);
    free(png.data);
    unsigned char big[1001] = {0x89, 'P', 'N', 'G'};
    uri = data_uri("image/png", big, sizeof big);
    load_fails(l, uri, "is larger than 1000 bytes");
    free(uri);
    image_loader_free(l);
}
END_TEST

/* Billion-laughs entities and external references must not hang, crash or read files. */
START_TEST(hostile_svg)
{
    const char *svgs[] = {
        "<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY a \"aaaaaaaaaaaaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
        "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
        "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">]>"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
        "height=\"10\"><text>&g;&g;&g;&g;</text></svg>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
        "width=\"10\" height=\"10\"><image xlink:href=\"file:///etc/passwd\" width=\"10\" height=\"10\"/>"
        "<image href=\"http://169.254.169.254/latest\" width=\"10\" height=\"10\"/></svg>",
        "<?xml version=\"1.0\"?><!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
        "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\"><svg xmlns=\"http://www.w3.org/2000/svg\" "
        "width=\"10\" height=\"10\"><rect width=\"5\" height=\"5\"/></svg>",
        "<?xml version=\"1.0\"?><!DOCTYPE svg SYSTEM \"file:///etc/passwd\"><svg "
        "xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1e9\" height=\"10\"/>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"-5\" height=\"10\"/>",
    };
    image_loader_t *l = loader(false, 0, 0, NULL);
    time_t start = time(NULL);
    for (size_t i = 0; i < sizeof svgs / sizeof svgs[0]; i++) {
        char *uri = data_uri("image/svg+xml", svgs[i], strlen(svgs[i]));
        image_t *img = NULL;
        char err[256];
        if (image_load(l, uri, &img, err, sizeof err) == 0) {
            cairo_surface_t *s = draw_box(img, IMAGE_FIT_CONTAIN);
            cairo_surface_destroy(s);
            image_unref(img);
        } else {
            ck_assert_msg(strstr(err, "could not be decoded"), "%zu: %s", i, err);
        }
        if (i == 0) /* entities are refused */
            ck_assert(strstr(err, "entity declarations"));
        free(uri);
    }
    ck_assert(time(NULL) - start < 10);
    image_loader_free(l);
}
END_TEST

/* Deterministically corrupted PNG, JPEG and SVG bytes: every load ends in an image or a
 * message, nothing crashes or leaks (the JPEG error path longjmps). */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rng(void)
{
    return xorshift_next(&rng_state);
}

START_TEST(mutated_images)
{
    enum { SEEDS = 5, EXIF_SEED = 4, EXIF_SPAN = 64 };
    tu_bytes_t seeds[SEEDS] = {make_png(24, 12),
                               make_jpeg(24, 12, 3),
                               make_jpeg(16, 16, 4),
                               {(unsigned char *)strdup(svg_text), strlen(svg_text)},
                               make_jpeg_oriented(24, 12, 6, false)};
    const char *types[SEEDS] = {"image/png", "image/jpeg", "image/jpeg", "image/svg+xml", "image/jpeg"};
    image_loader_t *l = loader(false, 0, 0, NULL);
    int loaded = 0, refused = 0;
    for (int i = 0; i < 1500; i++) {
        int k = i % SEEDS;
        unsigned char *b = malloc(seeds[k].len);
        memcpy(b, seeds[k].data, seeds[k].len);
        size_t len = seeds[k].len;
        /* The EXIF seed is mutated where its EXIF block lies (offsets and counts). */
        size_t span = k == EXIF_SEED ? EXIF_SPAN : len;
        int flips = 1 + (int)(rng() % 8);
        for (int f = 0; f < flips; f++)
            b[rng() % span] = (unsigned char)rng();
        if (rng() % 4 == 0)
            len = rng() % len; /* truncated */
        char *uri = data_uri(types[k], b, len);
        image_t *img = NULL;
        char err[256] = "";
        if (image_load(l, uri, &img, err, sizeof err) == 0) {
            cairo_surface_t *s = draw_box(img, (image_fit_t)(i % 3));
            cairo_surface_destroy(s);
            image_unref(img);
            loaded++;
        } else {
            ck_assert(err[0] != 0);
            refused++;
        }
        free(uri);
        free(b);
    }
    ck_assert(loaded > 0 && refused > 0);
    for (int k = 0; k < SEEDS; k++)
        free(seeds[k].data);
    image_loader_free(l);
}
END_TEST

/* ---- fit modes ---- */

START_TEST(fit_modes)
{
    image_loader_t *l = loader(false, 0, 0, NULL);
    tu_bytes_t png = make_png(2, 1);
    char *uri = data_uri("image/png", png.data, png.len);
    image_t *img = load_ok(l, uri);

    cairo_surface_t *s = draw_box(img, IMAGE_FIT_CONTAIN); /* 80×40 at y 30..70 */
    ck_assert(near(pixel(s, 50, 20), WHITE));
    ck_assert(near(pixel(s, 50, 80), WHITE));
    ck_assert(near(pixel(s, 15, 50), RED));
    ck_assert(near(pixel(s, 85, 50), BLUE));
    ck_assert(near(pixel(s, 5, 50), WHITE));
    cairo_surface_destroy(s);

    s = draw_box(img, IMAGE_FIT_COVER); /* 160×80, centred, clipped to the box */
    ck_assert(near(pixel(s, 15, 15), RED));
    ck_assert(near(pixel(s, 85, 85), BLUE));
    ck_assert(near(pixel(s, 5, 50), WHITE));
    ck_assert(near(pixel(s, 95, 50), WHITE));
    ck_assert(near(pixel(s, 50, 5), WHITE));
    cairo_surface_destroy(s);

    s = draw_box(img, IMAGE_FIT_FILL);
    ck_assert(near(pixel(s, 15, 15), RED));
    ck_assert(near(pixel(s, 85, 85), BLUE));
    ck_assert(near(pixel(s, 5, 5), WHITE));
    cairo_surface_destroy(s);

    /* degenerate boxes draw nothing */
    s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 10, 10);
    cairo_t *cr = cairo_create(s);
    image_draw(img, cr, 0, 0, 0, 10, IMAGE_FIT_FILL);
    image_draw(img, cr, 0, 0, -1, 10, IMAGE_FIT_COVER);
    image_draw(img, cr, NAN, 0, 1, 10, IMAGE_FIT_CONTAIN);
    ck_assert_int_eq(cairo_status(cr), CAIRO_STATUS_SUCCESS);
    cairo_destroy(cr);
    cairo_surface_destroy(s);

    image_unref(img);
    free(uri);
    free(png.data);
    image_loader_free(l);
}
END_TEST

static tu_bytes_t pdf_with(const image_t *img);

/* Phone photos are stored sideways with an EXIF tag saying how to turn them. The stored
 * 160×80 picture has a green top-left quarter, a red bottom-left one and a blue right half;
 * drawn at its displayed size, where green and red end up shows the turn was applied. */
START_TEST(jpeg_exif_orientation)
{
    static const struct {
        int o;
        int green[2], red[2], blue[2]; /* in the displayed picture, in units of 4 px */
    } cases[] = {
        {0, {10, 5}, {10, 15}, {30, 10}}, /* no EXIF: as stored */
        {1, {10, 5}, {10, 15}, {30, 10}}, {2, {30, 5}, {30, 15}, {10, 10}}, {3, {30, 15}, {30, 5}, {10, 10}},
        {4, {10, 15}, {10, 5}, {30, 10}}, {5, {5, 10}, {15, 10}, {10, 30}}, {6, {15, 10}, {5, 10}, {10, 30}},
        {7, {15, 30}, {5, 30}, {10, 10}}, {8, {5, 30}, {15, 30}, {10, 10}},
    };
    image_loader_t *l = loader(false, 0, 0, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int be = 0; be < 2; be++) {
            tu_bytes_t jpg = make_jpeg_oriented(160, 80, cases[i].o, be);
            char *uri = data_uri("image/jpeg", jpg.data, jpg.len);
            image_t *img = load_ok(l, uri);
            bool swapped = cases[i].o >= 5;
            int w = swapped ? 80 : 160, h = swapped ? 160 : 80;
            double iw, ih;
            image_size(img, &iw, &ih);
            ck_assert_msg(swapped ? iw < ih : iw > ih, "orientation %d: %gx%g", cases[i].o, iw, ih);
            cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
            cairo_t *cr = cairo_create(s);
            image_draw(img, cr, 0, 0, w, h, IMAGE_FIT_FILL);
            cairo_destroy(cr);
            uint32_t g = pixel(s, cases[i].green[0] * 4, cases[i].green[1] * 4);
            uint32_t r = pixel(s, cases[i].red[0] * 4, cases[i].red[1] * 4);
            uint32_t b = pixel(s, cases[i].blue[0] * 4, cases[i].blue[1] * 4);
            ck_assert_msg(near(g, GREEN_FULL) && near(r, RED) && near(b, BLUE),
                          "orientation %d (%s): green %06x red %06x blue %06x", cases[i].o, be ? "MM" : "II",
                          g, r, b);
            cairo_surface_destroy(s);
            image_unref(img);
            free(uri);
            free(jpg.data);
        }
    }
    /* The PDF still embeds the camera's bytes: the turn is a transform, not a re-encode. */
    tu_bytes_t jpg = make_jpeg_oriented(160, 80, 6, false);
    char *uri = data_uri("image/jpeg", jpg.data, jpg.len);
    image_t *img = load_ok(l, uri);
    tu_bytes_t pdf = pdf_with(img);
    ck_assert_msg(memmem(pdf.data, pdf.len, jpg.data, jpg.len) != NULL, "JPEG bytes not in the PDF");
    free(pdf.data);
    image_unref(img);
    free(uri);
    free(jpg.data);
    image_loader_free(l);
}
END_TEST

/* ---- PDF output ---- */

static tu_bytes_t pdf_with(const image_t *img)
{
    tu_bytes_t pdf = {0};
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(tu_bytes_append, &pdf, 300, 300);
    cairo_t *cr = cairo_create(s);
    image_draw(img, cr, 20, 20, 200, 100, IMAGE_FIT_CONTAIN);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    cairo_surface_destroy(s);
    return pdf;
}

START_TEST(pdf_embeds_jpeg_unchanged_and_svg_as_vectors)
{
    image_loader_t *l = loader(false, 0, 0, NULL);
    tu_bytes_t jpg = make_jpeg(64, 32, 3);
    char *uri = data_uri("image/jpeg", jpg.data, jpg.len);
    image_t *img = load_ok(l, uri);
    tu_bytes_t pdf = pdf_with(img);
    ck_assert_msg(memmem(pdf.data, pdf.len, jpg.data, jpg.len) != NULL, "JPEG bytes not in the PDF");
    ck_assert(memmem(pdf.data, pdf.len, "/DCTDecode", 10) != NULL);
    free(pdf.data);
    image_unref(img);
    free(uri);
    free(jpg.data);

    uri = data_uri("image/svg+xml", svg_text, strlen(svg_text));
    img = load_ok(l, uri);
    pdf = pdf_with(img);
    ck_assert(memmem(pdf.data, pdf.len, "/Subtype /Image", 15) == NULL);
    free(pdf.data);
    image_unref(img);
    free(uri);
    image_loader_free(l);
}
END_TEST

/* ---- assets ---- */

static char asset_dir[64];

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(data, 1, len, f);
    fclose(f);
}

START_TEST(assets)
{
    strcpy(asset_dir, "/tmp/craftkit-assets-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(asset_dir));
    tu_bytes_t png = make_png(8, 8);
    write_file(asset_dir, "logo.png", png.data, png.len);
    write_file(asset_dir, "Brand Mark_v2-final.png", png.data, png.len);
    write_file(asset_dir, "notes.txt", "hello", 5);
    char outside[128], path[256];
    snprintf(outside, sizeof outside, "%s-outside.png", asset_dir);
    write_file("/", outside + 1, png.data, png.len);
    snprintf(path, sizeof path, "%s/link.png", asset_dir);
    ck_assert_int_eq(symlink(outside, path), 0);
    snprintf(path, sizeof path, "%s/sub", asset_dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);

    image_loader_t *l = loader(false, 100000, 0, asset_dir);
    image_unref(load_ok(l, "asset:logo.png"));
    image_unref(load_ok(l, "asset:Brand Mark_v2-final.png"));
    load_fails(l, "asset:notes.txt", "not a PNG, JPEG or SVG");
    load_fails(l, "asset:missing.png", "no asset named \"missing.png\"");
    load_fails(l, "asset:link.png", "no asset named"); /* symlinks are not followed */
    load_fails(l, "asset:sub", "no asset named");      /* directories are not files */
    const char *tricks[] = {"asset:",           "asset:../logo.png",  "asset:..",
                            "asset:.",          "asset:sub/logo.png", "asset:/etc/passwd",
                            "asset:.hidden",    "asset:a\\b",         "asset:%2e%2e",
                            "asset:logo.png\n", "asset:x:y"};
    for (size_t i = 0; i < sizeof tricks / sizeof tricks[0]; i++)
        load_fails(l, tricks[i], "not a valid asset name");
    image_loader_free(l);

    l = loader(false, 20, 0, asset_dir); /* the asset is bigger than the cap */
    load_fails(l, "asset:logo.png", "is larger than 20 bytes");
    image_loader_free(l);

    unlink(outside);
    free(png.data);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", asset_dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- HTTP ---- */

static stub_http_t server;
static tu_bytes_t srv_png, srv_jpg;
static stub_route_t routes[12];

static void server_up(void)
{
    srv_png = make_png(40, 20);
    srv_jpg = make_jpeg(16, 16, 3);
    stub_route_t r[] = {
        {"/logo.png", 200, "image/png", srv_png.data, srv_png.len, 0, 0, NULL},
        {"/photo.jpg", 200, "image/jpeg", srv_jpg.data, srv_jpg.len, 0, 0, NULL},
        {"/mislabelled", 200, "text/html", srv_png.data, srv_png.len, 0, 0, NULL},
        {"/logo.svg", 200, "image/svg+xml", svg_text, strlen(svg_text), 0, 0, NULL},
        {"/text", 200, "image/png", "hello world", 11, 0, 0, NULL},
        {"/gone", 410, "text/plain", "gone", 4, 0, 0, NULL},
        {"/error", 500, "text/plain", "boom", 4, 0, 0, NULL},
        {"/slow", 200, "image/png", srv_png.data, srv_png.len, 3000, 0, NULL},
        {"/huge", 200, "image/png", NULL, 0, 0, 64u << 20, NULL},
        {"/redirect", 302, "text/plain", "", 0, 0, 0, "Location: /logo.png\r\n"},
        {"/nocontent", 204, NULL, NULL, 0, 0, 0, NULL},
    };
    memcpy(routes, r, sizeof r);
    ck_assert_int_eq(stub_http_start(&server, routes, sizeof r / sizeof r[0]), 0);
}

static void server_down(void)
{
    stub_http_stop(&server);
    free(srv_png.data);
    free(srv_jpg.data);
}

static char *url(const char *path)
{
    static char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%d%s", server.port, path);
    return u;
}

START_TEST(http_fetches)
{
    image_loader_t *l = loader(true, 1u << 20, 2000, NULL);
    image_t *img = load_ok(l, url("/logo.png"));
    double w, h;
    image_size(img, &w, &h);
    ck_assert_double_eq_tol(w, 30, 1e-9);
    image_unref(img);
    image_unref(load_ok(l, url("/photo.jpg")));
    image_unref(load_ok(l, url("/logo.svg")));
    image_unref(load_ok(l, url("/mislabelled"))); /* sniffed, Content-Type ignored */
    load_fails(l, url("/text"), "is not a PNG, JPEG or SVG image");
    load_fails(l, url("/missing"), "could not be fetched: HTTP 404");
    load_fails(l, url("/gone"), "could not be fetched: HTTP 410");
    load_fails(l, url("/error"), "could not be fetched: HTTP 500");
    load_fails(l, url("/redirect"), "could not be fetched: HTTP 302 (redirects are not followed)");
    load_fails(l, url("/nocontent"), "is not a PNG, JPEG or SVG image");
    load_fails(l, "http://127.0.0.1:1/x.png", "could not be fetched: ");
    load_fails(l, "http://no-such-host.invalid/x.png", "could not be fetched: ");
    image_loader_free(l);
}
END_TEST

START_TEST(http_timeout_and_cap)
{
    image_loader_t *l = loader(true, 1u << 20, 300, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    load_fails(l, url("/slow"), "could not be fetched: timed out after 300 ms");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(secs < 2.0, "timeout took %.2f s", secs);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    load_fails(l, url("/huge"), "is larger than 1048576 bytes");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(secs < 2.0, "the cap took %.2f s to trigger", secs);
    image_loader_free(l);

    l = loader(true, 100, 2000, NULL); /* Content-Length over the cap: refused up front */
    load_fails(l, url("/logo.png"), "is larger than 100 bytes");
    image_loader_free(l);
}
END_TEST

START_TEST(http_private_address_refused)
{
    image_loader_t *l = loader(false, 0, 2000, NULL);
    load_fails(l, url("/logo.png"), "could not be fetched: address is not allowed (private network)");
    char u[128];
    snprintf(u, sizeof u, "http://localhost:%d/logo.png", server.port);
    load_fails(l, u, "address is not allowed (private network)");
    load_fails(l, "http://169.254.169.254/latest/meta-data/", "address is not allowed");
    load_fails(l, "http://[::1]:1/x.png", "address is not allowed");
    image_loader_free(l);
}
END_TEST

START_TEST(cache_hits_and_lru)
{
    image_loader_t *l = loader(true, 1u << 20, 2000, NULL);
    image_t *a = load_ok(l, url("/logo.png"));
    stub_http_stop(&server); /* the second load must come from the cache */
    image_t *b = load_ok(l, url("/logo.png"));
    ck_assert_ptr_eq(a, b);
    image_unref(b);

    /* 40 other images push the first one out (LRU, 32 entries) */
    for (int i = 1; i <= 40; i++) {
        tu_bytes_t png = make_png(i, 1);
        char *uri = data_uri("image/png", png.data, png.len);
        image_unref(load_ok(l, uri));
        free(uri);
        free(png.data);
    }
    load_fails(l, url("/logo.png"), "could not be fetched");
    image_unref(a); /* still valid: callers hold their own references */
    image_loader_free(l);
}
END_TEST

/* Two threads with their own loaders fetch at once. */
static void *fetch_thread(void *arg)
{
    image_loader_t *l = loader(true, 1u << 20, 2000, NULL);
    for (int i = 0; i < 5; i++) {
        image_t *img = NULL;
        char err[200];
        if (image_load(l, (const char *)arg, &img, err, sizeof err) != 0) {
            image_loader_free(l);
            return (void *)1;
        }
        cairo_surface_t *s = draw_box(img, IMAGE_FIT_CONTAIN);
        cairo_surface_destroy(s);
        image_unref(img);
    }
    image_loader_free(l);
    return NULL;
}

START_TEST(loaders_per_thread)
{
    char u1[128], u2[128];
    snprintf(u1, sizeof u1, "%s", url("/logo.png"));
    snprintf(u2, sizeof u2, "%s", url("/logo.svg"));
    pthread_t t1, t2;
    pthread_create(&t1, NULL, fetch_thread, u1);
    pthread_create(&t2, NULL, fetch_thread, u2);
    void *r1, *r2;
    pthread_join(t1, &r1);
    pthread_join(t2, &r2);
    ck_assert_ptr_null(r1);
    ck_assert_ptr_null(r2);
}
END_TEST

static Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *t = tcase_create("decode");
    tcase_add_test(t, png_jpeg_svg_from_data_uris);
    tcase_add_test(t, svg_sizes);
    tcase_add_loop_test(t, bad_source_table, 0, sizeof bad_sources / sizeof bad_sources[0]);
    tcase_add_test(t, null_source_and_loader);
    tcase_add_test(t, pixel_caps);
    tcase_add_test(t, data_uri_size_cap);
    tcase_add_test(t, hostile_svg);
    tcase_add_test(t, mutated_images);
    tcase_add_test(t, fit_modes);
    tcase_add_test(t, pdf_embeds_jpeg_unchanged_and_svg_as_vectors);
    tcase_add_test(t, jpeg_exif_orientation);
    tcase_add_test(t, assets);
    suite_add_tcase(s, t);

    TCase *n = tcase_create("http");
    tcase_add_checked_fixture(n, server_up, server_down);
    tcase_add_test(n, http_fetches);
    tcase_add_test(n, http_timeout_and_cap);
    tcase_add_test(n, http_private_address_refused);
    tcase_add_test(n, cache_hits_and_lru);
    tcase_add_test(n, loaders_per_thread);
    suite_add_tcase(s, n);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = tu_run(image_suite());
    curl_global_cleanup();
    return rc;
}
