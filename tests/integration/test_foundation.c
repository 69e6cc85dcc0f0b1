/* Foundation over real HTTP: health/ready, errors, body limits, admin API, keys, isolation, CLI. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static th_server_t *srv;

START_TEST(health_and_request_id)
{
    th_resp_t *r = th_req(srv, "GET", "/health", NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "status")), "ok");
    ck_assert(th_header(r, "x-request-id") != NULL);
    th_resp_free(r);
    const char *h[] = {"X-Request-Id: my-trace-123", NULL};
    r = th_req(srv, "GET", "/health", NULL, NULL, h);
    ck_assert_str_eq(th_header(r, "x-request-id"), "my-trace-123");
    th_resp_free(r);
}
END_TEST

START_TEST(ready_follows_redis)
{
    th_resp_t *r = th_req(srv, "GET", "/ready", NULL, NULL, NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    th_resp_free(r);
    th_redis_stop(srv);
    r = th_req(srv, "GET", "/ready", NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 503);
    ck_assert(strstr(r->body, "redis is unavailable") != NULL);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r->json, "components"), "redis")),
                     "down");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r->json, "components"), "postgres")),
                     "ok");
    th_resp_free(r);
    th_redis_start(srv);
    r = th_req(srv, "GET", "/ready", NULL, NULL, NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    th_resp_free(r);
}
END_TEST

START_TEST(metrics_exposition)
{
    th_resp_free(th_req(srv, "GET", "/health", NULL, NULL, NULL));
    th_resp_t *r = th_req(srv, "GET", "/metrics", NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(
        strstr(r->body, "craftkit_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"}"));
    ck_assert(
        strstr(r->body, "craftkit_http_request_duration_seconds_bucket{route=\"/health\",le=\"+Inf\"}"));
    th_resp_free(r);
}
END_TEST

START_TEST(unknown_route_and_method)
{
    th_resp_t *r = th_req(srv, "GET", "/v2/nothing", NULL, NULL, NULL);
    th_assert_error(r, 404, "not_found");
    th_resp_free(r);
    r = th_req(srv, "PUT", "/v1/projects", TH_ADMIN_KEY, "{}", NULL);
    th_assert_error(r, 405, "method_not_allowed");
    ck_assert_str_eq(th_header(r, "allow"), "POST, GET");
    th_resp_free(r);
}
END_TEST

START_TEST(malformed_json_and_media_type)
{
    th_resp_t *r = th_req(srv, "POST", "/v1/projects", TH_ADMIN_KEY, "{\"name\":", NULL);
    th_assert_error(r, 400, "invalid_json");
    th_resp_free(r);
    th_expect_error(srv, "POST", "/v1/projects", TH_ADMIN_KEY, "{\"name\":\"a\xff\"}", 400, "invalid_json");
    /* A NUL in a string is refused in the client's terms, not with jansson's flag name. */
    r = th_req(srv, "POST", "/v1/projects", TH_ADMIN_KEY, "{\"name\":\"a\\u0000b\"}", NULL);
    th_assert_error(r, 400, "invalid_json");
    ck_assert_msg(strstr(r->body, "a string contains \\\\u0000 (a NUL character), which is not accepted") &&
                      !strstr(r->body, "JSON_"),
                  "%s", r->body);
    th_resp_free(r);
    const char *ct[] = {"Content-Type: multipart/form-data; boundary=x", NULL};
    r = th_req(srv, "POST", "/v1/projects", TH_ADMIN_KEY, "{\"name\":\"x\"}", ct);
    th_assert_error(r, 415, "unsupported_media_type");
    th_resp_free(r);
    th_expect_error(srv, "POST", "/v1/projects", TH_ADMIN_KEY, "[1,2]", 400, "invalid_request");
    r = th_req(srv, "POST", "/v1/projects", TH_ADMIN_KEY, "{\"name\":\"x\",\"colour\":\"red\"}", NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert(strstr(r->body, "Unrecognized key(s) in object: 'colour'"));
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/projects", TH_ADMIN_KEY, "{}", NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert(strstr(r->body, "\"name\":[\"Required\"]"));
    th_resp_free(r);
    /* deep nesting is refused before any handler sees it */
    char deep[4096] = "";
    for (int i = 0; i < 1000; i++)
        strcat(deep, "[");
    for (int i = 0; i < 1000; i++)
        strcat(deep, "]");
    th_expect_error(srv, "POST", "/v1/projects", TH_ADMIN_KEY, deep, 400, "invalid_json");
}
END_TEST

