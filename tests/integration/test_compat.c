/* Drop-in compatibility with Craftkit clients (issue 16), over real HTTP, Postgres, Redis and
 * local storage: what such clients send must be accepted (unknown keys, any Content-Type with a
 * JSON body, versionNumber 3.0, timestamps for dates, UTF-8 file names, a version's file name
 * template) and what they read must match (not_found, errorMessage/lastError, Retry-After,
 * idempotency on normalised data, replays free of rate-limit tokens). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_render.h"

static th_server_t *srv;
static char key[128], other_key[128], project_id[64], other_project[64];

#define DATA_OK TH_INVOICE_DATA

static th_resp_t *submit(const char *api_key, const char *slug, const char *body, const char *const *headers)
{
    return th_render_post(srv, api_key, slug, body, headers);
}

/* The field errors of an error envelope ({} when none). */
static json_t *field_errors(const th_resp_t *r)
{
    return json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
}

static void assert_field_error(const th_resp_t *r, long status, const char *code, const char *path)
{
    th_assert_error(r, status, code);
    ck_assert_msg(json_object_get(field_errors(r), path), "no fieldErrors.%s in %s", path, r->body);
}

/* Submits body to slug, waits for the render and asserts it succeeded; returns the last poll. */
static th_resp_t *render_succeeded(th_server_t *s, const char *api_key, const char *slug, const char *body,
                                   char id[64])
{
    th_submit_ok(s, NULL, api_key, slug, body, id);
    th_resp_t *r = th_wait_render(s, api_key, id, 20000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    return r;
}

START_TEST(unknown_keys_are_stripped_unless_strict)
{
    /* What Zod's object() does: top-level and options keys it does not know are dropped. */
    th_resp_t *r = submit(key, "invoice",
                          "{\"data\":" DATA_OK ",\"template\":\"invoice\",\"webhookUrl\":\"https://x\","
                          "\"options\":{\"format\":\"A4\",\"priority\":1}}",
                          NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    th_resp_free(r);
    /* options.strict keeps them errors, at the envelope and at options. */
    r = submit(key, "invoice",
               "{\"data\":" DATA_OK ",\"template\":\"x\",\"options\":{\"strict\":true,\"priority\":1}}",
               NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(strstr(r->body, "'template'") && strstr(r->body, "'priority'"), "%s", r->body);
    ck_assert(json_object_get(field_errors(r), "options"));
    th_resp_free(r);
    r = submit(key, "invoice", "{\"data\":" DATA_OK ",\"options\":{\"strict\":\"yes\"}}", NULL);
    assert_field_error(r, 400, "invalid_request", "options.strict");
    th_resp_free(r);
    /* validate follows the same rule */
    r = th_req(srv, "POST", "/v1/templates/invoice/validate", key,
               "{\"data\":" DATA_OK ",\"extra\":1,\"options\":{\"sync\":true}}", NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    th_resp_free(r);
    /* The inbound hook body is the data: unknown keys are stripped there too. */
    r = th_req(srv, "GET", "/v1/templates/invoice", key, NULL, NULL);
    char hook[512];
    snprintf(hook, sizeof hook, "%s", th_str(json_object_get(r->json, "inbound"), "url"));
    th_resp_free(r);
    r = th_req_url("POST", hook, NULL,
                   "{\"customer\":{\"name\":\"A\",\"vip\":true},\"total\":1,\"source\":\"zapier\"}", NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    th_resp_free(r);
}
END_TEST

START_TEST(any_content_type_with_a_json_body)
{
    const char *types[] = {"Content-Type: application/x-www-form-urlencoded", "Content-Type: text/plain",
                           "Content-Type:" /* none at all */};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        const char *h[] = {types[i], NULL};
        th_resp_t *r = submit(key, "invoice", "{\"data\":" DATA_OK "}", h);
        ck_assert_msg(r->status == 202, "%s: %ld %s", types[i], r->status, r->body);
        th_resp_free(r);
        /* a body that is not JSON says how to send one */
        r = submit(key, "invoice", "data=1&x=2", h);
        th_assert_error(r, 400, "invalid_json");
        ck_assert_msg(strstr(r->body, "Content-Type: application/json"), "%s", r->body);
        th_resp_free(r);
    }
    const char *multipart[] = {"Content-Type: multipart/form-data; boundary=xyz", NULL};
    th_resp_t *r = submit(key, "invoice", "{\"data\":" DATA_OK "}", multipart);
    th_assert_error(r, 415, "unsupported_media_type");
    th_resp_free(r);
}
END_TEST

START_TEST(version_number_with_zero_fraction)
{
    th_resp_t *r = submit(key, "invoice", "{\"data\":" DATA_OK ",\"options\":{\"versionNumber\":1.0}}", NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "versionNumber")), 1);
    th_resp_free(r);
    const char *bad[] = {"1.5", "0", "-1", "\"1\"", "1e10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"data\":" DATA_OK ",\"options\":{\"versionNumber\":%s}}", bad[i]);
        r = submit(key, "invoice", body, NULL);
        assert_field_error(r, 400, "invalid_request", "options.versionNumber");
        th_resp_free(r);
    }
}
END_TEST

START_TEST(dates_accept_timestamps)
{
    th_template(srv, key, "dated",
                "{\"variables\":[{\"key\":\"invoice.date\",\"dataType\":\"date\",\"required\":true,"
                "\"format\":\"date:DD/MM/YYYY\"},{\"key\":\"at\",\"dataType\":\"datetime\"}]}");
    const char *good[] = {"2026-06-04", "2026-06-04T10:00:00Z", "2026-06-04T10:00:00.123+02:00"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char body[256], id[64];
        snprintf(body, sizeof body,
                 "{\"data\":{\"invoice\":{\"date\":\"%s\"},\"at\":\"2026-06-04T10:00:00Z\"}}", good[i]);
        th_resp_free(render_succeeded(srv, key, "dated", body, id));
    }
    th_resp_t *r = submit(key, "dated", "{\"data\":{\"invoice\":{\"date\":\"2026-06-04T10:00\"}}}", NULL);
    assert_field_error(r, 400, "invalid_input_data", "invoice.date");
    th_resp_free(r);
    /* The JSON Schema says the same: a day or a date-time. */
    r = th_req(srv, "GET", "/v1/templates/dated", key, NULL, NULL);
    json_t *date = json_object_get(
        json_object_get(
            json_object_get(json_object_get(json_object_get(r->json, "jsonSchema"), "properties"), "invoice"),
            "properties"),
        "date");
    json_t *any = json_object_get(date, "anyOf");
    ck_assert_msg(json_array_size(any) == 2, "%s", r->body);
    ck_assert_str_eq(th_str(json_array_get(any, 0), "format"), "date");
    ck_assert_str_eq(th_str(json_array_get(any, 1), "format"), "date-time");
    th_resp_free(r);
}
END_TEST

#define UTF8_NAME                                                                                            \
    "Facture n\xc2\xb0"                                                                                      \
    "12 \xe2\x80\x93 M\xc3\xbcller.pdf"
#define UTF8_NAME_ENCODED "Facture%20n%C2%B012%20%E2%80%93%20M%C3%BCller.pdf"

START_TEST(utf8_filenames)
{
    char id[64], path[256];
    th_resp_t *r = render_succeeded(
        srv, key, "invoice", "{\"data\":" DATA_OK ",\"options\":{\"filename\":\"" UTF8_NAME "\"}}", id);
    ck_assert_str_eq(th_str(r->json, "filename"), UTF8_NAME);
    char url[4096];
    snprintf(url, sizeof url, "%s", th_str(r->json, "downloadUrl"));
    th_resp_free(r);
    const char *want =
        "attachment; filename=\"Facture n_12 _ M_ller.pdf\"; filename*=UTF-8''" UTF8_NAME_ENCODED;
    /* /download and the signed link both name the file with RFC 6266 */
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_header(r, "content-disposition"), want);
    th_resp_free(r);
    r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_msg(r->status == 200, "%s: %ld", url, r->status);
    ck_assert_str_eq(th_header(r, "content-disposition"), want);
    th_resp_free(r);
    /* the name is signed: another name on the same link is refused */
    char *tampered = strdup(url);
    char *f = strstr(tampered, "&filename=");
    ck_assert_ptr_nonnull(f);
    f[10] = 'X';
    r = th_req_url("GET", tampered, NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 403);
    th_resp_free(r);
    free(tampered);
    /* The storage key stays the id-based one. */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT storage_key FROM renders WHERE id = '%s'", id);
    char *stored = th_sql(srv, sql), want_key[256];
    snprintf(want_key, sizeof want_key, "renders/%s/%s/%s.pdf", project_id, id, id);
    ck_assert_str_eq(stored, want_key);
    free(stored);

    /* 120 characters, not bytes; .pdf only when there is no extension; separators replaced */
    char body[2048], name[800] = "";
    for (int i = 0; i < 120; i++)
        strcat(name, "\xc3\xa9");
    snprintf(body, sizeof body, "{\"data\":" DATA_OK ",\"options\":{\"filename\":\"%s\"}}", name);
    r = submit(key, "invoice", body, NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    th_resp_free(r);
    strcat(name, "x");
    snprintf(body, sizeof body, "{\"data\":" DATA_OK ",\"options\":{\"filename\":\"%s\"}}", name);
    r = submit(key, "invoice", body, NULL);
    assert_field_error(r, 400, "invalid_request", "options.filename");
    th_resp_free(r);
    r = submit(key, "invoice", "{\"data\":" DATA_OK ",\"options\":{\"filename\":7}}", NULL);
    assert_field_error(r, 400, "invalid_request", "options.filename");
    th_resp_free(r);
    const struct {
        const char *in, *out;
    } names[] = {
        {"chart.png", "chart.png"}, {"Q1/Q2 report", "Q1_Q2 report.pdf"}, {"tab\\there", "tab_here.pdf"}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(body, sizeof body, "{\"data\":" DATA_OK ",\"options\":{\"filename\":\"%s\"}}", names[i].in);
        r = submit(key, "invoice", body, NULL);
        ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
        ck_assert_str_eq(th_str(r->json, "filename"), names[i].out);
        th_resp_free(r);
    }
}
END_TEST

START_TEST(version_filename_template)
{
    const char *manifest =
        "{\"variables\":[{\"key\":\"invoice.number\",\"dataType\":\"text\",\"required\":true},"
        "{\"key\":\"invoice.date\",\"dataType\":\"date\"}]}";
    char body[1024];
    /* checked at save time against the manifest: unknown variables and filters are refused */
    snprintf(body, sizeof body,
             "{\"name\":\"Named\",\"slug\":\"named\",\"manifest\":%s,\"filename\":\"inv-{{nope}}\"}",
             manifest);
    th_resp_t *r = th_req(srv, "POST", "/v1/templates", key, body, NULL);
    assert_field_error(r, 400, "invalid_request", "filename");
    th_resp_free(r);
    snprintf(body, sizeof body,
             "{\"name\":\"Named\",\"slug\":\"named\",\"manifest\":%s,\"filename\":\"inv-{{invoice.number | "
             "nofilter}}\"}",
             manifest);
    r = th_req(srv, "POST", "/v1/templates", key, body, NULL);
    assert_field_error(r, 400, "invalid_request", "filename");
    th_resp_free(r);
    snprintf(body, sizeof body, "{\"name\":\"Named\",\"slug\":\"named\",\"manifest\":%s,\"filename\":\"\"}",
             manifest);
    r = th_req(srv, "POST", "/v1/templates", key, body, NULL);
    assert_field_error(r, 400, "invalid_request", "filename");
    th_resp_free(r);
    snprintf(body, sizeof body,
             "{\"name\":\"Named\",\"slug\":\"named\",\"manifest\":%s,"
             "\"filename\":\"invoice-{{invoice.number}} {{invoice.date | date:\\\"YYYY-MM\\\"}}\"}",
             manifest);
    r = th_req(srv, "POST", "/v1/templates", key, body, NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "filename"),
                     "invoice-{{invoice.number}} {{invoice.date | date:\"YYYY-MM\"}}");
    th_resp_free(r);

    char id[64];
    r = render_succeeded(srv, key, "named",
                         "{\"data\":{\"invoice\":{\"number\":\"INV-7\",\"date\":\"2026-06-04\"}}}", id);
    ck_assert_str_eq(th_str(r->json, "filename"), "invoice-INV-7 2026-06.pdf");
    th_resp_free(r);
    /* options.filename wins */
    r = submit(key, "named",
               "{\"data\":{\"invoice\":{\"number\":\"INV-8\"}},\"options\":{\"filename\":\"mine.pdf\"}}",
               NULL);
    ck_assert_str_eq(th_str(r->json, "filename"), "mine.pdf");
    th_resp_free(r);
    /* a version without a template keeps <id>.pdf; the version shows its template */
    snprintf(body, sizeof body, "{\"manifest\":%s}", manifest);
    r = th_req(srv, "PUT", "/v1/templates/named", key, body, NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert(json_is_null(json_object_get(r->json, "filename")));
    th_resp_free(r);
    r = submit(key, "named", "{\"data\":{\"invoice\":{\"number\":\"INV-9\"}}}", NULL);
    char want[64];
    snprintf(want, sizeof want, "%s.pdf", th_str(r->json, "id"));
    ck_assert_str_eq(th_str(r->json, "filename"), want);
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/templates/named/versions/1", key, NULL, NULL);
    ck_assert_str_eq(th_str(r->json, "filename"),
                     "invoice-{{invoice.number}} {{invoice.date | date:\"YYYY-MM\"}}");
    th_resp_free(r);
    r = submit(key, "named",
               "{\"data\":{\"invoice\":{\"number\":\"INV-10\"}},\"options\":{\"versionNumber\":1}}", NULL);
    ck_assert_str_eq(th_str(r->json, "filename"), "invoice-INV-10.pdf");
    th_resp_free(r);
}
END_TEST

/* ---- answers ---- */

START_TEST(unknown_renders_are_not_found)
{
    const char *ids[] = {"not-a-uuid", "01890000-0000-7000-8000-000000000000"};
    for (size_t i = 0; i < 2; i++) {
        const char *suffix[] = {"", "/download"};
        for (size_t j = 0; j < 2; j++) {
            char path[256];
            snprintf(path, sizeof path, "/v1/renders/%s%s", ids[i], suffix[j]);
            th_resp_t *r = th_req(srv, "GET", path, key, NULL, NULL);
            th_assert_error(r, 404, "not_found");
            th_resp_free(r);
        }
    }
    /* another project's render is not found either */
    char id[64], path[256];
    th_submit_ok(srv, NULL, key, "invoice", "{\"data\":" DATA_OK "}", id);
    snprintf(path, sizeof path, "/v1/renders/%s", id);
    th_resp_t *r = th_req(srv, "GET", path, other_key, NULL, NULL);
    th_assert_error(r, 404, "not_found");
    th_resp_free(r);
}
END_TEST

START_TEST(error_message_only_when_failed)
{
    char id[64], path[256], sql[512];
    th_resp_t *r = render_succeeded(srv, key, "invoice", "{\"data\":" DATA_OK "}", id);
    ck_assert(th_header(r, "retry-after") == NULL); /* terminal: nothing to wait for */
    th_resp_free(r);
    /* A render waiting for its retry: queued, the attempt's error in lastError only. */
    snprintf(
        sql, sizeof sql,
        "UPDATE renders SET status = 'queued', error_message = 'image at data.logo could not be fetched',"
        " next_attempt_at = now() + interval '1 hour', enqueued_at = now() WHERE id = '%s'",
        id);
    free(th_sql(srv, sql));
    snprintf(path, sizeof path, "/v1/renders/%s", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_status(r), "queued");
    ck_assert(json_is_null(json_object_get(r->json, "errorMessage")));
    ck_assert_str_eq(th_str(r->json, "lastError"), "image at data.logo could not be fetched");
    ck_assert(json_is_null(json_object_get(r->json, "downloadUrl")));
    /* a poll of a render that is not done says when to look again */
    ck_assert_msg(th_header(r, "retry-after") && atoi(th_header(r, "retry-after")) >= 1, "%s", r->headers);
    th_resp_free(r);
    /* failed: errorMessage, no lastError */
    snprintf(sql, sizeof sql, "UPDATE renders SET status = 'failed', completed_at = now() WHERE id = '%s'",
             id);
    free(th_sql(srv, sql));
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_str_eq(th_str(r->json, "errorMessage"), "image at data.logo could not be fetched");
    ck_assert(json_is_null(json_object_get(r->json, "lastError")));
    ck_assert(th_header(r, "retry-after") == NULL);
    th_resp_free(r);
}
END_TEST

START_TEST(idempotency_on_normalised_data)
{
    const char *h[] = {"Idempotency-Key: normalised-1", NULL};
    th_resp_t *r = submit(key, "invoice", "{\"data\":" DATA_OK ",\"jobId\":\"job-1\"}", h);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    ck_assert_str_eq(th_str(r->json, "idempotencyKey"), "normalised-1");
    ck_assert_str_eq(th_str(r->json, "jobId"), "job-1");
    th_resp_free(r);
    /* Keys the API strips, "49.90" vs 49.9, other key order: the same request. */
    r = submit(
        key, "invoice",
        "{\"data\":{\"total\":49.9,\"items\":[{\"qty\":\"2\",\"name\":\"Analytical engine\",\"colour\":1}],"
        "\"customer\":{\"name\":\"Ada Lovelace\",\"vip\":true},\"ignored\":1},\"extra\":true}",
        h);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "id"), id);
    th_resp_free(r);
    /* different data is still a different request */
    r = submit(
        key, "invoice",
        "{\"data\":{\"customer\":{\"name\":\"Ada\"},\"total\":1,\"items\":[{\"name\":\"x\",\"qty\":1}]}}", h);
    th_assert_error(r, 409, "idempotency_key_reused");
    th_resp_free(r);
}
END_TEST

