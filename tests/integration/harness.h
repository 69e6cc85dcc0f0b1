/*
 * harness — runs the real craftkit binary against real services for integration tests.
 *
 * th_start() gives each test its own Postgres database (in the shared throwaway cluster that
 * scripts/test-services started), its own redis-server on a unix socket, runs `craftkit
 * migrate`, starts `craftkit serve` on a free loopback port and waits for /health.
 * Requests go over real HTTP with libcurl. Single-threaded test code only (CK_FORK=no).
 * Memory: th_resp_t and th_server_t are freed with th_resp_free() / th_stop().
 */
#ifndef CRAFTKIT_TEST_HARNESS_H
#define CRAFTKIT_TEST_HARNESS_H

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tu.h"

#define TH_ADMIN_KEY "test-admin-key-0123456789abcdef"

typedef struct th_server {
    char name[64];
    char dir[512]; /* per-test scratch dir (logs, redis socket, data dir) */
    char dbname[96];
    char database_url[768];
    char redis_sock[600];
    char redis_url[640];
    char base_url[64]; /* http://127.0.0.1:PORT */
    int port;
    pid_t pid;           /* craftkit serve, 0 when stopped */
    pid_t redis_pid;     /* 0 when stopped */
    char pg_dir[600];    /* "" = the shared test cluster; else this test's own cluster */
    char *extra_env[32]; /* "NAME=value" strings added to the server's environment */
    int n_extra_env;
} th_server_t;

typedef struct th_resp {
    long status;
    char *body;
    size_t len;
    char *headers; /* raw response headers, lowercase names */
    json_t *json;  /* parsed body, or NULL when not JSON */
} th_resp_t;

/* Starts services and the server. extra_env: NULL-terminated "NAME=value" list or NULL.
 * Aborts the test run on failure. */
th_server_t *th_start(const char *name, const char *const *extra_env);
/* Like th_start, but with a Postgres cluster of the test's own (initdb in its scratch dir), so
 * that the test may stop and start it (th_pg_stop / th_pg_start) without disturbing others. */
th_server_t *th_start_own_pg(const char *name, const char *const *extra_env);
void th_pg_stop(th_server_t *s);
/* Stops the own cluster in immediate mode (no checkpoint, WAL not yet written is lost): a crash. */
void th_pg_crash(th_server_t *s);
void th_pg_start(th_server_t *s);
/* SIGTERM, waits for exit; returns the exit status (or -1). Keeps db and redis. */
int th_server_stop(th_server_t *s);
/* SIGKILL the server (crash simulation). */
void th_server_kill(th_server_t *s);
/* Starts the server again (same port, db and redis) and waits for /health. */
void th_server_start(th_server_t *s);
/* Starts one more server process against the same db and redis; returns its pid and port. */
pid_t th_server_spawn_extra(th_server_t *s, int *port_out, const char *const *extra_env);
/* The same as `craftkit serve SERVE_FLAG` (e.g. "--migrate"; NULL for none). */
pid_t th_server_spawn_args(th_server_t *s, int *port_out, const char *const *extra_env,
                           const char *serve_flag);
void th_redis_stop(th_server_t *s);
void th_redis_start(th_server_t *s);
/* Stops everything and drops the database. Returns nonzero when the server did not exit
 * cleanly (status 0 after SIGTERM); its scratch dir is then kept for the logs. */
int th_stop(th_server_t *s);

/* Runs `craftkit ARGS...` against this server's db; returns exit code, stdout in *out (caller frees). */
int th_cli(th_server_t *s, char **out, const char *const *args);

/* HTTP. auth: bearer token or NULL. body: NULL for none. headers: NULL-terminated "Name: value" list. */
th_resp_t *th_req(th_server_t *s, const char *method, const char *path, const char *auth, const char *body,
                  const char *const *headers);
th_resp_t *th_req_url(const char *method, const char *url, const char *auth, const char *body,
                      const char *const *headers);
/* The same with a binary body of body_len bytes (a Content-Type header should be given). */
th_resp_t *th_req_bytes(th_server_t *s, const char *method, const char *path, const char *auth,
                        const void *body, size_t body_len, const char *const *headers);
th_resp_t *th_req_url_bytes(const char *method, const char *url, const char *auth, const void *body,
                            size_t body_len, const char *const *headers);
/* Sends request (a whole HTTP/1.1 request, with "Connection: close") exactly as given over a
 * plain socket and returns the raw answer (caller frees; at most 64 KiB are read). */
char *th_raw_request(th_server_t *s, const char *request);
/* A header of a raw "name: value\n" block (case-insensitive name); a static copy valid until the
 * next call, or NULL. */
const char *th_find_header(const char *raw, const char *name);
/* Case-insensitive header lookup; returns a static copy valid until the next call, or NULL. */
const char *th_header(const th_resp_t *r, const char *name);
void th_resp_free(th_resp_t *r);
/* The error code of an error envelope, or "" when the body is not one. */
const char *th_error_code(const th_resp_t *r);

/* Asserts r is the contract's error envelope with this status and code, a message and an
 * X-Request-Id (call inside a Check test). */
void th_assert_error(const th_resp_t *r, long status, const char *code);
/* One request whose answer must be this error: th_req (no extra headers), th_assert_error,
 * th_resp_free. */
void th_expect_error(th_server_t *s, const char *method, const char *path, const char *auth, const char *body,
                     long status, const char *code);

/* POST /v1/assets<query> (query: "?name=…" or "") with a raw body of content_type. */
th_resp_t *th_upload_asset(th_server_t *s, const char *key, const char *content_type, const void *data,
                           size_t len, const char *query);
/* How many objects a local-storage server holds under data/assets/<project_id> (names starting
 * with a dot, temporary files, excluded). */
int th_stored_assets(th_server_t *s, const char *project_id);

/* Creates a project through the admin API; fills its id and a live (or test) key. */
void th_project(th_server_t *s, const char *name, bool test_key, char id[64], char key[128]);

/* Redis command through redis-cli on this test's socket; returns stdout (caller frees). */
char *th_redis_cli(th_server_t *s, const char *args);
/* SQL through psql against this test's database; returns trimmed stdout (caller frees). */
char *th_sql(th_server_t *s, const char *sql);

/* KEY's value in the shared services env file ($CRAFTKIT_TEST_SERVICES/env, written by
 * scripts/test-services and its test-services.d/ extras, e.g. S3_ENDPOINT); NULL when the key
 * is absent. Aborts when the file is missing. Caller frees. */
char *th_services_env(const char *key);

/* tu_run (tests/support/tu.h), then th_stop(srv); EXIT_FAILURE when a test failed or the server did not exit
 * cleanly. The usual end of an integration test's main(). */
int th_run_and_stop(Suite *s, th_server_t *srv);

/* Polls fn until it returns true or timeout_ms passes. */
bool th_wait_until(bool (*fn)(void *), void *arg, int timeout_ms);
void th_sleep_ms(int ms);

#endif