START_TEST(oversized_body_is_413)
{
    /* The server runs with CRAFTKIT_MAX_BODY=65536 in this test. */
    size_t n = 200000;
    char *big = malloc(n + 32);
    strcpy(big, "{\"name\":\"");
    memset(big + 9, 'a', n);
    strcpy(big + 9 + n, "\"}");
    th_resp_t *r = th_req(srv, "POST", "/v1/projects", TH_ADMIN_KEY, big, NULL);
    th_assert_error(r, 413, "payload_too_large");
    th_resp_free(r);
    /* chunked (no Content-Length): capped while reading */
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    r = th_req(srv, "POST", "/v1/projects", TH_ADMIN_KEY, big, chunked);
    th_assert_error(r, 413, "payload_too_large");
    th_resp_free(r);
    free(big);
    r = th_req(srv, "GET", "/health", NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
}
END_TEST

START_TEST(admin_api_and_keys_lifecycle)
{
    th_resp_t *r = th_req(srv, "POST", "/v1/projects", TH_ADMIN_KEY, "{\"name\":\"Acme Corp\"}", NULL);
    ck_assert_int_eq(r->status, 201);
    char id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r->json, "id")));
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "slug")), "acme-corp");
    ck_assert_int_eq(id[14], '7'); /* UUIDv7 */
    th_resp_free(r);
    /* same name → suffixed slug; explicit taken slug → 409 */
    r = th_req(srv, "POST", "/v1/projects", TH_ADMIN_KEY, "{\"name\":\"Acme Corp\"}", NULL);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "slug")), "acme-corp-2");
    th_resp_free(r);
    th_expect_error(srv, "POST", "/v1/projects", TH_ADMIN_KEY, "{\"name\":\"X\",\"slug\":\"acme-corp\"}", 409,
                    "slug_conflict");

    char path[256];
    snprintf(path, sizeof path, "/v1/projects/%s", id);
    r = th_req(srv, "PATCH", path, TH_ADMIN_KEY, "{\"name\":\"Acme Renamed\"}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "name")), "Acme Renamed");
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/projects", TH_ADMIN_KEY, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_array_size(json_object_get(r->json, "projects")) >= 2);
    th_resp_free(r);

    snprintf(path, sizeof path, "/v1/projects/%s/keys", id);
    r = th_req(srv, "POST", path, TH_ADMIN_KEY, "{\"name\":\"ci\",\"environment\":\"live\"}", NULL);
    ck_assert_int_eq(r->status, 201);
    char key[128], key_id[64];
    snprintf(key, sizeof key, "%s", json_string_value(json_object_get(r->json, "key")));
    snprintf(key_id, sizeof key_id, "%s", json_string_value(json_object_get(r->json, "id")));
    ck_assert(strncmp(key, "ck_live_", 8) == 0 && strlen(key) >= 40);
    ck_assert_int_eq(strlen(json_string_value(json_object_get(r->json, "prefix"))), 13);
    th_resp_free(r);
    th_expect_error(srv, "POST", path, TH_ADMIN_KEY, "{\"environment\":\"prod\"}", 400, "invalid_request");

    /* list shows no plaintext */
    r = th_req(srv, "GET", path, TH_ADMIN_KEY, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(strstr(r->body, key) == NULL);
    ck_assert(strstr(r->body, "\"key\"") == NULL);
    th_resp_free(r);

    /* the plaintext is not in the database either */
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM api_keys WHERE hash = '%s' OR prefix = '%s'", key, key);
    char *count = th_sql(srv, sql);
    ck_assert_str_eq(count, "0");
    free(count);

    /* the key works on project routes, not on admin ones */
    r = th_req(srv, "GET", "/v1/project", key, NULL, NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "id")), id);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "keyId")), key_id);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "environment")), "live");
    th_resp_free(r);
    th_expect_error(srv, "GET", "/v1/projects", key, NULL, 401, "unauthorized");
    /* and the admin key is refused on project routes */
    th_expect_error(srv, "GET", "/v1/project", TH_ADMIN_KEY, NULL, 401, "unauthorized");

    snprintf(path, sizeof path, "/v1/projects/%s/keys/%s", id, key_id);
    r = th_req(srv, "DELETE", path, TH_ADMIN_KEY, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_is_string(json_object_get(r->json, "revokedAt")));
    th_resp_free(r);
    /* revocation is effective on the very next request */
    th_expect_error(srv, "GET", "/v1/project", key, NULL, 401, "unauthorized");

    /* deleting a project */
    snprintf(path, sizeof path, "/v1/projects/%s", id);
    r = th_req(srv, "DELETE", path, TH_ADMIN_KEY, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    th_expect_error(srv, "GET", path, TH_ADMIN_KEY, NULL, 404, "project_not_found");
    th_expect_error(srv, "GET", "/v1/projects/not-a-uuid", TH_ADMIN_KEY, NULL, 404, "project_not_found");
}
END_TEST

