/* Integration: the whole server with CRAFTKIT_STORAGE=s3 against the signature-verifying fake
 * S3 of scripts/test-services.d/s3.sh — renders are stored there, GET /v1/renders/:id hands out
 * pre-signed links that the store itself serves (and refuses when tampered), /download relays
 * the object, /files is gone, S3_PUBLIC_BASE_URL gives plain links, and a wrong secret fails
 * renders with a message naming the store and turns /ready's storage component "down"; a
 * merged batch is stored, linked and relayed the same way, and deleted from the store when it
 * passes its retention.
 * test_storage_s3 covers the S3 client on its own; this one covers how the server wires it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "harness_render.h"

#define DATA_OK                                                                                              \
    "{\"customer\":{\"name\":\"Ada Lovelace\"},\"total\":\"49.90\",\"items\":[{\"name\":\"Analytical "       \
    "engine\",\"qty\":2}]}"
#define DOWNLOAD_TTL "300"

static th_server_t *srv;
static char key[128], project_id[64];
static char *endpoint, *bucket;

/* "NAME=value" strings for the fake's settings, built once in main(). */
static char env_endpoint[256], env_region[128], env_bucket[128], env_access[128], env_secret[128];

static char *services_env_or_die(const char *name)
{
    char *v = th_services_env(name);
    if (!v) {
        fprintf(stderr,
                "test_server_s3: %s is not in the services env: the fake S3 did not start (run "
                "scripts/test-node-deps, then see scripts/test-services.d/s3.sh)\n",
                name);
        exit(3);
    }
    return v;
}

static void load_s3_env(void)
{
    endpoint = services_env_or_die("S3_ENDPOINT");
    bucket = services_env_or_die("S3_BUCKET");
    char *region = services_env_or_die("S3_REGION");
    char *access = services_env_or_die("S3_ACCESS_KEY_ID");
    char *secret = services_env_or_die("S3_SECRET_ACCESS_KEY");
    snprintf(env_endpoint, sizeof env_endpoint, "S3_ENDPOINT=%s", endpoint);
    snprintf(env_region, sizeof env_region, "S3_REGION=%s", region);
    snprintf(env_bucket, sizeof env_bucket, "S3_BUCKET=%s", bucket);
    snprintf(env_access, sizeof env_access, "S3_ACCESS_KEY_ID=%s", access);
    snprintf(env_secret, sizeof env_secret, "S3_SECRET_ACCESS_KEY=%s", secret);
    free(region);
    free(access);
    free(secret);
}

/* Renders DATA_OK (with options, a JSON object text or NULL) on s and waits for success;
 * returns the succeeded render. */
