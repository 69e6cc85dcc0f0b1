/* The pipeline when things break: the server killed with SIGKILL mid-render, Redis down and
 * back (with and without an Idempotency-Key), Redis losing its data, two instances sharing one
 * queue, jobs delivered more than once, and a render whose every attempt was interrupted. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness_render.h"

static th_server_t *srv;
static char key[128], project_id[64];

static th_resp_t *submit_to(const char *base_url, const char *body)
{
    char url[256];
    snprintf(url, sizeof url, "%s/v1/templates/invoice/render", base_url);
    return th_req_url("POST", url, key, body, NULL);
}

static char *sql_about(const char *what, const char *id)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM renders WHERE id = '%s'", what, id);
    return th_sql(srv, sql);
}

static bool rendering_now(void *arg)
{
    char *st = sql_about("status", arg);
    bool yes = !strcmp(st, "rendering");
    free(st);
    return yes;
}

static char *render_count(void)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM renders WHERE project_id = '%s'", project_id);
    return th_sql(srv, sql);
}

static void stop_pid(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* How many copies of id sit in the render queue: its ready list and every worker's processing
 * list (ck:q:renders:proc:<worker>, queue/jobs.h); -1 when Redis did not answer a number. */
static int queued_copies(const char *id)
{
    char args[700];
    snprintf(args, sizeof args,
             "EVAL \"local n = 0 for _, k in ipairs(redis.call('KEYS', 'ck:q:renders*')) do"
             " for _, v in ipairs(redis.call('LRANGE', k, 0, -1)) do if v == ARGV[1] then n = n + 1 end end"
             " end return n\" 0 %s",
             id);
    char *out = th_redis_cli(srv, args);
    char *end = NULL;
    long n = out ? strtol(out, &end, 10) : -1;
    int copies = out && end != out && (*end == '\n' || *end == '\0') ? (int)n : -1;
    free(out);
    return copies;
}

static bool no_copy_queued(void *arg)
{
    return queued_copies(arg) == 0;
}

/* A second delivery of the render id, as the at-least-once queue may make one. */
static void push_again(const char *id)
{
    char args[128];
    snprintf(args, sizeof args, "LPUSH ck:q:renders %s", id);
    char *out = th_redis_cli(srv, args);
    ck_assert_msg(out && atoi(out) >= 1, "LPUSH: %s", out ? out : "(no answer)");
    free(out);
}

/* What a second rendering would change: the outcome columns of the row. */
static char *outcome_of(const char *id)
{
    return sql_about("concat_ws(' ', status, attempts, worker_id, storage_key, sha256, pages, bytes,"
                     " started_at, completed_at)",
                     id);
}

START_TEST(kill9_mid_render_completes_once)
{
    th_images_t im;
    th_images_start(&im, 2500);
    char body[512];
    snprintf(body, sizeof body,
             "{\"data\":{\"customer\":{\"name\":\"Crash "
             "Test\"},\"total\":1,\"logo\":\"http://127.0.0.1:%d/slow.svg\"}}",
             im.port);
    char id[64];
    th_submit_ok(srv, NULL, key, "invoice", body, id);
    ck_assert(th_wait_until(rendering_now, id, 10000));
    th_server_kill(srv);
    char *worker_before = sql_about("worker_id", id);
    th_server_start(srv);
    th_resp_t *r = th_wait_render(srv, key, id, 60000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    /* taken over once: the first attempt died with its process, the second finished */
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "attempts")), 2);
    th_resp_free(r);
    char *worker_after = sql_about("worker_id", id);
    ck_assert_str_ne(worker_before, worker_after);
    free(worker_before);
    free(worker_after);
    /* nothing is left in any processing list or the ready list */
    char *left = th_redis_cli(srv, "LLEN ck:q:renders");
    ck_assert_int_eq(atoi(left), 0);
    free(left);
    th_images_stop(&im);
}
END_TEST

