/* Integration: GET|HEAD /files/<key>?expires=&signature= on the real server with local
 * storage — full and ranged downloads, headers, conditional requests, and every way a link
 * can be refused (tampered, expired, malformed, path tricks, deleted file). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "harness.h"
#include "storage/storage.h"

#define SECRET "files-test-secret-0123456789abcdef"
#define KEY "renders/0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a5b/0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a6c/Invoice-7.pdf"

static th_server_t *srv;
static storage_t *store; /* the same data dir and secret as the server */
static char body[10000];

static void setup(void)
{
    const char *env[] = {"CRAFTKIT_SIGNING_SECRET=" SECRET, NULL};
    srv = th_start("files", env);
    char data_dir[600];
    snprintf(data_dir, sizeof data_dir, "%s/data", srv->dir);
    config_t cfg = {0};
    cfg.storage = STORAGE_LOCAL;
    cfg.data_dir = data_dir;
    cfg.public_url = srv->base_url;
    cfg.signing_secret = SECRET;
    cfg.download_ttl = 600;
    char err[256];
    store = storage_new(&cfg, err, sizeof err);
    ck_assert_msg(store != NULL, "%s", err);
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + i % 26);
    memcpy(body, "%PDF-1.7\n", 9);
    char sha[65];
    ck_assert_int_eq(storage_put(store, KEY, body, sizeof body, "application/pdf", sha, err, sizeof err), 0);
}

static void teardown(void)
{
    storage_free(store);
    th_stop(srv);
}

static char *link_at(time_t now, int ttl)
{
    /* Static, not a local: GCC 12's -Wdangling-pointer at -O3 takes a returned value whose
     * local's address escaped into the callee for a pointer to that local. */
    static char *url;
    char err[256];
    url = NULL;
    int rc = storage_download_url_at(store, KEY, NULL, ttl, now, &url, err, sizeof err);
    ck_assert_msg(rc == 0 && url, "no download link: %s", err);
    return url;
}

START_TEST(full_download_with_headers)
{
    char *url = link_at(time(NULL), 0);
    ck_assert(!strncmp(url, srv->base_url, strlen(srv->base_url)));
    th_resp_t *r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(r->len, sizeof body);
    ck_assert(!memcmp(r->body, body, sizeof body));
    ck_assert_str_eq(th_header(r, "content-type"), "application/pdf");
    ck_assert_str_eq(th_header(r, "content-length"), "10000");
    ck_assert_str_eq(th_header(r, "content-disposition"),
                     "attachment; filename=\"Invoice-7.pdf\"; filename*=UTF-8''Invoice-7.pdf");
    ck_assert_str_eq(th_header(r, "accept-ranges"), "bytes");
    ck_assert_ptr_nonnull(th_header(r, "etag"));
    ck_assert(th_header(r, "etag")[0] == '"');
    th_resp_free(r);

    r = th_req_url("HEAD", url, NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(r->len, 0);
    ck_assert_str_eq(th_header(r, "content-length"), "10000");
    th_resp_free(r);
    free(url);
}
END_TEST

START_TEST(ranges_and_conditionals)
{
    char *url = link_at(time(NULL), 600);
    const char *first10[] = {"Range: bytes=0-9", NULL};
    th_resp_t *r = th_req_url("GET", url, NULL, NULL, first10);
    ck_assert_int_eq(r->status, 206);
    ck_assert_int_eq(r->len, 10);
    ck_assert(!memcmp(r->body, body, 10));
    ck_assert_str_eq(th_header(r, "content-range"), "bytes 0-9/10000");
    char etag[128];
    snprintf(etag, sizeof etag, "%s", th_header(r, "etag"));
    th_resp_free(r);

    const char *suffix[] = {"Range: bytes=-5", NULL};
    r = th_req_url("GET", url, NULL, NULL, suffix);
    ck_assert_int_eq(r->status, 206);
    ck_assert_int_eq(r->len, 5);
    ck_assert(!memcmp(r->body, body + sizeof body - 5, 5));
    ck_assert_str_eq(th_header(r, "content-range"), "bytes 9995-9999/10000");
    th_resp_free(r);

    const char *open_ended[] = {"Range: bytes=9990-", NULL};
    r = th_req_url("GET", url, NULL, NULL, open_ended);
    ck_assert_int_eq(r->status, 206);
    ck_assert_int_eq(r->len, 10);
    th_resp_free(r);

    const char *beyond[] = {"Range: bytes=10000-", NULL};
    r = th_req_url("GET", url, NULL, NULL, beyond);
    ck_assert_int_eq(r->status, 416);
    ck_assert_str_eq(th_header(r, "content-range"), "bytes */10000");
    th_resp_free(r);

    const char *multi[] = {"Range: bytes=0-1,5-6", NULL};
    r = th_req_url("GET", url, NULL, NULL, multi);
    ck_assert_int_eq(r->status, 200); /* several ranges: the whole file */
    ck_assert_int_eq(r->len, sizeof body);
    th_resp_free(r);

    char inm[160], ifr_ok[160];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *cond[] = {inm, NULL};
    r = th_req_url("GET", url, NULL, NULL, cond);
    ck_assert_int_eq(r->status, 304);
    ck_assert_int_eq(r->len, 0);
    th_resp_free(r);

    snprintf(ifr_ok, sizeof ifr_ok, "If-Range: %s", etag);
    const char *if_range_same[] = {"Range: bytes=0-9", ifr_ok, NULL};
    r = th_req_url("GET", url, NULL, NULL, if_range_same);
    ck_assert_int_eq(r->status, 206);
    th_resp_free(r);
    const char *if_range_other[] = {"Range: bytes=0-9", "If-Range: \"another-version\"", NULL};
    r = th_req_url("GET", url, NULL, NULL, if_range_other);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(r->len, sizeof body);
    th_resp_free(r);
    free(url);
}
END_TEST

/* Replaces the first occurrence of from by to in url (same length or not). */
static char *replace(const char *url, const char *from, const char *to)
{
    const char *at = strstr(url, from);
    ck_assert_ptr_nonnull(at);
    size_t n = strlen(url) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - url), url, to, at + strlen(from));
    return out;
}