static th_resp_t *render_ok(th_server_t *s, const char *api_key, const char *options, char id[64])
{
    char body[1024];
    snprintf(body, sizeof body, "{\"data\":" DATA_OK "%s%s}", options ? ",\"options\":" : "",
             options ? options : "");
    th_submit_ok(s, NULL, api_key, "invoice", body, id);
    th_resp_t *r = th_wait_render(s, api_key, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    return r;
}

/* The value of query parameter name in url (copied into out), or false when absent. */
static bool query_param(const char *url, const char *name, char *out, size_t out_len)
{
    const char *q = strchr(url, '?');
    size_t n = strlen(name);
    for (const char *p = q; p; p = strchr(p + 1, '&')) {
        if (!strncmp(p + 1, name, n) && p[1 + n] == '=') {
            const char *v = p + 2 + n;
            snprintf(out, out_len, "%.*s", (int)strcspn(v, "&"), v);
            return true;
        }
    }
    return false;
}

/* X-Amz-Date (YYYYMMDDTHHMMSSZ) of a pre-signed URL as a time. */
static time_t signed_at(const char *url)
{
    char v[32];
    ck_assert_msg(query_param(url, "X-Amz-Date", v, sizeof v), "%s", url);
    struct tm tm = {0};
    const char *end = strptime(v, "%Y%m%dT%H%M%SZ", &tm);
    ck_assert_msg(end && !*end, "X-Amz-Date=%s", v);
    return timegm(&tm);
}

/* The bytes at url (fetched with plain curl, no credentials) are the render's PDF. */
static void assert_pdf_of(const th_resp_t *r, const json_t *render)
{
    ck_assert_msg(r && r->status == 200, "%ld %s", r ? r->status : 0L, r ? r->body : "");
    ck_assert_int_eq((long long)r->len, json_integer_value(json_object_get(render, "bytes")));
    ck_assert(r->len > 5 && !memcmp(r->body, "%PDF-", 5));
    char sha[65];
    crypto_sha256_hex(r->body, r->len, sha);
    ck_assert_str_eq(sha, th_str(render, "sha256"));
}

static const char *download_url(const th_resp_t *r)
{
    const char *url = th_str(r->json, "downloadUrl");
    ck_assert_msg(*url, "no downloadUrl: %s", r->body);
    return url;
}

START_TEST(presigned_download_url)
{
    char id[64], want[512], path[256];
    th_resp_t *render = render_ok(srv, key, "{\"filename\":\"March invoice\"}", id);
    ck_assert_str_eq(th_str(render->json, "filename"), "March invoice.pdf");

    /* Path style on the store's endpoint, the object under renders/<project>/<render>/<id>.pdf:
     * the key never holds the user's name. */
    char *url = strdup(download_url(render));
    snprintf(want, sizeof want, "%s/%s/renders/%s/%s/%s.pdf?", endpoint, bucket, project_id, id, id);
    ck_assert_msg(!strncmp(url, want, strlen(want)), "%s\nwant %s", url, want);
    char v[256];
    ck_assert(query_param(url, "X-Amz-Algorithm", v, sizeof v) && !strcmp(v, "AWS4-HMAC-SHA256"));
    ck_assert(query_param(url, "X-Amz-Credential", v, sizeof v) && strstr(v, "%2Fs3%2Faws4_request"));
    ck_assert(query_param(url, "X-Amz-SignedHeaders", v, sizeof v) && !strcmp(v, "host"));
    ck_assert(query_param(url, "X-Amz-Signature", v, sizeof v) && strlen(v) == 64);
    /* Valid for CRAFTKIT_DOWNLOAD_TTL and signed when the render was read, not when it finished. */
    ck_assert(query_param(url, "X-Amz-Expires", v, sizeof v) && !strcmp(v, DOWNLOAD_TTL));
    time_t t1 = signed_at(url);
    ck_assert_msg(llabs((long long)(t1 - time(NULL))) <= 5, "signed at %lld", (long long)t1);

    /* The store serves the PDF to anyone holding the link, as an attachment with the name. */
    th_resp_t *r = th_req_url("GET", url, NULL, NULL, NULL);
    assert_pdf_of(r, render->json);
    ck_assert_str_eq(th_header(r, "content-disposition"),
                     "attachment; filename=\"March invoice.pdf\"; filename*=UTF-8''March%20invoice.pdf");
    ck_assert_str_eq(th_header(r, "content-type"), "application/pdf");
    char *text = th_pdf_text(r->body, r->len);
    ck_assert_msg(text && strstr(text, "Ada Lovelace"), "%s", text);
    free(text);
    th_resp_free(r);

    /* Every read signs anew (X-Amz-Date has one-second resolution: wait for the next one). */
    th_sleep_ms(1100);
    snprintf(path, sizeof path, "/v1/renders/%s", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    char *url2 = strdup(download_url(r));
    th_resp_free(r);
    ck_assert_msg(signed_at(url2) > t1, "%s\n%s", url, url2);
    char sig1[80], sig2[80];
    query_param(url, "X-Amz-Signature", sig1, sizeof sig1);
    query_param(url2, "X-Amz-Signature", sig2, sizeof sig2);
    ck_assert_str_ne(sig1, sig2);
    r = th_req_url("GET", url2, NULL, NULL, NULL);
    assert_pdf_of(r, render->json);
    th_resp_free(r);

    /* The store checks the signature: one changed hex digit, or another file name, is refused. */
    char *bad = strdup(url);
    char *s = strstr(bad, "X-Amz-Signature=") + 16;
    s[0] = s[0] == 'a' ? 'b' : 'a';
    r = th_req_url("GET", bad, NULL, NULL, NULL);
    ck_assert_msg(r->status == 403 && strstr(r->body, "SignatureDoesNotMatch"), "%ld %s", r->status, r->body);
    th_resp_free(r);
    free(bad);
    bad = strdup(url);
    memcpy(strstr(bad, "March"), "April", 5); /* the name in response-content-disposition */
    r = th_req_url("GET", bad, NULL, NULL, NULL);
    ck_assert_msg(r->status == 403, "%ld %s", r->status, r->body);
    th_resp_free(r);
    free(bad);
    free(url);
    free(url2);
    th_resp_free(render);
}
END_TEST

START_TEST(download_through_the_server)
{
    /* A slow logo keeps the render running long enough to ask for its file too early. */
    th_images_t im;
    th_images_start(&im, 2500);
    char body[512], id[64], path[256];
    snprintf(
        body, sizeof body,
        "{\"data\":{\"customer\":{\"name\":\"Slow\"},\"total\":1,\"logo\":\"http://127.0.0.1:%d/slow.svg\"},"
        "\"options\":{\"filename\":\"Relayed\"}}",
        im.port);
    th_submit_ok(srv, NULL, key, "invoice", body, id);
    th_assert_not_ready(srv, key, id, NULL);
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);

    th_resp_t *render = th_wait_render(srv, key, id, 30000);
    ck_assert_msg(!strcmp(th_status(render), "succeeded"), "%s", render->body);
    th_images_stop(&im);

    /* The server reads the object from the store (signed request) and relays it. */
    th_resp_t *r = th_req(srv, "GET", path, key, NULL, NULL);
    assert_pdf_of(r, render->json);
    ck_assert_str_eq(th_header(r, "content-type"), "application/pdf");
    ck_assert_str_eq(th_header(r, "content-disposition"),
                     "attachment; filename=\"Relayed.pdf\"; filename*=UTF-8''Relayed.pdf");
    char etag[80];
    snprintf(etag, sizeof etag, "\"%s\"", th_str(render->json, "sha256"));
    ck_assert_str_eq(th_header(r, "etag"), etag);
    th_resp_free(r);

    /* The same bytes as the pre-signed link gives. */
    r = th_req_url("GET", download_url(render), NULL, NULL, NULL);
    assert_pdf_of(r, render->json);
    th_resp_free(r);
    th_resp_free(render);
}
END_TEST

START_TEST(no_files_route_under_s3)
{
    /* Even for the key of a stored render, in the shape of a local signed link: with S3 the
     * downloads go to the store, so the server has no /files links to honour. */
    char id[64], path[512];
    th_resp_t *render = render_ok(srv, key, NULL, id);
    snprintf(path, sizeof path, "/files/renders/%s/%s/%s.pdf?expires=%lld&signature=%064d", project_id, id,
             id, (long long)time(NULL) + 600, 0);
    th_resp_t *r = th_req(srv, "GET", path, NULL, NULL, NULL);
    th_assert_error(r, 404, "not_found");
    th_resp_free(r);
    snprintf(path, sizeof path, "/files/renders/%s/%s/%s.pdf", project_id, id, id);
    th_expect_error(srv, "GET", path, NULL, NULL, 404, "not_found");
    ck_assert_msg(!strstr(download_url(render), "/files/"), "%s", download_url(render));
    th_resp_free(render);
}
END_TEST

START_TEST(ready_with_the_store_up)
{
    th_resp_t *r = th_req(srv, "GET", "/ready", NULL, NULL, NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "status"), "ok");
    json_t *c = json_object_get(r->json, "components");
    ck_assert_str_eq(th_str(c, "storage"), "ok");
    ck_assert_str_eq(th_str(c, "postgres"), "ok");
    ck_assert_str_eq(th_str(c, "redis"), "ok");
    th_resp_free(r);
}
END_TEST

