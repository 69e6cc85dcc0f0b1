/* PDF overlay templates (issue 20). Base PDFs are uploaded as assets of kind "pdf"
 * (POST /v1/assets, application/pdf), described by pages and form fields, and every bad one
 * (not a PDF, truncated, encrypted, decompression bomb, deep nesting, huge page tree, over the
 * size limit) is refused in the envelope with nothing stored. A template of type pdf-overlay
 * names one and places text on its pages and fills its form: saved with every mistake at its
 * path (a page past the last, a placement off the page, an unknown form field, too many
 * placements), rendered through the queue with the placements where they were put
 * (pdftotext -bbox) and the form's values in /V (qpdf --json). PNG previews show the chosen
 * base page with the overlay on it, at its own size and the asked dpi; a page past the last is
 * 422 render_failed. */
#include <cairo.h>
#include <check.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "harness_render.h"
#include "pdffix.h"
#include "tu.h"

#define PDF_MAX 3000000

static th_server_t *srv;

static th_resp_t *upload(const char *key, const pdffix_t *pdf, const char *name)
{
    char query[256];
    snprintf(query, sizeof query, "?name=%s", name);
    return th_upload_asset(srv, key, "application/pdf", pdf->data, pdf->len, query);
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
    ck_assert_int_eq(th_stored_assets(srv, pid), 3);
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
    ck_assert_int_eq(th_stored_assets(srv, pid), 0);
}
END_TEST

/* Creates (PUT) template slug of type pdf-overlay with this manifest and layout; the answer. */
static th_resp_t *put_overlay(const char *key, const char *slug, const char *manifest, const char *layout)
{
    size_t n = strlen(manifest) + strlen(layout) + 256;
    char *body = malloc(n), path[256];
    snprintf(body, n, "{\"templateType\":\"pdf-overlay\",\"manifest\":%s,\"layout\":%s}", manifest, layout);
    snprintf(path, sizeof path, "/v1/templates/%s", slug);
    th_resp_t *r = th_req(srv, "PUT", path, key, body, NULL);
    free(body);
    return r;
}

