/* Crash safety with Postgres (a cluster of this test's own): a render or a webhook delivery
 * committed but never pushed to Redis is found by the sweeper within a pass; the webhook
 * dispatcher retries a database error instead of giving the delivery up; and a Postgres crash
 * (immediate stop) in the middle of a drain of 300 renders redoes no render that was reported
 * succeeded, gives each render exactly one render.succeeded delivery id, and delays no webhook
 * by more than the recovery (a sweep interval, a lease, the backoff). */
#include <check.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_receiver.h"
#include "harness_render.h"

static th_server_t *srv;
static receiver_t *rx;
static char key[128], project_id[64];

#define DATA "{\"data\":{\"customer\":{\"name\":\"Crash Safety\"},\"total\":1}}"
#define DRAIN 300
/* Each drain render fetches its own logo (no cache hit) from an image server that answers one
 * request at a time after PACE_MS, so the drain takes DRAIN * PACE_MS (12 s) in every build:
 * a fast machine cannot finish it before the crash, a slow one still gets there. */
#define PACE_MS 40

/* A render.succeeded subscription for this test's receiver at path; its id into id. */
static void subscribe(const char *path, char id[64])
{
    char body[256];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d%s\",\"events\":[\"render.succeeded\"]}",
             rx_port(rx), path);
    th_resp_t *r = th_req(srv, "POST", "/v1/webhooks", key, body, NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    snprintf(id, 64, "%s", th_str(r->json, "id"));
    th_resp_free(r);
}

static void unsubscribe(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/webhooks/%s", id);
    th_resp_free(th_req(srv, "DELETE", path, key, NULL, NULL));
}

static void sql(const char *text)
{
    free(th_sql(srv, text));
}

/* Makes every Redis write fail (OOM) or work again, without losing Redis's data (so no
 * "Redis lost its data" pass hides what is tested). */
static void redis_refuse_writes(bool refuse)
{
    free(th_redis_cli(srv, "CONFIG SET maxmemory-policy noeviction"));
    free(th_redis_cli(srv, refuse ? "CONFIG SET maxmemory 1" : "CONFIG SET maxmemory 0"));
}