START_TEST(redis_down_then_back)
{
    char *before = render_count();
    th_redis_stop(srv);
    th_resp_t *r = submit_to(srv->base_url, "{\"data\":{\"customer\":{\"name\":\"No Redis\"},\"total\":1}}");
    th_assert_error(r, 503, "queue_unavailable");
    ck_assert(th_header(r, "retry-after") != NULL);
    th_resp_free(r);
    char *during = render_count();
    ck_assert_str_eq(during, before); /* nothing stranded */
    r = th_req(srv, "GET", "/ready", NULL, NULL, NULL);
    th_assert_error(r, 503, "not_ready");
    ck_assert(strstr(r->body, "redis"));
    th_resp_free(r);
    th_redis_start(srv);
    r = submit_to(srv->base_url, "{\"data\":{\"customer\":{\"name\":\"Redis Back\"},\"total\":1}}");
    ck_assert_msg(r->status == 202, "%s", r->body);
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_wait_render(srv, key, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    free(before);
    free(during);
}
END_TEST

START_TEST(redis_losing_its_data_loses_no_render)
{
    /* Renders accepted by an API-only instance sit in Redis; Redis is wiped; the workers of the
     * restarted server find them through Postgres. */
    ck_assert_int_eq(th_server_stop(srv), 0);
    const char *api_only[] = {"CRAFTKIT_WORKERS=0", NULL};
    int port;
    pid_t api = th_server_spawn_extra(srv, &port, api_only);
    char base[64], ids[3][64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    for (int i = 0; i < 3; i++) {
        th_submit_ok(srv, base, key, "invoice", "{\"data\":{\"customer\":{\"name\":\"Lost\"},\"total\":1}}",
                     ids[i]);
    }
    stop_pid(api);
    free(th_redis_cli(srv, "FLUSHALL"));
    th_server_start(srv);
    for (int i = 0; i < 3; i++) {
        th_resp_t *r = th_wait_render(srv, key, ids[i], 30000);
        ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
        ck_assert_int_eq(json_integer_value(json_object_get(r->json, "attempts")), 1);
        th_resp_free(r);
    }
}
END_TEST

START_TEST(two_instances_share_the_queue)
{
    int port;
    pid_t extra = th_server_spawn_extra(srv, &port, NULL);
    /* Long documents (about 0.1 s each), so that every worker of both instances gets some. */
    enum { N = 12 };
    char *body = th_long_invoice_body(2500);
    char ids[N][64], base2[64];
    snprintf(base2, sizeof base2, "http://127.0.0.1:%d", port);
    for (int i = 0; i < N; i++) {
        th_submit_ok(srv, i % 2 ? base2 : NULL, key, "invoice", body, ids[i]);
    }
    free(body);
    for (int i = 0; i < N; i++) {
        th_resp_t *r = th_wait_render(srv, key, ids[i], 60000);
        ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
        th_resp_free(r);
    }
    /* worker ids are <host>:<pid>:<n>: count the processes that rendered */
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(DISTINCT regexp_replace(worker_id, ':[0-9]+$', '')) FROM renders WHERE id IN "
             "(SELECT id FROM renders WHERE project_id = '%s' ORDER BY id DESC LIMIT %d)",
             project_id, N);
    char *instances = th_sql(srv, sql);
    ck_assert_str_eq(instances, "2");
    free(instances);
    stop_pid(extra);
}
END_TEST

START_TEST(sync_request_woken_by_another_instance)
{
    /* The waiting instance has no workers: only a NOTIFY from the rendering one can wake it. */
    const char *api_only[] = {"CRAFTKIT_WORKERS=0", NULL};
    int port;
    pid_t api = th_server_spawn_extra(srv, &port, api_only);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    th_resp_t *r = submit_to(
        base, "{\"data\":{\"customer\":{\"name\":\"Elsewhere\"},\"total\":1},\"options\":{\"sync\":true}}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "status"), "succeeded");
    th_resp_free(r);
    stop_pid(api);
}
END_TEST

START_TEST(duplicate_delivery_renders_once)
{
    /* The queue delivers at least once (a lost ack, a worker reaped while alive, the sweeper
     * re-pushing): the claim in Postgres must make every extra copy a no-op, both while the
     * render is running and after it is done. */
    th_images_t im;
    th_images_start(&im, 1500);
    char body[512], id[64];
    snprintf(body, sizeof body,
             "{\"data\":{\"customer\":{\"name\":\"Twice\"},\"total\":1,\"logo\":\"http://127.0.0.1:%d/"
             "slow.svg\"}}",
             im.port);
    th_submit_ok(srv, NULL, key, "invoice", body, id);
    ck_assert(th_wait_until(rendering_now, id, 10000));
    /* two copies while one worker is fetching the slow image: the other worker takes them and
     * finds the render held */
    push_again(id);
    push_again(id);
    th_resp_t *r = th_wait_render(srv, key, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "attempts")), 1);
    char completed[64], sha[80];
    snprintf(completed, sizeof completed, "%s", th_str(r->json, "completedAt"));
    snprintf(sha, sizeof sha, "%s", th_str(r->json, "sha256"));
    th_resp_free(r);
    ck_assert(th_wait_until(no_copy_queued, id, 10000));
    char *before = outcome_of(id);

    /* one more copy of the finished render: taken, acked, and nothing changes */
    push_again(id);
    ck_assert_msg(th_wait_until(no_copy_queued, id, 10000), "the copy was never taken: %d left",
                  queued_copies(id));
    char *after = outcome_of(id);
    ck_assert_str_eq(after, before);
    r = th_wait_render(srv, key, id, 1000);
    ck_assert_str_eq(th_status(r), "succeeded");
    ck_assert_str_eq(th_str(r->json, "completedAt"), completed);
    ck_assert_str_eq(th_str(r->json, "sha256"), sha);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "attempts")), 1);
    th_resp_free(r);
    free(before);
    free(after);
    th_images_stop(&im);
}
END_TEST

