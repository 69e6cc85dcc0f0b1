/* Templates API over real HTTP and Postgres: CRUD, versions, every error code, validate, preview. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static th_server_t *srv;
static char key[128], other_key[128];

#define INVOICE_MANIFEST                                                                                     \
    "{\"variables\":[{\"key\":\"customer.name\",\"label\":\"Customer\",\"dataType\":\"text\",\"required\":"  \
    "true},"                                                                                                 \
    "{\"key\":\"total\",\"dataType\":\"currency\",\"format\":\"money:EUR\",\"required\":true},"              \
    "{\"key\":\"issued\",\"dataType\":\"date\"}],"                                                           \
    "\"loops\":[{\"key\":\"items\",\"itemFields\":[{\"key\":\"name\",\"dataType\":\"text\",\"required\":"    \
    "true},"                                                                                                 \
    "{\"key\":\"qty\",\"dataType\":\"number\",\"required\":true}]}]}"

static th_resp_t *create(const char *body)
{
    return th_req(srv, "POST", "/v1/templates", key, body, NULL);
}

START_TEST(create_get_list_and_generated_layout)
{
    th_resp_t *r = create("{\"name\":\"Invoice\",\"manifest\":" INVOICE_MANIFEST "}");
    ck_assert_msg(r->status == 201, "%s", r->body);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "slug")), "invoice");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "currentVersionNumber")), 1);
    ck_assert(json_is_true(json_object_get(r->json, "published")));
    json_t *inbound = json_object_get(r->json, "inbound");
    ck_assert(strstr(json_string_value(json_object_get(inbound, "url")), "/v1/hooks/"));
    ck_assert(json_is_string(json_object_get(inbound, "secret")));
    ck_assert(json_is_false(json_object_get(inbound, "enforceSignature")));
    json_t *schema = json_object_get(r->json, "jsonSchema");
    ck_assert_str_eq(json_string_value(json_object_get(schema, "$schema")),
                     "http://json-schema.org/draft-07/schema#");
    ck_assert(json_is_object(json_object_get(r->json, "layout")));
    th_resp_free(r);

    /* same name again: suffixed slug */
    r = create("{\"name\":\"Invoice\",\"manifest\":" INVOICE_MANIFEST "}");
    ck_assert_int_eq(r->status, 201);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "slug")), "invoice-2");
    th_resp_free(r);

    r = th_req(srv, "GET", "/v1/templates/invoice", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_is_object(json_object_get(r->json, "manifest")));
    th_resp_free(r);

    r = th_req(srv, "GET", "/v1/templates", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    json_t *list = json_object_get(r->json, "templates");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "slug")), "invoice-2");
    th_resp_free(r);
}
END_TEST

START_TEST(create_errors)
{
    th_resp_t *r = create("{\"name\":\"X\",\"slug\":\"invoice\",\"manifest\":" INVOICE_MANIFEST "}");
    th_assert_error(r, 409, "slug_conflict");
    th_resp_free(r);
    r = create("{\"name\":\"X\",\"manifest\":{\"variables\":[],\"loops\":[{\"key\":\"a.b\",\"itemFields\":"
               "[{\"key\":\"x\",\"dataType\":\"text\"}]}]}}");
    th_assert_error(r, 400, "invalid_loop_key");
    th_resp_free(r);
    r = create("{\"name\":\"X\",\"manifest\":{\"variables\":[{\"key\":\"1bad\",\"dataType\":\"colour\"}]}}");
    th_assert_error(r, 400, "invalid_request");
    ck_assert(json_object_size(json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"),
                                               "fieldErrors")) >= 1);
    th_resp_free(r);
    r = create("{\"manifest\":" INVOICE_MANIFEST "}");
    th_assert_error(r, 400, "invalid_request");
    ck_assert(strstr(r->body, "\"name\":[\"Required\"]"));
    th_resp_free(r);
    r = create("{\"name\":\"X\",\"slug\":\"Bad Slug\",\"manifest\":" INVOICE_MANIFEST "}");
    th_assert_error(r, 400, "invalid_request");
    th_resp_free(r);
    r = create("{\"name\":\"X\",\"manifest\":" INVOICE_MANIFEST
               ",\"layout\":{\"body\":[{\"type\":\"nonsense\"}]}}");
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(strstr(r->body, "layout."), "%s", r->body);
    th_resp_free(r);
    r = create("{\"name\":\"X\",\"manifest\":" INVOICE_MANIFEST ",\"extra\":1}");
    th_assert_error(r, 400, "invalid_request");
    th_resp_free(r);
}
END_TEST

