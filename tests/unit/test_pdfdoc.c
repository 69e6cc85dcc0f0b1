/* pdf/pdfdoc: uploaded PDFs from three producers (cairo, Ghostscript, hand-written with AcroForm
 * fields) are described page by page (crop boxes and /Rotate as shown); damaged, encrypted and
 * hostile ones (decompression bomb, deep nesting, huge page trees) are refused with a message,
 * and nothing crashes or leaks. Merging: overlays land where they were drawn (pdftotext -bbox)
 * on cropped and rotated pages, on Ghostscript's and on a 50-page base, the base's streams stay
 * byte for byte, AcroForm values show in qpdf --json (/V) or are flattened into the page, and a
 * bad fill names the field. Merging files (batches): parts from cairo, Ghostscript, a hand-written
 * file with inherited page attributes, its object-stream rewrite and an encrypted one come out
 * in order with their text, fonts, sizes, rotation, links and bookmarks, byte for byte the same
 * when merged again; a part needing a password is named. Every output passes qpdf --check. */
#include <cairo-pdf.h>
#include <cairo.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- merging ---- */

/* An overlay: one page per size (w[i]×h[i]), "MARKn" at (x, y) from the top-left, or blank. */
static pdffix_t overlay_pdf(int pages, const double *w, const double *h, double x, double y, bool blank_even)
{
    pdffix_t p = {0};
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(tu_bytes_append, &p, w[0], h[0]);
    cairo_t *cr = cairo_create(s);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);
    for (int i = 0; i < pages; i++) {
        cairo_pdf_surface_set_size(s, w[i], h[i]);
        if (!(blank_even && i % 2 == 1)) {
            char text[32];
            snprintf(text, sizeof text, "MARK%d", i + 1);
            cairo_move_to(cr, x, y);
            cairo_show_text(cr, text);
        }
        cairo_show_page(cr);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return p;
}

/* pdfdoc_merge with fill as JSON text (or NULL); *out gets the result, err the message. */
static int run_merge(const pdffix_t *base, const char *fill, bool flatten, const pdffix_t *overlay,
                     pdffix_t *out, char err[400])
{
    json_t *f = fill ? json_loads(fill, 0, NULL) : NULL;
    *out = (pdffix_t){0};
    err[0] = '\0';
    int rc = pdfdoc_merge(base->data, base->len, f, flatten, overlay ? overlay->data : NULL,
                          overlay ? overlay->len : 0, &out->data, &out->len, err, 400);
    json_decref(f);
    return rc;
}

static pdffix_t merge(const pdffix_t *base, const char *fill, bool flatten, const pdffix_t *overlay)
{
    pdffix_t p;
    char err[400];
    ck_assert_msg(run_merge(base, fill, flatten, overlay, &p, err) == 0, "merge failed: %s", err);
    return p;
}

static void merge_fails(const pdffix_t *base, const char *fill, const pdffix_t *overlay, const char *needle)
{
    pdffix_t p;
    char err[400];
    ck_assert_int_eq(run_merge(base, fill, true, overlay, &p, err), -1);
    ck_assert_ptr_null(p.data);
    ck_assert_msg(strstr(err, needle) != NULL, "expected \"%s\" in \"%s\"", needle, err);
}

/* Output of the shell command "before FILE after" on a saved copy of pdf. Caller frees. */
static char *tool(const pdffix_t *pdf, const char *before, const char *after)
{
    char path[128], cmd[512];
    snprintf(path, sizeof path, "/tmp/test_pdfdoc-%d.pdf", (int)getpid());
    ck_assert(pdffix_save(pdf, path));
    snprintf(cmd, sizeof cmd, "%s %s %s", before, path, after);
    char *out = pdffix_run(cmd);
    ck_assert(out != NULL);
    unlink(path);
    return out;
}

/* xMin/yMin of the first word `word` on page `page` per pdftotext -bbox (media box space,
 * rotation applied). */
