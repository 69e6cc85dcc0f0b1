/* /v1/partials: the project's library of partials (create or replace by name, list, get,
 * delete), each checked on its own when saved; and the copy of the ones a layout uses into it. */
#include "api/partials.h"

#include <craftkit/engine.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "core/errmsg.h"
#include "db/partials_repo.h"
#include "http/router.h"

#define PARTIAL_NOT_FOUND_MSG "No partial with that name in this project's library"
#define PARTIAL_DESCRIPTION_MAX 280
/* Rounds of look-ups for partials used by partials (one more than they may nest). */
#define PARTIALS_RESOLVE_ROUNDS (16 + 1)
#define LIBRARY_KEY "libraryPartials"

/* A library name: 1 to PARTIALS_NAME_MAX ASCII letters, digits, "-" and "_", the first a
 * letter or digit (it is a URL path segment and a key of the layout's "libraryPartials"). */
static bool name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > PARTIALS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '-' && ch != '_')))
            return false;
    }
    return true;
}

/* The names of want (a set) as a JSON array. */
static json_t *set_names(const json_t *want)
{
    json_t *list = json_array();
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)want, name, v) json_array_append_new(list, json_string(name));
    return list;
}

/* Adds to snap (name → blocks) the library partials of want (a set of names, taken) and,
 * transitively, those they use. 0; 1 when more than PARTIALS_SNAPSHOT_MAX would be needed;
 * -1 + err on a database error. Names the library lacks are left to the compiler to report. */
static int resolve(db_t *db, const char *project_id, json_t *want, json_t *snap, char *err, size_t err_len)
{
    int rc = 0;
    for (int round = 0; rc == 0 && round < PARTIALS_RESOLVE_ROUNDS && json_object_size(want); round++) {
        json_t *names = set_names(want), *found = NULL, *next = json_object(), *def;
        const char *name;
        if (partials_fetch(db, project_id, names, &found, err, err_len) != REPO_OK)
            rc = -1;
        json_object_foreach(found, name, def)
        {
            if (json_object_size(snap) >= PARTIALS_SNAPSHOT_MAX) {
                rc = 1;
                break;
            }
            json_object_set(snap, name, def);
            engine_partial_names(def, next);
        }
        json_decref(names);
        json_decref(found);
        json_decref(want);
        want = next;
        void *tmp;
        json_object_foreach_safe(want, tmp, name, def) if (json_object_get(snap, name))
            json_object_del(want, name);
    }
    json_decref(want);
    return rc;
}

/* Answers resolve's failure rc (1: too many, -1: database). */
static void resolve_failed(http_req_t *req, int rc, const char *path, const char *err)
{
    if (rc < 0) {
        api_db_error(req, err);
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "Uses more than %d library partials (directly or through other partials)",
             PARTIALS_SNAPSHOT_MAX);
    api_reject_field(req, path, msg);
}

bool partials_prepare_layout(http_req_t *req, json_t *body)
{
    json_t *layout = json_object_get(body, "layout");
    if (!json_is_object(layout))
        return true;
    json_t *prepared = json_copy(layout), *want = json_object(), *snap = json_object();
    json_object_del(prepared, LIBRARY_KEY);
    engine_partial_names(prepared, want);
    json_t *local = json_object_get(prepared, "partials"), *v;
    const char *name;
    void *tmp;
    json_object_foreach_safe(want, tmp, name, v) if (json_object_get(local, name))
        json_object_del(want, name);
    char err[ERRMSG_LEN];
    int rc = 0;
    db_t *db = json_object_size(want) ? api_db(req) : NULL;
    if (db)
        rc = resolve(db, req->auth.project_id, want, snap, err, sizeof err);
    else if (json_object_size(want))
        rc = -2; /* answered */
    if (!db)
        json_decref(want);
    if (rc == 0 && json_object_size(snap))
        json_object_set(prepared, LIBRARY_KEY, snap);
    if (rc == 0)
        json_object_set(body, "layout", prepared);
    else if (rc != -2)
        resolve_failed(req, rc, "layout", err);
    json_decref(prepared);
    json_decref(snap);
    return rc == 0;
}

/* The path of a problem found compiling the library partial name: "partial…" in it,
 * "libraryPartials.<other>…" in another library partial it uses (buf: PATH_MAX_LEN bytes). */
#define PATH_MAX_LEN 512
static const char *library_path(const char *path, const char *name, char *buf)
{
    static const char prefix[] = "layout." LIBRARY_KEY ".";
    size_t pl = sizeof prefix - 1, nl = strlen(name);
    if (strncmp(path, prefix, pl))
        return path;
    if (!strncmp(path + pl, name, nl) && (path[pl + nl] == '.' || !path[pl + nl]))
        snprintf(buf, PATH_MAX_LEN, "partial%s", path + pl + nl);
    else
        snprintf(buf, PATH_MAX_LEN, "%s", path + sizeof "layout.." - 2);
    return buf;
}

/* The compiler's issues with their paths as library_path gives them (a new object). */
static json_t *library_issues(const json_t *issues, const char *name)
{
    json_t *out = api_issues_new(), *msgs, *m;
    json_array_extend(json_object_get(out, "formErrors"), json_object_get(issues, "formErrors"));
    const char *path;
    size_t i;
    char buf[PATH_MAX_LEN];
    json_object_foreach(json_object_get(issues, "fieldErrors"), path, msgs) json_array_foreach(msgs, i, m)
        api_issue_field(out, library_path(path, name, buf), json_string_value(m));
    return out;
}

/* Compiles def as the library's partial name, with the library partials it uses (no manifest:
 * the data it names is checked where a template uses it; fonts too). *issues gets the problems
 * (NULL: none). false after answering. */
