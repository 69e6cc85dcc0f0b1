/* The worker side of the pipeline against the real server: retries ending in a failure a
 * user can act on, sync requests answered 200 within the deadline and 202 after it, and
 * graceful shutdown with an in-flight render and with parked sync requests. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness_render.h"

#define SYNC_TIMEOUT_MS 2000

static th_server_t *srv;
static char key[128];

static th_resp_t *submit(const char *body)
{
    return th_req(srv, "POST", "/v1/templates/invoice/render", key, body, NULL);
}

static void data_with_logo(char *out, size_t len, const char *logo_url, const char *options)
{
    snprintf(out, len,
             "{\"data\":{\"customer\":{\"name\":\"Grace Hopper\"},\"total\":7,\"logo\":\"%s\"}%s%s}",
             logo_url, options ? ",\"options\":" : "", options ? options : "");
}

static char *status_of(const char *id)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT status FROM renders WHERE id = '%s'", id);
    return th_sql(srv, sql);
}

/* Starts an image server answering after delay_ms and submits a render whose logo is
 * image_path on it (options: NULL or a JSON object text). */
static void submit_with_image(th_images_t *im, int delay_ms, const char *image_path, const char *options,
                              char id[64])
{
    th_images_start(im, delay_ms);
    char body[512], url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", im->port, image_path);
    data_with_logo(body, sizeof body, url, options);
    th_submit_ok(srv, NULL, key, "invoice", body, id);
}

static bool rendering_now(void *arg)
{
    char *st = status_of(arg);
    bool yes = !strcmp(st, "rendering");
    free(st);
    return yes;
}

START_TEST(failed_after_three_attempts)
{
    th_images_t im;
    char id[64];
    submit_with_image(&im, 0, "/missing.png", NULL, id);
    th_resp_t *r = th_wait_render(srv, key, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "failed"), "%s", r->body);
    ck_assert_msg(strstr(th_str(r->json, "errorMessage"), "data.logo") &&
                      strstr(th_str(r->json, "errorMessage"), "HTTP 404"),
                  "%s", r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "attempts")), 3);
    ck_assert(json_is_null(json_object_get(r->json, "downloadUrl")));
    ck_assert(json_is_string(json_object_get(r->json, "completedAt")));
    th_resp_free(r);
    th_assert_not_ready(srv, key, id, "failed");
    th_images_stop(&im);
}
END_TEST

START_TEST(sync_answers_200_when_done)
{
    th_resp_t *r =
        submit("{\"data\":{\"customer\":{\"name\":\"Sync\"},\"total\":3},\"options\":{\"sync\":true}}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "status"), "succeeded");
    ck_assert(json_is_string(json_object_get(r->json, "downloadUrl")));
    ck_assert(th_header(r, "ratelimit-limit") != NULL);
    th_resp_free(r);
}
END_TEST

START_TEST(sync_answers_202_after_the_deadline)
{
    th_images_t im;
    th_images_start(&im, SYNC_TIMEOUT_MS + 2000);
    char body[512], url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow.svg", im.port);
    data_with_logo(body, sizeof body, url, "{\"sync\":true}");
    int64_t t0 = time(NULL);
    th_resp_t *r = submit(body);
    int64_t waited = time(NULL) - t0;
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    ck_assert_msg(!strcmp(th_str(r->json, "status"), "queued") ||
                      !strcmp(th_str(r->json, "status"), "rendering"),
                  "%s", r->body);
    ck_assert_msg(waited >= 1 && waited <= 6, "waited %lld s", (long long)waited);
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_wait_render(srv, key, id, 30000);
    ck_assert_str_eq(th_status(r), "succeeded");
    th_resp_free(r);
    th_images_stop(&im);
}
END_TEST

typedef struct {
    const char *body;
    int n;
    th_resp_t **out;
} sync_batch_t;

static void *sync_batch(void *p)
{
    sync_batch_t *b = p;
    th_parallel(srv, b->n, "POST", "/v1/templates/invoice/render", key, b->body, NULL, b->out);
    return NULL;
}

START_TEST(many_sync_requests_do_not_hold_threads)
{
    /* More parked requests than handler threads (8) and workers (2) together, on renders that
     * wait for a slow image: other requests must still be answered at once meanwhile. */
    enum { N = 24 };
    th_images_t im;
    th_images_start(&im, 300);
    char body[512], url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow.svg", im.port);
    data_with_logo(body, sizeof body, url, "{\"sync\":true}");
    th_resp_t *out[N];
    sync_batch_t b = {body, N, out};
    pthread_t t;
    pthread_create(&t, NULL, sync_batch, &b);
    th_sleep_ms(800); /* the batch is parked by now */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    th_resp_t *r = th_req(srv, "GET", "/v1/renders?limit=1", key, NULL, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    ck_assert_msg(ms < 1000, "a plain request waited %.0f ms behind parked ones", ms);
    pthread_join(t, NULL);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(out[i] && (out[i]->status == 200 || out[i]->status == 202), "%d: %ld %s", i,
                      out[i] ? out[i]->status : 0L, out[i] ? out[i]->body : "");
        th_resp_free(out[i]);
    }
    th_images_stop(&im);
}
END_TEST

typedef struct {
    const char *body;
    th_resp_t *resp;
} bg_req_t;

static void *background_submit(void *p)
{
    bg_req_t *b = p;
    b->resp = submit(b->body);
    return NULL;
}

START_TEST(sigterm_finishes_inflight_render)
{
    th_images_t im;
    char id[64];
    submit_with_image(&im, 1500, "/slow.svg", NULL, id);
    ck_assert(th_wait_until(rendering_now, id, 10000));
    ck_assert_int_eq(th_server_stop(srv), 0);
    char *st = status_of(id);
    ck_assert_str_eq(st, "succeeded");
    free(st);
    th_server_start(srv);
    th_images_stop(&im);
}
END_TEST

/* A render whose data names this logo URL is rendering. */
static bool logo_render_running(void *url)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM renders WHERE status = 'rendering' AND data::text LIKE '%%%s%%'",
             (const char *)url);
    char *n = th_sql(srv, sql);
    bool yes = n && atoi(n) > 0;
    free(n);
    return yes;
}