START_TEST(put_publishes_versions)
{
    th_resp_t *r =
        th_req(srv, "PUT", "/v1/templates/receipt", key, "{\"manifest\":" INVOICE_MANIFEST "}", NULL);
    ck_assert_msg(r->status == 201, "%s", r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "currentVersionNumber")), 1);
    th_resp_free(r);
    r = th_req(srv, "PUT", "/v1/templates/receipt", key,
               "{\"name\":\"Receipt\",\"manifest\":" INVOICE_MANIFEST "}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "currentVersionNumber")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "name")), "Receipt");
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/templates/receipt/versions", key, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "versions")), 2);
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/templates/receipt/versions/1", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_is_object(json_object_get(r->json, "layout")));
    ck_assert(json_is_object(json_object_get(r->json, "jsonSchema")));
    th_resp_free(r);
    th_expect_error(srv, "GET", "/v1/templates/receipt/versions/9", key, NULL, 404, "version_not_found");
    th_expect_error(srv, "GET", "/v1/templates/receipt/versions/abc", key, NULL, 404, "version_not_found");
    th_expect_error(srv, "GET", "/v1/templates/nope/versions/1", key, NULL, 404, "template_not_found");
}
END_TEST

START_TEST(patch_delete_and_isolation)
{
    th_resp_t *r = create("{\"name\":\"Letter\",\"manifest\":" INVOICE_MANIFEST "}");
    ck_assert_int_eq(r->status, 201);
    th_resp_free(r);
    r = th_req(srv, "PATCH", "/v1/templates/letter", key,
               "{\"description\":\"A letter\",\"inboundEnforceSignature\":true}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "description")), "A letter");
    ck_assert(json_is_true(json_object_get(json_object_get(r->json, "inbound"), "enforceSignature")));
    th_resp_free(r);
    th_expect_error(srv, "PATCH", "/v1/templates/letter", key, "{\"inboundEnforceSignature\":\"yes\"}", 400,
                    "invalid_request");

    /* another project's key sees nothing */
    th_expect_error(srv, "GET", "/v1/templates/letter", other_key, NULL, 404, "template_not_found");
    th_expect_error(srv, "DELETE", "/v1/templates/letter", other_key, NULL, 404, "template_not_found");

    r = th_req(srv, "DELETE", "/v1/templates/letter", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_is_string(json_object_get(r->json, "deletedAt")));
    th_resp_free(r);
    th_expect_error(srv, "GET", "/v1/templates/letter", key, NULL, 404, "template_not_found");
    /* the slug is free again */
    r = create("{\"name\":\"Letter\",\"manifest\":" INVOICE_MANIFEST "}");
    ck_assert_int_eq(r->status, 201);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "slug")), "letter");
    th_resp_free(r);
}
END_TEST

START_TEST(validate_dry_run)
{
    th_resp_t *r = th_req(srv, "POST", "/v1/templates/invoice/validate", key,
                          "{\"data\":{\"customer\":{\"name\":\"Acme\"},\"total\":\"49.95\",\"junk\":1,"
                          "\"items\":[{\"name\":\"Widget\",\"qty\":\"5\"}]}}",
                          NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    ck_assert(json_is_true(json_object_get(r->json, "valid")));
    json_t *data = json_object_get(r->json, "data");
    ck_assert(json_is_number(json_object_get(data, "total")));
    ck_assert(json_object_get(data, "junk") == NULL);
    th_resp_free(r);

    r = th_req(srv, "POST", "/v1/templates/invoice/validate", key,
               "{\"data\":{\"total\":\"lots\",\"items\":[{\"name\":\"A\",\"qty\":1},{\"qty\":\"x\"}]}}",
               NULL);
    th_assert_error(r, 400, "invalid_input_data");
    json_t *fields =
        json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
    ck_assert_msg(json_object_get(fields, "customer.name") != NULL, "%s", r->body);
    ck_assert(json_object_get(fields, "total") != NULL);
    ck_assert(json_object_get(fields, "items.1.name") != NULL);
    ck_assert(json_object_get(fields, "items.1.qty") != NULL);
    th_resp_free(r);

    r = th_req(
        srv, "POST", "/v1/templates/invoice/validate", key,
        "{\"data\":{\"customer\":{\"name\":\"A\"},\"total\":1,\"junk\":1},\"options\":{\"strict\":true}}",
        NULL);
    th_assert_error(r, 400, "invalid_input_data");
    ck_assert(strstr(r->body, "Unrecognized key"));
    th_resp_free(r);

    th_expect_error(srv, "POST", "/v1/templates/invoice/validate", key, "{\"data\":[]}", 400,
                    "invalid_request");
    th_expect_error(srv, "POST", "/v1/templates/invoice/validate", key,
                    "{\"data\":{},\"options\":{\"versionNumber\":7}}", 404, "version_not_found");
    th_expect_error(srv, "POST", "/v1/templates/missing/validate", key, "{\"data\":{}}", 404,
                    "template_not_found");
}
END_TEST

START_TEST(draft_versions_and_no_published_version)
{
    th_resp_t *r = create("{\"name\":\"Draft\",\"publish\":false,\"manifest\":" INVOICE_MANIFEST "}");
    ck_assert_msg(r->status == 201, "%s", r->body);
    ck_assert(json_is_false(json_object_get(r->json, "published")));
    ck_assert(json_is_null(json_object_get(r->json, "currentVersionNumber")));
    th_resp_free(r);
    th_expect_error(srv, "POST", "/v1/templates/draft/validate", key, "{\"data\":{}}", 409,
                    "no_published_version");
    /* publish v2, then a draft v3 on top: the current version is shown, the latest counts drafts */
    r = th_req(srv, "PUT", "/v1/templates/draft", key, "{\"manifest\":" INVOICE_MANIFEST "}", NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    th_resp_free(r);
    r = th_req(srv, "PUT", "/v1/templates/draft", key, "{\"publish\":false,\"manifest\":{\"variables\":[]}}",
               NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "currentVersionNumber")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "latestVersionNumber")), 3);
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(r->json, "manifest"), "variables")), 3);
    th_resp_free(r);
    /* a draft can still be previewed/validated by number */
    r = th_req(srv, "POST", "/v1/templates/draft/validate", key,
               "{\"data\":{\"customer\":{\"name\":\"A\"},\"total\":1},\"options\":{\"versionNumber\":1}}",
               NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    th_resp_free(r);
}
END_TEST

