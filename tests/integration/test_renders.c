/* The render API over real HTTP, Postgres, Redis and local storage: submit, poll, download,
 * every error code, idempotency (replays of running and failed renders, concurrency), test keys,
 * filenames, listing, rate limits (per project and the server-wide defaults). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness_render.h"

static th_server_t *srv;
static char key[128], test_key[128], other_key[128], project_id[64];

#define DATA_OK TH_INVOICE_DATA

static th_resp_t *submit(const char *api_key, const char *slug, const char *body, const char *const *headers)
{
    return th_render_post(srv, api_key, slug, body, headers);
}

START_TEST(submit_poll_download)
{
    th_resp_t *r =
        submit(key, "invoice", "{\"data\":" DATA_OK ",\"options\":{\"filename\":\"March invoice\"}}", NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "status"), "queued");
    ck_assert(json_is_null(json_object_get(r->json, "downloadUrl")));
    ck_assert(json_is_null(json_object_get(r->json, "errorMessage")));
    ck_assert_int_eq(strlen(th_str(r->json, "createdAt")), 24);
    char id[64], poll[256];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    ck_assert_int_eq(id[14], '7'); /* UUIDv7 */
    snprintf(poll, sizeof poll, "%s/v1/renders/%s", srv->base_url, id);
    ck_assert_str_eq(th_str(r->json, "pollUrl"), poll);
    ck_assert(th_header(r, "ratelimit-limit") && th_header(r, "ratelimit-remaining") &&
              th_header(r, "ratelimit-reset"));
    th_resp_free(r);

    r = th_wait_render(srv, key, id, 20000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    ck_assert_str_eq(th_str(r->json, "filename"), "March invoice.pdf");
    ck_assert_str_eq(th_str(r->json, "templateSlug"), "invoice");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "versionNumber")), 1);
    ck_assert(json_is_false(json_object_get(r->json, "test")));
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "pages")), 1);
    long long bytes = json_integer_value(json_object_get(r->json, "bytes"));
    ck_assert(bytes > 1000);
    ck_assert_int_eq(strlen(th_str(r->json, "sha256")), 64);
    ck_assert(json_is_integer(json_object_get(r->json, "durationMs")));
    ck_assert(json_is_string(json_object_get(r->json, "startedAt")));
    ck_assert(json_is_string(json_object_get(r->json, "completedAt")));
    char url[2048];
    snprintf(url, sizeof url, "%s", th_str(r->json, "downloadUrl"));
    ck_assert_msg(strstr(url, "/files/renders/") && strstr(url, "signature="), "%s", url);
    th_resp_free(r);

    /* the signed link serves the PDF, and its text holds the data */
    r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq((long long)r->len, bytes);
    char *text = th_pdf_text(r->body, r->len);
    ck_assert_msg(text && strstr(text, "Ada Lovelace") && strstr(text, "Analytical engine"), "%s", text);
    free(text);
    th_resp_free(r);

    /* the download endpoint streams the same bytes as an attachment */
    char path[256];
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_header(r, "content-type"), "application/pdf");
    ck_assert_str_eq(th_header(r, "content-disposition"),
                     "attachment; filename=\"March invoice.pdf\"; filename*=UTF-8''March%20invoice.pdf");
    ck_assert_int_eq((long long)r->len, bytes);
    th_resp_free(r);

    /* another project cannot see it */
    snprintf(path, sizeof path, "/v1/renders/%s", id);
    th_expect_error(srv, "GET", path, other_key, NULL, 404, "not_found");
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    th_expect_error(srv, "GET", path, other_key, NULL, 404, "not_found");
}
END_TEST