START_TEST(replays_are_not_rate_limited)
{
    char pid[64], k[128];
    th_limited_project(srv, "Limited", "invoice", "{\"rateLimit\":0.001,\"rateBurst\":2}", pid, k);
    const char *h[] = {"Idempotency-Key: limited-1", NULL};
    th_resp_t *r = submit(k, "invoice", "{\"data\":" DATA_OK "}", h);
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
    for (int i = 0; i < 5; i++) {
        r = submit(k, "invoice", "{\"data\":" DATA_OK "}", h);
        ck_assert_msg(r->status == 200, "replay %d: %ld %s", i, r->status, r->body);
        th_resp_free(r);
    }
    /* one token is left for a new render, then none */
    r = submit(k, "invoice", "{\"data\":" DATA_OK "}", NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_header(r, "ratelimit-remaining"), "0");
    th_resp_free(r);
    r = submit(k, "invoice", "{\"data\":" DATA_OK "}", NULL);
    th_assert_error(r, 429, "rate_limited");
    th_resp_free(r);
}
END_TEST

/* ---- the life of a render ---- */

static th_resp_t *render_call(th_server_t *s, const char *method, const char *api_key, const char *id,
                              const char *suffix)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/renders/%s%s", id, suffix);
    return th_req(s, method, path, api_key, NULL, NULL);
}

