/* PDF overlay templates (issue 20). Step 1: base PDFs are uploaded as assets of kind "pdf"
 * (POST /v1/assets, application/pdf), described by pages and form fields, and every bad one
 * (not a PDF, truncated, encrypted, decompression bomb, deep nesting, huge page tree, over the
 * size limit) is refused in the envelope with nothing stored. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "harness_render.h"
#include "pdffix.h"

#define PDF_MAX 3000000

static th_server_t *srv;

static th_resp_t *upload(const char *key, const pdffix_t *pdf, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/assets?name=%s", name);
    const char *headers[] = {"Content-Type: application/pdf", NULL};
    return th_req_bytes(srv, "POST", path, key, pdf->data, pdf->len, headers);
}

/* Objects stored under the project's asset prefix. */
static int objects(const char *project_id)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/assets/%s", srv->dir, project_id);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int rows(const char *project_id)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT count(*) FROM assets WHERE project_id = '%s'", project_id);
    char *v = th_sql(srv, q);
    int n = atoi(v);
    free(v);
    return n;
}

START_TEST(pdf_assets_are_described)
{
    char pid[64], key[128];
    th_project(srv, "Overlay uploads", false, pid, key);
    pdffix_t cairo = pdffix_cairo(2, 595.28, 841.89);
    th_resp_t *r = upload(key, &cairo, "letter");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "kind"), "pdf");
    ck_assert_str_eq(th_str(r->json, "mediaType"), "application/pdf");
    json_t *pdf = json_object_get(r->json, "pdf");
    ck_assert_int_eq(json_integer_value(json_object_get(pdf, "pages")), 2);
    ck_assert_double_eq_tol(json_real_value(json_object_get(pdf, "width")), 595.28, 0.01);
    ck_assert_int_eq(json_integer_value(json_object_get(pdf, "formFields")), 0);
    ck_assert(json_is_false(json_object_get(pdf, "encrypted")));
    char id[64], path[256];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    snprintf(path, sizeof path, "/v1/assets/%s/content", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(r->len, cairo.len);
    ck_assert(memcmp(r->body, cairo.data, cairo.len) == 0);
    ck_assert_str_eq(th_header(r, "content-type"), "application/pdf");
    th_resp_free(r);

    /* hand-written with AcroForm fields, a crop box and a rotated page */
    pdffix_t form = pdffix_form();
    r = upload(key, &form, "form");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    pdf = json_object_get(r->json, "pdf");
    ck_assert_int_eq(json_integer_value(json_object_get(pdf, "formFields")), 4);
    ck_assert_double_eq_tol(json_real_value(json_object_get(pdf, "width")), 540, 0.01);
    th_resp_free(r);

    /* Ghostscript's */
    pdffix_t gs = pdffix_gs(2);
    ck_assert(gs.len > 0);
    r = upload(key, &gs, "gs");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    ck_assert_int_eq(objects(pid), 3);
    pdffix_free(&cairo);
    pdffix_free(&form);
    pdffix_free(&gs);
}
END_TEST

static void expect_refused(const char *key, pdffix_t pdf, long status, const char *code, const char *needle)
{
    th_resp_t *r = upload(key, &pdf, "bad");
    th_assert_error(r, status, code);
    const char *msg = th_str(json_object_get(r->json, "error"), "message");
    ck_assert_msg(msg && strstr(msg, needle), "expected \"%s\" in %s", needle, r->body);
    th_resp_free(r);
    pdffix_free(&pdf);
}

START_TEST(bad_pdfs_are_refused_and_leave_nothing)
{
    char pid[64], key[128];
    th_project(srv, "Overlay bad uploads", false, pid, key);
    pdffix_t truncated = pdffix_cairo(2, 595, 842);
    truncated.len /= 2;
    expect_refused(key, truncated, 400, "invalid_asset", "The PDF is damaged or truncated");
    pdffix_t base = pdffix_cairo(1, 200, 200);
    expect_refused(key, pdffix_qpdf(&base, "--encrypt secret owner 256 --"), 400, "invalid_asset",
                   "The PDF is encrypted and needs a password");
    pdffix_free(&base);
    expect_refused(key, pdffix_bomb_stream(200), 400, "invalid_asset", "decompression bomb");
    expect_refused(key, pdffix_bomb_nesting(300), 400, "invalid_asset", "The PDF");
    expect_refused(key, pdffix_bomb_pages(50000000L, 1), 400, "invalid_asset",
                   "has 50000000 pages, more than the limit of 2000");
    /* over CRAFTKIT_ASSET_PDF_MAX_BYTES: refused before it is parsed */
    pdffix_t big = {calloc(1, PDF_MAX + 1), PDF_MAX + 1};
    memcpy(big.data, "%PDF-1.7\n", 9);
    expect_refused(key, big, 413, "asset_too_large", "more than the limit of 3000000 bytes");
    /* declared application/pdf, but text: neither font, image nor PDF */
    pdffix_t text = {(unsigned char *)strdup("just text"), 9};
    expect_refused(key, text, 400, "invalid_asset", "nor a PDF");
    ck_assert_int_eq(rows(pid), 0);
    ck_assert_int_eq(objects(pid), 0);
}
END_TEST

int main(void)
{
    char pdfmax[64];
    snprintf(pdfmax, sizeof pdfmax, "CRAFTKIT_ASSET_PDF_MAX_BYTES=%d", PDF_MAX);
    const char *env[] = {pdfmax, NULL};
    srv = th_start("pdf_overlay", env);
    Suite *s = suite_create("pdf_overlay");
    TCase *tc = tcase_create("pdf_overlay");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, pdf_assets_are_described);
    tcase_add_test(tc, bad_pdfs_are_refused_and_leave_nothing);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
