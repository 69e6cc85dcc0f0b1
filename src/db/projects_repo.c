#include "db/projects_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apikey.h"
#include "core/errmsg.h"
#include "core/slug.h"
#include "core/uuid7.h"

#define PROJECT_COLUMNS                                                                                      \
    "id, slug, name, rate_limit, rate_burst, retention_days, " SQL_TS(                                       \
        "created_at") " AS created_at, " SQL_TS("updated_at") " AS updated_at"
#define KEY_COLUMNS                                                                                          \
    "id, project_id, name, prefix, environment, " SQL_TS("created_at") " AS created_at, " SQL_TS(            \
        "revoked_at") " AS revoked_at"
/* The order of the admin listings, and how many they show. */
#define NEWEST_FIRST " ORDER BY created_at DESC, id DESC LIMIT 1000"
#define SLUG_ATTEMPTS 50
/* Every change that can make a cached key lookup wrong tells every instance (auth/keycache.h). */
#define AUTH_CHANGED(id) "pg_notify('" PROJECTS_AUTH_CHANNEL "', " id "::text) AS auth_changed"
/* The statement that runs change (an UPDATE … RETURNING id, …) and tells every instance. */
#define NOTIFYING(change) "WITH u AS (" change ") SELECT u.*, " AUTH_CHANGED("u.id") " FROM u"

static void (*auth_changed_hook)(void);

void projects_on_auth_changed(void (*fn)(void))
{
    auth_changed_hook = fn;
}

static void auth_changed(void)
{
    if (auth_changed_hook)
        auth_changed_hook();
}

static json_t *project_json(const PGresult *r, int row)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", db_get(r, row, "id"), "slug",
                          db_get(r, row, "slug"), "name", db_get(r, row, "name"), "createdAt",
                          db_get(r, row, "created_at"), "updatedAt", db_get(r, row, "updated_at"));
    const char *rl = db_get(r, row, "rate_limit"), *rb = db_get(r, row, "rate_burst");
    json_object_set_new(o, "rateLimit", rl ? json_real(atof(rl)) : json_null());
    json_object_set_new(o, "rateBurst", rb ? json_integer(atoi(rb)) : json_null());
    const char *days = db_get(r, row, "retention_days");
    json_object_set_new(o, "retentionDays", days ? json_integer(atoi(days)) : json_null());
    return o;
}

/* Runs a NOTIFYING statement and answers its one row as JSON; this instance's key cache is flushed
 * at once (the others when the NOTIFY arrives). */
static repo_status_t change_auth(db_t *db, const char *sql, int n, const char *const *params,
                                 repo_row_json_fn row_json, json_t **out, char *err, size_t err_len)
{
    PGresult *r = db_exec(db, sql, n, params, err, err_len);
    if (r)
        auth_changed();
    return repo_json_one(r, row_json, out);
}

static json_t *key_json(const PGresult *r, int row)
{
    const char *revoked = db_get(r, row, "revoked_at");
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id", db_get(r, row, "id"), "projectId",
                     db_get(r, row, "project_id"), "name", db_get(r, row, "name"), "prefix",
                     db_get(r, row, "prefix"), "environment", db_get(r, row, "environment"), "createdAt",
                     db_get(r, row, "created_at"), "revokedAt", revoked ? json_string(revoked) : json_null());
}

/* {id, revokedAt} of a revoked key. */
static json_t *revoked_json(const PGresult *r, int row)
{
    return json_pack("{s:s, s:s}", "id", db_get(r, row, "id"), "revokedAt", db_get(r, row, "revoked_at"));
}

repo_status_t projects_create(db_t *db, const char *name, const char *slug, json_t **out, char *err,
                              size_t err_len)
{
    char base[SLUG_MAX + 1], candidate[SLUG_MAX + 16], id[UUID_STR_LEN + 1];
    repo_slug_base(base, sizeof base, slug, name, "project");
    for (int attempt = 1; attempt <= SLUG_ATTEMPTS; attempt++) {
        repo_slug_candidate(candidate, sizeof candidate, base, attempt);
        uuid7_new_str(id);
        const char *params[] = {id, candidate, name};
        PGresult *r = db_exec(db,
                              "INSERT INTO projects (id, slug, name) VALUES ($1, $2, $3)"
                              " RETURNING " PROJECT_COLUMNS,
                              3, params, err, err_len);
        if (r) {
            *out = project_json(r, 0);
            PQclear(r);
            return REPO_OK;
        }
        if (!db_is_unique_violation(db))
            return REPO_ERROR;
        if (slug)
            return REPO_CONFLICT;
    }
    errmsg_fail(err, err_len, "no free slug for \"%s\"", base);
    return REPO_CONFLICT;
}

repo_status_t projects_get(db_t *db, const char *id, json_t **out, char *err, size_t err_len)
{
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    const char *params[] = {id};
    return repo_json_one(
        db_exec(db, "SELECT " PROJECT_COLUMNS " FROM projects WHERE id = $1 AND deleted_at IS NULL", 1,
                params, err, err_len),
        project_json, out);
}