/* Renders slug with data through the queue and returns the PDF (saved at file). */
static pdffix_t render_pdf(const char *key, const char *slug, const char *data, char *file, size_t file_len)
{
    char body[1024], id[64];
    snprintf(body, sizeof body, "{\"data\":%s}", data);
    th_submit_ok(srv, NULL, key, slug, body, id);
    th_resp_t *r = th_wait_render(srv, key, id, 60000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    r = th_download_to(srv, key, id, "overlay", file, file_len);
    pdffix_t pdf = {malloc(r->len), r->len};
    memcpy(pdf.data, r->body, r->len);
    th_resp_free(r);
    return pdf;
}

/* Output of the shell command "before FILE after". Caller frees. */
static char *tool(const char *file, const char *before, const char *after)
{
    char *out = pdffix_tool(file, before, after);
    ck_assert(out != NULL);
    return out;
}

/* xMin/yMin of word on page per pdftotext -bbox; false when it is not there. */
static bool word_at(const char *file, int page, const char *word, double *x, double *y)
{
    char cmd[128], needle[128];
    snprintf(cmd, sizeof cmd, "pdftotext -bbox -f %d -l %d", page, page);
    char *xml = tool(file, cmd, "- 2>/dev/null");
    snprintf(needle, sizeof needle, ">%s</word>", word);
    char *hit = strstr(xml, needle);
    bool found = hit != NULL;
    if (found) {
        while (hit > xml && strncmp(hit, "<word", 5))
            hit--;
        found = sscanf(hit, "<word xMin=\"%lf\" yMin=\"%lf\"", x, y) == 2;
    }
    free(xml);
    return found;
}

#define NAME_MANIFEST                                                                                        \
    "{\"variables\":[{\"key\":\"name\",\"dataType\":\"text\",\"required\":true},"                            \
    "{\"key\":\"agree\",\"dataType\":\"boolean\"},{\"key\":\"color\",\"dataType\":\"text\"}]}"

START_TEST(overlay_template_renders_placements_over_the_base)
{
    char pid[64], key[128], file[1024];
    th_project(srv, "Overlay renders", false, pid, key);
    pdffix_t cairo = pdffix_cairo(2, 595.28, 841.89);
    th_resp_t *r = upload(key, &cairo, "letter");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    pdffix_free(&cairo);
    r = put_overlay(
        key, "letter", NAME_MANIFEST,
        "{\"base\":\"asset:letter\",\"fields\":["
        "{\"type\":\"text\",\"page\":1,\"x\":100,\"y\":200,\"width\":300,\"text\":\"Dear {{name}}\"},"
        "{\"type\":\"text\",\"page\":2,\"x\":\"50mm\",\"y\":300,\"text\":\"SECOND\"},"
        "{\"type\":\"text\",\"page\":\"all\",\"x\":400,\"y\":700,\"text\":\"EVERY\",\"fontSize\":8},"
        "{\"type\":\"checkbox\",\"page\":1,\"x\":20,\"y\":20,\"checked\":\"agree\",\"mark\":\"TICK\"},"
        "{\"type\":\"rect\",\"page\":2,\"x\":10,\"y\":10,\"width\":50,\"height\":20,\"color\":\"#000\"},"
        "{\"type\":\"line\",\"page\":1,\"x\":10,\"y\":500,\"width\":100,\"thickness\":2,\"dash\":\"dashed\"},"
        "{\"type\":\"qr\",\"page\":2,\"x\":400,\"y\":400,\"size\":60,\"data\":\"{{name}}\"}]}");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/templates/letter/versions/1", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    json_t *layout = json_object_get(r->json, "layout");
    ck_assert_str_eq(th_str(layout, "templateType"), "pdf-overlay");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(layout, "basePdf"), "pages")), 2);
    ck_assert_str_eq(th_str(r->json, "templateType"), "pdf-overlay");
    th_resp_free(r);
    /* the template's type at the top level of the template, the list and the version */
    r = th_req(srv, "GET", "/v1/templates/letter", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_str(r->json, "templateType"), "pdf-overlay");
    th_resp_free(r);
    r = th_req(srv, "PUT", "/v1/templates/plain", key, "{\"manifest\":" NAME_MANIFEST "}", NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "templateType"), "layout");
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/templates", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    json_t *list = json_object_get(r->json, "templates"), *t;
    size_t ti;
    int seen = 0;
    json_array_foreach(list, ti, t)
    {
        const char *want = !strcmp(th_str(t, "slug"), "letter") ? "pdf-overlay" : "layout";
        ck_assert_str_eq(th_str(t, "templateType"), want);
        seen++;
    }
    ck_assert_int_eq(seen, 2);
    th_resp_free(r);

    pdffix_t out = render_pdf(key, "letter", "{\"name\":\"Ada\",\"agree\":false}", file, sizeof file);
    double x, y;
    ck_assert(word_at(file, 1, "Ada", &x, &y));
    ck_assert(word_at(file, 1, "Dear", &x, &y));
    ck_assert_double_eq_tol(x, 100, 0.5);
    ck_assert_double_eq_tol(y, 200, 2);
    ck_assert(word_at(file, 1, "Page", &x, &y)); /* the base's own text is still there */
    ck_assert(word_at(file, 2, "SECOND", &x, &y));
    ck_assert_double_eq_tol(x, 141.73, 0.5);
    ck_assert_double_eq_tol(y, 300, 2);
    ck_assert(!word_at(file, 1, "SECOND", &x, &y));
    ck_assert(word_at(file, 1, "EVERY", &x, &y) && word_at(file, 2, "EVERY", &x, &y));
    ck_assert_double_eq_tol(x, 400, 0.5);
    ck_assert(!word_at(file, 1, "TICK", &x, &y)); /* agree is false */
    char *info = tool(file, "pdfinfo", "2>&1");
    ck_assert_msg(strstr(info, "Pages:           2"), "%s", info);
    free(info);
    char *check = tool(file, "qpdf --check", "2>&1; echo rc=$?");
    ck_assert_msg(strstr(check, "rc=0"), "%s", check);
    free(check);
    unlink(file);
    pdffix_free(&out);

    out = render_pdf(key, "letter", "{\"name\":\"Bob\",\"agree\":true}", file, sizeof file);
    ck_assert(word_at(file, 1, "TICK", &x, &y));
    ck_assert_double_eq_tol(x, 20, 0.5);
    unlink(file);
    pdffix_free(&out);
}
END_TEST

