/* The key cache never outlives a change: revocations (API and CLI), project deletion and rate
 * limit changes reach every instance, including ones that had the key cached, and a lost
 * listener connection switches the cache off. Two server processes share one database. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness_render.h"

static th_server_t *srv;
static char base_b[64];
static pid_t pid_b;

static long status_at(const char *base, const char *key)
{
    char url[256];
    snprintf(url, sizeof url, "%s/v1/project", base);
    th_resp_t *r = th_req_url("GET", url, key, NULL, NULL);
    long st = r ? r->status : 0;
    th_resp_free(r);
    return st;
}

typedef struct {
    const char *base, *key;
    long want;
} expect_t;

static bool status_is(void *p)
{
    expect_t *e = p;
    return status_at(e->base, e->key) == e->want;
}

/* The other instance hears of a change through NOTIFY: within moments, not at once. */
static void eventually(const char *base, const char *key, long want)
{
    expect_t e = {base, key, want};
    ck_assert_msg(th_wait_until(status_is, &e, 2000), "%s did not answer %ld in time", base, want);
}

/* A project with a key used (and so cached) on both instances. */
static void fresh_key(const char *name, char pid[64], char key[128], char key_id[64])
{
    th_project(srv, name, false, pid, key);
    ck_assert_int_eq(status_at(srv->base_url, key), 200);
    ck_assert_int_eq(status_at(base_b, key), 200);
    ck_assert_int_eq(status_at(base_b, key), 200);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT id FROM api_keys WHERE project_id = '%s'", pid);
    char *id = th_sql(srv, sql);
    snprintf(key_id, 64, "%s", id);
    free(id);
}

START_TEST(revoke_through_the_api)
{
    char pid[64], key[128], key_id[64], path[256];
    fresh_key("Revoke API", pid, key, key_id);
    snprintf(path, sizeof path, "/v1/projects/%s/keys/%s", pid, key_id);
    th_resp_t *r = th_req(srv, "DELETE", path, TH_ADMIN_KEY, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    ck_assert_int_eq(status_at(srv->base_url, key), 401); /* the instance that revoked: at once */
    eventually(base_b, key, 401);
}
END_TEST

START_TEST(revoke_through_the_cli)
{
    char pid[64], key[128], key_id[64], *out = NULL;
    fresh_key("Revoke CLI", pid, key, key_id);
    const char *revoke[] = {"key", "revoke", key_id, NULL};
    ck_assert_int_eq(th_cli(srv, &out, revoke), 0);
    free(out);
    eventually(srv->base_url, key, 401);
    eventually(base_b, key, 401);
}
END_TEST

START_TEST(deleted_project)
{
    char pid[64], key[128], key_id[64], path[256];
    fresh_key("Deleted", pid, key, key_id);
    snprintf(path, sizeof path, "/v1/projects/%s", pid);
    th_resp_t *r = th_req(srv, "DELETE", path, TH_ADMIN_KEY, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    ck_assert_int_eq(status_at(srv->base_url, key), 401);
    eventually(base_b, key, 401);
}
END_TEST

typedef struct {
    const char *base, *key, *want;
} limit_t;

static bool limit_is(void *p)
{
    limit_t *l = p;
    char url[256];
    snprintf(url, sizeof url, "%s/v1/templates/nope/render", l->base);
    th_resp_t *r = th_req_url("POST", url, l->key, "{\"data\":{}}", NULL);
    const char *h = th_header(r, "ratelimit-limit");
    bool ok = h && !strcmp(h, l->want);
    th_resp_free(r);
    return ok;
}

START_TEST(rate_limit_change)
{
    char pid[64], key[128], key_id[64], path[256];
    fresh_key("Limits", pid, key, key_id);
    limit_t before = {base_b, key, "100"};
    ck_assert(limit_is(&before));
    snprintf(path, sizeof path, "/v1/projects/%s", pid);
    th_resp_t *r = th_req(srv, "PATCH", path, TH_ADMIN_KEY, "{\"rateBurst\":7}", NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    limit_t here = {srv->base_url, key, "7"}, there = {base_b, key, "7"};
    ck_assert(limit_is(&here));
    ck_assert(th_wait_until(limit_is, &there, 2000));
}
END_TEST

START_TEST(no_cache_while_postgres_is_unheard)
{
    /* Terminating the listener's backend makes it reconnect; revocations done meanwhile
     * (here by hand, as if the NOTIFY were lost) must not be hidden by the cache after that. */
    char pid[64], key[128], key_id[64], sql[256];
    fresh_key("Listener", pid, key, key_id);
    free(th_sql(srv, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"));
    snprintf(sql, sizeof sql, "UPDATE api_keys SET revoked_at = now() WHERE id = '%s'", key_id);
    free(th_sql(srv, sql));
    eventually(srv->base_url, key, 401);
    eventually(base_b, key, 401);
}
END_TEST

int main(void)
{
    srv = th_start("auth_cache", NULL);
    int port;
    pid_b = th_server_spawn_extra(srv, &port, NULL);
    snprintf(base_b, sizeof base_b, "http://127.0.0.1:%d", port);
    Suite *s = suite_create("auth_cache");
    TCase *tc = tcase_create("invalidation");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, revoke_through_the_api);
    tcase_add_test(tc, revoke_through_the_cli);
    tcase_add_test(tc, deleted_project);
    tcase_add_test(tc, rate_limit_change);
    tcase_add_test(tc, no_cache_while_postgres_is_unheard);
    suite_add_tcase(s, tc);
    int rc = tu_run(s);
    kill(pid_b, SIGTERM);
    int st = 0;
    waitpid(pid_b, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        rc = EXIT_FAILURE;
    if (th_stop(srv) != 0)
        rc = EXIT_FAILURE;
    return rc;
}