START_TEST(interrupted_on_every_attempt_fails)
{
    /* An attempt whose worker dies records nothing, so only the claim count tells how often a
     * render was tried. When the third attempt dies too, the next claim must fail the render
     * with a message saying so instead of trying a fourth time (a render that kills its worker
     * would otherwise take down one instance after another). The first two deaths are written
     * into the row (attempts = 3 on the running third attempt) instead of killing three servers. */
    th_images_t im;
    th_images_start(&im, 3000);
    char body[512], id[64], sql[256];
    snprintf(body, sizeof body,
             "{\"data\":{\"customer\":{\"name\":\"Doomed\"},\"total\":1,\"logo\":\"http://127.0.0.1:%d/"
             "slow.svg\"}}",
             im.port);
    th_submit_ok(srv, NULL, key, "invoice", body, id);
    ck_assert(th_wait_until(rendering_now, id, 10000));
    snprintf(sql, sizeof sql, "UPDATE renders SET attempts = 3 WHERE id = '%s' AND status = 'rendering'", id);
    free(th_sql(srv, sql));
    th_server_kill(srv);
    th_server_start(srv);
    th_resp_t *r = th_wait_render(srv, key, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "failed"), "%s", r->body);
    ck_assert_msg(strstr(th_str(r->json, "errorMessage"), "interrupted 3 times"), "%s", r->body);
    /* taken a fourth time only to record the verdict: nothing was rendered */
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "attempts")), 4);
    ck_assert(json_is_null(json_object_get(r->json, "sha256")));
    ck_assert(json_is_null(json_object_get(r->json, "downloadUrl")));
    ck_assert(json_is_string(json_object_get(r->json, "completedAt")));
    th_resp_free(r);
    th_assert_not_ready(srv, key, id, "interrupted 3 times");
    th_images_stop(&im);
}
END_TEST

START_TEST(redis_down_with_idempotency_key)
{
    /* With a key, the row is inserted in a transaction around the push and rolled back when Redis
     * refuses. The 503 asks for a retry with the same key, so it must leave nothing behind: a
     * stranded row would make that retry a 200 replay of a render no queue holds. A project of
     * its own, so that "nothing" is an empty list. */
    char pid[64], k[128];
    th_invoice_project(srv, "Keyed outage", "keyed", pid, k);
    const char *h[] = {"Idempotency-Key: outage-order-1", NULL};
    const char *body = "{\"data\":{\"customer\":{\"name\":\"Keyed\"},\"total\":1}}";
    th_redis_stop(srv);
    for (int i = 0; i < 2; i++) { /* the retry while Redis is still down fares the same */
        th_resp_t *r = th_req(srv, "POST", "/v1/templates/keyed/render", k, body, h);
        th_assert_error(r, 503, "queue_unavailable");
        ck_assert_str_eq(th_header(r, "retry-after"), "1");
        th_resp_free(r);
    }
    th_resp_t *r = th_req(srv, "GET", "/v1/renders", k, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "renders")), 0);
    th_resp_free(r);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM renders WHERE project_id = '%s'", pid);
    char *count = th_sql(srv, sql);
    ck_assert_str_eq(count, "0");
    free(count);

    th_redis_start(srv);
    /* the key is free: a new render (202), not a replay (200) */
    r = th_req(srv, "POST", "/v1/templates/keyed/render", k, body, h);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "status"), "queued");
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_wait_render(srv, k, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    /* and from now on the key replays that render */
    r = th_req(srv, "POST", "/v1/templates/keyed/render", k, body, h);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_str(r->json, "id"), id);
    th_resp_free(r);
    count = th_sql(srv, sql);
    ck_assert_str_eq(count, "1");
    free(count);
}
END_TEST

int main(void)
{
    srv = th_start("resilience", NULL);
    th_invoice_project(srv, "Resilience", "invoice", project_id, key);

    Suite *s = suite_create("resilience");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, kill9_mid_render_completes_once);
    tcase_add_test(tc, redis_down_then_back);
    tcase_add_test(tc, redis_losing_its_data_loses_no_render);
    tcase_add_test(tc, two_instances_share_the_queue);
    tcase_add_test(tc, sync_request_woken_by_another_instance);
    tcase_add_test(tc, duplicate_delivery_renders_once);
    tcase_add_test(tc, interrupted_on_every_attempt_fails);
    tcase_add_test(tc, redis_down_with_idempotency_key);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