static void word_at(const pdffix_t *pdf, int page, const char *word, double *x, double *y)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "pdftotext -bbox -f %d -l %d", page, page);
    char *xml = tool(pdf, cmd, "- 2>/dev/null"), needle[128];
    snprintf(needle, sizeof needle, ">%s</word>", word);
    char *hit = strstr(xml, needle);
    ck_assert_msg(hit != NULL, "%s not on page %d", word, page);
    char *start = hit;
    while (start > xml && strncmp(start, "<word", 5))
        start--;
    ck_assert_int_eq(sscanf(start, "<word xMin=\"%lf\" yMin=\"%lf\"", x, y), 2);
    free(xml);
}

static bool qpdf_check_ok(const pdffix_t *pdf)
{
    char *out = tool(pdf, "qpdf --check", "2>&1; echo rc=$?");
    bool ok = strstr(out, "No syntax or stream encoding errors") && strstr(out, "rc=0");
    if (!ok)
        fprintf(stderr, "%s\n", out);
    free(out);
    return ok;
}

START_TEST(overlay_honours_crop_box_and_rotation)
{
    pdffix_t base = pdffix_form();
    /* page 1 shown 540×720 (crop box at 36,36), page 2 842×595 (A4 turned by /Rotate 90) */
    double w[] = {540, 842}, h[] = {720, 595};
    pdffix_t ov = overlay_pdf(2, w, h, 100, 100, false);
    pdffix_t out = merge(&base, NULL, false, &ov);
    ck_assert(qpdf_check_ok(&out));
    double x, y;
    word_at(&out, 1, "MARK1", &x, &y); /* pdftotext measures from the media box: + the crop's 36 */
    ck_assert_double_eq_tol(x, 136, 1);
    ck_assert_double_eq_tol(y, 136 - 12, 2);
    word_at(&out, 2, "MARK2", &x, &y); /* upright on the turned page */
    ck_assert_double_eq_tol(x, 100, 1);
    ck_assert_double_eq_tol(y, 100 - 12, 2);
    /* the overlay's font is embedded */
    char *fonts = tool(&out, "pdffonts", "2>&1");
    ck_assert_msg(strstr(fonts, "DejaVuSans") && strstr(fonts, " yes "), "%s", fonts);
    free(fonts);
    pdffix_free(&out);
    pdffix_free(&ov);
    pdffix_free(&base);
}
END_TEST

/* A base of mixed sizes gets one overlay of the largest size (worker/overlay): each page takes
 * the top-left part of its own shown size at scale 1, turned pages included. */
START_TEST(overlay_larger_than_a_page_uses_its_top_left)
{
    pdffix_t base = pdffix_form();
    /* page 1 shown 540×720, page 2 842×595: the overlay is 842×720 on both */
    double w[] = {842, 842}, h[] = {720, 720};
    pdffix_t ov = overlay_pdf(2, w, h, 100, 100, false);
    pdffix_t out = merge(&base, NULL, false, &ov);
    ck_assert(qpdf_check_ok(&out));
    double x, y;
    word_at(&out, 1, "MARK1", &x, &y); /* not shrunk to fit 842 pt into 540 */
    ck_assert_double_eq_tol(x, 136, 1);
    ck_assert_double_eq_tol(y, 136 - 12, 2);
    word_at(&out, 2, "MARK2", &x, &y); /* not moved down by the 125 pt the sheet is taller */
    ck_assert_double_eq_tol(x, 100, 1);
    ck_assert_double_eq_tol(y, 100 - 12, 2);
    char *info = tool(&out, "pdfinfo -f 1 -l 2", "2>&1");
    ck_assert_msg(strstr(info, "Page    1 size:  540 x 720 pts") &&
                      strstr(info, "Page    2 size:  595 x 842 pts"),
                  "%s", info);
    free(info);
    pdffix_free(&out);
    pdffix_free(&ov);
    pdffix_free(&base);
}
END_TEST