static bool check_partial(http_req_t *req, db_t *db, const char *name, const json_t *def, json_t **issues)
{
    *issues = NULL;
    json_t *snap = json_pack("{s:O}", name, def), *want = json_object();
    engine_partial_names(def, want);
    json_object_del(want, name);
    char err[ERRMSG_LEN];
    int rc = resolve(db, req->auth.project_id, want, snap, err, sizeof err);
    if (rc != 0) {
        json_decref(snap);
        resolve_failed(req, rc, "partial", err);
        return false;
    }
    json_t *layout =
        json_pack("{s:o, s:[{s:s, s:s}]}", LIBRARY_KEY, snap, "body", "type", "partial", "name", name);
    static const engine_compile_opts_t opts = {.skip_font_check = true};
    json_t *found = NULL;
    engine_template_t *t = engine_compile_ex(layout, NULL, NULL, &opts, &found, err, sizeof err);
    engine_template_free(t);
    json_decref(layout);
    if (found)
        *issues = library_issues(found, name);
    json_decref(found);
    return true;
}

/* The body of PUT: {"partial": blocks, "description"?}; *def and *description point into it.
 * NULL after answering. */
static json_t *read_body(http_req_t *req, const char *name, const json_t **def, const char **description)
{
    static const char *const allowed[] = {"partial", "description", NULL};
    json_t *issues, *body = api_body_keys(req, allowed, &issues);
    *description = NULL;
    if (!body)
        return NULL;
    if (!name_valid(name))
        api_issue_field(issues, "name",
                        "A partial's name is 1 to 64 letters (a-z, A-Z), digits, \"-\" and \"_\", starting "
                        "with a letter or digit");
    *def = json_object_get(body, "partial");
    if (!*def)
        api_issue_field(issues, "partial", "Required: a block or a list of blocks");
    if (!json_is_null(json_object_get(body, "description")))
        api_opt_string(body, "description", 0, PARTIAL_DESCRIPTION_MAX, description, issues);
    return api_reject_issues(req, issues) ? NULL : body;
}

/* PUT /v1/partials/:name: creates or replaces; 201 when new, 200 when replaced. */
static void put_partial(http_req_t *req)
{
    const char *name = http_param(req, "name"), *description;
    const json_t *def;
    if (!read_body(req, name, &def, &description))
        return;
    char *text = json_dumps(def, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    size_t bytes = text ? strlen(text) : 0;
    api_call_t c;
    json_t *issues = NULL;
    if (bytes > PARTIALS_BYTES_MAX) {
        char msg[200];
        snprintf(msg, sizeof msg, "A partial is at most %d bytes as compact JSON; this one is %zu",
                 PARTIALS_BYTES_MAX, bytes);
        http_error(req, 413, "partial_too_large", msg, NULL);
    } else if (!text) {
        http_error(req, 500, "internal_error", "Out of memory", NULL);
    } else if (api_call_db(req, &c) && check_partial(req, c.db, name, def, &issues)) {
        if (issues) {
            http_error(req, 400, "invalid_request", "The partial is not valid; see issues", issues);
            issues = NULL;
        } else {
            bool created = false;
            repo_status_t st = partials_put(c.db, req->auth.project_id, name, description, text, &c.out,
                                            &created, c.err, sizeof c.err);
            if (st == REPO_CONFLICT) {
                char msg[160];
                snprintf(msg, sizeof msg, "The library holds %d partials already: delete one first",
                         PARTIALS_PROJECT_MAX);
                http_error(req, 409, "partial_limit_reached", msg, NULL);
            } else {
                api_call_answer(req, &c, st, created ? 201 : 200, "partial_not_found", PARTIAL_NOT_FOUND_MSG);
            }
        }
    }
    json_decref(issues);
    free(text);
}

static void list_partials(http_req_t *req)
{
    api_call_t c;
    if (!api_call_page(req, 20, PARTIALS_PAGE_MAX, &c))
        return;
    repo_status_t st =
        partials_list(c.db, req->auth.project_id, c.cursor, c.limit, &c.out, c.err, sizeof c.err);
    api_call_list(req, &c, st, c.out);
}

/* GET and DELETE of one partial: a name that cannot be one is not found. */
static void one_partial(http_req_t *req, bool delete)
{
    const char *name = http_param(req, "name");
    api_call_t c;
    if (!name_valid(name)) {
        http_error(req, 404, "partial_not_found", PARTIAL_NOT_FOUND_MSG, NULL);
        return;
    }
    if (!api_call_db(req, &c))
        return;
    repo_status_t st = delete ? partials_delete(c.db, req->auth.project_id, name, &c.out, c.err, sizeof c.err)
                              : partials_get(c.db, req->auth.project_id, name, &c.out, c.err, sizeof c.err);
    json_t *users = NULL;
    if (st == REPO_OK && !delete) {
        st = partials_users(c.db, req->auth.project_id, name, &users, c.err, sizeof c.err);
        json_object_set_new(c.out, "usedBy", users);
    }
    api_call_answer(req, &c, st, 200, "partial_not_found", PARTIAL_NOT_FOUND_MSG);
}

static void get_partial(http_req_t *req)
{
    one_partial(req, false);
}

static void delete_partial(http_req_t *req)
{
    one_partial(req, true);
}

void api_partials_routes(void)
{
    router_add("PUT", "/v1/partials/:name", put_partial, AUTH_PROJECT);
    router_add("GET", "/v1/partials", list_partials, AUTH_PROJECT);
    router_add("GET", "/v1/partials/:name", get_partial, AUTH_PROJECT);
    router_add("DELETE", "/v1/partials/:name", delete_partial, AUTH_PROJECT);
}
