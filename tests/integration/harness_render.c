#include "harness_render.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/stub_http.h"
#include "core/buf.h"

void th_template(th_server_t *s, const char *key, const char *slug, const char *manifest)
{
    size_t n = strlen(manifest) + 256;
    char *body = malloc(n);
    snprintf(body, n, "{\"name\":\"%s\",\"slug\":\"%s\",\"manifest\":%s}", slug, slug, manifest);
    th_resp_t *r = th_req(s, "POST", "/v1/templates", key, body, NULL);
    free(body);
    if (!r || r->status != 201) {
        fprintf(stderr, "harness: create template %s: %ld %s\n", slug, r ? r->status : 0L, r ? r->body : "");
        exit(3);
    }
    th_resp_free(r);
}

void th_invoice_project(th_server_t *s, const char *name, const char *slug, char id[64], char key[128])
{
    th_project(s, name, false, id, key);
    th_template(s, key, slug, TH_INVOICE_MANIFEST);
}

void th_assert_not_ready(th_server_t *s, const char *key, const char *id, const char *needle)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    th_resp_t *r = th_req(s, "GET", path, key, NULL, NULL);
    th_assert_error(r, 409, "not_ready");
    ck_assert_msg(!needle || strstr(r->body, needle), "the message names %s: %s", needle, r->body);
    th_resp_free(r);
}

th_resp_t *th_download_to(th_server_t *s, const char *key, const char *id, const char *prefix, char *file,
                          size_t file_len)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    th_resp_t *r = th_req(s, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    snprintf(file, file_len, "%s/%s-%s.pdf", s->dir, prefix, id);
    FILE *f = fopen(file, "wb");
    ck_assert_msg(f && fwrite(r->body, 1, r->len, f) == r->len, "cannot write %s", file);
    fclose(f);
    return r;
}

const char *th_str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

void th_limited_project(th_server_t *s, const char *name, const char *slug, const char *limits, char id[64],
                        char key[128])
{
    char path[128];
    th_invoice_project(s, name, slug, id, key);
    snprintf(path, sizeof path, "/v1/projects/%s", id);
    th_resp_t *r = th_req(s, "PATCH", path, TH_ADMIN_KEY, limits, NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    th_resp_free(r);
}

th_resp_t *th_render_post(th_server_t *s, const char *key, const char *slug, const char *body,
                          const char *const *headers)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/templates/%s/render", slug);
    return th_req(s, "POST", path, key, body, headers);
}

void th_submit_ok(th_server_t *s, const char *base_url, const char *key, const char *slug, const char *body,
                  char id[64])
{
    char url[512];
    snprintf(url, sizeof url, "%s/v1/templates/%s/render", base_url ? base_url : s->base_url, slug);
    th_resp_t *r = th_req_url("POST", url, key, body, NULL);
    ck_assert_msg(r && r->status == 202, "submit: %ld %s", r ? r->status : 0L, r ? r->body : "");
    snprintf(id, 64, "%s", th_str(r->json, "id"));
    th_resp_free(r);
}

const char *th_status(const th_resp_t *r)
{
    const char *st = r && r->json ? json_string_value(json_object_get(r->json, "status")) : NULL;
    return st ? st : "";
}

th_resp_t *th_wait_render(th_server_t *s, const char *key, const char *id, int timeout_ms)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/renders/%s", id);
    th_resp_t *r = NULL;
    for (int waited = 0;; waited += 50) {
        th_resp_free(r);
        r = th_req(s, "GET", path, key, NULL, NULL);
        const char *st = th_status(r);
        if (!strcmp(st, "succeeded") || !strcmp(st, "failed") || waited >= timeout_ms)
            return r;
        th_sleep_ms(50);
    }
}

th_resp_t *th_get_batch(th_server_t *s, const char *key, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/batches/%s", id);
    return th_req(s, "GET", path, key, NULL, NULL);
}

th_resp_t *th_wait_batch(th_server_t *s, const char *key, const char *id, int timeout_ms)
{
    for (int waited = 0;; waited += 100) {
        th_resp_t *r = th_get_batch(s, key, id);
        if (r->status != 200 || json_is_string(json_object_get(r->json, "completedAt")) ||
            waited >= timeout_ms)
            return r;
        th_resp_free(r);
        th_sleep_ms(100);
    }
}