static void expect_status(const char *url, long status, const char *code)
{
    th_resp_t *r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(r->status == status, "%s: %ld %s", url, r->status, r->body);
    if (code)
        ck_assert_str_eq(th_error_code(r), code);
    th_resp_free(r);
}

START_TEST(refused_links)
{
    time_t now = time(NULL);
    char *url = link_at(now, 600);
    char *sig = strstr(url, "signature=") + 10;

    /* One hex digit of the signature changed. */
    char *bad = strdup(url);
    char *bsig = strstr(bad, "signature=") + 10;
    bsig[0] = bsig[0] == 'a' ? 'b' : 'a';
    expect_status(bad, 403, "invalid_signature");
    free(bad);

    /* A later expiry with the old signature. */
    char exp_old[32], exp_new[32];
    snprintf(exp_old, sizeof exp_old, "expires=%lld", (long long)now + 600);
    snprintf(exp_new, sizeof exp_new, "expires=%lld", (long long)now + 6000);
    bad = replace(url, exp_old, exp_new);
    expect_status(bad, 403, "invalid_signature");
    free(bad);

    /* Another file with this file's signature. */
    bad = replace(url, "Invoice-7.pdf", "Invoice-8.pdf");
    expect_status(bad, 403, "invalid_signature");
    free(bad);

    /* Missing parameters. */
    bad = strndup(url, (size_t)(strchr(url, '?') - url));
    expect_status(bad, 403, "invalid_signature");
    free(bad);
    bad = replace(url, sig, "");
    expect_status(bad, 403, "invalid_signature");
    free(bad);

    /* Expired: signed two hours ago for one hour. */
    char *old = link_at(now - 7200, 3600);
    expect_status(old, 403, "link_expired");
    free(old);

    /* Path tricks never reach the disk. */
    bad = replace(url, "/files/renders/", "/files/renders/%2e%2e/renders/");
    expect_status(bad, 403, "invalid_signature");
    free(bad);
    char trick[700];
    snprintf(trick, sizeof trick, "%s/files/.signing-secret?expires=99999999999&signature=%.64s",
             srv->base_url, sig);
    expect_status(trick, 403, "invalid_signature");

    /* A valid link to a file that was deleted since. */
    char err[256];
    ck_assert_int_eq(storage_delete(store, KEY, err, sizeof err), 0);
    expect_status(url, 404, "not_found");
    free(url);
}
END_TEST

START_TEST(ready_reports_storage)
{
    th_resp_t *r = th_req(srv, "GET", "/ready", NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r->json, "components"), "storage")),
                     "ok");
    th_resp_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, full_download_with_headers);
    tcase_add_test(tc, ranges_and_conditionals);
    tcase_add_test(tc, refused_links);
    tcase_add_test(tc, ready_reports_storage);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