static bool wait_expired(th_server_t *s, const char *api_key, const char *id);
static void make_old(th_server_t *s, const char *id, const char *extra_set);

/* method /v1/renders/<id><suffix> must answer this error. */
static void expect_render_error(th_server_t *s, const char *method, const char *api_key, const char *id,
                                const char *suffix, long status, const char *code)
{
    th_resp_t *r = render_call(s, method, api_key, id, suffix);
    th_assert_error(r, status, code);
    th_resp_free(r);
}

START_TEST(cancel_a_queued_render)
{
    /* A server without workers: its renders stay queued. */
    const char *env[] = {"CRAFTKIT_WORKERS=0", "CRAFTKIT_RETENTION_DAYS=1", NULL};
    th_server_t *q = th_start("compat_queue", env);
    char pid[64], k[128], opid[64], ok[128], id[64], id2[64];
    th_invoice_project(q, "Queue", "invoice", pid, k);
    th_project(q, "Other", false, opid, ok);
    th_resp_t *r = th_req(
        q, "POST", "/v1/webhooks", k,
        "{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"render.cancelled\",\"render.failed\"]}", NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    r = th_req(q, "POST", "/v1/webhooks", k,
               "{\"url\":\"http://127.0.0.1:9/x\",\"events\":[\"render.done\"]}", NULL);
    assert_field_error(r, 400, "invalid_request", "events.0");
    th_resp_free(r);
    th_submit_ok(q, NULL, k, "invoice", "{\"data\":" DATA_OK "}", id);

    /* another project's render, or none: 404 */
    expect_render_error(q, "POST", ok, id, "/cancel", 404, "not_found");
    expect_render_error(q, "POST", k, "01890000-0000-7000-8000-000000000000", "/cancel", 404, "not_found");
    /* a queued render cannot be deleted yet */
    expect_render_error(q, "DELETE", k, id, "", 409, "not_deletable");

    r = render_call(q, "POST", k, id, "/cancel");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_status(r), "cancelled");
    ck_assert(json_is_string(json_object_get(r->json, "completedAt")));
    ck_assert(json_is_null(json_object_get(r->json, "errorMessage")));
    th_resp_free(r);
    r = render_call(q, "GET", k, id, "");
    ck_assert_str_eq(th_status(r), "cancelled");
    ck_assert(th_header(r, "retry-after") == NULL);
    th_resp_free(r);
    /* terminal: 409, and no file */
    expect_render_error(q, "POST", k, id, "/cancel", 409, "not_cancellable");
    th_assert_not_ready(q, k, id, "cancelled");
    /* the subscription to render.cancelled got its delivery */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT event FROM webhook_deliveries WHERE render_id = '%s'", id);
    char *event = th_sql(q, sql);
    ck_assert_str_eq(event, "render.cancelled");
    free(event);
    /* a cancelled render can be deleted */
    r = render_call(q, "DELETE", k, id, "");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_status(r), "cancelled");
    ck_assert(json_is_string(json_object_get(r->json, "deletedAt")));
    th_resp_free(r);

    /* A render a worker has taken is not interrupted: 409 (it finishes within the time limit). */
    th_submit_ok(q, NULL, k, "invoice", "{\"data\":" DATA_OK "}", id2);
    snprintf(sql, sizeof sql, "UPDATE renders SET status = 'rendering' WHERE id = '%s'", id2);
    free(th_sql(q, sql));
    r = render_call(q, "POST", k, id2, "/cancel");
    th_assert_error(r, 409, "not_cancellable");
    ck_assert(strstr(r->body, "being rendered"));
    th_resp_free(r);

    /* CRAFTKIT_RETENTION_DAYS=1 here: an old cancelled render expires, an old one in flight
     * does not. */
    char id3[64];
    th_submit_ok(q, NULL, k, "invoice", "{\"data\":" DATA_OK "}", id3);
    th_resp_free(render_call(q, "POST", k, id3, "/cancel"));
    make_old(q, id3, "");
    make_old(q, id2, ", lease_until = now() + interval '1 hour'");
    ck_assert(wait_expired(q, k, id3));
    r = render_call(q, "GET", k, id2, "");
    ck_assert_str_eq(th_status(r), "rendering");
    ck_assert(json_is_null(json_object_get(r->json, "expiredAt")));
    th_resp_free(r);
    ck_assert_int_eq(th_stop(q), 0);
}
END_TEST

