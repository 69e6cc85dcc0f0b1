#include "db/assets_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "core/uuid7.h"

#define ASSET_COLUMNS                                                                                        \
    "id, name, kind, media_type, bytes, sha256, meta::text AS meta, storage_key, " SQL_TS(                   \
        "created_at") " AS created_at"
#define ASSET_CURRENT "deleted_at IS NULL AND replaced_at IS NULL AND state = 'ready'"

static json_t *asset_json(const PGresult *r, int row)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "id", db_get(r, row, "id"), "name",
                          db_get(r, row, "name"), "kind", db_get(r, row, "kind"), "mediaType",
                          db_get(r, row, "media_type"), "bytes",
                          (json_int_t)strtoll(db_get(r, row, "bytes"), NULL, 10), "sha256",
                          db_get(r, row, "sha256"), "createdAt", db_get(r, row, "created_at"));
    json_t *meta = json_loads(db_get(r, row, "meta"), 0, NULL);
    if (o && meta)
        json_object_set(o, db_get(r, row, "kind"), meta);
    json_decref(meta);
    return o;
}

/* The one asset of r into *out (and its storage key into key, unless NULL). */
static repo_status_t one_asset(PGresult *r, json_t **out, char key[ASSETS_KEY_MAX])
{
    repo_status_t st = repo_single(r);
    if (st != REPO_OK)
        return st;
    *out = asset_json(r, 0);
    if (key)
        snprintf(key, ASSETS_KEY_MAX, "%s", db_get(r, 0, "storage_key"));
    PQclear(r);
    return REPO_OK;
}

repo_status_t assets_find_same(db_t *db, const char *project_id, const char *name, const char *sha256,
                               json_t **out, char *err, size_t err_len)
{
    const char *params[] = {project_id, name, sha256};
    return one_asset(db_exec(db,
                             "SELECT " ASSET_COLUMNS
                             " FROM assets WHERE project_id = $1 AND name = $2 AND sha256 = $3"
                             " AND " ASSET_CURRENT,
                             3, params, err, err_len),
                     out, NULL);
}

assets_reserve_t assets_reserve(db_t *db, const char *project_id, const asset_new_t *a, int max_count,
                                size_t max_total, char id[37], char key[ASSETS_KEY_MAX], char *err,
                                size_t err_len)
{
    if (db_begin(db, err, err_len) != 0)
        return ASSETS_RESERVE_ERROR;
    assets_reserve_t rc = ASSETS_RESERVE_ERROR;
    char *meta = NULL;
    if (repo_lock_project(db, "assets", project_id, err, err_len) != 0)
        goto fail;
    const char *qp[] = {project_id, a->name};
    PGresult *r =
        db_exec(db,
                "SELECT count(*) AS n, coalesce(sum(bytes), 0) AS total FROM assets WHERE project_id = $1"
                " AND name <> $2 AND deleted_at IS NULL AND replaced_at IS NULL AND state <> 'gone'",
                2, qp, err, err_len);
    if (!r)
        goto fail;
    long long n = strtoll(db_get(r, 0, "n"), NULL, 10), total = strtoll(db_get(r, 0, "total"), NULL, 10);
    PQclear(r);
    if (n + 1 > max_count) {
        rc = ASSETS_OVER_COUNT;
        goto fail;
    }
    if ((unsigned long long)total + a->bytes > max_total) {
        rc = ASSETS_OVER_BYTES;
        goto fail;
    }
    uuid7_new_str(id);
    snprintf(key, ASSETS_KEY_MAX, "assets/%s/%s", project_id, id);
    meta = json_dumps(a->meta, JSON_COMPACT);
    char bytes[32];
    snprintf(bytes, sizeof bytes, "%zu", a->bytes);
    const char *ip[] = {id, project_id, a->name, a->kind, a->media_type, bytes, a->sha256, key, meta};
    if (!meta ||
        db_command(db,
                   "INSERT INTO assets (id, project_id, name, kind, media_type, bytes, sha256, storage_key,"
                   " meta) VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, $8, $9::json)",
                   9, ip, err, err_len) != 1)
        goto fail;
    free(meta);
    return db_commit(db, err, err_len) == 0 ? ASSETS_RESERVED : ASSETS_RESERVE_ERROR;
fail:
    free(meta);
    db_rollback(db);
    return rc;
}