START_TEST(test_keys_watermark)
{
    th_resp_t *r = submit(test_key, "invoice", "{\"data\":" DATA_OK "}", NULL);
    ck_assert_msg(r->status == 202, "%s", r->body);
    ck_assert(json_is_true(json_object_get(r->json, "test")));
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_wait_render(srv, test_key, id, 20000);
    ck_assert_str_eq(th_status(r), "succeeded");
    ck_assert(json_is_true(json_object_get(r->json, "test")));
    char filename[80];
    snprintf(filename, sizeof filename, "%s.pdf", id);
    ck_assert_str_eq(th_str(r->json, "filename"), filename); /* default name */
    th_resp_free(r);
    char path[256];
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    r = th_req(srv, "GET", path, test_key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    char *text = th_pdf_text(r->body, r->len);
    /* the diagonal watermark comes out of pdftotext in pieces: look at the letters only */
    size_t w = 0;
    for (size_t i = 0; text && text[i]; i++)
        if (text[i] > ' ')
            text[w++] = text[i];
    if (text)
        text[w] = '\0';
    ck_assert_msg(text && strstr(text, "TEST"), "%s", text);
    free(text);
    th_resp_free(r);
}
END_TEST

static void expect_error(const char *api_key, const char *slug, const char *body, const char *const *headers,
                         long status, const char *code)
{
    th_resp_t *r = submit(api_key, slug, body, headers);
    th_assert_error(r, status, code);
    th_resp_free(r);
}

static char *render_count(const char *pid)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM renders WHERE project_id = '%s'", pid);
    return th_sql(srv, sql);
}