START_TEST(keyless_render_never_pushed_is_swept)
{
    /* The API commits a keyless render, then pushes its id. When the push fails and the row
     * cannot be taken back either, the answer is a 202 and the row must reach a worker through
     * the sweeper — the same state a crash between the commit and the push leaves. */
    sql("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN RAISE EXCEPTION 'refused by the test'; END$$");
    sql("CREATE TRIGGER no_delete BEFORE DELETE ON renders FOR EACH ROW EXECUTE FUNCTION refuse()");
    redis_refuse_writes(true);
    th_resp_t *r = th_req(srv, "POST", "/v1/templates/invoice/render", key, DATA, NULL);
    redis_refuse_writes(false);
    sql("DROP TRIGGER no_delete ON renders");
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    /* a few sweep intervals, far below the 10-minute safety net */
    r = th_wait_render(srv, key, id, 10000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
}
END_TEST

START_TEST(delivery_never_pushed_is_swept)
{
    /* The worker makes a render terminal (creating its delivery), then cannot push the delivery
     * and, like a worker that crashed right after its commit, records nothing more. */
    char sub[64];
    subscribe("/unpushed", sub);
    th_images_t im;
    th_images_start(&im, 1500);
    char body[512], id[64];
    snprintf(body, sizeof body,
             "{\"data\":{\"customer\":{\"name\":\"Unpushed\"},\"total\":1,\"logo\":\"http://127.0.0.1:%d/"
             "slow.svg\"}}",
             im.port);
    sql("CREATE TRIGGER no_unqueue BEFORE UPDATE ON webhook_deliveries FOR EACH ROW"
        " WHEN (OLD.enqueued_at IS NOT NULL AND NEW.enqueued_at IS NULL) EXECUTE FUNCTION refuse()");
    th_submit_ok(srv, NULL, key, "invoice", body, id);
    th_sleep_ms(500); /* the worker is fetching the slow image */
    redis_refuse_writes(true);
    th_resp_t *r = th_wait_render(srv, key, id, 10000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    th_sleep_ms(300);
    redis_refuse_writes(false);
    bool arrived = rx_wait_count(rx, "/unpushed", 1, 10000);
    sql("DROP TRIGGER no_unqueue ON webhook_deliveries");
    ck_assert_msg(arrived, "the delivery was not swept within 10 s");
    th_images_stop(&im);
    unsubscribe(sub);
}
END_TEST

static bool delivered_twice(void *arg)
{
    (void)arg;
    char *n = th_sql(srv, "SELECT count(*) FROM webhook_deliveries d JOIN webhook_subscriptions s"
                          " ON s.id = d.subscription_id WHERE s.url LIKE '%/dberror'"
                          " AND d.status = 'delivered' AND d.attempts = 2");
    bool yes = !strcmp(n, "1");
    free(n);
    return yes;
}

START_TEST(dispatcher_retries_database_errors)
{
    /* The body of a (re)delivery is built from the render row. While the renders table is
     * locked, that read fails (the server's sessions have lock_timeout set): a database error
     * is no reason to abandon the delivery. */
    char id[64], sub_id[64];
    subscribe("/dberror", sub_id);
    th_submit_ok(srv, NULL, key, "invoice", DATA, id);
    th_resp_free(th_wait_render(srv, key, id, 10000));
    ck_assert(rx_wait_count(rx, "/dberror", 1, 10000));
    char q[256];
    snprintf(q, sizeof q,
             "SELECT d.id || ' ' || d.subscription_id FROM webhook_deliveries d WHERE d.render_id = '%s'"
             " AND d.status = 'delivered'",
             id);
    /* The receiver has the body before the dispatcher records the attempt: wait for the row. */
    char *ids = NULL, delivery[64], sub[64], path[256];
    for (int waited = 0; waited <= 10000; waited += 50) {
        free(ids);
        ids = th_sql(srv, q);
        if (sscanf(ids, "%63s %63s", delivery, sub) == 2)
            break;
        th_sleep_ms(50);
    }
    ck_assert_msg(sscanf(ids, "%63s %63s", delivery, sub) == 2, "the delivery was not recorded: '%s'", ids);
    free(ids);

    PGconn *lock = PQconnectdb(srv->database_url);
    ck_assert(PQstatus(lock) == CONNECTION_OK);
    PQclear(PQexec(lock, "BEGIN"));
    PGresult *lr = PQexec(lock, "LOCK TABLE renders IN ACCESS EXCLUSIVE MODE");
    ck_assert(PQresultStatus(lr) == PGRES_COMMAND_OK);
    PQclear(lr);
    snprintf(path, sizeof path, "/v1/webhooks/%s/deliveries/%s/redeliver", sub, delivery);
    th_resp_t *r = th_req(srv, "POST", path, key, NULL, NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    th_resp_free(r);
    th_sleep_ms(2500); /* several lock timeouts */
    PQclear(PQexec(lock, "COMMIT"));
    PQfinish(lock);
    ck_assert_msg(th_wait_until(delivered_twice, NULL, 10000), "the redelivery was given up");
    ck_assert(rx_wait_count(rx, "/dberror", 2, 5000));
    unsubscribe(sub_id);
}
END_TEST

/* ---- a Postgres crash in the middle of a drain ---- */

typedef struct seen {
    char id[40];
    char completed[40];
} seen_t;

/* The newest renders the API reports succeeded (at most 100). */
static int reported_succeeded(seen_t *out)
{
    th_resp_t *r = th_req(srv, "GET", "/v1/renders?status=succeeded&limit=100", key, NULL, NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    json_t *list = json_object_get(r->json, "renders");
    int n = 0;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        snprintf(out[n].id, sizeof out[n].id, "%s", th_str(o, "id"));
        snprintf(out[n].completed, sizeof out[n].completed, "%s", th_str(o, "completedAt"));
        n++;
    }
    th_resp_free(r);
    return n;
}

typedef struct delivery {
    char render[40];
    char id[40];
} delivery_t;

/* Checks every request the receiver got on path: one delivery id per render, ever. Returns the
 * number of distinct renders. */
static int distinct_renders(const char *path, delivery_t *by_render, int max)
{
    int n = 0, total = rx_count(rx, path);
    for (int i = 0; i < total; i++) {
        rx_request_t q;
        ck_assert(rx_get(rx, path, i, &q));
        json_t *body = json_loads(q.body, 0, NULL);
        ck_assert(body);
        const char *render = th_str(body, "renderId"), *did = rx_header(&q, "x-craftkit-delivery-id");
        ck_assert(did);
        int k = 0;
        while (k < n && strcmp(by_render[k].render, render) != 0)
            k++;
        if (k == n) {
            ck_assert_int_lt(n, max);
            snprintf(by_render[n].render, sizeof by_render[n].render, "%s", render);
            snprintf(by_render[n].id, sizeof by_render[n].id, "%s", did);
            n++;
        } else {
            ck_assert_msg(!strcmp(by_render[k].id, did), "render %s announced under two delivery ids: %s, %s",
                          render, by_render[k].id, did);
        }
        json_decref(body);
        rx_request_free(&q);
    }
    return n;
}

static int drain_renders(void)
{
    static delivery_t by_render[DRAIN + 16];
    return distinct_renders("/drain", by_render, DRAIN + 16);
}

static bool drain_delivered(void *arg)
{
    (void)arg;
    return drain_renders() >= DRAIN;
}

START_TEST(postgres_crash_during_drain)
{
    char sub[64];
    subscribe("/drain", sub);
    th_images_t im;
    th_images_start(&im, PACE_MS);
    static char ids[DRAIN][64];
    for (int i = 0; i < DRAIN; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"data\":{\"customer\":{\"name\":\"Crash Safety\"},\"total\":1,"
                 "\"logo\":\"http://127.0.0.1:%d/slow.svg?n=%d\"}}",
                 im.port, i);
        th_submit_ok(srv, NULL, key, "invoice", body, ids[i]);
    }
    /* Crash while the drain is under way, right after the API reported renders succeeded and
     * their webhooks went out. The WAL writer is paused first, as a slow WAL device would be:
     * a commit that does not wait for its own WAL flush (synchronous_commit = off) is then
     * still in memory when Postgres dies, which makes the crash lose every such commit since
     * the pause instead of only the last few milliseconds' worth. */
    ck_assert(rx_wait_count(rx, "/drain", DRAIN / 10, 60000));
    char *walwriter = th_sql(srv, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'");
    pid_t ww = (pid_t)atoi(walwriter);
    free(walwriter);
    ck_assert(ww > 0 && kill(ww, SIGSTOP) == 0);
    ck_assert(rx_wait_count(rx, "/drain", rx_count(rx, "/drain") + 25, 30000));
    static seen_t before[100];
    int n_before = reported_succeeded(before);
    kill(ww, SIGKILL); /* the postmaster takes this for a crash; then stop it the same way */
    th_pg_crash(srv);
    int delivered_at_crash = rx_count(rx, "/drain");
    ck_assert_msg(delivered_at_crash < DRAIN, "the drain was over before the crash");
    th_sleep_ms(500);
    th_pg_start(srv);

    /* Everything arrives within the rest of the drain plus the recovery time (sweep 250 ms,
     * webhook lease 2 s + 30 s margin only for a dispatcher that died, backoff 100 ms), far
     * below the 10-minute safety net. */
    if (!th_wait_until(drain_delivered, NULL, 90000)) {
        char *renders = th_sql(srv, "SELECT string_agg(status || ' ' || n, ', ') FROM"
                                    " (SELECT status, count(*) n FROM renders GROUP BY status) x");
        char *deliveries =
            th_sql(srv, "SELECT string_agg(status || ' ' || n || ' ' || coalesce(enq, '-') || ' ' || "
                        "coalesce(lease, '-'),"
                        " ', ') FROM (SELECT status, count(*) n, max(now() - enqueued_at)::text enq,"
                        " max(lease_until - now())::text lease FROM webhook_deliveries GROUP BY status) x");
        ck_abort_msg("only %d of %d renders announced; renders: %s; deliveries: %s", drain_renders(), DRAIN,
                     renders, deliveries);
    }
    for (int i = 0; i < n_before; i++) {
        char path[160];
        snprintf(path, sizeof path, "/v1/renders/%.40s", before[i].id);
        th_resp_t *r = th_req(srv, "GET", path, key, NULL, NULL);
        ck_assert_msg(!strcmp(th_status(r), "succeeded"), "render %s went back: %s", before[i].id, r->body);
        ck_assert_msg(!strcmp(th_str(r->json, "completedAt"), before[i].completed),
                      "render %s was redone after it was reported succeeded: %s then %s", before[i].id,
                      before[i].completed, th_str(r->json, "completedAt"));
        th_resp_free(r);
    }
    for (int i = 0; i < DRAIN; i++) {
        th_resp_t *r = th_wait_render(srv, key, ids[i], 10000);
        ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
        th_resp_free(r);
    }
    char *dupes = th_sql(srv, "SELECT count(*) FROM (SELECT render_id FROM webhook_deliveries"
                              " GROUP BY render_id, subscription_id HAVING count(*) > 1) d");
    ck_assert_str_eq(dupes, "0");
    free(dupes);
    th_images_stop(&im);
}
END_TEST

int main(void)
{
    rx = rx_start();
    const char *env[] = {"CRAFTKIT_SWEEP_INTERVAL_MS=250", "CRAFTKIT_WEBHOOK_TIMEOUT_MS=2000",
                         "PGOPTIONS=-c lock_timeout=200",  "CRAFTKIT_RATE_LIMIT=100000",
                         "CRAFTKIT_RATE_BURST=100000",     NULL};
    srv = th_start_own_pg("crash_safety", env);
    th_invoice_project(srv, "Crash safety", "invoice", project_id, key);
    Suite *s = suite_create("crash_safety");
    TCase *tc = tcase_create("crash");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, keyless_render_never_pushed_is_swept);
    tcase_add_test(tc, delivery_never_pushed_is_swept);
    tcase_add_test(tc, dispatcher_retries_database_errors);
    tcase_add_test(tc, postgres_crash_during_drain);
    suite_add_tcase(s, tc);
    int rc = th_run_and_stop(s, srv);
    rx_stop(rx);
    return rc;
}
