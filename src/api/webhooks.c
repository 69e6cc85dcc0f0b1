/* /v1/webhooks: subscriptions, secret rotation, the delivery log and redelivery. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/common.h"
#include "core/config.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/netguard.h"
#include "core/uuid7.h"
#include "db/webhooks_repo.h"
#include "http/router.h"
#include "queue/jobs.h"
#include "webhooks/webhook.h"

#define WEBHOOK_DESCRIPTION_MAX 280
#define WEBHOOK_NOT_FOUND_MSG "No webhook subscription with that id in this project"

/* Why a URL may not be subscribed, or NULL. Private addresses written as such (an IP literal,
 * localhost) are refused here already when the guard is on; names that resolve to one are
 * refused at connect time by the dispatcher (core/netguard). */
static const char *url_problem(const char *url, char *buf, size_t len)
{
    if (netguard_check_url(url, buf, len) != 0)
        return buf;
    if (config_get()->allow_private_urls)
        return NULL;
    CURLU *u = curl_url();
    char *host = NULL;
    const char *problem = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
        char bare[256];
        size_t n = strlen(host);
        snprintf(bare, sizeof bare, "%.*s", host[0] == '[' && n > 2 ? (int)n - 2 : (int)n,
                 host[0] == '[' ? host + 1 : host);
        unsigned char addr[16];
        bool literal = inet_pton(AF_INET, bare, addr) == 1 || inet_pton(AF_INET6, bare, addr) == 1;
        size_t bl = strlen(bare);
        bool local_name =
            !strcasecmp(bare, "localhost") || (bl > 10 && !strcasecmp(bare + bl - 10, ".localhost"));
        if ((literal && !netguard_ip_allowed(bare, false)) || local_name)
            problem = NETGUARD_REFUSED_MSG;
    }
    curl_free(host);
    curl_url_cleanup(u);
    return problem;
}

/* Checks "events" (an array of distinct known event names) and writes the Postgres array
 * literal into out; absent → both events. false + issue on a bad value. */
static bool events_literal(const json_t *events, char *out, size_t len, json_t *issues)
{
    if (!events) {
        snprintf(out, len, "{%s,%s}", WEBHOOK_EVENT_SUCCEEDED, WEBHOOK_EVENT_FAILED);
        return true;
    }
    if (!json_is_array(events) || json_array_size(events) == 0 ||
        json_array_size(events) > WEBHOOK_EVENTS_MAX) {
        api_issue_field(
            issues, "events",
            "Expected a non-empty array of 'render.succeeded' | 'render.failed' | 'render.cancelled' | "
            "'batch.completed' | 'batch.failed'");
        return false;
    }
    size_t i, o = 0;
    json_t *e;
    out[o++] = '{';
    json_array_foreach(events, i, e)
    {
        const char *name = json_string_value(e);
        bool repeated = false;
        for (size_t j = 0; name && j < i; j++)
            repeated |= !strcmp(name, json_string_value(json_array_get(events, j)));
        if (!name || !webhook_event_valid(name) || repeated) {
            char path[32];
            snprintf(path, sizeof path, "events.%zu", i);
            api_issue_field(issues, path,
                            "Invalid enum value. Expected 'render.succeeded' | 'render.failed' | "
                            "'render.cancelled' | 'batch.completed' | 'batch.failed' (each once)");
            return false;
        }
        o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "", name);
    }
    snprintf(out + o, len - o, "}");
    return true;
}

typedef struct sub_input {
    const char *url, *description;
    char events[WEBHOOK_EVENTS_TEXT_MAX];
    bool has_events;
    int active; /* -1 = not given */
    bool clear_description;
} sub_input_t;

/* Reads and checks a create (url required) or update body (its keys are checked already). */
static void parse_sub(const json_t *body, bool create, sub_input_t *in, json_t *issues)
{
    char buf[256];
    memset(in, 0, sizeof *in);
    in->active = -1;
    if (api_opt_string(body, "url", 1, WEBHOOK_URL_MAX, &in->url, issues) && in->url) {
        const char *problem = url_problem(in->url, buf, sizeof buf);
        if (problem)
            api_issue_field(issues, "url", problem);
    }
    if (create && !json_object_get(body, "url"))
        api_issue_field(issues, "url", "Required");
    json_t *events = json_object_get(body, "events");
    in->has_events = events != NULL || create;
    if (in->has_events)
        events_literal(events, in->events, sizeof in->events, issues);
    json_t *active = json_object_get(body, "active");
    if (active && !json_is_boolean(active))
        api_issue_field(issues, "active", "Expected boolean");
    else if (active)
        in->active = json_is_true(active);
    json_t *d = json_object_get(body, "description");
    in->clear_description = json_is_null(d);
    if (d && !json_is_null(d))
        api_opt_string(body, "description", 0, WEBHOOK_DESCRIPTION_MAX, &in->description, issues);
}

static void answer(http_req_t *req, api_call_t *c, repo_status_t st, int ok_status)
{
    api_call_answer(req, c, st, ok_status, "webhook_not_found", WEBHOOK_NOT_FOUND_MSG);
}

/* Reads a create (or PATCH) body into in and starts c; false after answering (400 with
 * issues, 503). */