START_TEST(error_codes)
{
    th_resp_t *r;
    char *before = render_count(project_id);
    expect_error(NULL, "invoice", "{\"data\":{}}", NULL, 401, "unauthorized");
    expect_error(key, "invoice", "{\"data\":[]}", NULL, 400, "invalid_request");
    r = submit(key, "invoice", "{\"options\":{}}", NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert(strstr(r->body, "\"data\":[\"Required\"]"));
    th_resp_free(r);
    /* Unknown keys are ignored (stripped), except with options.strict. */
    r = submit(key, "invoice", "{\"data\":{},\"extra\":true,\"options\":{\"strict\":true}}", NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert(strstr(r->body, "Unrecognized key"));
    th_resp_free(r);
    r = submit(key, "invoice",
               "{\"data\":{},\"options\":{\"sync\":\"yes\",\"versionNumber\":0,\"color\":1,\"strict\":true}}",
               NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert(strstr(r->body, "options.sync") && strstr(r->body, "options.versionNumber"));
    ck_assert(strstr(r->body, "'color'"));
    th_resp_free(r);
    expect_error(key, "invoice", "{\"data\":{},\"jobId\":\"\"}", NULL, 400, "invalid_request");
    char long_name[200];
    memset(long_name, 'a', 130);
    long_name[130] = '\0';
    char body[512];
    snprintf(body, sizeof body, "{\"data\":{},\"options\":{\"filename\":\"%s\"}}", long_name);
    expect_error(key, "invoice", body, NULL, 400, "invalid_request");
    expect_error(key, "invoice", "not json", NULL, 400, "invalid_json");
    expect_error(key, "nope", "{\"data\":{}}", NULL, 404, "template_not_found");
    expect_error(other_key, "invoice", "{\"data\":" DATA_OK "}", NULL, 404, "template_not_found");
    expect_error(key, "draft", "{\"data\":" DATA_OK "}", NULL, 409, "no_published_version");
    expect_error(key, "invoice", "{\"data\":" DATA_OK ",\"options\":{\"versionNumber\":5}}", NULL, 404,
                 "version_not_found");
    expect_error(key, "draft", "{\"data\":" DATA_OK ",\"options\":{\"versionNumber\":1}}", NULL, 404,
                 "version_not_found"); /* a draft is previewable, never renderable */

    r = submit(key, "invoice",
               "{\"data\":{\"total\":\"lots\",\"items\":[{\"name\":\"x\",\"qty\":1},{\"qty\":\"y\"}]}}",
               NULL);
    th_assert_error(r, 400, "invalid_input_data");
    json_t *fields =
        json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
    ck_assert(json_object_get(fields, "customer.name"));
    ck_assert(json_object_get(fields, "total"));
    ck_assert(json_object_get(fields, "items.1.name"));
    ck_assert(json_object_get(fields, "items.1.qty"));
    th_resp_free(r);
    r = submit(
        key, "invoice",
        "{\"data\":{\"customer\":{\"name\":\"A\"},\"total\":1,\"junk\":2},\"options\":{\"strict\":true}}",
        NULL);
    th_assert_error(r, 400, "invalid_input_data");
    ck_assert(strstr(r->body, "Unrecognized key"));
    th_resp_free(r);

    const char *long_key[] = {NULL, NULL};
    char header[300] = "Idempotency-Key: ";
    memset(header + 17, 'k', 201);
    header[218] = '\0';
    long_key[0] = header;
    expect_error(key, "invoice", "{\"data\":" DATA_OK "}", long_key, 400, "invalid_request");

    th_expect_error(srv, "GET", "/v1/renders/not-a-uuid", key, NULL, 404, "not_found");
    th_expect_error(srv, "GET", "/v1/renders/01890000-0000-7000-8000-000000000000", key, NULL, 404,
                    "not_found");
    th_expect_error(srv, "DELETE", "/v1/renders/01890000-0000-7000-8000-000000000000", key, NULL, 404,
                    "not_found");
    /* nothing of the above left a render behind */
    char *after = render_count(project_id);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
}
END_TEST

START_TEST(filenames_are_sanitised)
{
    th_resp_t *r = submit(key, "invoice",
                          "{\"data\":" DATA_OK ",\"options\":{\"filename\":\"../../etc/passwd\"}}", NULL);
    ck_assert_int_eq(r->status, 202);
    ck_assert_str_eq(th_str(r->json, "filename"), "etc_passwd.pdf");
    th_resp_free(r);
    r = submit(key, "invoice",
               "{\"data\":" DATA_OK ",\"options\":{\"filename\":\"Rechnung \xc3\xa4 1.PDF\"}}", NULL);
    ck_assert_int_eq(r->status, 202);
    ck_assert_str_eq(th_str(r->json, "filename"), "Rechnung \xc3\xa4 1.PDF");
    th_resp_free(r);
    r = submit(key, "invoice", "{\"data\":" DATA_OK ",\"options\":{\"filename\":\"..\"}}", NULL);
    ck_assert_int_eq(r->status, 202);
    char want[80];
    snprintf(want, sizeof want, "%.40s.pdf", th_str(r->json, "id"));
    ck_assert_str_eq(th_str(r->json, "filename"), want);
    th_resp_free(r);
}
END_TEST

START_TEST(idempotency_replay_and_reuse)
{
    const char *h[] = {"Idempotency-Key: order-1001", NULL};
    th_resp_t *r = submit(key, "invoice", "{\"data\":" DATA_OK "}", h);
    ck_assert_int_eq(r->status, 202);
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    /* the same request (keys in another order): 200 with the same render */
    r = submit(key, "invoice",
               "{\"data\":{\"items\":[{\"qty\":2,\"name\":\"Analytical "
               "engine\"}],\"total\":\"49.90\",\"customer\":{\"name\":\"Ada Lovelace\"}}}",
               h);
    ck_assert_msg(r->status == 200, "%s", r->body);
    ck_assert_str_eq(th_str(r->json, "id"), id);
    th_resp_free(r);
    /* different data, options or template under the same key: 409 */
    expect_error(key, "invoice", "{\"data\":{\"customer\":{\"name\":\"Other\"},\"total\":1}}", h, 409,
                 "idempotency_key_reused");
    expect_error(key, "invoice", "{\"data\":" DATA_OK ",\"options\":{\"filename\":\"x\"}}", h, 409,
                 "idempotency_key_reused");
    expect_error(key, "invoice-b", "{\"data\":" DATA_OK "}", h, 409, "idempotency_key_reused");
    /* body jobId is the same key space; the header wins over it */
    r = submit(key, "invoice", "{\"data\":" DATA_OK ",\"jobId\":\"order-1001\"}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_str(r->json, "id"), id);
    th_resp_free(r);
    const char *h2[] = {"Idempotency-Key: order-1002", NULL};
    r = submit(key, "invoice", "{\"data\":" DATA_OK ",\"jobId\":\"order-1001\"}", h2);
    ck_assert_int_eq(r->status, 202);
    ck_assert_str_ne(th_str(r->json, "id"), id);
    th_resp_free(r);
    /* keys are per project */
    expect_error(other_key, "invoice", "{\"data\":" DATA_OK "}", h, 404, "template_not_found");
    /* a replay once done reports the finished state */
    r = th_wait_render(srv, key, id, 20000);
    ck_assert_str_eq(th_status(r), "succeeded");
    th_resp_free(r);
    r = submit(key, "invoice", "{\"data\":" DATA_OK "}", h);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_str(r->json, "status"), "succeeded");
    ck_assert(json_is_string(json_object_get(r->json, "downloadUrl")));
    th_resp_free(r);
}
END_TEST

/* Exactly one render row carries this idempotency key, whatever was replayed or raced. */
static void assert_one_row_for_key(const char *idem)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM renders WHERE idempotency_key = '%s'", idem);
    char *count = th_sql(srv, sql);
    ck_assert_msg(!strcmp(count, "1"), "%s rows for key %s", count, idem);
    free(count);
}

START_TEST(idempotency_under_concurrency)
{
    enum { N = 50 };
    th_resp_t *out[N];
    const char *h[] = {"Idempotency-Key: concurrent-7", NULL};
    th_parallel(srv, N, "POST", "/v1/templates/invoice/render", key, "{\"data\":" DATA_OK "}", h, out);
    int accepted = 0, replayed = 0;
    const char *id = NULL;
    for (int i = 0; i < N; i++) {
        ck_assert_msg(out[i] != NULL, "request %d got no answer", i);
        if (out[i]->status == 202)
            accepted++;
        else if (out[i]->status == 200)
            replayed++;
        else
            ck_abort_msg("unexpected %ld: %s", out[i]->status, out[i]->body);
        const char *this_id = th_str(out[i]->json, "id");
        if (!id)
            id = this_id;
        ck_assert_str_eq(this_id, id);
    }
    ck_assert_int_eq(accepted, 1);
    ck_assert_int_eq(replayed, N - 1);
    assert_one_row_for_key("concurrent-7");
    for (int i = 0; i < N; i++)
        th_resp_free(out[i]);
}
END_TEST

START_TEST(listing_with_cursor_and_filters)
{
    /* a project of its own, so the counts are exact */
    char pid[64], k[128];
    th_invoice_project(srv, "Listing", "list-a", pid, k);
    th_template(srv, k, "list-b", TH_INVOICE_MANIFEST);
    char ids[7][64];
    for (int i = 0; i < 7; i++)
        th_submit_ok(srv, NULL, k, i < 5 ? "list-a" : "list-b", "{\"data\":" DATA_OK "}", ids[i]);
    th_resp_t *r = th_req(srv, "GET", "/v1/renders?limit=3", k, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    json_t *list = json_object_get(r->json, "renders");
    ck_assert_int_eq(json_array_size(list), 3);
    ck_assert_str_eq(th_str(json_array_get(list, 0), "id"), ids[6]); /* newest first */
    ck_assert(json_is_true(json_object_get(r->json, "hasMore")));
    char path[256];
    snprintf(path, sizeof path, "/v1/renders?limit=3&cursor=%s", th_str(r->json, "nextCursor"));
    th_resp_free(r);
    r = th_req(srv, "GET", path, k, NULL, NULL);
    list = json_object_get(r->json, "renders");
    ck_assert_int_eq(json_array_size(list), 3);
    ck_assert_str_eq(th_str(json_array_get(list, 0), "id"), ids[3]);
    snprintf(path, sizeof path, "/v1/renders?limit=3&cursor=%s", th_str(r->json, "nextCursor"));
    th_resp_free(r);
    r = th_req(srv, "GET", path, k, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "renders")), 1);
    ck_assert(json_is_false(json_object_get(r->json, "hasMore")));
    ck_assert(json_is_null(json_object_get(r->json, "nextCursor")));
    th_resp_free(r);

    r = th_req(srv, "GET", "/v1/renders?template=list-b", k, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "renders")), 2);
    th_resp_free(r);
    for (int i = 0; i < 7; i++)
        th_resp_free(th_wait_render(srv, k, ids[i], 20000));
    r = th_req(srv, "GET", "/v1/renders?status=succeeded&template=list-a&limit=100", k, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "renders")), 5);
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/renders?status=failed", k, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "renders")), 0);
    th_resp_free(r);

    th_expect_error(srv, "GET", "/v1/renders?status=done", k, NULL, 400, "invalid_request");
    th_expect_error(srv, "GET", "/v1/renders?limit=0", k, NULL, 400, "invalid_request");
    th_expect_error(srv, "GET", "/v1/renders?limit=101", k, NULL, 400, "invalid_request");
    th_expect_error(srv, "GET", "/v1/renders?cursor=garbage", k, NULL, 400, "invalid_request");
    /* other projects' renders never appear */
    r = th_req(srv, "GET", "/v1/renders?limit=100", other_key, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "renders")), 0);
    th_resp_free(r);
}
END_TEST

