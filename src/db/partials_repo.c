#include "db/partials_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "core/uuid7.h"

#define PARTIAL_COLUMNS                                                                                      \
    "id, name, description, " SQL_TS("created_at") " AS created_at, " SQL_TS("updated_at") " AS updated_at"

/* {id, name, description, createdAt, updatedAt} and, when the row has it, "partial". */
static json_t *partial_json(const PGresult *r, int row)
{
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:s}", "id", db_get(r, row, "id"), "name",
                          db_get(r, row, "name"), "description", db_get(r, row, "description"), "createdAt",
                          db_get(r, row, "created_at"), "updatedAt", db_get(r, row, "updated_at"));
    int col = PQfnumber(r, "partial");
    if (o && col >= 0)
        json_object_set_new(o, "partial", json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL));
    return o;
}

repo_status_t partials_put(db_t *db, const char *project_id, const char *name, const char *description,
                           const char *partial, json_t **out, bool *created, char *err, size_t err_len)
{
    char id[37], max[16];
    if (uuid7_new_str(id) != 0) {
        errmsg_fail(err, err_len, "cannot make an id");
        return REPO_ERROR;
    }
    snprintf(max, sizeof max, "%d", PARTIALS_PROJECT_MAX);
    if (db_begin(db, err, err_len) != 0)
        return REPO_ERROR;
    repo_status_t rc = REPO_ERROR;
    PGresult *r = NULL;
    /* the count below must see every committed partial: one statement's snapshot predates any
     * lock it takes, so the lock comes first, in the same transaction */
    if (repo_lock_project(db, "partials", project_id, err, err_len) != 0)
        goto fail;
    const char *params[] = {id, project_id, name, description, partial, max};
    r = db_exec(db,
                "INSERT INTO partials (id, project_id, name, description, partial)"
                " SELECT $1, $2, $3, $4, $5::json WHERE EXISTS (SELECT 1 FROM partials WHERE "
                "project_id = $2 AND name = $3)"
                "  OR (SELECT count(*) FROM partials WHERE project_id = $2) < $6::int"
                " ON CONFLICT (project_id, name) DO UPDATE SET description = EXCLUDED.description,"
                "  partial = EXCLUDED.partial, updated_at = now()"
                " RETURNING " PARTIAL_COLUMNS ", partial::text AS partial, (xmax = 0) AS inserted",
                6, params, err, err_len);
    if (!r)
        goto fail;
    if (PQntuples(r) != 1) {
        rc = REPO_CONFLICT;
        goto fail;
    }
    if (db_commit(db, err, err_len) != 0) {
        PQclear(r);
        return REPO_ERROR;
    }
    *created = !strcmp(db_get(r, 0, "inserted"), "t");
    *out = partial_json(r, 0);
    PQclear(r);
    return REPO_OK;
fail:
    PQclear(r);
    db_rollback(db);
    return rc;
}

repo_status_t partials_list(db_t *db, const char *project_id, const char *cursor, int limit, json_t **out,
                            char *err, size_t err_len)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *params[] = {project_id, cursor, lim};
    return repo_json_page(db_exec(db,
                                  "SELECT " PARTIAL_COLUMNS " FROM partials WHERE project_id = $1"
                                  " AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3::int",
                                  3, params, err, err_len),
                          limit, "partials", partial_json, out);
}

repo_status_t partials_get(db_t *db, const char *project_id, const char *name, json_t **out, char *err,
                           size_t err_len)
{
    const char *params[] = {project_id, name};
    return repo_json_one(db_exec(db,
                                 "SELECT " PARTIAL_COLUMNS ", partial::text AS partial FROM partials"
                                 " WHERE project_id = $1 AND name = $2",
                                 2, params, err, err_len),
                         partial_json, out);
}

/* {template, version} of a current version that carries a copy. */
static json_t *user_json(const PGresult *r, int row)
{
    return json_pack("{s:s, s:I}", "template", db_get(r, row, "slug"), "version",
                     (json_int_t)atoi(db_get(r, row, "number")));
}

repo_status_t partials_users(db_t *db, const char *project_id, const char *name, json_t **out, char *err,
                             size_t err_len)
{
    const char *params[] = {project_id, name};
    return repo_json_list(db_exec(db,
                                  "SELECT t.slug, v.number FROM templates t JOIN template_versions v"
                                  " ON v.template_id = t.id AND v.number = t.current_version"
                                  " WHERE t.project_id = $1 AND t.deleted_at IS NULL"
                                  " AND (v.layout::jsonb -> 'libraryPartials') ? $2"
                                  " ORDER BY t.slug LIMIT 20",
                                  2, params, err, err_len),
                          user_json, out);
}

static json_t *deleted_json(const PGresult *r, int row)
{
    json_t *o = repo_deleted_json(r, row);
    if (o)
        json_object_set_new(o, "name", json_string(db_get(r, row, "name")));
    return o;
}

repo_status_t partials_delete(db_t *db, const char *project_id, const char *name, json_t **out, char *err,
                              size_t err_len)
{
    const char *params[] = {project_id, name};
    return repo_json_one(db_exec(db,
                                 "DELETE FROM partials WHERE project_id = $1 AND name = $2"
                                 " RETURNING id, name, " SQL_TS("now()") " AS deleted_at",
                                 2, params, err, err_len),
                         deleted_json, out);
}

repo_status_t partials_fetch(db_t *db, const char *project_id, const json_t *names, json_t **found, char *err,
                             size_t err_len)
{
    char *list = json_dumps(names, JSON_COMPACT);
    if (!list) {
        errmsg_fail(err, err_len, "out of memory");
        return REPO_ERROR;
    }
    const char *params[] = {project_id, list};
    PGresult *r = db_exec(db,
                          "SELECT name, partial::text AS partial FROM partials WHERE project_id = $1"
                          " AND name IN (SELECT json_array_elements_text($2::json))",
                          2, params, err, err_len);
    free(list);
    if (!r)
        return REPO_ERROR;
    *found = json_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(*found, db_get(r, i, "name"),
                            json_loads(db_get(r, i, "partial"), JSON_DECODE_ANY, NULL));
    PQclear(r);
    return REPO_OK;
}
