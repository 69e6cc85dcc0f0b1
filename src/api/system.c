/* GET /health, /ready and /metrics. */
#include <stdatomic.h>
#include <stdio.h>

#include "api/api.h"
#include "core/buf.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "db/db.h"
#include "core/metrics.h"
#include "http/router.h"
#include "queue/redis.h"

#define METRICS_TEXT_MAX (4u << 20)

/* Optional extra readiness checks registered by other subsystems (e.g. storage). */
#define SYSTEM_MAX_CHECKS 4
typedef bool (*system_check_fn)(char *err, size_t err_len);
static struct {
    const char *name;
    system_check_fn fn;
} checks[SYSTEM_MAX_CHECKS];
static int n_checks;

void system_add_ready_check(const char *name, system_check_fn fn)
{
    if (n_checks < SYSTEM_MAX_CHECKS) {
        checks[n_checks].name = name;
        checks[n_checks].fn = fn;
        n_checks++;
    }
}

static void health(http_req_t *req)
{
    http_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* Logs why component `bit` is down when it goes down, and when it is back: /ready is polled
 * every few seconds, so only the changes are worth a line. The answer itself stays terse
 * (it is unauthenticated); the reason (e.g. the S3 error) is for the operator's log. */
static void note_component(int bit, const char *name, bool ok, const char *err)
{
    static atomic_uint down_mask;
    unsigned mask = 1u << bit;
    unsigned was = ok ? atomic_fetch_and(&down_mask, ~mask) : atomic_fetch_or(&down_mask, mask);
    if (!ok && !(was & mask))
        log_warn("ready: %s is down: %s", name, err[0] ? err : "no reason given");
    else if (ok && (was & mask))
        log_info("ready: %s is back", name);
}

static void ready(http_req_t *req)
{
    char err[ERRMSG_LEN] = "";
    json_t *components = json_object();
    const char *down = NULL;
    db_t *db = db_thread();
    bool pg_ok = db && db_ping(db, err, sizeof err);
    json_object_set_new(components, "postgres", json_string(pg_ok ? "ok" : "down"));
    note_component(0, "postgres", pg_ok, db ? err : "no connection");
    if (!pg_ok)
        down = "postgres";
    err[0] = '\0';
    bool redis_ok = redis_ping(err, sizeof err);
    json_object_set_new(components, "redis", json_string(redis_ok ? "ok" : "down"));
    note_component(1, "redis", redis_ok, err);
    if (!redis_ok && !down)
        down = "redis";
    for (int i = 0; i < n_checks; i++) {
        err[0] = '\0';
        bool ok = checks[i].fn(err, sizeof err);
        json_object_set_new(components, checks[i].name, json_string(ok ? "ok" : "down"));
        note_component(2 + i, checks[i].name, ok, err);
        if (!ok && !down)
            down = checks[i].name;
    }
    if (!down) {
        http_respond_json(req, 200, json_pack("{s:s, s:o}", "status", "ok", "components", components));
        return;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "%s is unavailable", down);
    json_t *body = json_pack("{s:{s:s, s:s}, s:s, s:o}", "error", "code", "not_ready", "message", msg,
                             "status", "unavailable", "components", components);
    http_respond_json(req, 503, body);
}

static void metrics(http_req_t *req)
{
    buf_t b;
    buf_init(&b, METRICS_TEXT_MAX);
    metrics_render(&b);
    if (buf_error(&b) != BUF_OK) /* never a half exposition: a scraper would take it as complete */
        http_error(req, 500, "internal_error", "The metrics are larger than METRICS_TEXT_MAX", NULL);
    else
        http_respond_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "", b.len);
    buf_free(&b);
}

void api_system_routes(void)
{
    router_add_inline("GET", "/health", health, AUTH_NONE);
    router_add("GET", "/ready", ready, AUTH_NONE);
    router_add_inline("GET", "/metrics", metrics, AUTH_NONE);
}