START_TEST(overlay_template_fills_the_form)
{
    char pid[64], key[128], file[1024];
    th_project(srv, "Overlay forms", false, pid, key);
    pdffix_t form = pdffix_form();
    th_resp_t *r = upload(key, &form, "form");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    char asset_path[256];
    snprintf(asset_path, sizeof asset_path, "/v1/assets/%s/pdf", th_str(r->json, "id"));
    th_resp_free(r);
    pdffix_free(&form);
    /* what a client builds the overlay from: pages as shown and the form's fields */
    r = th_req(srv, "GET", asset_path, key, NULL, NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    json_t *pages = json_object_get(r->json, "pages"), *fields = json_object_get(r->json, "fields");
    ck_assert_int_eq(json_array_size(pages), 2);
    ck_assert_double_eq_tol(json_number_value(json_object_get(json_array_get(pages, 1), "width")), 842, 0.5);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(pages, 1), "rotate")), 90);
    ck_assert_int_eq(json_array_size(fields), 4);
    ck_assert_str_eq(th_str(json_array_get(fields, 0), "name"), "name");
    ck_assert_str_eq(th_str(json_array_get(fields, 0), "type"), "text");
    th_resp_free(r);
    r = put_overlay(
        key, "form", NAME_MANIFEST,
        "{\"base\":\"asset:form\",\"flatten\":false,"
        "\"fill\":{\"name\":\"{{name}}\",\"agree\":\"{{agree}}\",\"color\":\"{{color}}\",\"size\":\"L\"},"
        "\"fields\":[{\"type\":\"text\",\"page\":1,\"x\":100,\"y\":100,\"text\":\"MARK\"},"
        "{\"type\":\"text\",\"page\":2,\"x\":600,\"y\":100,\"text\":\"TURNED\"}]}");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/templates/form/base-pdf", key, NULL, NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "fields")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "versionNumber")), 1);
    th_resp_free(r);
    th_expect_error(srv, "GET", "/v1/templates/form/base-pdf?version=7", key, NULL, 404, "version_not_found");
    th_template(srv, key, "plain", NAME_MANIFEST);
    th_expect_error(srv, "GET", "/v1/templates/plain/base-pdf", key, NULL, 400, "invalid_request");
    pdffix_t out = render_pdf(key, "form", "{\"name\":\"Jane Doe\",\"agree\":true,\"color\":\"Green\"}", file,
                              sizeof file);
    char *json = tool(file, "qpdf --json --json-key=acroform", "");
    ck_assert_msg(strstr(json, "\"value\": \"u:Jane Doe\"") && strstr(json, "\"value\": \"/Yes\"") &&
                      strstr(json, "\"value\": \"u:Green\"") && strstr(json, "\"value\": \"/L\""),
                  "%s", json);
    free(json);
    double x, y;
    ck_assert(word_at(file, 1, "MARK", &x, &y)); /* pdftotext measures from the media box: + the crop's 36 */
    ck_assert_double_eq_tol(x, 136, 0.5);
    ck_assert_double_eq_tol(y, 136, 2);
    /* page 2 (turned, 842 x 595 as shown) takes placements past page 1's 540 pt width, upright */
    ck_assert(word_at(file, 2, "TURNED", &x, &y));
    ck_assert_double_eq_tol(x, 600, 0.5);
    ck_assert_double_eq_tol(y, 100, 2);
    unlink(file);
    pdffix_free(&out);

    /* flattened (the default): the values are page content and the form is gone */
    r = put_overlay(key, "form", NAME_MANIFEST, "{\"base\":\"asset:form\",\"fill\":{\"name\":\"{{name}}\"}}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    th_resp_free(r);
    out = render_pdf(key, "form", "{\"name\":\"Flat Person\"}", file, sizeof file);
    json = tool(file, "qpdf --json --json-key=acroform", "");
    ck_assert_msg(strstr(json, "\"hasacroform\": false"), "%s", json);
    free(json);
    char *text = tool(file, "pdftotext", "- 2>/dev/null");
    ck_assert_msg(strstr(text, "Flat Person"), "%s", text);
    free(text);
    unlink(file);
    pdffix_free(&out);
}
END_TEST

/* A base of A4, US Letter turned to landscape and A4 again: every page takes placements
 * measured from its own top-left and checked against its own size, and keeps its size. */