/* Every stream of a (compressed) base is in the merged file byte for byte. */
START_TEST(base_streams_stay_byte_for_byte)
{
    pdffix_t base = pdffix_cairo(2, 595, 842);
    double w[] = {595, 595}, h[] = {842, 842};
    pdffix_t ov = overlay_pdf(2, w, h, 50, 50, false);
    pdffix_t out = merge(&base, NULL, true, &ov);
    int streams = 0;
    const unsigned char *p = base.data, *end = base.data + base.len;
    while ((p = memmem(p, (size_t)(end - p), "stream\n", 7)) != NULL) {
        p += 7;
        const unsigned char *e = memmem(p, (size_t)(end - p), "endstream", 9);
        ck_assert(e != NULL);
        size_t n = (size_t)(e - p);
        while (n && (p[n - 1] == '\n' || p[n - 1] == '\r')) /* the EOL before endstream is not data */
            n--;
        if (n > 16) {
            ck_assert_msg(memmem(out.data, out.len, p, n) != NULL, "stream %d changed", streams);
            streams++;
        }
        p = e + 9;
    }
    ck_assert_int_ge(streams, 4);
    pdffix_free(&out);
    pdffix_free(&ov);
    pdffix_free(&base);
}
END_TEST

START_TEST(acroform_fill_keeps_or_flattens)
{
    pdffix_t base = pdffix_form();
    const char *fill = "{\"name\":\"Jane Doe\",\"agree\":true,\"color\":\"Green\",\"size\":\"L\"}";
    pdffix_t live = merge(&base, fill, false, NULL);
    ck_assert(qpdf_check_ok(&live));
    char *json = tool(&live, "qpdf --json --json-key=acroform", "");
    ck_assert_msg(strstr(json, "\"value\": \"u:Jane Doe\"") && strstr(json, "\"value\": \"/Yes\"") &&
                      strstr(json, "\"value\": \"u:Green\"") && strstr(json, "\"value\": \"/L\""),
                  "%s", json);
    free(json);
    pdffix_t flat = merge(&base, fill, true, NULL);
    ck_assert(qpdf_check_ok(&flat));
    json = tool(&flat, "qpdf --json --json-key=acroform", "");
    ck_assert_msg(strstr(json, "\"hasacroform\": false"), "%s", json);
    free(json);
    char *text = tool(&flat, "pdftotext", "-");
    ck_assert_msg(strstr(text, "Jane Doe") && strstr(text, "Green"), "%s", text);
    free(text);
    pdffix_free(&live);
    pdffix_free(&flat);
    pdffix_free(&base);
}
END_TEST

START_TEST(acroform_listing)
{
    pdffix_t base = pdffix_form();
    json_t *fields = NULL;
    char err[400];
    ck_assert_msg(pdfdoc_fields(base.data, base.len, &fields, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(json_array_size(fields), 4);
    json_t *name = json_array_get(fields, 0), *size = json_array_get(fields, 3);
    ck_assert_str_eq(json_string_value(json_object_get(name, "name")), "name");
    ck_assert_str_eq(json_string_value(json_object_get(name, "type")), "text");
    ck_assert_int_eq(json_integer_value(json_object_get(name, "page")), 1);
    /* /Rect [72 650 300 674] in a crop box from (36, 36) to (576, 756): 36, 82 from the top-left */
    json_t *rect = json_object_get(name, "rect");
    ck_assert_double_eq_tol(json_real_value(json_array_get(rect, 0)), 36, 0.01);
    ck_assert_double_eq_tol(json_real_value(json_array_get(rect, 1)), 82, 0.01);
    ck_assert_double_eq_tol(json_real_value(json_array_get(rect, 2)), 228, 0.01);
    ck_assert_double_eq_tol(json_real_value(json_array_get(rect, 3)), 24, 0.01);
    ck_assert_str_eq(json_string_value(json_object_get(size, "type")), "radio");
    ck_assert_int_eq(json_array_size(json_object_get(size, "options")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fields, 2), "type")), "choice");
    json_decref(fields);
    pdffix_free(&base);
}
END_TEST