START_TEST(rate_limited_after_burst)
{
    char pid[64], k[128], path[128];
    th_limited_project(srv, "Limited", "limited", "{\"rateLimit\":0.01,\"rateBurst\":3}", pid, k);
    snprintf(path, sizeof path, "/v1/projects/%s", pid);
    th_resp_t *r;
    for (int i = 0; i < 3; i++) {
        r = submit(k, "limited", "{\"data\":" DATA_OK "}", NULL);
        ck_assert_msg(r->status == 202, "%d: %s", i, r->body);
        ck_assert_str_eq(th_header(r, "ratelimit-limit"), "3");
        char want[8];
        snprintf(want, sizeof want, "%d", 2 - i);
        ck_assert_str_eq(th_header(r, "ratelimit-remaining"), want);
        th_resp_free(r);
    }
    r = submit(k, "limited", "{\"data\":" DATA_OK "}", NULL);
    th_assert_error(r, 429, "rate_limited");
    ck_assert(th_header(r, "retry-after") && atoi(th_header(r, "retry-after")) >= 1);
    ck_assert_str_eq(th_header(r, "ratelimit-remaining"), "0");
    th_resp_free(r);
    /* other projects are not affected */
    r = submit(key, "invoice", "{\"data\":" DATA_OK "}", NULL);
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
    /* a refused request created nothing */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM renders WHERE project_id = '%s'", pid);
    char *count = th_sql(srv, sql);
    ck_assert_str_eq(count, "3");
    free(count);
    th_expect_error(srv, "PATCH", path, TH_ADMIN_KEY, "{\"rateLimit\":0}", 400, "invalid_request");
}
END_TEST