START_TEST(overlay_pages_of_mixed_sizes_take_placements)
{
    char pid[64], key[128], file[1024];
    th_project(srv, "Overlay mixed sizes", false, pid, key);
    static const double sizes[3][2] = {{595.28, 841.89}, {792, 612}, {595.28, 841.89}};
    pdffix_t mixed = pdffix_cairo_sizes(3, sizes);
    th_resp_t *r = upload(key, &mixed, "mixed");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    pdffix_free(&mixed);
    /* x 700 fits the landscape page only, y 800 the A4 pages only */
    r = put_overlay(
        key, "mixed-bad", NAME_MANIFEST,
        "{\"base\":\"asset:mixed\",\"fields\":[{\"type\":\"text\",\"page\":2,\"x\":10,"
        "\"y\":700,\"text\":\"x\"},{\"type\":\"text\",\"page\":1,\"x\":700,\"y\":10,\"text\":\"x\"}]}");
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(strstr(r->body, "700 pt is off the page (it is 612 pt): page 2 is 792 x 612 pt"), "%s",
                  r->body);
    th_resp_free(r);
    r = put_overlay(key, "mixed", NAME_MANIFEST,
                    "{\"base\":\"asset:mixed\",\"fields\":["
                    "{\"type\":\"text\",\"page\":1,\"x\":100,\"y\":800,\"text\":\"ONE\"},"
                    "{\"type\":\"text\",\"page\":2,\"x\":700,\"y\":500,\"text\":\"TWO\"},"
                    "{\"type\":\"text\",\"page\":\"all\",\"x\":50,\"y\":50,\"text\":\"EACH\"},"
                    "{\"type\":\"text\",\"page\":3,\"x\":300,\"y\":780,\"text\":\"THREE\"},"
                    "{\"type\":\"text\",\"page\":1,\"x\":400,\"y\":300,\"fontSize\":20,"
                    "\"text\":\"AAAA BBBB CCCC DDDD EEEE FFFF GGGG HHHH\"}]}");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    pdffix_t out = render_pdf(key, "mixed", "{\"name\":\"Ada\"}", file, sizeof file);
    double x, y;
    ck_assert(word_at(file, 1, "ONE", &x, &y));
    ck_assert_double_eq_tol(x, 100, 0.5);
    ck_assert_double_eq_tol(y, 800, 2);
    ck_assert(word_at(file, 2, "TWO", &x, &y));
    ck_assert_double_eq_tol(x, 700, 0.5);
    ck_assert_double_eq_tol(y, 500, 2);
    ck_assert(word_at(file, 3, "THREE", &x, &y));
    ck_assert_double_eq_tol(x, 300, 0.5);
    ck_assert_double_eq_tol(y, 780, 2);
    /* without a width, text wraps at its own page's right edge (595 pt), not the sheet's (792) */
    static const char *const words[] = {"AAAA", "BBBB", "CCCC", "DDDD", "EEEE", "FFFF", "GGGG", "HHHH"};
    for (int i = 0; i < 8; i++) {
        ck_assert_msg(word_at(file, 1, words[i], &x, &y), "%s is not on page 1", words[i]);
        ck_assert_msg(x >= 399 && x <= 545, "%s at x %g: past the A4 page's edge", words[i], x);
    }
    for (int p = 1; p <= 3; p++) {
        ck_assert(word_at(file, p, "EACH", &x, &y));
        ck_assert_double_eq_tol(x, 50, 0.5);
        ck_assert_double_eq_tol(y, 50, 2);
    }
    char *info = tool(file, "pdfinfo -f 1 -l 3", "2>&1");
    ck_assert_msg(strstr(info, "Page    1 size:  595.28 x 841.89 pts") &&
                      strstr(info, "Page    2 size:  792 x 612 pts") &&
                      strstr(info, "Page    3 size:  595.28 x 841.89 pts"),
                  "%s", info);
    free(info);
    char *check = tool(file, "qpdf --check", "2>&1; echo rc=$?");
    ck_assert_msg(strstr(check, "rc=0"), "%s", check);
    free(check);
    unlink(file);
    pdffix_free(&out);
}
END_TEST

/* A PNG preview of slug with options; the answer. */
static th_resp_t *preview_png(const char *key, const char *slug, const char *options)
{
    char body[512], path[256];
    snprintf(body, sizeof body, "{\"data\":{\"name\":\"Ada\"},\"options\":%s}", options);
    snprintf(path, sizeof path, "/v1/templates/%s/preview", slug);
    return th_req(srv, "POST", path, key, body, NULL);
}

