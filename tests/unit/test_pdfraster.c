/* pdf/pdfraster: a page of a PDF as a PNG (the PNG previews of pdf-overlay templates). The
 * picture has the page's shown size (crop box, /Rotate) at the dpi and shows the page; a page
 * past the last, a bad dpi, a too large picture, garbage and a truncated file each fail with a
 * message and the page count where it is known; nothing crashes or leaks. Two threads at once:
 * each call draws or is refused with a message, never both at the same time. */
#include <cairo.h>
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pdf/pdfraster.h"
#include "pdffix.h"
#include "tu.h"

/* Page page of pdf at dpi, decoded; checks its size and the page count. */
static cairo_surface_t *picture(const pdffix_t *pdf, int page, double dpi, int w, int h, int pages)
{
    unsigned char *png = NULL;
    size_t len = 0;
    int n = -1;
    char err[512] = "";
    ck_assert_msg(pdfraster_png(pdf->data, pdf->len, page, dpi, &png, &len, &n, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(n, pages);
    cairo_surface_t *s = tu_png_decode(png, len);
    free(png);
    ck_assert_int_eq(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    ck_assert_int_eq(cairo_image_surface_get_width(s), w);
    ck_assert_int_eq(cairo_image_surface_get_height(s), h);
    return s;
}

/* The darkest grey level (0..255) in the w x h box at x, y. */
static int darkest(cairo_surface_t *s, int x, int y, int w, int h)
{
    int min = 255;
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) {
            int g = tu_grey_at(s, i, j);
            min = g < min ? g : min;
        }
    return min;
}

static void expect_failure(const pdffix_t *pdf, int page, double dpi, int pages, const char *needle)
{
    unsigned char *png = (unsigned char *)"x";
    size_t len = 0;
    int n = -1;
    char err[512] = "";
    ck_assert_int_eq(pdfraster_png(pdf->data, pdf->len, page, dpi, &png, &len, &n, err, sizeof err), -1);
    ck_assert_ptr_null(png);
    ck_assert_int_eq(n, pages);
    ck_assert_msg(strstr(err, needle) != NULL, "expected \"%s\" in \"%s\"", needle, err);
}

START_TEST(pages_at_their_size_and_dpi)
{
    static const double sizes[2][2] = {{595.28, 841.89}, {792, 612}};
    pdffix_t pdf = pdffix_cairo_sizes(2, sizes);
    cairo_surface_t *s = picture(&pdf, 1, 72, 596, 842, 2);
    /* the fixture's frame at 36 pt and its white inside */
    ck_assert_int_lt(darkest(s, 34, 300, 4, 4), 128);
    ck_assert_int_eq(darkest(s, 200, 300, 20, 20), 255);
    cairo_surface_destroy(s);
    s = picture(&pdf, 2, 36, 396, 306, 2);
    cairo_surface_destroy(s);
    s = picture(&pdf, 0, 0, 794, 1123, 2); /* defaults: page 1 at 96 dpi */
    cairo_surface_destroy(s);
    pdffix_free(&pdf);
}
END_TEST

START_TEST(crop_box_and_rotation_as_shown)
{
    pdffix_t pdf = pdffix_form(); /* page 1: crop box 540 x 720; page 2: A4 turned by /Rotate 90 */
    cairo_surface_t *s = picture(&pdf, 1, 72, 540, 720, 2);
    cairo_surface_destroy(s);
    s = picture(&pdf, 2, 72, 842, 595, 2);
    cairo_surface_destroy(s);
    pdffix_free(&pdf);
}
END_TEST

START_TEST(bad_requests_and_broken_files_fail_with_a_message)
{
    pdffix_t pdf = pdffix_cairo(2, 595.28, 841.89);
    expect_failure(&pdf, 3, 96, 2, "page 3 does not exist: the document has 2 pages");
    expect_failure(&pdf, 1, 5, 0, "dpi must be between 10 and 600");
    expect_failure(&pdf, 1, 601, 0, "dpi must be between 10 and 600");
    pdffix_free(&pdf);
    pdf = pdffix_cairo(1, 14400, 14400);
    expect_failure(&pdf, 1, 600, 1, "the image would be too large; lower the dpi");
    expect_failure(&pdf, 2, 96, 1, "page 2 does not exist: the document has 1 page");
    pdffix_free(&pdf);
    pdffix_t garbage = {(unsigned char *)strdup("this is not a PDF at all"), 24};
    expect_failure(&garbage, 1, 96, 0, "the PDF could not be read");
    pdffix_free(&garbage);
    pdffix_t cut = pdffix_cairo(1, 200, 200);
    cut.len = 20; /* the header and nothing else */
    expect_failure(&cut, 1, 96, 0, "the PDF could not be read");
    pdffix_free(&cut);
}
END_TEST

/* Draws page 1 twenty times; counts the calls refused because another thread was drawing. */
static void *draw_often(void *arg)
{
    const pdffix_t *pdf = arg;
    long refused = 0;
    for (int i = 0; i < 20; i++) {
        unsigned char *png = NULL;
        size_t len = 0;
        int n = 0;
        char err[512] = "";
        if (pdfraster_png(pdf->data, pdf->len, 1, 30, &png, &len, &n, err, sizeof err) != 0) {
            if (!strstr(err, "another thread"))
                return (void *)-1L;
            refused++;
        }
        free(png);
    }
    return (void *)refused;
}

START_TEST(two_threads_never_draw_at_once)
{
    pdffix_t pdf = pdffix_cairo(1, 595.28, 841.89);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, draw_often, &pdf), 0);
    void *mine = draw_often(&pdf), *theirs = NULL;
    pthread_join(t, &theirs);
    ck_assert_int_ge((long)mine, 0);
    ck_assert_int_ge((long)theirs, 0);
    ck_assert_int_lt((long)mine + (long)theirs, 40); /* some calls drew */
    pdffix_free(&pdf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pdfraster");
    TCase *tc = tcase_create("pdfraster");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pages_at_their_size_and_dpi);
    tcase_add_test(tc, crop_box_and_rotation_as_shown);
    tcase_add_test(tc, bad_requests_and_broken_files_fail_with_a_message);
    tcase_add_test(tc, two_threads_never_draw_at_once);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