START_TEST(download_before_success_is_not_ready)
{
    th_images_t im;
    th_images_start(&im, 3000);
    char body[512];
    snprintf(
        body, sizeof body,
        "{\"data\":{\"customer\":{\"name\":\"Slow\"},\"total\":1,\"logo\":\"http://127.0.0.1:%d/slow.svg\"}}",
        im.port);
    th_resp_t *r = submit(key, "invoice", body, NULL);
    ck_assert_int_eq(r->status, 202);
    char id[64], path[256];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    th_assert_not_ready(srv, key, id, NULL);
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    r = th_wait_render(srv, key, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    th_images_stop(&im);
}
END_TEST

static char *status_in_db(const char *id)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT status FROM renders WHERE id = '%s'", id);
    return th_sql(srv, sql);
}

static bool rendering_now(void *id)
{
    char *st = status_in_db(id);
    bool yes = !strcmp(st, "rendering");
    free(st);
    return yes;
}

/* Submits an invoice whose logo is path on im, with headers h (an Idempotency-Key): 202
 * expected. body gets the request, sync_body the same with options.sync, id the render's. */
static void submit_keyed_with_logo(const th_images_t *im, const char *path, const char *const *h,
                                   char body[512], char sync_body[600], char id[64])
{
    snprintf(body, 512,
             "{\"data\":{\"customer\":{\"name\":\"Replay\"},\"total\":1,\"logo\":\"http://127.0.0.1:%d%s\"}}",
             im->port, path);
    snprintf(sync_body, 600, "%.*s,\"options\":{\"sync\":true}}", (int)strlen(body) - 1, body);
    th_resp_t *r = submit(key, "invoice", body, h);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    snprintf(id, 64, "%s", th_str(r->json, "id"));
    th_resp_free(r);
}