repo_status_t assets_commit(db_t *db, const char *project_id, const char *id, json_t **out, char *err,
                            size_t err_len)
{
    if (db_begin(db, err, err_len) != 0)
        return REPO_ERROR;
    const char *params[] = {project_id, id};
    PGresult *r = NULL;
    if (repo_lock_project(db, "assets", project_id, err, err_len) != 0 ||
        db_command(
            db,
            "UPDATE assets SET replaced_at = now() WHERE project_id = $1 AND id <> $2 AND " ASSET_CURRENT
            " AND name = (SELECT name FROM assets WHERE id = $2)",
            2, params, err, err_len) < 0 ||
        !(r = db_exec(
              db,
              "UPDATE assets SET state = 'ready' WHERE project_id = $1 AND id = $2 AND state = 'pending'"
              " RETURNING " ASSET_COLUMNS,
              2, params, err, err_len))) {
        db_rollback(db);
        return REPO_ERROR;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        db_rollback(db);
        return REPO_NOT_FOUND;
    }
    repo_status_t st = one_asset(r, out, NULL);
    if (db_commit(db, err, err_len) != 0) {
        json_decref(*out);
        *out = NULL;
        return REPO_ERROR;
    }
    return st;
}

int assets_abandon(db_t *db, const char *id, char *err, size_t err_len)
{
    const char *params[] = {id};
    return db_command(db, "DELETE FROM assets WHERE id = $1 AND state = 'pending'", 1, params, err, err_len) <
                   0
               ? -1
               : 0;
}

repo_status_t assets_list(db_t *db, const char *project_id, const char *cursor, int limit, json_t **out,
                          char *err, size_t err_len)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *params[] = {project_id, cursor, lim};
    return repo_json_page(db_exec(db,
                                  "SELECT " ASSET_COLUMNS
                                  " FROM assets WHERE project_id = $1 AND " ASSET_CURRENT
                                  " AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3::int",
                                  3, params, err, err_len),
                          limit, "assets", asset_json, out);
}

repo_status_t assets_get(db_t *db, const char *project_id, const char *id, json_t **out,
                         char key[ASSETS_KEY_MAX], char *err, size_t err_len)
{
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    const char *params[] = {project_id, id};
    return one_asset(db_exec(db,
                             "SELECT " ASSET_COLUMNS
                             " FROM assets WHERE project_id = $1 AND id = $2 AND " ASSET_CURRENT,
                             2, params, err, err_len),
                     out, key);
}

/* {template, version} of a published version that pins an asset. */
static json_t *user_json(const PGresult *r, int row)
{
    return json_pack("{s:s, s:I}", "template", db_get(r, row, "slug"), "version",
                     (json_int_t)atoi(db_get(r, row, "number")));
}

repo_status_t assets_users(db_t *db, const char *id, json_t **out, char *err, size_t err_len)
{
    const char *params[] = {id};
    return repo_json_list(
        db_exec(db,
                "SELECT t.slug, v.number FROM template_version_assets tva"
                " JOIN template_versions v ON v.id = tva.version_id JOIN templates t ON t.id = v.template_id"
                " WHERE tva.asset_id = $1 AND v.published_at IS NOT NULL AND t.deleted_at IS NULL"
                " ORDER BY t.slug, v.number LIMIT 20",
                1, params, err, err_len),
        user_json, out);
}

repo_status_t assets_delete(db_t *db, const char *project_id, const char *id, json_t **out, char *err,
                            size_t err_len)
{
    return repo_json_by_id(
        db,
        "UPDATE assets SET deleted_at = now() WHERE project_id = $1 AND id = $2 AND " ASSET_CURRENT
        " RETURNING id, " SQL_TS("deleted_at") " AS deleted_at",
        project_id, id, repo_deleted_json, out, err, err_len);
}

int assets_collect(db_t *db, const char *project_id, char (*ids)[37], char (*keys)[ASSETS_KEY_MAX], int max,
                   char *err, size_t err_len)
{
    char lim[16], minutes[16];
    snprintf(lim, sizeof lim, "%d", max);
    snprintf(minutes, sizeof minutes, "%d", ASSETS_PENDING_MINUTES);
    const char *params[] = {project_id, lim, minutes};
    PGresult *r =
        db_exec(db,
                "SELECT id, storage_key FROM assets a WHERE project_id = $1 AND state <> 'gone' AND ("
                " (state = 'pending' AND created_at < now() - $3::int * interval '1 minute')"
                " OR (state = 'ready' AND deleted_at IS NOT NULL)"
                " OR (state = 'ready' AND replaced_at < now() - $3::int * interval '1 minute'"
                "     AND NOT EXISTS (SELECT 1 FROM template_version_assets t WHERE t.asset_id = a.id)))"
                " LIMIT $2::int",
                3, params, err, err_len);
    if (!r)
        return -1;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], 37, "%s", db_get(r, i, "id"));
        snprintf(keys[i], ASSETS_KEY_MAX, "%s", db_get(r, i, "storage_key"));
    }
    PQclear(r);
    return n;
}