START_TEST(fill_errors_name_the_field)
{
    pdffix_t base = pdffix_form();
    merge_fails(&base, "{\"nmae\":\"x\"}", NULL,
                "has no form field \"nmae\" (fields: agree, color, name, size)");
    merge_fails(&base, "{\"color\":\"Purple\"}", NULL,
                "without the option \"Purple\" (options: Red, Green, Blue)");
    merge_fails(&base, "{\"agree\":\"yes\"}", NULL, "checkbox form field \"agree\": give it true or false");
    merge_fails(&base, "{\"size\":\"M\"}", NULL, "without the state \"M\" (states: S, L)");
    merge_fails(&base, "{\"name\":[1]}", NULL, "text form field \"name\": give it a string");
    pdffix_t cairo = pdffix_cairo(1, 300, 300);
    merge_fails(&cairo, "{\"name\":\"x\"}", NULL, "has no form field \"name\" (it has no form)");
    /* an overlay of the wrong page count */
    double w[] = {300}, h[] = {300};
    pdffix_t ov = overlay_pdf(1, w, h, 10, 10, false);
    merge_fails(&base, NULL, &ov, "overlay has 1 pages for a base of 2");
    pdffix_free(&ov);
    pdffix_free(&cairo);
    pdffix_free(&base);
}
END_TEST

START_TEST(overlay_on_ghostscript_and_fifty_pages)
{
    pdffix_t gs = pdffix_gs(2);
    ck_assert(gs.len > 0);
    double w[50], h[50];
    for (int i = 0; i < 50; i++)
        w[i] = 595, h[i] = 842;
    pdffix_t ov = overlay_pdf(2, w, h, 300, 400, false);
    pdffix_t out = merge(&gs, NULL, true, &ov);
    ck_assert(qpdf_check_ok(&out));
    double x, y;
    word_at(&out, 2, "MARK2", &x, &y);
    ck_assert_double_eq_tol(x, 300, 1);
    char *text = tool(&out, "pdftotext", "-");
    ck_assert(strstr(text, "GS page 2") != NULL);
    free(text);
    pdffix_free(&out);
    pdffix_free(&ov);
    pdffix_free(&gs);

    pdffix_t fifty = pdffix_cairo(50, 612, 792);
    for (int i = 0; i < 50; i++)
        w[i] = 612, h[i] = 792;
    ov = overlay_pdf(50, w, h, 200, 300, true); /* every other page blank: not stamped */
    out = merge(&fifty, NULL, true, &ov);
    ck_assert(qpdf_check_ok(&out));
    word_at(&out, 49, "MARK49", &x, &y);
    ck_assert_double_eq_tol(x, 200, 1);
    pdfdoc_info_t info;
    char err[400];
    ck_assert(pdfdoc_check(out.data, out.len, &info, NULL, err, sizeof err) == 0);
    ck_assert_int_eq(info.pages, 50);
    text = tool(&out, "pdftotext -f 50 -l 50", "-");
    ck_assert(strstr(text, "MARK") == NULL && strstr(text, "Page 50") != NULL);
    free(text);
    /* the pages share their wrapping streams, not their overlays: each shows its own mark */
    text = tool(&out, "pdftotext", "-");
    char *page = text;
    for (int i = 1; i <= 50; i++) {
        char *end = strchr(page, '\f'), mark[16];
        ck_assert_msg(end != NULL, "no page %d", i);
        *end = '\0';
        snprintf(mark, sizeof mark, "MARK%d\n", i);
        char *first = strstr(page, "MARK");
        if (i % 2 == 0)
            ck_assert_msg(first == NULL, "page %d: %s", i, page);
        else
            ck_assert_msg(first && first == strstr(page, mark) && !strstr(first + 4, "MARK"), "page %d: %s",
                          i, page);
        page = end + 1;
    }
    free(text);
    pdffix_free(&out);
    pdffix_free(&ov);
    pdffix_free(&fifty);
}
END_TEST