/* ---- servers with other S3 settings ---- */

/* Starts a server on the fake S3 with these settings added (later ones win). */
static th_server_t *start_s3_server(const char *name, const char *const *more)
{
    const char *env[32] = {"CRAFTKIT_STORAGE=s3",
                           env_endpoint,
                           env_region,
                           env_bucket,
                           env_access,
                           env_secret,
                           "S3_FORCE_PATH_STYLE=1",
                           "CRAFTKIT_DOWNLOAD_TTL=" DOWNLOAD_TTL};
    int n = 8;
    for (int i = 0; more && more[i] && n < 31; i++)
        env[n++] = more[i];
    env[n] = NULL;
    return th_start(name, env);
}

START_TEST(public_base_url_links)
{
    /* A trailing slash is dropped from the setting: links are <base>/<key>. */
    const char *more[] = {"S3_PUBLIC_BASE_URL=https://cdn.example.test/pdfs/", NULL};
    th_server_t *s = start_s3_server("server_s3_public", more);
    char pid[64], pkey[128], id[64], want[512];
    th_invoice_project(s, "Public", "invoice", pid, pkey);
    th_resp_t *render = render_ok(s, pkey, "{\"filename\":\"Public copy\"}", id);
    snprintf(want, sizeof want, "https://cdn.example.test/pdfs/renders/%s/%s/%s.pdf", pid, id, id);
    ck_assert_str_eq(download_url(render), want);
    ck_assert(!strchr(download_url(render), '?')); /* not pre-signed */

    /* The object is still written and read with signed requests: /download relays it. */
    char path[256];
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    th_resp_t *r = th_req(s, "GET", path, pkey, NULL, NULL);
    assert_pdf_of(r, render->json);
    th_resp_free(r);
    th_resp_free(render);
    ck_assert_int_eq(th_stop(s), 0);
}
END_TEST