typedef struct merge_expiry_wait {
    th_server_t *s;
    const char *key, *id;
} merge_expiry_wait_t;

static bool merge_expired(void *arg)
{
    const merge_expiry_wait_t *w = arg;
    th_resp_t *r = th_get_batch(w->s, w->key, w->id);
    bool done = r->json && json_is_string(json_object_get(r->json, "expiredAt"));
    th_resp_free(r);
    return done;
}

bool th_wait_merge_expired(th_server_t *s, const char *key, const char *id, int timeout_ms)
{
    merge_expiry_wait_t w = {s, key, id};
    return th_wait_until(merge_expired, &w, timeout_ms);
}

char *th_long_invoice_body(int rows)
{
    size_t cap = (size_t)rows * 48 + 256;
    char *body = malloc(cap);
    size_t o =
        (size_t)snprintf(body, cap, "{\"data\":{\"customer\":{\"name\":\"Long\"},\"total\":1,\"items\":[");
    for (int i = 0; i < rows; i++)
        o += (size_t)snprintf(body + o, cap - o, "%s{\"name\":\"row number %d\",\"qty\":%d}", i ? "," : "", i,
                              i);
    snprintf(body + o, cap - o, "]}}");
    return body;
}

char *th_pdf_text(const char *pdf, size_t len)
{
    if (len < 5 || memcmp(pdf, "%PDF-", 5) != 0)
        return NULL;
    char path[] = "/tmp/craftkit-pdf.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    if (write(fd, pdf, len) != (ssize_t)len) {
        close(fd);
        unlink(path);
        return NULL;
    }
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 '%s' - 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    buf_t b;
    buf_init(&b, 16u << 20);
    char chunk[4096];
    size_t got;
    while (p && (got = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_put(&b, chunk, got);
    if (p)
        pclose(p);
    unlink(path);
    if (buf_error(&b) != BUF_OK) { /* half the text would make a test judge half the PDF */
        fprintf(stderr, "harness: pdftotext's output is over the harness's cap\n");
        abort();
    }
    return buf_detach(&b, NULL);
}

typedef struct parallel_arg {
    th_server_t *s;
    const char *method, *path, *auth, *body;
    const char *const *headers;
    th_resp_t **out;
    pthread_barrier_t *start;
} parallel_arg_t;

static void *parallel_one(void *p)
{
    parallel_arg_t *a = p;
    pthread_barrier_wait(a->start);
    *a->out = th_req(a->s, a->method, a->path, a->auth, a->body, a->headers);
    return NULL;
}

void th_parallel(th_server_t *s, int n, const char *method, const char *path, const char *auth,
                 const char *body, const char *const *headers, th_resp_t **out)
{
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    parallel_arg_t *args = calloc((size_t)n, sizeof *args);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        args[i] = (parallel_arg_t){s, method, path, auth, body, headers, &out[i], &start};
        pthread_create(&threads[i], NULL, parallel_one, &args[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    free(threads);
    free(args);
}

static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"20\">"
                          "<rect width=\"40\" height=\"20\" fill=\"#1e3a8a\"/></svg>";

void th_images_start(th_images_t *im, int delay_ms)
{
    /* The routes must outlive this call: the child serves from this copy. */
    static stub_route_t routes[2];
    routes[0] = (stub_route_t){"/logo.svg", 200, "image/svg+xml", svg, sizeof svg - 1, 0, 0, NULL};
    routes[1] = (stub_route_t){"/slow.svg", 200, "image/svg+xml", svg, sizeof svg - 1, delay_ms, 0, NULL};
    stub_http_t st;
    if (stub_http_start(&st, routes, 2) != 0) {
        fprintf(stderr, "harness: cannot start the image server\n");
        exit(3);
    }
    im->pid = st.pid;
    im->port = st.port;
}

void th_images_stop(th_images_t *im)
{
    stub_http_t st = {.pid = im->pid, .port = im->port};
    stub_http_stop(&st);
    im->pid = 0;
}