START_TEST(sync_replay_of_a_running_render_waits)
{
    /* options.sync is not part of the idempotency comparison, so a client that retries its
     * request with sync:true (say, after a timeout) must get what a sync request gets: the
     * finished render, not the in-flight state. */
    th_images_t im;
    th_images_start(&im, 2000);
    char body[512], sync_body[600], id[64];
    const char *h[] = {"Idempotency-Key: sync-replay-1", NULL};
    submit_keyed_with_logo(&im, "/slow.svg", h, body, sync_body, id);
    ck_assert(th_wait_until(rendering_now, id, 10000));
    th_resp_t *r = submit(key, "invoice", sync_body, h);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "id"), id);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    ck_assert(json_is_string(json_object_get(r->json, "downloadUrl")));
    ck_assert(json_is_string(json_object_get(r->json, "completedAt")));
    th_resp_free(r);
    assert_one_row_for_key("sync-replay-1");
    th_images_stop(&im);
}
END_TEST

START_TEST(replay_of_a_failed_render)
{
    /* A failed render keeps its key: the retry of the same request reports the failure and why
     * (200, status failed, errorMessage) instead of starting a new render, with and without
     * sync. A new attempt needs a new key or a changed request. */
    th_images_t im;
    th_images_start(&im, 0);
    char body[512], sync_body[600], id[64];
    const char *h[] = {"Idempotency-Key: failed-replay-1", NULL};
    submit_keyed_with_logo(&im, "/missing.svg", h, body, sync_body, id);
    th_resp_t *r = th_wait_render(srv, key, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "failed"), "%s", r->body);
    char completed[64];
    snprintf(completed, sizeof completed, "%s", th_str(r->json, "completedAt"));
    th_resp_free(r);
    for (int i = 0; i < 2; i++) {
        r = submit(key, "invoice", i ? sync_body : body, h);
        ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
        ck_assert_str_eq(th_str(r->json, "id"), id);
        ck_assert_str_eq(th_status(r), "failed");
        ck_assert_msg(
            strstr(th_str(r->json, "errorMessage"), "image at data.logo could not be fetched: HTTP 404"),
            "%s", r->body);
        ck_assert_int_eq(json_integer_value(json_object_get(r->json, "attempts")), 3);
        ck_assert(json_is_null(json_object_get(r->json, "downloadUrl")));
        ck_assert_str_eq(th_str(r->json, "completedAt"), completed);
        th_resp_free(r);
    }
    assert_one_row_for_key("failed-replay-1");
    th_images_stop(&im);
}
END_TEST