repo_status_t projects_list(db_t *db, json_t **out, char *err, size_t err_len)
{
    return repo_json_list(
        db_exec(db, "SELECT " PROJECT_COLUMNS " FROM projects WHERE deleted_at IS NULL" NEWEST_FIRST, 0, NULL,
                err, err_len),
        project_json, out);
}

repo_status_t projects_update(db_t *db, const char *id, const project_update_t *u, json_t **out, char *err,
                              size_t err_len)
{
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    char rl[32] = "", rb[16] = "", days[16] = "";
    if (u->rate_limit > 0)
        snprintf(rl, sizeof rl, "%.17g", u->rate_limit);
    if (u->rate_burst > 0)
        snprintf(rb, sizeof rb, "%d", u->rate_burst);
    if (u->retention_days >= 0)
        snprintf(days, sizeof days, "%d", u->retention_days);
    const char *params[] = {id, u->name, rl[0] ? rl : NULL, rb[0] ? rb : NULL, days[0] ? days : NULL};
    PGresult *r = db_exec(db,
                          NOTIFYING("UPDATE projects SET name = coalesce($2, name),"
                                    " rate_limit = coalesce($3::float8, rate_limit),"
                                    " rate_burst = coalesce($4::int, rate_burst),"
                                    " retention_days = CASE WHEN $5::int IS NULL THEN retention_days"
                                    " ELSE nullif($5::int, 0) END, updated_at = now()"
                                    " WHERE id = $1 AND deleted_at IS NULL RETURNING " PROJECT_COLUMNS),
                          5, params, err, err_len);
    auth_changed(); /* this instance at once; the others when the NOTIFY arrives */
    return repo_json_one(r, project_json, out);
}

repo_status_t projects_delete(db_t *db, const char *id, json_t **out, char *err, size_t err_len)
{
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    const char *params[] = {id};
    return change_auth(db,
                       NOTIFYING("UPDATE projects SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL"
                                 " RETURNING id, " SQL_TS("deleted_at") " AS deleted_at"),
                       1, params, repo_deleted_json, out, err, err_len);
}

repo_status_t keys_create(db_t *db, const char *project_id, const char *name, const char *environment,
                          json_t **out, char *err, size_t err_len)
{
    if (!uuid_valid(project_id))
        return REPO_NOT_FOUND;
    char key[APIKEY_MAX + 1], hash[65], prefix[APIKEY_PREFIX_LEN + 1], id[UUID_STR_LEN + 1];
    if (apikey_generate(environment, key) != 0 || uuid7_new_str(id) != 0) {
        errmsg_fail(err, err_len, "the random generator failed");
        return REPO_ERROR;
    }
    apikey_hash(key, hash);
    apikey_prefix(key, prefix);
    const char *params[] = {id, project_id, name ? name : "", prefix, hash, environment};
    PGresult *r = db_exec(db,
                          "INSERT INTO api_keys (id, project_id, name, prefix, hash, environment)"
                          " SELECT $1, p.id, $3, $4, $5, $6 FROM projects p"
                          " WHERE p.id = $2 AND p.deleted_at IS NULL RETURNING " KEY_COLUMNS,
                          6, params, err, err_len);
    if (!r)
        return REPO_ERROR;
    repo_status_t st = PQntuples(r) ? REPO_OK : REPO_NOT_FOUND;
    if (st == REPO_OK) {
        *out = key_json(r, 0);
        json_object_del(*out, "revokedAt");
        json_object_set_new(*out, "key", json_string(key));
    }
    PQclear(r);
    return st;
}

repo_status_t keys_list(db_t *db, const char *project_id, json_t **out, char *err, size_t err_len)
{
    json_t *project = NULL;
    repo_status_t st = projects_get(db, project_id, &project, err, err_len);
    if (st != REPO_OK)
        return st;
    json_decref(project);
    const char *params[] = {project_id};
    return repo_json_list(db_exec(db,
                                  "SELECT " KEY_COLUMNS " FROM api_keys WHERE project_id = $1" NEWEST_FIRST,
                                  1, params, err, err_len),
                          key_json, out);
}

repo_status_t keys_revoke(db_t *db, const char *project_id, const char *key_id, json_t **out, char *err,
                          size_t err_len)
{
    if (!uuid_valid(key_id) || (project_id && !uuid_valid(project_id)))
        return REPO_NOT_FOUND;
    const char *params[] = {key_id, project_id};
    return change_auth(db,
                       NOTIFYING("UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
                                 " WHERE id = $1 AND ($2::uuid IS NULL OR project_id = $2::uuid)"
                                 " RETURNING id, " SQL_TS("revoked_at") " AS revoked_at"),
                       2, params, revoked_json, out, err, err_len);
}