START_TEST(projects_are_isolated)
{
    char a_id[64], a_key[128], b_id[64], b_key[128];
    th_project(srv, "Tenant A", false, a_id, a_key);
    th_project(srv, "Tenant B", true, b_id, b_key);
    th_resp_t *r = th_req(srv, "GET", "/v1/project", a_key, NULL, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "id")), a_id);
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/project", b_key, NULL, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "id")), b_id);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "environment")), "test");
    th_resp_free(r);
    /* a key of A cannot be revoked through B's path */
    char path[256];
    r = th_req(srv, "GET", "/v1/project", a_key, NULL, NULL);
    snprintf(path, sizeof path, "/v1/projects/%s/keys/%s", b_id,
             json_string_value(json_object_get(r->json, "keyId")));
    th_resp_free(r);
    th_expect_error(srv, "DELETE", path, TH_ADMIN_KEY, NULL, 404, "key_not_found");
    r = th_req(srv, "GET", "/v1/project", a_key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    /* deleting B stops B's keys at once, and not A's */
    snprintf(path, sizeof path, "/v1/projects/%s", b_id);
    th_resp_free(th_req(srv, "DELETE", path, TH_ADMIN_KEY, NULL, NULL));
    th_expect_error(srv, "GET", "/v1/project", b_key, NULL, 401, "unauthorized");
    r = th_req(srv, "GET", "/v1/project", a_key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
}
END_TEST

START_TEST(admin_auth_failures_look_the_same)
{
    const char *bad[] = {NULL, "wrong-admin-key-0000000000",
                         "ck_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    char first[512] = "";
    for (int i = 0; i < 3; i++) {
        th_resp_t *r = th_req(srv, "GET", "/v1/projects", bad[i], NULL, NULL);
        th_assert_error(r, 401, "unauthorized");
        if (!first[0])
            snprintf(first, sizeof first, "%s", r->body);
        else
            ck_assert_str_eq(first, r->body);
        th_resp_free(r);
    }
}
END_TEST

START_TEST(cli_provisioning)
{
    char *out = NULL;
    const char *create[] = {"project", "create", "From CLI", NULL};
    ck_assert_int_eq(th_cli(srv, &out, create), 0);
    ck_assert(strstr(out, "project_id=") && strstr(out, "key=ck_live_"));
    char project[64] = "";
    sscanf(strstr(out, "project_id=") + 11, "%63s", project);
    free(out);
    const char *key_create[] = {"key", "create", "--project", project, "--test", "--name", "t", NULL};
    ck_assert_int_eq(th_cli(srv, &out, key_create), 0);
    ck_assert(strstr(out, "key=ck_test_"));
    char key_id[64] = "";
    sscanf(strstr(out, "key_id=") + 7, "%63s", key_id);
    free(out);
    const char *revoke[] = {"key", "revoke", key_id, NULL};
    ck_assert_int_eq(th_cli(srv, &out, revoke), 0);
    ck_assert(strstr(out, "revoked_at="));
    free(out);
    const char *bad_usage[] = {"key", "create", NULL};
    ck_assert_int_eq(th_cli(srv, &out, bad_usage), 2);
    free(out);
    const char *unknown_project[] = {"key", "create", "--project", "00000000-0000-7000-8000-000000000000",
                                     NULL};
    ck_assert_int_eq(th_cli(srv, &out, unknown_project), 1);
    free(out);
    const char *nothing[] = {"frobnicate", NULL};
    ck_assert_int_eq(th_cli(srv, &out, nothing), 2);
    free(out);
}
END_TEST

START_TEST(serve_refuses_bad_config_and_unmigrated_db)
{
    char *out = NULL;
    th_server_t copy = *srv;
    copy.n_extra_env = 0;
    copy.extra_env[copy.n_extra_env++] = "CRAFTKIT_WORKERS=many";
    const char *serve[] = {"serve", NULL};
    ck_assert_int_eq(th_cli(&copy, &out, serve), 1);
    free(out);
    copy.n_extra_env = 0;
    copy.extra_env[copy.n_extra_env++] = "DATABASE_URL=host=/nonexistent dbname=x";
    ck_assert_int_eq(th_cli(&copy, &out, serve), 1);
    free(out);
    /* an unmigrated database: the cluster's own "postgres" database has no schema */
    char unmigrated[900];
    snprintf(unmigrated, sizeof unmigrated, "DATABASE_URL=%.700s", srv->database_url);
    char *db = strstr(unmigrated, "dbname=");
    ck_assert(db != NULL);
    strcpy(db, "dbname=postgres");
    copy.n_extra_env = 0;
    copy.extra_env[copy.n_extra_env++] = unmigrated;
    ck_assert_int_eq(th_cli(&copy, &out, serve), 1);
    free(out);
    char log[700];
    snprintf(log, sizeof log, "grep -q 'pending migration' '%s/cli.log'", srv->dir);
    ck_assert_msg(system(log) == 0, "serve did not explain the unmigrated database");
}
END_TEST

/* The Docker paths: `craftkit serve --migrate` on an empty database, and `craftkit healthcheck`
 * (the image's HEALTHCHECK) for a live and for a dead server. */
START_TEST(serve_migrate_and_healthcheck)
{
    char *out = NULL;
    const char *health[] = {"healthcheck", NULL};
    ck_assert_int_eq(th_cli(srv, &out, health), 0);
    ck_assert_msg(out && strstr(out, "healthy"), "%s", out ? out : "");
    free(out);

    char sql[128], dbenv[900];
    snprintf(sql, sizeof sql, "CREATE DATABASE \"t_fresh_%d\"", (int)getpid());
    free(th_sql(srv, sql));
    snprintf(dbenv, sizeof dbenv, "DATABASE_URL=%.700s", srv->database_url);
    char *db = strstr(dbenv, "dbname=");
    ck_assert(db != NULL);
    sprintf(db, "dbname=t_fresh_%d", (int)getpid());
    const char *env[] = {dbenv, NULL};
    int port;
    pid_t pid = th_server_spawn_args(srv, &port, env, "--migrate");
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/projects", port);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    th_resp_t *r = th_req_url("POST", url, TH_ADMIN_KEY, "{\"name\":\"Fresh\"}", hdr);
    ck_assert_msg(r && r->status == 201, "a project in the migrated database: %ld", r ? r->status : 0L);
    th_resp_free(r);
    kill(pid, SIGTERM);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "serve --migrate exit status %d", st);
    snprintf(sql, sizeof sql, "DROP DATABASE \"t_fresh_%d\" WITH (FORCE)", (int)getpid());
    free(th_sql(srv, sql));

    /* Nothing listens on the port of a stopped server: unhealthy, exit 1. */
    th_server_t copy = *srv;
    char listen[64];
    snprintf(listen, sizeof listen, "CRAFTKIT_LISTEN=127.0.0.1:%d", port);
    copy.n_extra_env = 0;
    copy.extra_env[copy.n_extra_env++] = listen;
    ck_assert_int_eq(th_cli(&copy, &out, health), 1);
    free(out);
}
END_TEST

START_TEST(graceful_shutdown_exits_zero)
{
    ck_assert_int_eq(th_server_stop(srv), 0);
    th_server_start(srv);
    th_resp_t *r = th_req(srv, "GET", "/health", NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
}
END_TEST

int main(void)
{
    const char *env[] = {"CRAFTKIT_MAX_BODY=65536", NULL};
    srv = th_start("foundation", env);
    Suite *s = suite_create("foundation");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, health_and_request_id);
    tcase_add_test(tc, ready_follows_redis);
    tcase_add_test(tc, metrics_exposition);
    tcase_add_test(tc, unknown_route_and_method);
    tcase_add_test(tc, malformed_json_and_media_type);
    tcase_add_test(tc, oversized_body_is_413);
    tcase_add_test(tc, admin_api_and_keys_lifecycle);
    tcase_add_test(tc, projects_are_isolated);
    tcase_add_test(tc, admin_auth_failures_look_the_same);
    tcase_add_test(tc, cli_provisioning);
    tcase_add_test(tc, serve_refuses_bad_config_and_unmigrated_db);
    tcase_add_test(tc, serve_migrate_and_healthcheck);
    tcase_add_test(tc, graceful_shutdown_exits_zero);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