START_TEST(server_default_rate_limit)
{
    /* A project without rateLimit/rateBurst of its own gets CRAFTKIT_RATE_LIMIT and
     * CRAFTKIT_RATE_BURST of the server. An instance of its own with tiny defaults (its renders
     * are done by the main server's workers); one token per 100 s refills far too slowly for the
     * four requests to see a new one, even in a sanitizer build on a busy machine (at 1/s they
     * did: a request there can take over a second). */
    const char *env[] = {"CRAFTKIT_RATE_LIMIT=0.01", "CRAFTKIT_RATE_BURST=3", "CRAFTKIT_WORKERS=0", NULL};
    int port;
    pid_t extra = th_server_spawn_extra(srv, &port, env);
    char pid[64], k[128], url[256];
    th_invoice_project(srv, "Defaults", "defaults", pid, k);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/templates/defaults/render", port);
    for (int i = 0; i < 3; i++) {
        th_resp_t *r = th_req_url("POST", url, k, "{\"data\":" DATA_OK "}", NULL);
        ck_assert_msg(r->status == 202, "%d: %ld %s", i, r->status, r->body);
        ck_assert_str_eq(th_header(r, "ratelimit-limit"), "3");
        char want[8];
        snprintf(want, sizeof want, "%d", 2 - i);
        ck_assert_str_eq(th_header(r, "ratelimit-remaining"), want);
        ck_assert(th_header(r, "retry-after") == NULL); /* only on a 429 */
        th_resp_free(r);
    }
    th_resp_t *r = th_req_url("POST", url, k, "{\"data\":" DATA_OK "}", NULL);
    th_assert_error(r, 429, "rate_limited");
    ck_assert(th_header(r, "retry-after") && atoi(th_header(r, "retry-after")) >= 1);
    ck_assert_str_eq(th_header(r, "ratelimit-limit"), "3");
    ck_assert_str_eq(th_header(r, "ratelimit-remaining"), "0");
    ck_assert(th_header(r, "ratelimit-reset") && atoi(th_header(r, "ratelimit-reset")) >= 1);
    th_resp_free(r);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM renders WHERE project_id = '%s'", pid);
    char *count = th_sql(srv, sql);
    ck_assert_str_eq(count, "3");
    free(count);

    /* a project's own burst still wins over the server's */
    char pid2[64], k2[128], path[128];
    th_invoice_project(srv, "Own burst", "own", pid2, k2);
    snprintf(path, sizeof path, "/v1/projects/%s", pid2);
    r = th_req(srv, "PATCH", path, TH_ADMIN_KEY, "{\"rateBurst\":7}", NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    th_resp_free(r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/templates/own/render", port);
    r = th_req_url("POST", url, k2, "{\"data\":" DATA_OK "}", NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_header(r, "ratelimit-limit"), "7");
    ck_assert_str_eq(th_header(r, "ratelimit-remaining"), "6");
    th_resp_free(r);
    kill(extra, SIGTERM);
    int st = -1;
    waitpid(extra, &st, 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the extra server exited with %d", st);
}
END_TEST

int main(void)
{
    srv = th_start("renders", NULL);
    th_project(srv, "Renders", false, project_id, key);
    char id[64];
    th_project(srv, "Other", false, id, other_key);
    /* the test key belongs to the first project */
    char path[256];
    snprintf(path, sizeof path, "/v1/projects/%s/keys", project_id);
    th_resp_t *r = th_req(srv, "POST", path, TH_ADMIN_KEY, "{\"environment\":\"test\"}", NULL);
    snprintf(test_key, sizeof test_key, "%s", json_string_value(json_object_get(r->json, "key")));
    th_resp_free(r);
    th_template(srv, key, "invoice", TH_INVOICE_MANIFEST);
    th_template(srv, key, "invoice-b", TH_INVOICE_MANIFEST);
    r = th_req(srv, "POST", "/v1/templates", key,
               "{\"name\":\"Draft\",\"slug\":\"draft\",\"publish\":false,\"manifest\":" TH_INVOICE_MANIFEST
               "}",
               NULL);
    th_resp_free(r);

    Suite *s = suite_create("renders");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, submit_poll_download);
    tcase_add_test(tc, test_keys_watermark);
    tcase_add_test(tc, error_codes);
    tcase_add_test(tc, filenames_are_sanitised);
    tcase_add_test(tc, idempotency_replay_and_reuse);
    tcase_add_test(tc, idempotency_under_concurrency);
    tcase_add_test(tc, listing_with_cursor_and_filters);
    tcase_add_test(tc, rate_limited_after_burst);
    tcase_add_test(tc, download_before_success_is_not_ready);
    tcase_add_test(tc, sync_replay_of_a_running_render_waits);
    tcase_add_test(tc, replay_of_a_failed_render);
    tcase_add_test(tc, server_default_rate_limit);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
