/* Admin API: /v1/projects and their API keys (admin key only). */
#include <math.h>
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "core/errmsg.h"
#include "core/slug.h"
#include "db/projects_repo.h"
#include "http/router.h"
#include "queue/ratelimit.h"

/* Answers a repository call: REPO_CONFLICT is a taken slug, the rest as api_call_answer does
 * (not_found_code/msg for REPO_NOT_FOUND). */
static void answer_as(http_req_t *req, api_call_t *c, repo_status_t st, int ok_status,
                      const char *not_found_code, const char *not_found_msg)
{
    if (st == REPO_CONFLICT) {
        json_decref(c->out);
        http_error(req, 409, "slug_conflict", "A project with this slug already exists", NULL);
    } else {
        api_call_answer(req, c, st, ok_status, not_found_code, not_found_msg);
    }
}

static void answer(http_req_t *req, api_call_t *c, repo_status_t st, int ok_status)
{
    answer_as(req, c, st, ok_status, "project_not_found", "No such project");
}

/* Answers a list call as {"<key>": list}. */
static void answer_list(http_req_t *req, api_call_t *c, repo_status_t st, const char *key)
{
    if (st == REPO_OK)
        c->out = json_pack("{s:o}", key, c->out);
    answer(req, c, st, 200);
}

typedef repo_status_t (*project_op_fn)(db_t *db, const char *id, json_t **out, char *err, size_t err_len);

/* Runs a repository call on the project named by the path and answers it (200). */
static void project_op(http_req_t *req, project_op_fn fn)
{
    api_call_t c;
    if (api_call_db(req, &c))
        answer(req, &c, fn(c.db, http_param(req, "id"), &c.out, c.err, sizeof c.err), 200);
}

static void create_project(http_req_t *req)
{
    static const char *const allowed[] = {"name", "slug", NULL};
    json_t *issues, *body = api_body_keys(req, allowed, &issues);
    if (!body)
        return;
    const char *name = NULL, *slug = NULL;
    api_opt_string(body, "name", 1, API_NAME_MAX, &name, issues);
    if (!json_object_get(body, "name"))
        api_issue_field(issues, "name", "Required");
    if (api_opt_string(body, "slug", 1, SLUG_MAX, &slug, issues) && slug && !slug_valid(slug))
        api_issue_field(issues, "slug", "Invalid slug: use lowercase letters, digits and single dashes");
    api_call_t c;
    if (api_call_checked(req, issues, &c))
        answer(req, &c, projects_create(c.db, name, slug, &c.out, c.err, sizeof c.err), 201);
}

static void list_projects(http_req_t *req)
{
    api_call_t c;
    if (api_call_db(req, &c))
        answer_list(req, &c, projects_list(c.db, &c.out, c.err, sizeof c.err), "projects");
}

static void get_project(http_req_t *req)
{
    project_op(req, projects_get);
}

static void patch_project(http_req_t *req)
{
    static const char *const allowed[] = {"name", "rateLimit", "rateBurst", "retentionDays", NULL};
    json_t *issues, *body = api_body_keys(req, allowed, &issues);
    if (!body)
        return;
    project_update_t u = {.rate_limit = -1, .rate_burst = -1, .retention_days = -1};
    api_opt_string(body, "name", 1, API_NAME_MAX, &u.name, issues);
    json_t *rl = json_object_get(body, "rateLimit"), *rb = json_object_get(body, "rateBurst"),
           *days = json_object_get(body, "retentionDays");
    if (rl) {
        if (!json_is_number(rl) || !(json_number_value(rl) >= RATELIMIT_RATE_MIN) ||
            json_number_value(rl) > RATELIMIT_RATE_MAX)
            api_issue_field(issues, "rateLimit", "Expected a number from 0.000001 to 1000000");
        else
            u.rate_limit = json_number_value(rl);
    }
    if (rb) {
        if (!json_is_integer(rb) || json_integer_value(rb) < 1 || json_integer_value(rb) > 1000000)
            api_issue_field(issues, "rateBurst", "Expected an integer from 1 to 1000000");
        else
            u.rate_burst = (int)json_integer_value(rb);
    }
    if (json_is_null(days))
        u.retention_days = 0; /* back to CRAFTKIT_RETENTION_DAYS */
    else if (days && (!json_is_integer(days) || json_integer_value(days) < 1 ||
                      json_integer_value(days) > PROJECT_RETENTION_DAYS_MAX))
        api_issue_field(issues, "retentionDays", "Expected an integer from 1 to 36500, or null");
    else if (days)
        u.retention_days = (int)json_integer_value(days);
    api_call_t c;
    if (api_call_checked(req, issues, &c))
        answer(req, &c, projects_update(c.db, http_param(req, "id"), &u, &c.out, c.err, sizeof c.err), 200);
}