START_TEST(sigterm_with_parked_sync_requests)
{
    th_images_t im;
    th_images_start(&im, 4000);
    char body[512], url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow.svg", im.port);
    data_with_logo(body, sizeof body, url, "{\"sync\":true}");
    bg_req_t b = {.body = body};
    pthread_t t;
    pthread_create(&t, NULL, background_submit, &b);
    /* The request is parked once its render is fetching the slow logo (a fixed wait was too
     * short on a loaded machine: the stop then came before the request was accepted). */
    ck_assert_msg(th_wait_until(logo_render_running, url, 60000), "the render never started");
    th_sleep_ms(200);
    ck_assert_int_eq(th_server_stop(srv), 0);
    pthread_join(t, NULL);
    ck_assert_msg(b.resp && b.resp->status == 202, "%ld %s", b.resp ? b.resp->status : 0L,
                  b.resp ? b.resp->body : "");
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(b.resp->json, "id"));
    th_resp_free(b.resp);
    /* the render itself was finished before the exit */
    char *st = status_of(id);
    ck_assert_str_eq(st, "succeeded");
    free(st);
    th_server_start(srv);
    th_images_stop(&im);
}
END_TEST

START_TEST(render_time_limit)
{
    /* A server whose renders may take at most 100 ms, and a 10,000-row document that takes
     * several times that on every attempt. */
    const char *env[] = {"CRAFTKIT_RENDER_TIMEOUT_MS=100", NULL};
    th_server_t *slow = th_start("pipeline_limit", env);
    char pid[64], k[128], id[64];
    th_invoice_project(slow, "Limit", "invoice", pid, k);
    char *body = th_long_invoice_body(10000);
    th_submit_ok(slow, NULL, k, "invoice", body, id);
    free(body);
    th_resp_t *r = th_wait_render(slow, k, id, 60000);
    ck_assert_msg(!strcmp(th_status(r), "failed"), "%.400s", r->body);
    ck_assert_msg(strstr(th_str(r->json, "errorMessage"), "longer than the time allowed"), "%.400s", r->body);
    th_resp_free(r);
    ck_assert_int_eq(th_stop(slow), 0);
}
END_TEST

int main(void)
{
    char timeout[64];
    snprintf(timeout, sizeof timeout, "CRAFTKIT_SYNC_TIMEOUT_MS=%d", SYNC_TIMEOUT_MS);
    const char *env[] = {timeout, NULL};
    srv = th_start("pipeline", env);
    char id[64];
    th_invoice_project(srv, "Pipeline", "invoice", id, key);

    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("workers");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, failed_after_three_attempts);
    tcase_add_test(tc, sync_answers_200_when_done);
    tcase_add_test(tc, sync_answers_202_after_the_deadline);
    tcase_add_test(tc, many_sync_requests_do_not_hold_threads);
    tcase_add_test(tc, render_time_limit);
    tcase_add_test(tc, sigterm_finishes_inflight_render);
    tcase_add_test(tc, sigterm_with_parked_sync_requests);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