/* Decodes a 200 PNG answer; checks its type, size and the page count header. */
static cairo_surface_t *png_of(const th_resp_t *r, int w, int h, int pages)
{
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_header(r, "content-type"), "image/png");
    ck_assert_int_eq(atoi(th_header(r, "x-craftkit-pages")), pages);
    cairo_surface_t *s = tu_png_decode((const unsigned char *)r->body, r->len);
    ck_assert_int_eq(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    ck_assert_int_eq(cairo_image_surface_get_width(s), w);
    ck_assert_int_eq(cairo_image_surface_get_height(s), h);
    return s;
}

START_TEST(overlay_png_previews_show_the_page)
{
    char pid[64], key[128];
    th_project(srv, "Overlay PNG", false, pid, key);
    static const double sizes[2][2] = {{595.28, 841.89}, {792, 612}};
    pdffix_t mixed = pdffix_cairo_sizes(2, sizes);
    th_resp_t *r = upload(key, &mixed, "mixed");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    pdffix_free(&mixed);
    r = put_overlay(key, "pic", NAME_MANIFEST,
                    "{\"base\":\"asset:mixed\",\"fields\":["
                    "{\"type\":\"rect\",\"page\":2,\"x\":600,\"y\":400,\"width\":100,\"height\":100,"
                    "\"color\":\"#000\"},"
                    "{\"type\":\"text\",\"page\":1,\"x\":100,\"y\":300,\"text\":\"{{name}}\"}]}");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    /* page 2 is landscape: the picture is its own size, with the rectangle on it */
    r = preview_png(key, "pic", "{\"format\":\"png\",\"page\":2,\"dpi\":72}");
    cairo_surface_t *s = png_of(r, 792, 612, 2);
    ck_assert_int_lt(tu_grey_at(s, 650, 450), 40);  /* the overlay's rectangle */
    ck_assert_int_gt(tu_grey_at(s, 300, 300), 215); /* the page's white */
    ck_assert_int_lt(tu_grey_at(s, 36, 300), 200);  /* the base's frame, at 36 pt */
    cairo_surface_destroy(s);
    th_resp_free(r);
    /* page 1 has no rectangle; dpi scales the picture (595.28 x 841.89 pt at 144 dpi) */
    r = preview_png(key, "pic", "{\"format\":\"png\",\"page\":1,\"dpi\":144}");
    s = png_of(r, 1191, 1684, 2);
    ck_assert_int_gt(tu_grey_at(s, 600, 900), 215); /* white: page 1 has no rectangle */
    cairo_surface_destroy(s);
    th_resp_free(r);
    /* without page and dpi: page 1 at 96 dpi */
    r = preview_png(key, "pic", "{\"format\":\"png\"}");
    s = png_of(r, 794, 1123, 2);
    cairo_surface_destroy(s);
    th_resp_free(r);
    /* past the last page: 422 in the envelope, saying how many there are */
    r = preview_png(key, "pic", "{\"format\":\"png\",\"page\":3}");
    th_assert_error(r, 422, "render_failed");
    ck_assert_msg(strstr(r->body, "page 3 does not exist: the document has 2 pages"), "%s", r->body);
    th_resp_free(r);
    /* the options PNG previews of layouts refuse, refused the same way */
    r = preview_png(key, "pic", "{\"format\":\"png\",\"dpi\":1000}");
    th_assert_error(r, 400, "invalid_request");
    th_resp_free(r);
}
END_TEST

/* A save that must answer 400 with an issue at path (whose message contains needle). */
static void expect_issue(const char *key, const char *layout, const char *path, const char *needle)
{
    th_resp_t *r = put_overlay(key, "bad", NAME_MANIFEST, layout);
    th_assert_error(r, 400, "invalid_request");
    json_t *fe = json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
    json_t *msgs = json_object_get(fe, path);
    const char *msg = json_string_value(json_array_get(msgs, 0));
    ck_assert_msg(msg && strstr(msg, needle), "expected \"%s\" at %s in %s", needle, path, r->body);
    th_resp_free(r);
}