START_TEST(delete_keeps_a_tombstone)
{
    char id[64], url[4096], sql[256];
    th_resp_t *r = render_succeeded(srv, key, "invoice", "{\"data\":" DATA_OK "}", id);
    snprintf(url, sizeof url, "%s", th_str(r->json, "downloadUrl"));
    th_resp_free(r);
    expect_render_error(srv, "DELETE", other_key, id, "", 404, "not_found");

    r = render_call(srv, "DELETE", key, id, "");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_status(r), "succeeded"); /* the status is kept */
    ck_assert(json_is_null(json_object_get(r->json, "downloadUrl")));
    char deleted_at[64];
    snprintf(deleted_at, sizeof deleted_at, "%s", th_str(r->json, "deletedAt"));
    ck_assert_int_eq(strlen(deleted_at), 24);
    th_resp_free(r);
    /* the file and the data are gone */
    r = th_req_url("GET", url, NULL, NULL, NULL);
    th_assert_error(r, 404, "not_found");
    th_resp_free(r);
    expect_render_error(srv, "GET", key, id, "/download", 410, "file_gone");
    snprintf(sql, sizeof sql, "SELECT data::text FROM renders WHERE id = '%s'", id);
    char *data = th_sql(srv, sql);
    ck_assert_str_eq(data, "{}");
    free(data);
    /* idempotent: the same tombstone */
    r = render_call(srv, "DELETE", key, id, "");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "deletedAt"), deleted_at);
    th_resp_free(r);
    r = render_call(srv, "GET", key, id, "");
    ck_assert_str_eq(th_str(r->json, "deletedAt"), deleted_at);
    ck_assert(json_is_null(json_object_get(r->json, "downloadUrl")));
    th_resp_free(r);
}
END_TEST

