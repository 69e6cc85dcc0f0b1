/* Integration: the S3 backend against the signature-verifying fake S3 that
 * scripts/test-services.d/s3.sh starts (@20minutes/s3rver), plus faults made here: a port
 * with nothing listening, a server that never answers, a server that only answers 503.
 * The wrong-secret and expired-URL cases prove that the fake really verifies signatures. */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include "harness.h"
#include "storage/storage.h"

#define PROJECT "0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"
#define RENDER "0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a6c"
#define KEY "renders/" PROJECT "/" RENDER "/invoice.pdf"

static char *endpoint, *region, *bucket, *access_key, *secret_key;

/* Fast fault handling so the fault tests stay short. */
static const storage_options_t fast = {
    .s3_attempts = 3,
    .s3_attempt_timeout_ms = 2000,
    .s3_connect_timeout_ms = 1000,
    .s3_total_timeout_ms = 5000,
    .s3_backoff_base_ms = 50,
    .health_timeout_ms = 1000,
};

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    endpoint = th_services_env("S3_ENDPOINT");
    ck_assert_msg(endpoint != NULL, "S3_ENDPOINT is not in the services env: the fake S3 did not start (run "
                                    "scripts/test-node-deps, then see scripts/test-services.d/s3.sh)");
    region = th_services_env("S3_REGION");
    bucket = th_services_env("S3_BUCKET");
    access_key = th_services_env("S3_ACCESS_KEY_ID");
    secret_key = th_services_env("S3_SECRET_ACCESS_KEY");
    ck_assert(region && bucket && access_key && secret_key);
}

static void teardown(void)
{
    free(endpoint);
    free(region);
    free(bucket);
    free(access_key);
    free(secret_key);
    curl_global_cleanup();
}

static config_t s3_cfg(void)
{
    config_t c = {0};
    c.storage = STORAGE_S3;
    c.s3_endpoint = endpoint;
    c.s3_region = region;
    c.s3_bucket = bucket;
    c.s3_access_key_id = access_key;
    c.s3_secret_access_key = secret_key;
    c.s3_force_path_style = true;
    c.download_ttl = 600;
    return c;
}

static storage_t *open_store(const config_t *c)
{
    char err[512] = "";
    storage_t *s = storage_new_with(c, &fast, err, sizeof err);
    ck_assert_msg(s != NULL, "storage_new: %s", err);
    return s;
}

static void random_bytes(char *p, size_t n)
{
    ck_assert_int_eq(crypto_random(p, n), 0);
}