int assets_collected(db_t *db, const char *id, char *err, size_t err_len)
{
    const char *params[] = {id};
    if (db_command(db, "DELETE FROM assets WHERE id = $1 AND state = 'pending'", 1, params, err, err_len) <
            0 ||
        db_command(db, "UPDATE assets SET state = 'gone' WHERE id = $1 AND state = 'ready'", 1, params, err,
                   err_len) < 0)
        return -1;
    return 0;
}

int assets_for_render(db_t *db, const char *project_id, const char *version_id, asset_file_t **out, char *err,
                      size_t err_len)
{
    *out = NULL;
    const char *params[] = {project_id, version_id && *version_id ? version_id : NULL};
    PGresult *r =
        db_exec(db,
                "SELECT DISTINCT ON (a.name) a.id, a.name, a.kind, a.sha256, a.storage_key, a.bytes,"
                " a.meta->>'family' AS family FROM assets a"
                " LEFT JOIN template_version_assets p ON p.asset_id = a.id AND p.version_id = $2::uuid"
                " WHERE a.project_id = $1 AND a.state = 'ready' AND a.deleted_at IS NULL"
                " AND (a.replaced_at IS NULL OR p.version_id IS NOT NULL)"
                " AND (a.kind <> 'font' OR $2::uuid IS NULL OR p.version_id IS NOT NULL)"
                " ORDER BY a.name, (p.version_id IS NULL), a.id DESC",
                2, params, err, err_len);
    if (!r)
        return -1;
    int n = PQntuples(r);
    asset_file_t *v = n ? calloc((size_t)n, sizeof *v) : NULL;
    if (n && !v) {
        PQclear(r);
        return errmsg_fail(err, err_len, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        snprintf(v[i].id, sizeof v[i].id, "%s", db_get(r, i, "id"));
        snprintf(v[i].name, sizeof v[i].name, "%s", db_get(r, i, "name"));
        snprintf(v[i].kind, sizeof v[i].kind, "%s", db_get(r, i, "kind"));
        snprintf(v[i].sha256, sizeof v[i].sha256, "%s", db_get(r, i, "sha256"));
        snprintf(v[i].key, sizeof v[i].key, "%s", db_get(r, i, "storage_key"));
        v[i].bytes = strtoll(db_get(r, i, "bytes"), NULL, 10);
        const char *family = db_get(r, i, "family");
        snprintf(v[i].family, sizeof v[i].family, "%s", family ? family : "");
    }
    PQclear(r);
    *out = v;
    return n;
}

/* The asset id of a row, null where none matched. */
static json_t *id_or_null(const PGresult *r, int row)
{
    const char *id = db_get(r, row, "id");
    return id ? json_string(id) : json_null();
}

repo_status_t assets_resolve_images(db_t *db, const char *project_id, const json_t *refs, json_t **ids,
                                    char *err, size_t err_len)
{
    char *list = json_dumps(refs, JSON_COMPACT);
    if (!list) {
        errmsg_fail(err, err_len, "out of memory");
        return REPO_ERROR;
    }
    const char *params[] = {project_id, list};
    PGresult *r = db_exec(db,
                          "SELECT (SELECT a.id FROM assets a WHERE a.project_id = $1 AND a.kind = 'image'"
                          "   AND " ASSET_CURRENT " AND (a.name = ref OR a.id::text = ref)"
                          "   ORDER BY (a.name = ref) DESC LIMIT 1) AS id"
                          " FROM json_array_elements_text($2::json) WITH ORDINALITY AS e(ref, n) ORDER BY n",
                          2, params, err, err_len);
    free(list);
    return repo_json_list(r, id_or_null, ids);
}

/* {id, family} of a font asset. */
static json_t *font_json(const PGresult *r, int row)
{
    const char *family = db_get(r, row, "family");
    return json_pack("{s:s, s:s}", "id", db_get(r, row, "id"), "family", family ? family : "");
}

repo_status_t assets_fonts(db_t *db, const char *project_id, json_t **out, char *err, size_t err_len)
{
    const char *params[] = {project_id};
    return repo_json_list(db_exec(db,
                                  "SELECT id, meta->>'family' AS family FROM assets WHERE project_id = $1"
                                  " AND kind = 'font' AND " ASSET_CURRENT " ORDER BY id DESC",
                                  1, params, err, err_len),
                          font_json, out);
}