/* Polls until GET /v1/renders/:id has a non-null expiredAt (or 15 s pass). */
typedef struct expiry_wait {
    th_server_t *s;
    const char *key, *id;
} expiry_wait_t;

static bool is_expired(void *arg)
{
    expiry_wait_t *w = arg;
    th_resp_t *r = render_call(w->s, "GET", w->key, w->id, "");
    bool done = r->json && json_is_string(json_object_get(r->json, "expiredAt"));
    th_resp_free(r);
    return done;
}

static bool wait_expired(th_server_t *s, const char *api_key, const char *id)
{
    expiry_wait_t w = {s, api_key, id};
    return th_wait_until(is_expired, &w, 15000);
}

static void make_old(th_server_t *s, const char *id, const char *extra_set)
{
    char sql[512];
    snprintf(sql, sizeof sql, "UPDATE renders SET created_at = now() - interval '3 days'%s WHERE id = '%s'",
             extra_set, id);
    free(th_sql(s, sql));
}

START_TEST(retention_per_project)
{
    char pid[64], k[128], path[256], old1[64], old2[64], fresh[64], busy[64], keep[64], url[4096];
    th_invoice_project(srv, "Retained", "invoice", pid, k);
    snprintf(path, sizeof path, "/v1/projects/%s", pid);
    const char *bad[] = {"0", "36501", "\"2\"", "1.5", "true"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"retentionDays\":%s}", bad[i]);
        th_resp_t *r = th_req(srv, "PATCH", path, TH_ADMIN_KEY, body, NULL);
        assert_field_error(r, 400, "invalid_request", "retentionDays");
        th_resp_free(r);
    }
    char *ids[] = {old1, old2, fresh, busy};
    for (int i = 0; i < 4; i++) {
        th_resp_t *r = render_succeeded(srv, k, "invoice", "{\"data\":" DATA_OK "}", ids[i]);
        if (i == 0)
            snprintf(url, sizeof url, "%s", th_str(r->json, "downloadUrl"));
        th_resp_free(r);
    }
    th_resp_free(render_succeeded(srv, key, "invoice", "{\"data\":" DATA_OK "}", keep));
    /* A fake clock: three renders were made three days ago; one of them is in flight again
     * (a worker holds it), and one belongs to a project that keeps everything. */
    make_old(srv, old1, "");
    make_old(srv, old2, "");
    make_old(srv, busy, ", status = 'rendering', lease_until = now() + interval '1 hour', worker_id = 'x'");
    make_old(srv, keep, "");

    th_resp_t *r = th_req(srv, "PATCH", path, TH_ADMIN_KEY, "{\"retentionDays\":2}", NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "retentionDays")), 2);
    th_resp_free(r);
    ck_assert(wait_expired(srv, k, old1));
    ck_assert(wait_expired(srv, k, old2));
    r = render_call(srv, "GET", k, old1, "");
    ck_assert_str_eq(th_status(r), "succeeded");
    ck_assert(json_is_null(json_object_get(r->json, "downloadUrl")));
    th_resp_free(r);
    expect_render_error(srv, "GET", k, old1, "/download", 410, "file_gone");
    r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 404);
    th_resp_free(r);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT data::text FROM renders WHERE id = '%s'", old1);
    char *data = th_sql(srv, sql);
    ck_assert_str_eq(data, "{}");
    free(data);
    /* a few more passes: the recent render, the one in flight and the other project's stay */
    th_sleep_ms(1500);
    const struct {
        const char *api_key, *id;
    } kept[] = {{k, fresh}, {k, busy}, {key, keep}};
    for (size_t i = 0; i < 3; i++) {
        r = render_call(srv, "GET", kept[i].api_key, kept[i].id, "");
        ck_assert_msg(json_is_null(json_object_get(r->json, "expiredAt")), "%s", r->body);
        th_resp_free(r);
    }
    /* null goes back to the server default (keep forever here) */
    r = th_req(srv, "PATCH", path, TH_ADMIN_KEY, "{\"retentionDays\":null}", NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    ck_assert(json_is_null(json_object_get(r->json, "retentionDays")));
    th_resp_free(r);
}
END_TEST

