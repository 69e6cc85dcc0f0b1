#include "db/repo.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/errmsg.h"
#include "core/slug.h"
#include "core/uuid7.h"
#include "db/db.h"

repo_status_t repo_single(PGresult *r)
{
    if (!r)
        return REPO_ERROR;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return REPO_NOT_FOUND;
    }
    return REPO_OK;
}

repo_status_t repo_fill_one(PGresult *r, repo_row_fill_fn fill, void *out)
{
    repo_status_t st = repo_single(r);
    if (st != REPO_OK)
        return st;
    fill(r, 0, out);
    PQclear(r);
    return REPO_OK;
}

repo_status_t repo_json_one(PGresult *r, repo_row_json_fn row_json, json_t **out)
{
    repo_status_t st = repo_single(r);
    if (st != REPO_OK)
        return st;
    *out = row_json(r, 0);
    PQclear(r);
    return REPO_OK;
}

repo_status_t repo_json_by_id(db_t *db, const char *sql, const char *project_id, const char *id,
                              repo_row_json_fn row_json, json_t **out, char *err, size_t err_len)
{
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    const char *params[] = {project_id, id};
    return repo_json_one(db_exec(db, sql, 2, params, err, err_len), row_json, out);
}

/* An array of the JSON of r's first max rows. */
static json_t *rows_json(const PGresult *r, int max, repo_row_json_fn row_json)
{
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(r) && i < max; i++)
        json_array_append_new(list, row_json(r, i));
    return list;
}

repo_status_t repo_json_list(PGresult *r, repo_row_json_fn row_json, json_t **out)
{
    if (!r)
        return REPO_ERROR;
    *out = rows_json(r, PQntuples(r), row_json);
    PQclear(r);
    return REPO_OK;
}

json_t *repo_page_json(const char *key, json_t *list, const PGresult *r, int limit)
{
    bool more = PQntuples(r) > limit;
    json_t *next = more && limit > 0 ? json_string(db_get(r, limit - 1, "id")) : json_null();
    return json_pack("{s:o, s:o, s:b}", key, list, "nextCursor", next, "hasMore", more);
}

repo_status_t repo_json_page(PGresult *r, int limit, const char *key, repo_row_json_fn row_json, json_t **out)
{
    if (!r)
        return REPO_ERROR;
    *out = repo_page_json(key, rows_json(r, limit, row_json), r, limit);
    PQclear(r);
    return REPO_OK;
}

void *repo_page_fill(PGresult *r, int limit, size_t elem_size, repo_row_fill_fn fill, int *n, bool *has_more,
                     char *err, size_t err_len)
{
    *n = 0;
    *has_more = false;
    if (!r)
        return NULL;
    int got = PQntuples(r);
    char *rows = calloc(got > 0 ? (size_t)got : 1, elem_size);
    if (!rows) {
        PQclear(r);
        errmsg_fail(err, err_len, "out of memory");
        return NULL;
    }
    *has_more = got > limit;
    *n = got > limit ? limit : got;
    for (int i = 0; i < *n; i++)
        fill(r, i, rows + (size_t)i * elem_size);
    PQclear(r);
    return rows;
}

repo_status_t repo_inserted(PGresult *r, char created_at[32])
{
    if (!r)
        return REPO_ERROR;
    repo_status_t st = PQntuples(r) == 1 ? REPO_OK : REPO_CONFLICT;
    if (st == REPO_OK)
        db_copy_col(created_at, 32, r, 0, "created_at");
    PQclear(r);
    return st;
}

json_t *repo_deleted_json(const PGresult *r, int row)
{
    return json_pack("{s:s, s:s}", "id", db_get(r, row, "id"), "deletedAt", db_get(r, row, "deleted_at"));
}

void repo_slug_base(char *base, size_t base_len, const char *slug, const char *name, const char *fallback)
{
    if (slug)
        snprintf(base, base_len, "%s", slug);
    else
        slug_from_name(name, base, base_len);
    if (!base[0])
        snprintf(base, base_len, "%s", fallback);
}

void repo_slug_candidate(char *out, size_t out_len, const char *base, int attempt)
{
    if (attempt == 1)
        snprintf(out, out_len, "%s", base);
    else
        snprintf(out, out_len, "%.*s-%d", SLUG_MAX - 4, base, attempt);
}

int repo_expire_pick(db_t *db, const char *sql, int default_days, char *keys, size_t key_len, int max,
                     char *err, size_t err_len)
{
    char days[16], lim[16];
    snprintf(days, sizeof days, "%d", default_days);
    snprintf(lim, sizeof lim, "%d", max);
    const char *params[] = {days, lim};
    return db_copy_first_col(db_exec(db, sql, 2, params, err, err_len), keys, key_len, max);
}

int repo_lock_project(db_t *db, const char *scope, const char *project_id, char *err, size_t err_len)
{
    const char *params[] = {scope, project_id};
    return db_command(db, "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))", 2, params,
                      err, err_len) < 0
               ? -1
               : 0;
}
