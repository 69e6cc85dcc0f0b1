/* PDF/A output over real HTTP (docs/einvoice.md): options.pdfa on previews and renders, the
 * template version's default (pageConfig.pdfa), and the 400s of bad values. The structure of
 * the files themselves is checked with qpdf, xmllint and poppler by tests/pdfa/check_pdfa.py. */
#include <string.h>

#include "harness.h"
#include "harness_render.h"

static th_server_t *srv;
static char key[128];

#define DATA                                                                                                 \
    "{\"customer\":{\"name\":\"PDF/A Customer\"},\"total\":12.5,\"items\":[{\"name\":\"W\",\"qty\":2}]}"

static bool has(const th_resp_t *r, const char *needle)
{
    return r->body && memmem(r->body, r->len, needle, strlen(needle)) != NULL;
}

START_TEST(preview_pdfa_levels)
{
    th_resp_t *r = th_req(srv, "POST", "/v1/templates/invoice/preview", key,
                          "{\"data\":" DATA ",\"options\":{\"pdfa\":\"3b\"}}", NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert(has(r, "/GTS_PDFA1") && has(r, "<pdfaid:part>3</pdfaid:part>") && has(r, "/ID ["));
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/templates/invoice/preview", key,
               "{\"data\":" DATA ",\"options\":{\"pdfa\":\"2b\"}}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(has(r, "<pdfaid:part>2</pdfaid:part>") && has(r, "<pdfaid:conformance>B</pdfaid:conformance>"));
    th_resp_free(r);
    /* without the option: a plain PDF, as before */
    r = th_req(srv, "POST", "/v1/templates/invoice/preview", key, "{\"data\":" DATA "}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(!has(r, "/GTS_PDFA1") && !has(r, "pdfaid"));
    th_resp_free(r);
    const char *bad[] = {"\"1a\"", "\"3B\"", "3", "true", "\"\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"data\":" DATA ",\"options\":{\"pdfa\":%s}}", bad[i]);
        r = th_req(srv, "POST", "/v1/templates/invoice/preview", key, body, NULL);
        th_assert_error(r, 400, "invalid_request");
        ck_assert_msg(has(r, "\"options.pdfa\":[\"Invalid enum value. Expected '2b' | '3b'\"]"), "%s",
                      r->body);
        th_resp_free(r);
    }
}
END_TEST

START_TEST(render_pdfa_and_replay)
{
    char id[64];
    th_submit_ok(srv, NULL, key, "invoice",
                 "{\"data\":" DATA ",\"options\":{\"pdfa\":\"2b\",\"filename\":\"a.pdf\"}}", id);
    th_resp_t *r = th_wait_render(srv, key, id, 30000);
    ck_assert_str_eq(th_status(r), "succeeded");
    th_resp_free(r);
    char path[128];
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(has(r, "/GTS_PDFA1") && has(r, "<pdfaid:part>2</pdfaid:part>"));
    th_resp_free(r);
    /* the level is part of the request: the same key with another level is a different request */
    const char *hdr[] = {"Idempotency-Key: pdfa-1", NULL};
    r = th_req(srv, "POST", "/v1/templates/invoice/render", key,
               "{\"data\":" DATA ",\"options\":{\"pdfa\":\"2b\"}}", hdr);
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/templates/invoice/render", key,
               "{\"data\":" DATA ",\"options\":{\"pdfa\":\"3b\"}}", hdr);
    th_assert_error(r, 409, "idempotency_key_reused");
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/templates/invoice/render", key,
               "{\"data\":" DATA ",\"options\":{\"pdfa\":\"4u\"}}", NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(has(r, "options.pdfa"), "%s", r->body);
    th_resp_free(r);
}
END_TEST

START_TEST(template_default)
{
    const char *body = "{\"name\":\"Archive\",\"slug\":\"archive\",\"manifest\":" TH_INVOICE_MANIFEST
                       ",\"pageConfig\":{\"format\":\"A4\",\"pdfa\":\"3b\"}}";
    th_resp_t *r = th_req(srv, "POST", "/v1/templates", key, body, NULL);
    ck_assert_msg(r->status == 201, "%s", r->body);
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/templates/archive/preview", key, "{\"data\":" DATA "}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(has(r, "<pdfaid:part>3</pdfaid:part>"));
    th_resp_free(r);
    /* the render's own level wins over the version's */
    r = th_req(srv, "POST", "/v1/templates/archive/preview", key,
               "{\"data\":" DATA ",\"options\":{\"pdfa\":\"2b\"}}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(has(r, "<pdfaid:part>2</pdfaid:part>"));
    th_resp_free(r);
    r = th_req(srv, "PUT", "/v1/templates/archive", key,
               "{\"manifest\":" TH_INVOICE_MANIFEST ",\"pageConfig\":{\"pdfa\":\"1b\"}}", NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(has(r, "\"pageConfig.pdfa\""), "%s", r->body);
    th_resp_free(r);
}
END_TEST

int main(void)
{
    srv = th_start("pdfa", NULL);
    char id[64];
    th_invoice_project(srv, "PDF/A", "invoice", id, key);
    Suite *s = suite_create("pdfa");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, preview_pdfa_levels);
    tcase_add_test(tc, render_pdfa_and_replay);
    tcase_add_test(tc, template_default);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