START_TEST(put_get_delete)
{
    config_t c = s3_cfg();
    storage_t *s = open_store(&c);
    static char data[50 * 1024];
    random_bytes(data, sizeof data);
    char sha[65], want[65], err[512] = "";
    ck_assert_msg(storage_put(s, KEY, data, sizeof data, "application/pdf", sha, err, sizeof err) == 0, "%s",
                  err);
    crypto_sha256_hex(data, sizeof data, want);
    ck_assert_str_eq(sha, want);

    buf_t b;
    buf_init(&b, 1 << 20);
    ck_assert_msg(storage_get(s, KEY, &b, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(b.len, sizeof data);
    ck_assert(!memcmp(b.data, data, sizeof data));

    buf_t small;
    buf_init(&small, 1000);
    ck_assert_int_eq(storage_get(s, KEY, &small, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "larger than 1000 bytes") != NULL, "%s", err);
    buf_free(&small);

    ck_assert_msg(storage_health(s, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(storage_delete(s, KEY, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(storage_delete(s, KEY, err, sizeof err) == 0, "%s", err);
    buf_reset(&b);
    ck_assert_int_eq(storage_get(s, KEY, &b, err, sizeof err), STORAGE_NOT_FOUND);
    ck_assert_int_eq(storage_put(s, "renders/../x", "x", 1, NULL, sha, err, sizeof err), -1);
    buf_free(&b);
    storage_free(s);
}
END_TEST

/* What the download route streams from: an object copied into a file, not into memory. */
START_TEST(get_into_a_file)
{
    config_t c = s3_cfg();
    storage_t *s = open_store(&c);
    size_t size = 3u << 20;
    char *data = malloc(size);
    random_bytes(data, size);
    char sha[65], err[512] = "";
    ck_assert_msg(storage_put(s, KEY, data, size, "application/pdf", sha, err, sizeof err) == 0, "%s", err);

    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    int fd = fileno(f);
    ck_assert_int_eq(write(fd, "stale bytes of an earlier use", 29), 29);
    size_t len = 0;
    ck_assert_msg(storage_get_fd(s, KEY, fd, size, &len, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(len, size);
    char *back = malloc(size);
    ck_assert_int_eq(pread(fd, back, size, 0), (ssize_t)size);
    ck_assert(!memcmp(back, data, size));
    struct stat sb;
    ck_assert_int_eq(fstat(fd, &sb), 0);
    ck_assert_int_eq(sb.st_size, (off_t)size); /* the file is the object, nothing before or after */

    ck_assert_int_eq(storage_get_fd(s, KEY, fd, size - 1, &len, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "larger than") != NULL, "%s", err);
    ck_assert_msg(storage_delete(s, KEY, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(storage_get_fd(s, KEY, fd, size, &len, err, sizeof err), STORAGE_NOT_FOUND);
    ck_assert_int_eq(storage_get_fd(s, "renders/../x", fd, size, &len, err, sizeof err), -1);
    fclose(f);
    free(back);
    free(data);
    storage_free(s);
}
END_TEST

/* Virtual-host addressing: <bucket>.<endpoint host>/<key>. Only the URL form is checked
 * here: the fake signs virtual-host requests over "/<bucket>/<key>" (a SigV2 habit) where AWS
 * signs "/<key>", so it cannot verify them; AWS's own header and pre-signed examples in
 * tests/unit/test_sigv4.c are virtual-host requests and pin the canonical form. */
START_TEST(virtual_host_addressing)
{
    config_t c = s3_cfg();
    c.s3_endpoint = "https://s3.eu-west-1.amazonaws.com:443";
    c.s3_region = "eu-west-1";
    c.s3_bucket = "acme-renders";
    c.s3_force_path_style = false;
    storage_t *s = open_store(&c);
    char err[512], *url = NULL;
    ck_assert_int_eq(storage_download_url(s, KEY, NULL, 60, &url, err, sizeof err), 0);
    const char *want = "https://acme-renders.s3.eu-west-1.amazonaws.com/" KEY "?X-Amz-Algorithm=";
    ck_assert_msg(!strncmp(url, want, strlen(want)), "%s", url);
    ck_assert(strstr(url, "%2Feu-west-1%2Fs3%2Faws4_request&") != NULL);
    free(url);
    storage_free(s);
    /* Path style keeps the bucket in the path. */
    c.s3_force_path_style = true;
    s = open_store(&c);
    ck_assert_int_eq(storage_download_url(s, KEY, NULL, 60, &url, err, sizeof err), 0);
    want = "https://s3.eu-west-1.amazonaws.com/acme-renders/" KEY "?";
    ck_assert_msg(!strncmp(url, want, strlen(want)), "%s", url);
    free(url);
    storage_free(s);
}
END_TEST

/* A large object (a merged batch file) goes up as a multipart upload: the parts (64 KiB here,
 * 16 MiB by default) reassemble to the same bytes, and the initiating request's Content-Type is
 * the object's. (That this path is the multipart one shows in s3_5xx_is_retried_then_reported,
 * where the same setting fails at "initiate multipart upload".) */
START_TEST(large_object_goes_up_in_parts)
{
    config_t c = s3_cfg();
    storage_options_t parts = fast;
    parts.s3_part_size = 64 * 1024;
    char err[512] = "";
    storage_t *s = storage_new_with(&c, &parts, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    size_t len = 3 * 64 * 1024 + 123; /* three full parts and a short last one */
    char *data = malloc(len), sha[65], want[65], *url = NULL;
    ck_assert_ptr_nonnull(data);
    random_bytes(data, len);
    ck_assert_msg(storage_put(s, KEY, data, len, "application/pdf", sha, err, sizeof err) == 0, "%s", err);
    crypto_sha256_hex(data, len, want);
    ck_assert_str_eq(sha, want);
    ck_assert_int_eq(storage_download_url(s, KEY, NULL, 60, &url, err, sizeof err), 0);
    th_resp_t *r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_msg(r && r->status == 200, "%ld", r ? r->status : 0L);
    ck_assert_int_eq(r->len, len);
    ck_assert(!memcmp(r->body, data, len));
    ck_assert_str_eq(th_header(r, "content-type"), "application/pdf");
    th_resp_free(r);
    free(url);

    /* Replacing it with a small object goes back to one PUT. */
    ck_assert_int_eq(storage_put(s, KEY, data, 1000, "application/pdf", sha, err, sizeof err), 0);
    buf_t b;
    buf_init(&b, 1 << 20);
    ck_assert_int_eq(storage_get(s, KEY, &b, err, sizeof err), 0);
    ck_assert_int_eq(b.len, 1000);
    buf_free(&b);
    storage_delete(s, KEY, err, sizeof err);
    storage_free(s);
    free(data);
}
END_TEST

START_TEST(presigned_get)
{
    config_t c = s3_cfg();
    storage_t *s = open_store(&c);
    char data[3000], sha[65], err[512] = "", *url = NULL;
    random_bytes(data, sizeof data);
    ck_assert_int_eq(storage_put(s, KEY, data, sizeof data, "application/pdf", sha, err, sizeof err), 0);
    ck_assert_int_eq(storage_download_url(s, KEY, "Rechnung März 2026", 0, &url, err, sizeof err), 0);
    ck_assert(strstr(url, "X-Amz-Expires=600&") != NULL); /* the configured TTL */
    th_resp_t *r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_msg(r && r->status == 200, "%ld %s", r ? r->status : 0L, r ? r->body : "");
    ck_assert_int_eq(r->len, sizeof data);
    ck_assert(!memcmp(r->body, data, sizeof data));
    ck_assert_str_eq(
        th_header(r, "content-disposition"),
        "attachment; filename=\"Rechnung M_rz 2026.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz%202026.pdf");
    th_resp_free(r);

    /* Any change to the signed URL is refused. */
    char *tampered = strdup(url);
    memcpy(strstr(tampered, "invoice.pdf"), "invoicf", 7);
    r = th_req_url("GET", tampered, NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 403);
    th_resp_free(r);
    free(tampered);
    free(url);

    /* Default file name: the key's last segment. */
    ck_assert_int_eq(storage_download_url(s, KEY, NULL, 60, &url, err, sizeof err), 0);
    r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_header(r, "content-disposition"),
                     "attachment; filename=\"invoice.pdf\"; filename*=UTF-8''invoice.pdf");
    th_resp_free(r);
    free(url);
    storage_delete(s, KEY, err, sizeof err);
    storage_free(s);
}
END_TEST

START_TEST(presigned_for_a_public_endpoint)
{
    /* The store is reached as 127.0.0.1 by the server but as localhost by clients (think of a
     * compose service name): links must be signed for the name clients use. */
    config_t c = s3_cfg();
    char *public_endpoint = strdup(endpoint);
    char *at = strstr(public_endpoint, "127.0.0.1");
    ck_assert(at != NULL);
    char rebuilt[256];
    snprintf(rebuilt, sizeof rebuilt, "%.*slocalhost%s", (int)(at - public_endpoint), public_endpoint,
             at + 9);
    c.s3_public_endpoint = rebuilt;
    storage_t *s = open_store(&c);
    char data[1000], sha[65], err[512] = "", *url = NULL;
    random_bytes(data, sizeof data);
    ck_assert_int_eq(storage_put(s, KEY, data, sizeof data, "application/pdf", sha, err, sizeof err), 0);
    ck_assert_int_eq(storage_download_url(s, KEY, NULL, 60, &url, err, sizeof err), 0);
    ck_assert_msg(!strncmp(url, rebuilt, strlen(rebuilt)), "%s", url);
    th_resp_t *r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_msg(r && r->status == 200, "%ld %s", r ? r->status : 0L, r ? r->body : "");
    ck_assert(r->len == sizeof data && !memcmp(r->body, data, sizeof data));
    th_resp_free(r);
    free(url);
    free(public_endpoint);
    storage_free(s);
}
END_TEST

START_TEST(expired_presigned_get_is_refused)
{
    config_t c = s3_cfg();
    storage_t *s = open_store(&c);
    char sha[65], err[512] = "", *url = NULL;
    ck_assert_int_eq(storage_put(s, KEY, "old", 3, "application/pdf", sha, err, sizeof err), 0);
    /* Signed two hours ago, valid for one. */
    ck_assert_int_eq(storage_download_url_at(s, KEY, NULL, 3600, time(NULL) - 7200, &url, err, sizeof err),
                     0);
    th_resp_t *r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 403);
    ck_assert_msg(strstr(r->body, "Request has expired") != NULL, "%s", r->body);
    th_resp_free(r);
    free(url);
    storage_delete(s, KEY, err, sizeof err);
    storage_free(s);
}
END_TEST

/* The proof that the fake verifies: the same requests signed with another secret fail. */
START_TEST(wrong_secret_is_refused)
{
    config_t c = s3_cfg();
    c.s3_secret_access_key = "not-the-secret";
    storage_t *s = open_store(&c);
    char sha[65], err[512] = "", *url = NULL;
    int64_t t0 = time_mono_ms();
    ck_assert_int_eq(storage_put(s, KEY, "x", 1, "application/pdf", sha, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "HTTP 403 SignatureDoesNotMatch") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "after 1 attempt") != NULL, "4xx is not retried: %s", err);
    ck_assert(time_mono_ms() - t0 < 1000);
    buf_t b;
    buf_init(&b, 1024);
    ck_assert_int_eq(storage_get(s, KEY, &b, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "403") != NULL, "%s", err);
    buf_free(&b);
    ck_assert_int_eq(storage_health(s, err, sizeof err), -1);

    /* A pre-signed URL made with the wrong secret, for an object that exists. */
    config_t good_cfg = s3_cfg();
    storage_t *good = open_store(&good_cfg);
    ck_assert_int_eq(storage_put(good, KEY, "x", 1, "application/pdf", sha, err, sizeof err), 0);
    ck_assert_int_eq(storage_download_url(s, KEY, NULL, 60, &url, err, sizeof err), 0);
    th_resp_t *r = th_req_url("GET", url, NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 403);
    ck_assert_msg(strstr(r->body, "SignatureDoesNotMatch") != NULL, "%s", r->body);
    th_resp_free(r);
    free(url);
    storage_delete(good, KEY, err, sizeof err);
    storage_free(good);
    storage_free(s);
}
END_TEST

START_TEST(public_base_url)
{
    config_t c = s3_cfg();
    c.s3_public_base_url = "https://cdn.example.com/pdf";
    storage_t *s = open_store(&c);
    char err[512], *url = NULL;
    ck_assert_int_eq(storage_download_url(s, KEY, "x.pdf", 60, &url, err, sizeof err), 0);
    ck_assert_str_eq(url, "https://cdn.example.com/pdf/" KEY);
    free(url);
    storage_free(s);
}
END_TEST

START_TEST(missing_bucket_fails_health)
{
    config_t c = s3_cfg();
    c.s3_bucket = "no-such-bucket";
    storage_t *s = open_store(&c);
    char err[512] = "";
    ck_assert_int_eq(storage_health(s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no-such-bucket") && strstr(err, "404"), "%s", err);
    storage_free(s);
}
END_TEST

/* ---- faults ---- */

/* A loopback port; listening (never accepting) when listen_too, else closed again. */
static int loopback_port(bool listen_too, int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    if (listen_too) {
        ck_assert_int_eq(listen(fd, 16), 0);
        *fd_out = fd;
    } else {
        close(fd);
    }
    return ntohs(a.sin_port);
}

START_TEST(s3_down_gives_clear_error_quickly)
{
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", loopback_port(false, NULL));
    config_t c = s3_cfg();
    c.s3_endpoint = ep;
    storage_t *s = open_store(&c);
    char sha[65], err[512] = "";
    int64_t t0 = time_mono_ms();
    ck_assert_int_eq(storage_put(s, KEY, "x", 1, "application/pdf", sha, err, sizeof err), -1);
    int64_t took = time_mono_ms() - t0;
    ck_assert_msg(strstr(err, "S3 PUT " KEY " failed:") && strstr(err, "after 3 attempts"), "%s", err);
    ck_assert_msg(strstr(err, "onnect") != NULL, "names the connection failure: %s", err);
    ck_assert_msg(took < fast.s3_total_timeout_ms, "took %lld ms", (long long)took);
    ck_assert_int_eq(storage_health(s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "not reachable") != NULL, "%s", err);
    storage_free(s);
}
END_TEST

START_TEST(s3_slow_times_out)
{
    int lfd;
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", loopback_port(true, &lfd));
    config_t c = s3_cfg();
    c.s3_endpoint = ep;
    storage_options_t o = fast;
    o.s3_attempt_timeout_ms = 300;
    o.s3_total_timeout_ms = 1000;
    o.health_timeout_ms = 300;
    char err[512] = "", sha[65];
    storage_t *s = storage_new_with(&c, &o, err, sizeof err);
    ck_assert_ptr_nonnull(s);
    int64_t t0 = time_mono_ms();
    ck_assert_int_eq(storage_put(s, KEY, "x", 1, "application/pdf", sha, err, sizeof err), -1);
    int64_t took = time_mono_ms() - t0;
    ck_assert_msg(strstr(err, "timed out") != NULL, "%s", err);
    ck_assert_msg(took >= 300 && took < 1600, "the overall limit holds: took %lld ms", (long long)took);
    t0 = time_mono_ms();
    ck_assert_int_eq(storage_health(s, err, sizeof err), -1);
    ck_assert(time_mono_ms() - t0 < 800);
    storage_free(s);
    /* The same limits from the settings (S3_ATTEMPT_TIMEOUT_MS, S3_TOTAL_TIMEOUT_MS): what
     * `craftkit serve` uses, as it passes no options. */
    c.s3_attempt_timeout_ms = 300;
    c.s3_total_timeout_ms = 1000;
    c.s3_connect_timeout_ms = 300;
    s = storage_new(&c, err, sizeof err);
    ck_assert_ptr_nonnull(s);
    t0 = time_mono_ms();
    ck_assert_int_eq(storage_put(s, KEY, "x", 1, "application/pdf", sha, err, sizeof err), -1);
    took = time_mono_ms() - t0;
    ck_assert_msg(strstr(err, "timed out") != NULL, "%s", err);
    ck_assert_msg(took >= 300 && took < 1600, "the settings' limit holds: took %lld ms", (long long)took);
    storage_free(s);
    close(lfd);
}
END_TEST

/* A server that answers every request with 503 SlowDown and counts them. */
typedef struct {
    int fd;
    atomic_int requests;
} flaky_t;

static void *flaky_main(void *arg)
{
    flaky_t *f = arg;
    for (;;) {
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char req[65536];
        size_t got = 0;
        ssize_t n;
        /* Headers, then Content-Length bytes of body. */
        while (got < sizeof req - 1 && (n = read(c, req + got, sizeof req - 1 - got)) > 0) {
            got += (size_t)n;
            req[got] = '\0';
            char *end = strstr(req, "\r\n\r\n");
            if (!end)
                continue;
            char *cl = strcasestr(req, "content-length:");
            size_t want = (size_t)(end + 4 - req) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
            if (got >= want)
                break;
        }
        atomic_fetch_add(&f->requests, 1);
        const char *xml = "<Error><Code>SlowDown</Code><Message>Please reduce your request "
                          "rate.</Message></Error>";
        char resp[512];
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           strlen(xml), xml);
        ssize_t w = write(c, resp, (size_t)len);
        (void)w;
        close(c);
    }
}

START_TEST(s3_5xx_is_retried_then_reported)
{
    flaky_t f = {0};
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", loopback_port(true, &f.fd));
    pthread_t th;
    pthread_create(&th, NULL, flaky_main, &f);
    config_t c = s3_cfg();
    c.s3_endpoint = ep;
    storage_t *s = open_store(&c);
    char sha[65], err[512] = "";
    static char data[20000];
    ck_assert_int_eq(storage_put(s, KEY, data, sizeof data, "application/pdf", sha, err, sizeof err), -1);
    ck_assert_int_eq(atomic_load(&f.requests), 3);
    ck_assert_msg(strstr(err, "HTTP 503 SlowDown: Please reduce your request rate. after 3 attempts"), "%s",
                  err);
    storage_free(s);

    /* A large object fails at its first step (initiating the upload) with the same clarity; the
     * abort that follows a failed upload is not needed when none was started. */
    storage_options_t parts = fast;
    parts.s3_part_size = 8192;
    s = storage_new_with(&c, &parts, err, sizeof err);
    ck_assert_ptr_nonnull(s);
    atomic_store(&f.requests, 0);
    ck_assert_int_eq(storage_put(s, KEY, data, sizeof data, "application/pdf", sha, err, sizeof err), -1);
    ck_assert_int_eq(atomic_load(&f.requests), 3);
    ck_assert_msg(strstr(err, "S3 POST (initiate multipart upload) " KEY " failed: HTTP 503 SlowDown"), "%s",
                  err);
    storage_free(s);
    shutdown(f.fd, SHUT_RDWR);
    close(f.fd);
    pthread_join(th, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("storage_s3");
    TCase *tc = tcase_create("fake_s3");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, put_get_delete);
    tcase_add_test(tc, get_into_a_file);
    tcase_add_test(tc, large_object_goes_up_in_parts);
    tcase_add_test(tc, virtual_host_addressing);
    tcase_add_test(tc, presigned_get);
    tcase_add_test(tc, presigned_for_a_public_endpoint);
    tcase_add_test(tc, expired_presigned_get_is_refused);
    tcase_add_test(tc, wrong_secret_is_refused);
    tcase_add_test(tc, public_base_url);
    tcase_add_test(tc, missing_bucket_fails_health);
    suite_add_tcase(s, tc);
    tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, s3_down_gives_clear_error_quickly);
    tcase_add_test(tc, s3_slow_times_out);
    tcase_add_test(tc, s3_5xx_is_retried_then_reported);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