START_TEST(wrong_secret_fails_renders_and_ready)
{
    /* Fast S3 fault handling and render retries so that three attempts take seconds. A 403 is
     * final for the S3 client (no S3-level retry); the render itself is retried 3 times. */
    const char *more[] = {"S3_SECRET_ACCESS_KEY=not-the-secret",
                          "S3_ATTEMPTS=2",
                          "S3_CONNECT_TIMEOUT_MS=1000",
                          "S3_ATTEMPT_TIMEOUT_MS=2000",
                          "S3_TOTAL_TIMEOUT_MS=4000",
                          "CRAFTKIT_RENDER_BACKOFF_BASE_MS=50",
                          NULL};
    th_server_t *s = start_s3_server("server_s3_badkey", more);
    char pid[64], pkey[128], id[64], body[512], want[512];
    th_invoice_project(s, "Bad key", "invoice", pid, pkey);
    snprintf(body, sizeof body, "{\"data\":" DATA_OK "}");
    th_submit_ok(s, NULL, pkey, "invoice", body, id);
    th_resp_t *r = th_wait_render(s, pkey, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "failed"), "%s", r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "attempts")), 3);
    ck_assert(json_is_null(json_object_get(r->json, "downloadUrl")));
    /* Says what failed (storing), where (the store's operation and key) and why (the store's
     * error code), so that an operator can tell bad credentials from an outage. */
    const char *msg = th_str(r->json, "errorMessage");
    snprintf(want, sizeof want,
             "the PDF could not be stored: S3 PUT renders/%s/%s/%s.pdf failed: HTTP 403 "
             "SignatureDoesNotMatch",
             pid, id, id);
    ck_assert_msg(!strncmp(msg, want, strlen(want)), "%s\nwant %s", msg, want);
    ck_assert_msg(strstr(msg, "after 1 attempt"), "4xx is not retried by the S3 client: %s", msg);
    th_resp_free(r);

    th_assert_not_ready(s, pkey, id, "SignatureDoesNotMatch");

    /* /ready names the store as the component that is down; the others are fine. */
    r = th_req(s, "GET", "/ready", NULL, NULL, NULL);
    th_assert_error(r, 503, "not_ready");
    ck_assert_str_eq(th_str(json_object_get(r->json, "error"), "message"), "storage is unavailable");
    ck_assert_str_eq(th_str(r->json, "status"), "unavailable");
    json_t *c = json_object_get(r->json, "components");
    ck_assert_str_eq(th_str(c, "storage"), "down");
    ck_assert_str_eq(th_str(c, "postgres"), "ok");
    ck_assert_str_eq(th_str(c, "redis"), "ok");
    th_resp_free(r);
    /* The answer is terse (anyone may ask); the reason is in the log, once. */
    char grep[900];
    snprintf(grep, sizeof grep, "grep -c 'ready: storage is down: .*403' '%s/server.log' | grep -qx 1",
             s->dir);
    r = th_req(s, "GET", "/ready", NULL, NULL, NULL);
    th_resp_free(r);
    ck_assert_msg(system(grep) == 0, "one log line with the store's reason (see %s/server.log)", s->dir);
    /* Liveness is not readiness: the process itself is fine. */
    r = th_req(s, "GET", "/health", NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    ck_assert_int_eq(th_stop(s), 0);
}
END_TEST

/* A merged batch (options.merge "pdf") under S3: the merged file is read from and written to the
 * store, its downloadUrl is a pre-signed link the store serves, /download relays the same bytes,
 * and the object sits under batches/<project>/<batch>/merged.pdf. */
/* Submits a two-item batch merged into one PDF "Both.pdf" and waits until it settles
 * successfully; id gets its id; returns the settled batch. */
