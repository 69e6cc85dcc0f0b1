/* Postgres going away and coming back under a running server (a cluster of this test's own):
 * requests fail with 503 meanwhile and nothing else; afterwards the HTTP threads, the workers
 * (also one that was rendering across the restart), the sweeper and the LISTEN connection
 * all carry on without a server restart. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_render.h"

static th_server_t *srv;
static char key[128];

#define DATA "{\"data\":{\"customer\":{\"name\":\"Restart\"},\"total\":1}}"

static th_resp_t *submit(const char *body)
{
    return th_req(srv, "POST", "/v1/templates/invoice/render", key, body, NULL);
}

static bool rendering_now(void *arg)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT status FROM renders WHERE id = '%s'", (const char *)arg);
    char *st = th_sql(srv, sql);
    bool yes = !strcmp(st, "rendering");
    free(st);
    return yes;
}

START_TEST(postgres_down_then_back)
{
    th_pg_stop(srv);
    th_resp_t *r = submit(DATA);
    th_assert_error(r, 503, "database_unavailable");
    th_resp_free(r);
    r = th_req(srv, "GET", "/ready", NULL, NULL, NULL);
    th_assert_error(r, 503, "not_ready");
    ck_assert(strstr(r->body, "postgres"));
    th_resp_free(r);
    r = th_req(srv, "GET", "/health", NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);

    th_pg_start(srv);
    char id[64];
    th_submit_ok(srv, NULL, key, "invoice", DATA, id);
    r = th_wait_render(srv, key, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    /* sync waits need the LISTEN connection (or the local worker's direct wake-up) */
    r = submit("{\"data\":{\"customer\":{\"name\":\"Sync after "
               "restart\"},\"total\":1},\"options\":{\"sync\":true}}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    th_resp_free(r);
}
END_TEST

START_TEST(render_in_flight_across_a_restart)
{
    th_images_t im;
    th_images_start(&im, 2500);
    char body[512];
    snprintf(body, sizeof body,
             "{\"data\":{\"customer\":{\"name\":\"In "
             "flight\"},\"total\":1,\"logo\":\"http://127.0.0.1:%d/slow.svg\"}}",
             im.port);
    char id[64];
    th_submit_ok(srv, NULL, key, "invoice", body, id);
    ck_assert(th_wait_until(rendering_now, id, 10000));
    th_pg_stop(srv);
    th_sleep_ms(500);
    th_pg_start(srv);
    th_resp_t *r = th_wait_render(srv, key, id, 60000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    th_images_stop(&im);
}
END_TEST

int main(void)
{
    srv = th_start_own_pg("pg_restart", NULL);
    char id[64];
    th_invoice_project(srv, "Restart", "invoice", id, key);
    Suite *s = suite_create("pg_restart");
    TCase *tc = tcase_create("restart");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, postgres_down_then_back);
    tcase_add_test(tc, render_in_flight_across_a_restart);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