/* ---- listing ---- */

/* ids of GET path's "renders" (or "templates"/"versions") array, comma-joined; caller frees */
static char *list_ids(th_server_t *s, const char *api_key, const char *path, const char *array)
{
    th_resp_t *r = th_req(s, "GET", path, api_key, NULL, NULL);
    ck_assert_msg(r->status == 200, "%s: %ld %s", path, r->status, r->body);
    size_t i;
    json_t *v;
    char *out = calloc(1, 8192);
    json_array_foreach(json_object_get(r->json, array), i, v)
    {
        if (i)
            strcat(out, ",");
        strncat(out, th_str(v, "id"), 40);
    }
    th_resp_free(r);
    return out;
}

START_TEST(list_filters)
{
    char pid[64], k[128], tk[128], a[64], b[64], hooked[64], path[512];
    th_invoice_project(srv, "Filters", "invoice", pid, k);
    /* a test key of the same project */
    snprintf(path, sizeof path, "/v1/projects/%s/keys", pid);
    th_resp_t *r = th_req(srv, "POST", path, TH_ADMIN_KEY, "{\"environment\":\"test\"}", NULL);
    ck_assert_msg(r->status == 201, "%s", r->body);
    snprintf(tk, sizeof tk, "%s", th_str(r->json, "key"));
    th_resp_free(r);
    const char *h[] = {"Idempotency-Key: filter-key-1", NULL};
    r = submit(k, "invoice", "{\"data\":" DATA_OK ",\"jobId\":\"job-9\"}", h);
    ck_assert_int_eq(r->status, 202);
    snprintf(a, sizeof a, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    th_submit_ok(srv, NULL, tk, "invoice", "{\"data\":" DATA_OK "}", b);
    r = th_req(srv, "GET", "/v1/templates/invoice", k, NULL, NULL);
    char hook[512];
    snprintf(hook, sizeof hook, "%s", th_str(json_object_get(r->json, "inbound"), "url"));
    th_resp_free(r);
    r = th_req_url("POST", hook, NULL, DATA_OK, NULL);
    ck_assert_int_eq(r->status, 202);
    snprintf(hooked, sizeof hooked, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    /* a (fake) old render */
    make_old(srv, a, "");

    char *ids = list_ids(srv, k, "/v1/renders?idempotencyKey=filter-key-1", "renders");
    ck_assert_str_eq(ids, a);
    free(ids);
    r = th_req(srv, "GET", "/v1/renders?idempotencyKey=filter-key-1", k, NULL, NULL);
    json_t *one = json_array_get(json_object_get(r->json, "renders"), 0);
    ck_assert_str_eq(th_str(one, "idempotencyKey"), "filter-key-1");
    ck_assert_str_eq(th_str(one, "jobId"), "job-9");
    th_resp_free(r);
    ids = list_ids(srv, other_key, "/v1/renders?idempotencyKey=filter-key-1", "renders");
    ck_assert_str_eq(ids, ""); /* another project's key finds nothing */
    free(ids);
    ids = list_ids(srv, k, "/v1/renders?test=true", "renders");
    ck_assert_str_eq(ids, b);
    free(ids);
    ids = list_ids(srv, k, "/v1/renders?test=false&source=api", "renders");
    ck_assert_str_eq(ids, a);
    free(ids);
    ids = list_ids(srv, k, "/v1/renders?source=hook", "renders");
    ck_assert_str_eq(ids, hooked);
    free(ids);
    /* created before two days ago: only the old one; after: the two others, newest first */
    char when[64];
    char *cutoff = th_sql(srv, "SELECT to_char(now() - interval '2 days', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
    snprintf(when, sizeof when, "%s", cutoff);
    free(cutoff);
    snprintf(path, sizeof path, "/v1/renders?createdBefore=%s", when);
    ids = list_ids(srv, k, path, "renders");
    ck_assert_str_eq(ids, a);
    free(ids);
    snprintf(path, sizeof path, "/v1/renders?createdAfter=%s&limit=1", when);
    r = th_req(srv, "GET", path, k, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "renders")), 1);
    ck_assert_str_eq(th_str(json_array_get(json_object_get(r->json, "renders"), 0), "id"), hooked);
    ck_assert(json_is_true(json_object_get(r->json, "hasMore")));
    th_resp_free(r);
    ids = list_ids(srv, k, "/v1/renders?createdAfter=2000-01-01&createdBefore=2000-01-02", "renders");
    ck_assert_str_eq(ids, "");
    free(ids);
    /* every bad value answers at its own name */
    const char *bad[][2] = {{"createdAfter=yesterday", "createdAfter"},
                            {"createdBefore=2026-06-04T10:00:00", "createdBefore"},
                            {"test=yes", "test"},
                            {"source=zapier", "source"},
                            {"idempotencyKey=", "idempotencyKey"},
                            {"cursor=nope", "cursor"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(path, sizeof path, "/v1/renders?%s", bad[i][0]);
        r = th_req(srv, "GET", path, k, NULL, NULL);
        assert_field_error(r, 400, "invalid_request", bad[i][1]);
        th_resp_free(r);
    }
}
END_TEST

START_TEST(template_and_version_paging)
{
    char pid[64], k[128];
    th_project(srv, "Paged", false, pid, k);
    for (int i = 0; i < 5; i++) {
        char slug[32];
        snprintf(slug, sizeof slug, "paged-%d", i);
        th_template(srv, k, slug, TH_INVOICE_MANIFEST);
    }
    for (int i = 0; i < 2; i++) {
        th_resp_t *r =
            th_req(srv, "PUT", "/v1/templates/paged-0", k, "{\"manifest\":" TH_INVOICE_MANIFEST "}", NULL);
        ck_assert_msg(r->status == 200, "%s", r->body);
        th_resp_free(r);
    }
    /* paged-0 was updated last: first; then 4, 3, 2, 1; pages of 2 do not overlap */
    char *all = list_ids(srv, k, "/v1/templates", "templates"), seen[8192] = "", path[256];
    th_resp_t *r = th_req(srv, "GET", "/v1/templates?limit=2", k, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "templates")), 2);
    ck_assert_str_eq(th_str(json_array_get(json_object_get(r->json, "templates"), 0), "slug"), "paged-0");
    for (int page = 0; page < 3; page++) {
        json_t *list = json_object_get(r->json, "templates");
        for (size_t i = 0; i < json_array_size(list); i++) {
            if (*seen)
                strcat(seen, ",");
            strcat(seen, th_str(json_array_get(list, i), "id"));
        }
        bool more = json_is_true(json_object_get(r->json, "hasMore"));
        ck_assert_int_eq(more, page < 2);
        if (!more)
            break;
        snprintf(path, sizeof path, "/v1/templates?limit=2&cursor=%s", th_str(r->json, "nextCursor"));
        th_resp_free(r);
        r = th_req(srv, "GET", path, k, NULL, NULL);
    }
    th_resp_free(r);
    ck_assert_str_eq(seen, all);
    free(all);
    /* versions: 3, 2 | 1 */
    r = th_req(srv, "GET", "/v1/templates/paged-0/versions?limit=2", k, NULL, NULL);
    json_t *list = json_object_get(r->json, "versions");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "number")), 3);
    ck_assert(json_is_true(json_object_get(r->json, "hasMore")));
    snprintf(path, sizeof path, "/v1/templates/paged-0/versions?limit=2&cursor=%s",
             th_str(r->json, "nextCursor"));
    th_resp_free(r);
    r = th_req(srv, "GET", path, k, NULL, NULL);
    list = json_object_get(r->json, "versions");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "number")), 1);
    ck_assert(json_is_false(json_object_get(r->json, "hasMore")));
    ck_assert(json_is_null(json_object_get(r->json, "nextCursor")));
    th_resp_free(r);
    const char *bad[][2] = {{"/v1/templates?limit=0", "limit"},
                            {"/v1/templates?cursor=x", "cursor"},
                            {"/v1/templates/paged-0/versions?limit=1001", "limit"},
                            {"/v1/templates/paged-0/versions?cursor=1", "cursor"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = th_req(srv, "GET", bad[i][0], k, NULL, NULL);
        assert_field_error(r, 400, "invalid_request", bad[i][1]);
        th_resp_free(r);
    }
}
END_TEST

int main(void)
{
    srv = th_start("compat", NULL);
    th_invoice_project(srv, "Compat", "invoice", project_id, key);
    th_project(srv, "Other", false, other_project, other_key);
    Suite *s = suite_create("compat");
    TCase *tc = tcase_create("compat");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, unknown_keys_are_stripped_unless_strict);
    tcase_add_test(tc, any_content_type_with_a_json_body);
    tcase_add_test(tc, version_number_with_zero_fraction);
    tcase_add_test(tc, dates_accept_timestamps);
    tcase_add_test(tc, utf8_filenames);
    tcase_add_test(tc, version_filename_template);
    tcase_add_test(tc, unknown_renders_are_not_found);
    tcase_add_test(tc, error_message_only_when_failed);
    tcase_add_test(tc, idempotency_on_normalised_data);
    tcase_add_test(tc, replays_are_not_rate_limited);
    tcase_add_test(tc, cancel_a_queued_render);
    tcase_add_test(tc, delete_keeps_a_tombstone);
    tcase_add_test(tc, retention_per_project);
    tcase_add_test(tc, list_filters);
    tcase_add_test(tc, template_and_version_paging);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
