/* pdf/pdfdoc: uploaded PDFs from three producers (cairo, Ghostscript, hand-written with AcroForm
 * fields) are described page by page (crop boxes and /Rotate as shown); damaged, encrypted and
 * hostile ones (decompression bomb, deep nesting, huge page trees) are refused with a message,
 * and nothing crashes or leaks. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pdf/pdfdoc.h"
#include "pdffix.h"
#include "tu.h"

static int check(const pdffix_t *pdf, pdfdoc_info_t *info, json_t **pages, char *err, size_t err_len)
{
    return pdfdoc_check(pdf->data, pdf->len, info, pages, err, err_len);
}

static void expect_refused(pdffix_t pdf, const char *needle)
{
    pdfdoc_info_t info;
    char err[400] = "";
    json_t *pages = NULL;
    ck_assert_int_eq(check(&pdf, &info, &pages, err, sizeof err), -1);
    ck_assert_ptr_null(pages);
    ck_assert_msg(strstr(err, needle) != NULL, "expected \"%s\" in \"%s\"", needle, err);
    pdffix_free(&pdf);
}

START_TEST(cairo_pdf_is_described)
{
    pdffix_t pdf = pdffix_cairo(2, 595.28, 841.89);
    pdfdoc_info_t info;
    char err[400];
    json_t *pages = NULL;
    ck_assert_msg(check(&pdf, &info, &pages, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(info.pages, 2);
    ck_assert_double_eq_tol(info.width, 595.28, 0.01);
    ck_assert_double_eq_tol(info.height, 841.89, 0.01);
    ck_assert_int_eq(info.rotate, 0);
    ck_assert(!info.encrypted);
    ck_assert_int_eq(info.form_fields, 0);
    ck_assert_int_eq(json_array_size(pages), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(pages, 1), "page")), 2);
    json_decref(pages);
    pdffix_free(&pdf);
}
END_TEST

START_TEST(ghostscript_pdf_is_described)
{
    pdffix_t pdf = pdffix_gs(3);
    ck_assert_msg(pdf.len > 0, "gs (scripts/deps: ghostscript) did not produce a PDF");
    pdfdoc_info_t info;
    char err[400];
    ck_assert_msg(check(&pdf, &info, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(info.pages, 3);
    ck_assert_double_eq_tol(info.width, 595, 0.5);
    ck_assert_double_eq_tol(info.height, 842, 0.5);
    pdffix_free(&pdf);
}
END_TEST

START_TEST(form_crop_box_and_rotation)
{
    pdffix_t pdf = pdffix_form();
    pdfdoc_info_t info;
    char err[400];
    json_t *pages = NULL;
    ck_assert_msg(check(&pdf, &info, &pages, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(info.pages, 2);
    ck_assert_int_eq(info.form_fields, 4);
    /* page 1: the crop box, 540×720 */
    ck_assert_double_eq_tol(info.width, 540, 0.01);
    ck_assert_double_eq_tol(info.height, 720, 0.01);
    /* page 2: A4 turned a quarter, shown landscape */
    json_t *p2 = json_array_get(pages, 1);
    ck_assert_double_eq_tol(json_real_value(json_object_get(p2, "width")), 842, 0.01);
    ck_assert_double_eq_tol(json_real_value(json_object_get(p2, "height")), 595, 0.01);
    ck_assert_int_eq(json_integer_value(json_object_get(p2, "rotate")), 90);
    json_decref(pages);
    pdffix_free(&pdf);
}
END_TEST

START_TEST(encryption)
{
    pdffix_t base = pdffix_cairo(1, 300, 300);
    pdffix_t locked = pdffix_qpdf(&base, "--encrypt secret owner 256 --");
    ck_assert_msg(locked.len > 0, "qpdf could not encrypt");
    expect_refused(locked, "is encrypted and needs a password");
    /* an empty user password (restrictions only) opens: accepted */
    pdffix_t open = pdffix_qpdf(&base, "--encrypt \"\" owner 256 --");
    pdfdoc_info_t info;
    char err[400];
    ck_assert_msg(check(&open, &info, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert(info.encrypted);
    pdffix_free(&open);
    pdffix_free(&base);
}
END_TEST

START_TEST(not_a_pdf_and_truncated)
{
    pdffix_t text = {(unsigned char *)strdup("hello, not a PDF at all"), 23};
    expect_refused(text, "is not a PDF");
    pdffix_t empty = {NULL, 0};
    expect_refused(empty, "is not a PDF");
    pdffix_t pdf = pdffix_cairo(2, 595, 842);
    pdf.len = pdf.len / 2;
    expect_refused(pdf, "is damaged or truncated");
    /* a header and nothing else */
    pdffix_t header = {(unsigned char *)strdup("%PDF-1.7\n"), 9};
    expect_refused(header, "is damaged or truncated");
}
END_TEST

START_TEST(decompression_bomb)
{
    /* 200 MiB of content in ~200 KiB */
    pdffix_t bomb = pdffix_bomb_stream(200);
    ck_assert(bomb.len < 1 << 20);
    expect_refused(bomb, "decompresses to more than 128 MiB");
}
END_TEST

START_TEST(deep_nesting)
{
    expect_refused(pdffix_bomb_nesting(150), "nests arrays or dictionaries deeper than 100");
    /* far deeper than qpdf's own parser allows: refused all the same, no stack overflow */
    pdffix_t deep = pdffix_bomb_nesting(100000);
    pdfdoc_info_t info;
    char err[400];
    ck_assert_int_eq(check(&deep, &info, NULL, err, sizeof err), -1);
    pdffix_free(&deep);
}
END_TEST

START_TEST(huge_page_counts)
{
    expect_refused(pdffix_bomb_pages(100000000L, 1), "has 100000000 pages, more than the limit of 2000");
    /* a page tree that tells the truth about too many pages */
    expect_refused(pdffix_bomb_pages(PDFDOC_MAX_PAGES + 1, PDFDOC_MAX_PAGES + 1),
                   "more than the limit of 2000");
    /* and one that lies low */
    expect_refused(pdffix_bomb_pages(1, PDFDOC_MAX_PAGES + 1), "more than the limit of 2000");
    expect_refused(pdffix_bomb_pages(0, 0), "has no pages");
}
END_TEST

START_TEST(fifty_pages)
{
    pdffix_t pdf = pdffix_cairo(50, 612, 792);
    pdfdoc_info_t info;
    char err[400];
    ck_assert_msg(check(&pdf, &info, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(info.pages, 50);
    pdffix_free(&pdf);
}
END_TEST

START_TEST(sniff)
{
    ck_assert(pdfdoc_sniff((const unsigned char *)"%PDF-1.4\n", 9));
    ck_assert(pdfdoc_sniff((const unsigned char *)"junk\n%PDF-1.4\n", 14));
    ck_assert(!pdfdoc_sniff((const unsigned char *)"%PDF", 4));
    ck_assert(!pdfdoc_sniff(NULL, 0));
    ck_assert(!pdfdoc_sniff((const unsigned char *)"\x89PNG\r\n", 6));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pdfdoc");
    TCase *tc = tcase_create("pdfdoc");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, cairo_pdf_is_described);
    tcase_add_test(tc, ghostscript_pdf_is_described);
    tcase_add_test(tc, form_crop_box_and_rotation);
    tcase_add_test(tc, encryption);
    tcase_add_test(tc, not_a_pdf_and_truncated);
    tcase_add_test(tc, decompression_bomb);
    tcase_add_test(tc, deep_nesting);
    tcase_add_test(tc, huge_page_counts);
    tcase_add_test(tc, fifty_pages);
    tcase_add_test(tc, sniff);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