static th_resp_t *merged_batch(char id[64])
{
    th_resp_t *r = th_req(srv, "POST", "/v1/templates/invoice/batches", key,
                          "{\"items\":[{\"data\":" DATA_OK "},{\"data\":" DATA_OK "}],"
                          "\"options\":{\"merge\":\"pdf\",\"filename\":\"Both\"}}",
                          NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    snprintf(id, 64, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_wait_batch(srv, key, id, 120000);
    ck_assert_msg(!strcmp(th_str(r->json, "status"), "succeeded"), "%s", r->body);
    return r;
}

START_TEST(merged_batch_in_s3)
{
    char id[64], path[160];
    th_resp_t *r = merged_batch(id);
    ck_assert_int_ge(json_integer_value(json_object_get(r->json, "mergePages")), 2);
    char want[512];
    snprintf(want, sizeof want, "%s/%s/batches/%s/%s/merged.pdf?", endpoint, bucket, project_id, id);
    const char *url = download_url(r);
    ck_assert_msg(!strncmp(url, want, strlen(want)), "%s\nwant %s", url, want);
    th_resp_t *linked = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_int_eq(linked->status, 200);
    ck_assert_msg(strstr(th_header(linked, "content-disposition"), "Both.pdf"), "%s", linked->headers);
    ck_assert_int_eq((long long)linked->len, json_integer_value(json_object_get(r->json, "mergeBytes")));
    ck_assert(linked->len > 5 && !memcmp(linked->body, "%PDF-", 5));
    th_resp_free(r);
    snprintf(path, sizeof path, "/v1/batches/%s/download", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_header(r, "content-type"), "application/pdf");
    ck_assert(r->len == linked->len && !memcmp(r->body, linked->body, r->len));
    th_resp_free(r);
    th_resp_free(linked);
}
END_TEST

/* Retention under S3: a merged file older than the project's retentionDays is deleted from the
 * store by the sweeper (the pre-signed link handed out before now gets the store's 404), the
 * batch shows expiredAt and no downloadUrl, and /download answers 410 file_gone. */
START_TEST(merged_file_expires_in_s3)
{
    char id[64], path[160], sql[256];
    th_resp_t *r = merged_batch(id);
    char *link = strdup(download_url(r));
    th_resp_free(r);
    r = th_req_url("GET", link, NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    snprintf(sql, sizeof sql, "UPDATE batches SET completed_at = now() - interval '3 days' WHERE id = '%s'",
             id);
    free(th_sql(srv, sql));
    snprintf(path, sizeof path, "/v1/projects/%s", project_id);
    r = th_req(srv, "PATCH", path, TH_ADMIN_KEY, "{\"retentionDays\":2}", NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    th_resp_free(r);
    ck_assert_msg(th_wait_merge_expired(srv, key, id, 30000), "batch %s: the merged file did not expire", id);
    r = th_req_url("GET", link, NULL, NULL, NULL);
    ck_assert_msg(r->status == 404, "the object is still in the store: %ld", r->status);
    th_resp_free(r);
    r = th_get_batch(srv, key, id);
    ck_assert(json_is_null(json_object_get(r->json, "downloadUrl")));
    th_resp_free(r);
    snprintf(path, sizeof path, "/v1/batches/%s/download", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    th_assert_error(r, 410, "file_gone");
    th_resp_free(r);
    free(link);
    /* Back to the default, so the other tests' renders are not swept. */
    snprintf(path, sizeof path, "/v1/projects/%s", project_id);
    r = th_req(srv, "PATCH", path, TH_ADMIN_KEY, "{\"retentionDays\":null}", NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    th_resp_free(r);
}
END_TEST

int main(void)
{
    load_s3_env();
    const char *env[] = {"CRAFTKIT_STORAGE=s3",
                         env_endpoint,
                         env_region,
                         env_bucket,
                         env_access,
                         env_secret,
                         "S3_FORCE_PATH_STYLE=1",
                         "CRAFTKIT_DOWNLOAD_TTL=" DOWNLOAD_TTL,
                         "CRAFTKIT_SWEEP_INTERVAL_MS=250",
                         NULL};
    srv = th_start("server_s3", env);
    th_invoice_project(srv, "S3", "invoice", project_id, key);

    Suite *s = suite_create("server_s3");
    TCase *tc = tcase_create("s3");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, presigned_download_url);
    tcase_add_test(tc, download_through_the_server);
    tcase_add_test(tc, no_files_route_under_s3);
    tcase_add_test(tc, ready_with_the_store_up);
    tcase_add_test(tc, merged_batch_in_s3);
    tcase_add_test(tc, merged_file_expires_in_s3);
    suite_add_tcase(s, tc);
    tc = tcase_create("settings");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, public_base_url_links);
    tcase_add_test(tc, wrong_secret_fails_renders_and_ready);
    suite_add_tcase(s, tc);
    int rc = th_run_and_stop(s, srv);
    free(endpoint);
    free(bucket);
    return rc;
}