static void delete_project(http_req_t *req)
{
    project_op(req, projects_delete);
}

static void create_key(http_req_t *req)
{
    static const char *const allowed[] = {"name", "environment", NULL};
    const char *name = NULL, *env = NULL;
    json_t *issues, *body = api_body_keys(req, allowed, &issues);
    if (!body)
        return;
    api_opt_string(body, "name", 0, API_NAME_MAX, &name, issues);
    if (api_opt_string(body, "environment", 1, 8, &env, issues) && env && strcmp(env, "live") &&
        strcmp(env, "test"))
        api_issue_field(issues, "environment", "Invalid enum value. Expected 'live' | 'test'");
    if (!json_object_get(body, "environment"))
        api_issue_field(issues, "environment", "Required");
    api_call_t c;
    if (api_call_checked(req, issues, &c))
        answer(req, &c, keys_create(c.db, http_param(req, "id"), name, env, &c.out, c.err, sizeof c.err),
               201);
}

static void list_keys(http_req_t *req)
{
    api_call_t c;
    if (api_call_db(req, &c))
        answer_list(req, &c, keys_list(c.db, http_param(req, "id"), &c.out, c.err, sizeof c.err), "keys");
}

static void revoke_key(http_req_t *req)
{
    api_call_t c;
    if (!api_call_db(req, &c))
        return;
    repo_status_t st =
        keys_revoke(c.db, http_param(req, "id"), http_param(req, "keyId"), &c.out, c.err, sizeof c.err);
    answer_as(req, &c, st, 200, "key_not_found", "No such API key in this project");
}

/* GET /v1/project: the project (and key) the bearer key authenticates as. */
static void current_project(http_req_t *req)
{
    api_call_t c;
    if (!api_call_db(req, &c))
        return;
    repo_status_t st = projects_get(c.db, req->auth.project_id, &c.out, c.err, sizeof c.err);
    if (st == REPO_OK) {
        json_object_set_new(c.out, "keyId", json_string(req->auth.key_id));
        json_object_set_new(c.out, "environment", json_string(req->auth.test ? "test" : "live"));
    }
    answer(req, &c, st, 200);
}

void api_projects_routes(void)
{
    router_add("GET", "/v1/project", current_project, AUTH_PROJECT);
    router_add("POST", "/v1/projects", create_project, AUTH_ADMIN);
    router_add("GET", "/v1/projects", list_projects, AUTH_ADMIN);
    router_add("GET", "/v1/projects/:id", get_project, AUTH_ADMIN);
    router_add("PATCH", "/v1/projects/:id", patch_project, AUTH_ADMIN);
    router_add("DELETE", "/v1/projects/:id", delete_project, AUTH_ADMIN);
    router_add("POST", "/v1/projects/:id/keys", create_key, AUTH_ADMIN);
    router_add("GET", "/v1/projects/:id/keys", list_keys, AUTH_ADMIN);
    router_add("DELETE", "/v1/projects/:id/keys/:keyId", revoke_key, AUTH_ADMIN);
}