static bool read_sub(http_req_t *req, bool create, sub_input_t *in, api_call_t *c)
{
    static const char *const allowed[] = {"url", "events", "active", "description", NULL};
    json_t *issues, *body = api_body_keys(req, allowed, &issues);
    if (!body)
        return false;
    parse_sub(body, create, in, issues);
    return api_call_checked(req, issues, c);
}

static void create_sub(http_req_t *req)
{
    sub_input_t in;
    api_call_t c;
    if (!read_sub(req, true, &in, &c))
        return;
    repo_status_t st = whsub_create(c.db, req->auth.project_id, in.url, in.events, in.active != 0,
                                    in.description, &c.out, c.err, sizeof c.err);
    if (st == REPO_CONFLICT) {
        char msg[128];
        snprintf(msg, sizeof msg, "A project can have at most %d webhook subscriptions",
                 WEBHOOK_MAX_SUBSCRIPTIONS);
        http_error(req, 409, "limit_reached", msg, NULL);
        return;
    }
    answer(req, &c, st, 201);
}

typedef repo_status_t (*sub_op_fn)(db_t *db, const char *project_id, const char *id, json_t **out, char *err,
                                   size_t err_len);

/* Runs a repository call on the subscription named by the path and answers it. */
static void sub_op(http_req_t *req, sub_op_fn fn)
{
    api_call_t c;
    if (api_call_db(req, &c))
        answer(req, &c, fn(c.db, req->auth.project_id, http_param(req, "id"), &c.out, c.err, sizeof c.err),
               200);
}

static repo_status_t list_op(db_t *db, const char *project_id, const char *unused, json_t **out, char *err,
                             size_t err_len)
{
    (void)unused;
    return whsub_list(db, project_id, out, err, err_len);
}

static void list_subs(http_req_t *req)
{
    sub_op(req, list_op);
}

static void get_sub(http_req_t *req)
{
    sub_op(req, whsub_get);
}

static void delete_sub(http_req_t *req)
{
    sub_op(req, whsub_delete);
}

static void rotate_secret(http_req_t *req)
{
    if (api_require_live_key(req, "Rotating a webhook secret"))
        sub_op(req, whsub_rotate);
}

static void patch_sub(http_req_t *req)
{
    sub_input_t in;
    api_call_t c;
    if (!read_sub(req, false, &in, &c))
        return;
    repo_status_t st = whsub_update(c.db, req->auth.project_id, http_param(req, "id"), in.url,
                                    in.has_events ? in.events : NULL, in.active, in.description,
                                    in.clear_description, &c.out, c.err, sizeof c.err);
    answer(req, &c, st, 200);
}

static void list_deliveries(http_req_t *req)
{
    api_call_t c;
    if (!api_call_page(req, 20, WEBHOOK_DELIVERIES_PAGE_MAX, &c))
        return;
    repo_status_t st = whdel_list(c.db, req->auth.project_id, http_param(req, "id"), c.cursor, c.limit,
                                  &c.out, c.err, sizeof c.err);
    answer(req, &c, st, 200);
}

static void redeliver(http_req_t *req)
{
    api_call_t c;
    if (!api_call_db(req, &c))
        return;
    const char *sub_id = http_param(req, "id"), *delivery_id = http_param(req, "deliveryId");
    repo_status_t st = whsub_get(c.db, req->auth.project_id, sub_id, &c.out, c.err, sizeof c.err);
    if (st != REPO_OK) {
        answer(req, &c, st, 200);
        return;
    }
    json_decref(c.out);
    c.out = NULL;
    st = whdel_redeliver(c.db, req->auth.project_id, sub_id, delivery_id, &c.out, c.err, sizeof c.err);
    if (st != REPO_OK) {
        api_call_answer(req, &c, st, 202, "delivery_not_found",
                        "No delivery with that id for this subscription");
        return;
    }
    /* Marked as queued only once the push went through: otherwise the sweeper pushes it. */
    char ids[1][37];
    snprintf(ids[0], sizeof ids[0], "%s", delivery_id);
    int attempts = (int)json_integer_value(json_object_get(c.out, "attemptCount"));
    if (jobs_enqueue(JOBS_QUEUE_WEBHOOKS, delivery_id, c.err, sizeof c.err) != 0)
        log_warn("redeliver %s: cannot queue (the sweeper will): %s", delivery_id, c.err);
    else if (whdel_mark_enqueued(c.db, ids, 1, attempts, c.err, sizeof c.err) != 0)
        log_warn("redeliver %s: %s", delivery_id, c.err);
    http_respond_json(req, 202, c.out);
}

void api_webhooks_routes(void)
{
    router_add("POST", "/v1/webhooks", create_sub, AUTH_PROJECT);
    router_add("GET", "/v1/webhooks", list_subs, AUTH_PROJECT);
    router_add("GET", "/v1/webhooks/:id", get_sub, AUTH_PROJECT);
    router_add("PATCH", "/v1/webhooks/:id", patch_sub, AUTH_PROJECT);
    router_add("DELETE", "/v1/webhooks/:id", delete_sub, AUTH_PROJECT);
    router_add("POST", "/v1/webhooks/:id/rotate-secret", rotate_secret, AUTH_PROJECT);
    router_add("GET", "/v1/webhooks/:id/deliveries", list_deliveries, AUTH_PROJECT);
    router_add("POST", "/v1/webhooks/:id/deliveries/:deliveryId/redeliver", redeliver, AUTH_PROJECT);
}