/* Saves pdf at /tmp/test_pdfdoc-<pid>-<tag>.pdf (path: 128 bytes). */
static void save_part(const pdffix_t *pdf, const char *tag, char *path)
{
    snprintf(path, 128, "/tmp/test_pdfdoc-%d-%s.pdf", (int)getpid(), tag);
    ck_assert(pdffix_save(pdf, path));
}

START_TEST(merge_files_in_order_with_outline_and_note)
{
    pdffix_t a = pdffix_cairo(2, 595.28, 841.89), b = pdffix_gs(1), c = pdffix_cairo(3, 300, 400);
    ck_assert_msg(b.len > 0, "gs (scripts/deps: ghostscript) did not produce a PDF");
    char pa[128], pb[128], pc[128], out[128], err[600];
    save_part(&a, "a", pa);
    save_part(&b, "b", pb);
    save_part(&c, "c", pc);
    snprintf(out, sizeof out, "/tmp/test_pdfdoc-%d-merged.pdf", (int)getpid());
    pdfdoc_part_t parts[] = {{pa, "Item 0: a.pdf"}, {pb, "Item 1: Rechnung März.pdf"}, {pc, "Item 2 (c)"}};
    int pages = 0;
    ck_assert_msg(pdfdoc_merge_files(parts, 3, "Missing items", "Missing items: 3, 7\nsecond (line)", out,
                                     &pages, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_int_eq(pages, 2 + 1 + 3 + 1);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "qpdf --check %s >/dev/null 2>&1 && echo ok; qpdf --show-npages %s", out, out);
    char *got = pdffix_run(cmd);
    ck_assert_str_eq(got, "ok\n7\n");
    free(got);
    /* the outline, in order, each entry at its part's first page (1-based) */
    char path_cmd[600];
    snprintf(path_cmd, sizeof path_cmd,
             "qpdf --json --json-key=outlines %s > %s.json && python3 -c 'import json,sys\n"
             "for o in json.load(open(sys.argv[1]))[\"outlines\"]: print(o[\"title\"], "
             "o[\"destpageposfrom1\"])' %s.json",
             out, out, out);
    got = pdffix_run(path_cmd);
    ck_assert_str_eq(got, "Item 0: a.pdf 1\nItem 1: Rechnung März.pdf 3\nItem 2 (c) 4\nMissing items 7\n");
    free(got);
    /* the parts' own text, page by page, and the note on the last page */
    snprintf(cmd, sizeof cmd,
             "pdftotext -f 3 -l 4 %s - | tr -s \"\\n\\f\" \" \"; echo; pdftotext -f 7 -l 7 %s -", out, out);
    got = pdffix_run(cmd);
    ck_assert_msg(strstr(got, "GS page 1 Page 1") && strstr(got, "Missing items: 3, 7") &&
                      strstr(got, "second (line)"),
                  "%s", got);
    free(got);
    /* the same parts give the same bytes (a merge retried after a crash writes what the first did) */
    tu_bytes_t first = tu_bytes_load(out);
    ck_assert_int_eq(pdfdoc_merge_files(parts, 3, "Missing items", "Missing items: 3, 7\nsecond (line)", out,
                                        NULL, err, sizeof err),
                     0);
    tu_bytes_t again = tu_bytes_load(out);
    ck_assert(first.len == again.len && memcmp(first.data, again.data, first.len) == 0);
    free(first.data);
    free(again.data);
    /* a part that is not a PDF is named */
    pdfdoc_part_t bad[] = {{pa, "a"}, {"/nonexistent/x.pdf", "x"}};
    ck_assert_int_eq(pdfdoc_merge_files(bad, 2, NULL, NULL, out, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "part 1 (/nonexistent/x.pdf)"), "%s", err);
    snprintf(cmd, sizeof cmd, "rm -f %s %s %s %s %s.json", pa, pb, pc, out, out);
    free(pdffix_run(cmd));
    pdffix_free(&a);
    pdffix_free(&b);
    pdffix_free(&c);
}
END_TEST

/* Hand-written, three 300×200 pt pages ("Hand page N" in Helvetica) that take /MediaBox and
 * /Rotate 90 from an inner Pages node and /Resources from the root one; page 2 carries a link
 * to page 1 whose strings and names need escapes. */
static pdffix_t hand_inherited(void)
{
    pdffix_builder_t b;
    pdffix_begin(&b);
    pdffix_obj(&b, "<< /Type /Catalog /Pages 2 0 R >>");
    pdffix_obj(&b, "<< /Type /Pages /Kids [3 0 R] /Count 3 /Resources << /Font << /F1 4 0 R >> >> >>");
    pdffix_obj(&b, "<< /Type /Pages /Parent 2 0 R /Kids [5 0 R 6 0 R 7 0 R] /Count 3 "
                   "/MediaBox [0 0 300 200] /Rotate 90 >>");
    pdffix_obj(&b, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    pdffix_obj(&b, "<< /Type /Page /Parent 3 0 R /Contents 8 0 R >>");
    pdffix_obj(&b, "<< /Type /Page /Parent 3 0 R /Contents 9 0 R /Annots [<< /Type /Annot /Subtype /Link "
                   "/Rect [0 0 50 50] /Dest [5 0 R /Fit] /P 6 0 R /Contents (a \\(b\\) \\\\ c) "
                   "/NM <00ff10ab> /CK#20Key /A#23b >>] >>");
    pdffix_obj(&b, "<< /Type /Page /Parent 3 0 R /Contents 10 0 R >>");
    for (int i = 1; i <= 3; i++) {
        char content[64];
        int len = snprintf(content, sizeof content, "BT /F1 12 Tf 20 100 Td (Hand page %d) Tj ET", i);
        pdffix_stream(&b, "", content, (size_t)len);
    }
    return pdffix_end(&b, 1);
}

/* The links of the merged file at path: their strings as qpdf reads them and the 1-based page
 * each goes to. */
static char *merged_links(const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "qpdf --json %s | python3 -c 'import json,sys\n"
             "d=json.load(sys.stdin); objs=d[\"qpdf\"][1]; pages=[p[\"object\"] for p in d[\"pages\"]]\n"
             "for p in pages:\n"
             "  for a in objs[\"obj:\"+p][\"value\"].get(\"/Annots\", []):\n"
             "    v=objs[\"obj:\"+a][\"value\"] if isinstance(a,str) else a\n"
             "    print(v[\"/Contents\"], v[\"/NM\"], pages.index(v[\"/Dest\"][0])+1)'",
             path);
    return pdffix_run(cmd);
}

/* Parts from several producers: cairo, the hand-written one with inherited attributes, the
 * same rewritten with object and cross-reference streams, and an encrypted one (empty user
 * password) are merged page by page in order with their fonts, sizes, rotation and links. */
START_TEST(merge_files_from_any_producer)
{
    pdffix_t cairo = pdffix_cairo(2, 595.28, 841.89), hand = hand_inherited();
    pdffix_t packed = pdffix_qpdf(&hand, "--object-streams=generate");
    pdffix_t one = pdffix_cairo(1, 300, 300), open = pdffix_qpdf(&one, "--encrypt \"\" owner 256 --");
    pdffix_t locked = pdffix_qpdf(&one, "--encrypt secret owner 256 --");
    ck_assert(packed.len > 0 && open.len > 0 && locked.len > 0);
    ck_assert(memmem(packed.data, packed.len, "/ObjStm", 7) && memmem(packed.data, packed.len, "/XRef", 5));
    char pa[128], pb[128], pc[128], pd[128], pe[128], out[128], err[600], cmd[1024];
    save_part(&cairo, "cairo", pa);
    save_part(&hand, "hand", pb);
    save_part(&packed, "packed", pc);
    save_part(&open, "open", pd);
    save_part(&locked, "locked", pe);
    snprintf(out, sizeof out, "/tmp/test_pdfdoc-%d-any.pdf", (int)getpid());
    pdfdoc_part_t parts[] = {{pa, "A"}, {pb, "B"}, {pc, "C"}, {pd, "D"}};
    int pages = 0;
    ck_assert_msg(pdfdoc_merge_files(parts, 4, NULL, NULL, out, &pages, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(pages, 9);
    snprintf(cmd, sizeof cmd,
             "qpdf --check %s >/dev/null 2>&1 && echo ok; pdftotext %s - | tr -s \"\\n\\f\" \" \"; echo; "
             "pdfinfo -f 3 -l 8 %s | grep -c \"300 x 200 pts\"; pdfinfo -f 3 -l 8 %s | grep -c \"rot: *90\"",
             out, out, out, out);
    char *got = pdffix_run(cmd);
    ck_assert_str_eq(got, "ok\nPage 1 Page 2 Hand page 1 Hand page 2 Hand page 3 Hand page 1 Hand page 2 "
                          "Hand page 3 Page 1 \n6\n6\n");
    free(got);
    snprintf(cmd, sizeof cmd,
             "qpdf --json --json-key=outlines %s | python3 -c 'import json,sys\n"
             "for o in json.load(sys.stdin)[\"outlines\"]: print(o[\"title\"], o[\"destpageposfrom1\"])'",
             out);
    got = pdffix_run(cmd);
    ck_assert_str_eq(got, "A 1\nB 3\nC 6\nD 9\n");
    free(got);
    /* cairo's font subsets (the first part's and the decrypted one's) stay embedded */
    got = pdffix_tool(out, "pdffonts", "| awk 'NR > 2 && $1 ~ /[+]/ { print $(NF-4) }' | sort | uniq -c");
    ck_assert_str_eq(got, "      2 yes\n");
    free(got);
    /* both copies of the link go to their own part's first page, strings and names intact */
    got = merged_links(out);
    ck_assert_str_eq(got, "u:a (b) \\ c b:00ff10ab 3\nu:a (b) \\ c b:00ff10ab 6\n");
    free(got);
    got = pdffix_tool(out, "grep -a -c '/CK#20Key /A#23b'", "");
    ck_assert_str_eq(got, "2\n");
    free(got);
    /* deterministic */
    tu_bytes_t first = tu_bytes_load(out);
    ck_assert_int_eq(pdfdoc_merge_files(parts, 4, NULL, NULL, out, NULL, err, sizeof err), 0);
    tu_bytes_t again = tu_bytes_load(out);
    ck_assert(first.len == again.len && memcmp(first.data, again.data, first.len) == 0);
    free(first.data);
    free(again.data);
    /* a part that needs a password is refused by name; no half-written output stays */
    pdfdoc_part_t with_locked[] = {{pa, "A"}, {pe, "E"}};
    ck_assert_int_eq(pdfdoc_merge_files(with_locked, 2, NULL, NULL, out, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "part 1 (") && strstr(err, "is encrypted and needs a password"), "%s", err);
    ck_assert(access(out, F_OK) != 0);
    snprintf(cmd, sizeof cmd, "rm -f %s %s %s %s %s", pa, pb, pc, pd, pe);
    free(pdffix_run(cmd));
    pdffix_t *all[] = {&cairo, &hand, &packed, &one, &open, &locked};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        pdffix_free(all[i]);
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
    tcase_add_test(tc, overlay_honours_crop_box_and_rotation);
    tcase_add_test(tc, overlay_larger_than_a_page_uses_its_top_left);
    tcase_add_test(tc, base_streams_stay_byte_for_byte);
    tcase_add_test(tc, acroform_fill_keeps_or_flattens);
    tcase_add_test(tc, acroform_listing);
    tcase_add_test(tc, fill_errors_name_the_field);
    tcase_add_test(tc, overlay_on_ghostscript_and_fifty_pages);
    tcase_add_test(tc, merge_files_in_order_with_outline_and_note);
    tcase_add_test(tc, merge_files_from_any_producer);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