START_TEST(preview_pdf_and_png)
{
    const char *body =
        "{\"data\":{\"customer\":{\"name\":\"Preview Customer\"},\"total\":12.5,"
        "\"items\":[{\"name\":\"Widget\",\"qty\":2}]},\"options\":{\"format\":\"png\",\"page\":1}}";
    th_resp_t *r = th_req(srv, "POST", "/v1/templates/invoice/preview", key, body, NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_header(r, "content-type"), "image/png");
    ck_assert(r->len > 8 && memcmp(r->body, "\x89PNG", 4) == 0);
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/templates/invoice/preview", key,
               "{\"data\":{\"customer\":{\"name\":\"Preview Customer\"},\"total\":12.5}}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(r->len > 4 && memcmp(r->body, "%PDF", 4) == 0);
    th_resp_free(r);
    th_expect_error(srv, "POST", "/v1/templates/invoice/preview", key,
                    "{\"data\":{\"total\":12.5},\"options\":{\"format\":\"gif\"}}", 400, "invalid_request");
    th_expect_error(srv, "POST", "/v1/templates/invoice/preview", key, "{\"data\":{\"total\":12.5}}", 400,
                    "invalid_input_data");
}
END_TEST

START_TEST(preview_of_an_unsaved_layout)
{
    th_resp_t *r = th_req(srv, "GET", "/v1/templates/invoice/versions", key, NULL, NULL);
    size_t versions = json_array_size(json_object_get(r->json, "versions"));
    th_resp_free(r);
    const char *body =
        "{\"data\":{\"title\":\"Unsaved\"},\"options\":{\"format\":\"pdf\"},"
        "\"manifest\":{\"variables\":[{\"key\":\"title\",\"dataType\":\"text\",\"required\":true}]},"
        "\"layout\":{\"body\":[{\"type\":\"heading\",\"text\":\"{{title}} heading\"}]}}";
    r = th_req(srv, "POST", "/v1/templates/invoice/preview", key, body, NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert(r->len > 4 && memcmp(r->body, "%PDF", 4) == 0);
    th_resp_free(r);
    /* nothing was stored */
    r = th_req(srv, "GET", "/v1/templates/invoice/versions", key, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "versions")), versions);
    th_resp_free(r);
    /* its problems are reported like a publish's */
    r = th_req(
        srv, "POST", "/v1/templates/invoice/preview", key,
        "{\"data\":{},\"manifest\":{\"variables\":[]},\"layout\":{\"body\":[{\"type\":\"nonsense\"}]}}",
        NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(strstr(r->body, "layout.body.0"), "%s", r->body);
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/templates/invoice/preview", key, "{\"data\":{},\"layout\":{\"body\":[]}}",
               NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert(strstr(r->body, "\"manifest\":[\"Required\"]"));
    th_resp_free(r);
    th_expect_error(srv, "POST", "/v1/templates/missing/preview", key,
                    "{\"data\":{},\"manifest\":{\"variables\":[]}}", 404, "template_not_found");
}
END_TEST

int main(void)
{
    srv = th_start("templates", NULL);
    char id[64];
    th_project(srv, "Templates", false, id, key);
    th_project(srv, "Other", false, id, other_key);
    Suite *s = suite_create("templates");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, create_get_list_and_generated_layout);
    tcase_add_test(tc, create_errors);
    tcase_add_test(tc, put_publishes_versions);
    tcase_add_test(tc, patch_delete_and_isolation);
    tcase_add_test(tc, validate_dry_run);
    tcase_add_test(tc, draft_versions_and_no_published_version);
    tcase_add_test(tc, preview_pdf_and_png);
    tcase_add_test(tc, preview_of_an_unsaved_layout);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