START_TEST(overlay_mistakes_are_refused_at_save)
{
    char pid[64], key[128];
    th_project(srv, "Overlay mistakes", false, pid, key);
    pdffix_t form = pdffix_form();
    th_resp_t *r = upload(key, &form, "form");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    pdffix_free(&form);
    expect_issue(key, "{\"base\":\"asset:nope\"}", "layout.base", "No PDF asset \"nope\"");
    expect_issue(key, "{\"fields\":[]}", "layout.base", "Required");
    expect_issue(key,
                 "{\"base\":\"asset:form\",\"fields\":[{\"type\":\"text\",\"page\":3,\"x\":1,\"y\":1,"
                 "\"text\":\"x\"}]}",
                 "layout.fields.0.page", "Page 3 is past the base PDF's last page (2)");
    /* page 2 is A4 turned (842 x 595 as shown), page 1 540 x 720: each is measured by its own size */
    expect_issue(key,
                 "{\"base\":\"asset:form\",\"fields\":[{\"type\":\"text\",\"page\":2,\"x\":1,\"y\":600,"
                 "\"text\":\"x\"}]}",
                 "layout.fields.0.y", "600 pt is off the page (it is 595 pt): page 2");
    expect_issue(
        key,
        "{\"base\":\"asset:form\",\"fields\":[{\"type\":\"text\",\"page\":\"all\",\"x\":\"8in\",\"y\":1,"
        "\"text\":\"x\"}]}",
        "layout.fields.0.x", "576 pt is off the page (it is 540 pt): page 1");
    expect_issue(
        key, "{\"base\":\"asset:form\",\"fields\":[{\"type\":\"text\",\"x\":900,\"y\":10,\"text\":\"x\"}]}",
        "layout.fields.0.x", "900 pt is off the page (it is 540 pt)");
    expect_issue(key, "{\"base\":\"asset:form\",\"fill\":{\"nmae\":\"{{name}}\"}}", "layout.fill.nmae",
                 "The base PDF has no form field \"nmae\" (fields: ");
    expect_issue(key, "{\"base\":\"asset:form\",\"fill\":{\"name\":\"{{nmae}}\"}}", "layout.fill.name",
                 "nmae");
    expect_issue(key,
                 "{\"base\":\"asset:form\",\"fields\":[{\"type\":\"text\",\"y\":1,\"text\":\"{{nmae}}\"}]}",
                 "layout.fields.0.x", "Required");
    expect_issue(key, "{\"base\":\"asset:form\",\"fields\":[{\"type\":\"circle\",\"x\":1,\"y\":1}]}",
                 "layout.fields.0.type", "Expected one of");
    /* 10,001 placements */
    size_t cap = 10001 * 40 + 256, n = 0;
    char *layout = malloc(cap);
    n += (size_t)snprintf(layout + n, cap - n, "{\"base\":\"asset:form\",\"fields\":[");
    for (int i = 0; i < 10001; i++)
        n += (size_t)snprintf(layout + n, cap - n, "%s{\"type\":\"line\",\"x\":1,\"y\":1}", i ? "," : "");
    snprintf(layout + n, cap - n, "]}");
    expect_issue(key, layout, "layout.fields", "At most 10000 placements");
    free(layout);
    /* a pageConfig would be stored and never used: the base's pages are the pages */
    r = th_req(srv, "PUT", "/v1/templates/bad", key,
               "{\"templateType\":\"pdf-overlay\",\"manifest\":" NAME_MANIFEST
               ",\"layout\":{\"base\":\"asset:form\"},\"pageConfig\":{\"format\":\"A4\"}}",
               NULL);
    th_assert_error(r, 400, "invalid_request");
    json_t *fe = json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
    ck_assert_msg(strstr(json_string_value(json_array_get(json_object_get(fe, "pageConfig"), 0)),
                         "remove pageConfig") != NULL,
                  "%s", r->body);
    th_resp_free(r);
    /* nothing was saved */
    r = th_req(srv, "GET", "/v1/templates/bad", key, NULL, NULL);
    th_assert_error(r, 404, "template_not_found");
    th_resp_free(r);
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
    tcase_add_test(tc, overlay_template_renders_placements_over_the_base);
    tcase_add_test(tc, overlay_template_fills_the_form);
    tcase_add_test(tc, overlay_mistakes_are_refused_at_save);
    tcase_add_test(tc, overlay_pages_of_mixed_sizes_take_placements);
    tcase_add_test(tc, overlay_png_previews_show_the_page);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
