#include "db/templates_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/errmsg.h"
#include "core/slug.h"
#include "core/uuid7.h"

#define SLUG_ATTEMPTS 50
#define TOKEN_LEN 32

/* The one template of r into out: REPO_OK, REPO_NOT_FOUND or REPO_ERROR (r NULL). Clears r. */
static repo_status_t fill_row(PGresult *r, tpl_row_t *out)
{
    repo_status_t st = repo_single(r);
    if (st != REPO_OK)
        return st;
    const char *cv = db_get(r, 0, "current_version");
    snprintf(out->id, sizeof out->id, "%s", db_get(r, 0, "id"));
    snprintf(out->slug, sizeof out->slug, "%s", db_get(r, 0, "slug"));
    out->current_version = cv ? atoi(cv) : 0;
    out->inbound_enforce = db_get(r, 0, "inbound_enforce")[0] == 't';
    snprintf(out->inbound_secret, sizeof out->inbound_secret, "%s", db_get(r, 0, "inbound_secret"));
    PQclear(r);
    return REPO_OK;
}

repo_status_t tpl_find(db_t *db, const char *project_id, const char *slug, tpl_row_t *out, char *err,
                       size_t err_len)
{
    const char *params[] = {project_id, slug};
    return fill_row(db_exec(db,
                            "SELECT id, slug, current_version, inbound_enforce, inbound_secret FROM templates"
                            " WHERE project_id = $1 AND slug = $2 AND deleted_at IS NULL",
                            2, params, err, err_len),
                    out);
}

repo_status_t tpl_find_by_token(db_t *db, const char *token, tpl_row_t *out, tpl_owner_t *owner, char *err,
                                size_t err_len)
{
    const char *params[] = {token};
    PGresult *r = db_exec(
        db,
        "SELECT t.id, t.slug, t.current_version, t.inbound_enforce, t.inbound_secret,"
        " t.project_id, p.rate_limit, p.rate_burst FROM templates t JOIN projects p ON p.id = t.project_id"
        " WHERE t.inbound_token = $1 AND t.deleted_at IS NULL AND p.deleted_at IS NULL",
        1, params, err, err_len);
    if (!r)
        return REPO_ERROR;
    if (PQntuples(r) == 1) {
        const char *rl = db_get(r, 0, "rate_limit"), *rb = db_get(r, 0, "rate_burst");
        snprintf(owner->project_id, sizeof owner->project_id, "%s", db_get(r, 0, "project_id"));
        owner->rate_limit = rl ? atof(rl) : 0;
        owner->rate_burst = rb ? atoi(rb) : 0;
    }
    return fill_row(r, out);
}

static repo_status_t insert_version(db_t *db, const char *template_id, int number, const tpl_version_in_t *v,
                                    char *err, size_t err_len)
{
    char id[UUID_STR_LEN + 1], num[16];
    uuid7_new_str(id);
    snprintf(num, sizeof num, "%d", number);
    const char *params[] = {id,
                            template_id,
                            num,
                            v->manifest,
                            v->layout,
                            v->page_config,
                            v->json_schema,
                            db_bool(v->publish),
                            v->filename};
    if (db_command(db,
                   "INSERT INTO template_versions (id, template_id, number, manifest, layout, page_config,"
                   " json_schema, published_at, filename) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                   " CASE WHEN $8::bool THEN now() END, $9)",
                   9, params, err, err_len) < 0)
        return REPO_ERROR;
    /* The exact asset bytes this version uses, so that re-uploads do not change it. */
    const char *pa[] = {id, v->asset_ids};
    if (v->asset_ids &&
        db_command(db,
                   "INSERT INTO template_version_assets (version_id, asset_id)"
                   " SELECT DISTINCT $1::uuid, x::uuid FROM json_array_elements_text($2::json) x",
                   2, pa, err, err_len) < 0)
        return REPO_ERROR;
    if (v->publish) {
        const char *p2[] = {template_id, num};
        if (db_command(db, "UPDATE templates SET current_version = $2, updated_at = now() WHERE id = $1", 2,
                       p2, err, err_len) < 0)
            return REPO_ERROR;
    } else {
        const char *p2[] = {template_id};
        if (db_command(db, "UPDATE templates SET updated_at = now() WHERE id = $1", 1, p2, err, err_len) < 0)
            return REPO_ERROR;
    }
    return REPO_OK;
}

repo_status_t tpl_create(db_t *db, const char *project_id, const char *name, const char *slug,
                         const char *description, const tpl_version_in_t *v, char *out_slug, char *err,
                         size_t err_len)
{
    char base[SLUG_MAX + 1], candidate[SLUG_MAX + 16];
    repo_slug_base(base, sizeof base, slug, name, "template");
    for (int attempt = 1; attempt <= SLUG_ATTEMPTS; attempt++) {
        char id[UUID_STR_LEN + 1], token[TOKEN_LEN + 1], secret[TOKEN_LEN + 8];
        char rnd[TOKEN_LEN + 1];
        repo_slug_candidate(candidate, sizeof candidate, base, attempt);
        uuid7_new_str(id);
        crypto_random_base62(token, TOKEN_LEN);
        crypto_random_base62(rnd, TOKEN_LEN);
        snprintf(secret, sizeof secret, "ihsec_%s", rnd);
        if (db_begin(db, err, err_len) != 0)
            return REPO_ERROR;
        const char *params[] = {id, project_id, candidate, name, description, token, secret};
        long rows =
            db_command(db,
                       "INSERT INTO templates (id, project_id, slug, name, description, inbound_token,"
                       " inbound_secret) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       7, params, err, err_len);
        if (rows < 0) {
            bool taken = db_is_unique_violation(db);
            db_rollback(db);
            if (!taken)
                return REPO_ERROR;
            if (slug)
                return REPO_CONFLICT;
            continue;
        }
        if (insert_version(db, id, 1, v, err, err_len) != REPO_OK || db_commit(db, err, err_len) != 0) {
            db_rollback(db);
            return REPO_ERROR;
        }
        size_t n = strnlen(candidate, 127); /* slugs are at most SLUG_MAX (120) chars */
        memcpy(out_slug, candidate, n);
        out_slug[n] = '\0';
        return REPO_OK;
    }
    errmsg_fail(err, err_len, "no free slug for \"%s\"", base);
    return REPO_CONFLICT;
}

repo_status_t tpl_add_version(db_t *db, const char *project_id, const char *slug, const tpl_version_in_t *v,
                              int *number, char *err, size_t err_len)
{
    if (db_begin(db, err, err_len) != 0)
        return REPO_ERROR;
    const char *params[] = {project_id, slug};
    PGresult *r = db_exec(db,
                          "SELECT t.id, coalesce(max(v.number), 0) + 1 AS next FROM templates t"
                          " LEFT JOIN template_versions v ON v.template_id = t.id"
                          " WHERE t.project_id = $1 AND t.slug = $2 AND t.deleted_at IS NULL"
                          " GROUP BY t.id",
                          2, params, err, err_len);
    repo_status_t st = repo_single(r);
    if (st != REPO_OK) {
        db_rollback(db);
        return st;
    }
    char id[37];
    snprintf(id, sizeof id, "%s", db_get(r, 0, "id"));
    PQclear(r);
    /* Lock the template row, then recount: concurrent publishers queue up here. */
    const char *p2[] = {id};
    r = db_exec(db,
                "SELECT (SELECT coalesce(max(number), 0) + 1 FROM template_versions WHERE template_id = $1)"
                " AS next FROM templates WHERE id = $1 FOR UPDATE",
                1, p2, err, err_len);
    if (!r)
        goto fail;
    *number = atoi(db_get(r, 0, "next"));
    PQclear(r);
    if (insert_version(db, id, *number, v, err, err_len) != REPO_OK || db_commit(db, err, err_len) != 0)
        goto fail;
    return REPO_OK;
fail:
    db_rollback(db);
    return REPO_ERROR;
}

static json_t *parse_json_text(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

static json_t *parse_text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A version's templateType, from its stored layout (the layout of a pdf-overlay version says so,
 * worker/overlay.h OVERLAY_TYPE; every other layout is a "layout"). V is the version's alias. */
#define TEMPLATE_TYPE_SQL(V)                                                                                 \
    "CASE WHEN " V ".layout->>'templateType' = 'pdf-overlay' THEN 'pdf-overlay' ELSE 'layout' END"

#define TEMPLATE_SELECT                                                                                      \
    "SELECT t.id, t.slug, t.name, t.description, t.current_version, t.inbound_token,"                        \
    " t.inbound_secret, t.inbound_enforce, " SQL_TS("t.created_at") " AS created_at, " SQL_TS(               \
        "t.updated_at") " AS updated_at, v.number, v.manifest, v.layout, v.page_config, v.filename,"         \
                        " v.json_schema, " TEMPLATE_TYPE_SQL(                                                \
                            "v") " AS template_type,"                                                        \
                                 " (SELECT max(number) FROM template_versions WHERE template_id = "          \
                                 "t.id)"                                                                     \
                                 " AS latest FROM templates t LEFT JOIN LATERAL (SELECT * FROM "             \
                                 "template_versions"                                                         \
                                 " WHERE template_id = t.id ORDER BY (number = t.current_version) DESC, "    \
                                 "number DESC "                                                              \
                                 "LIMIT 1) v ON true"

repo_status_t tpl_get_json(db_t *db, const char *project_id, const char *slug, json_t **out, char *err,
                           size_t err_len)
{
    const char *params[] = {project_id, slug};
    PGresult *r =
        db_exec(db, TEMPLATE_SELECT " WHERE t.project_id = $1 AND t.slug = $2 AND t.deleted_at IS NULL", 2,
                params, err, err_len);
    repo_status_t st = repo_single(r);
    if (st != REPO_OK)
        return st;
    const char *cv = db_get(r, 0, "current_version"), *desc = db_get(r, 0, "description");
    char url[1024];
    snprintf(url, sizeof url, "%s/v1/hooks/%s", config_get()->public_url, db_get(r, 0, "inbound_token"));
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o}", "id", db_get(r, 0, "id"),
                          "slug", db_get(r, 0, "slug"), "name", db_get(r, 0, "name"), "description",
                          desc ? json_string(desc) : json_null(), "currentVersionNumber",
                          cv ? json_integer(atoi(cv)) : json_null(), "published", cv != NULL, "manifest",
                          parse_json_text(db_get(r, 0, "manifest")), "jsonSchema",
                          parse_json_text(db_get(r, 0, "json_schema")), "layout",
                          parse_json_text(db_get(r, 0, "layout")), "pageConfig",
                          parse_json_text(db_get(r, 0, "page_config")), "inbound",
                          json_pack("{s:s, s:s, s:s, s:b}", "token", db_get(r, 0, "inbound_token"), "url",
                                    url, "secret", db_get(r, 0, "inbound_secret"), "enforceSignature",
                                    db_get(r, 0, "inbound_enforce")[0] == 't'));
    json_object_set_new(o, "templateType", json_string(db_get(r, 0, "template_type")));
    json_object_set_new(o, "filename", parse_text_or_null(db_get(r, 0, "filename")));
    json_object_set_new(o, "latestVersionNumber", json_integer(atoi(db_get(r, 0, "latest"))));
    json_object_set_new(o, "createdAt", json_string(db_get(r, 0, "created_at")));
    json_object_set_new(o, "updatedAt", json_string(db_get(r, 0, "updated_at")));
    PQclear(r);
    *out = o;
    return REPO_OK;
}

/* A template as the listing shows it (no version content). */
static json_t *summary_json(const PGresult *r, int row)
{
    const char *cv = db_get(r, row, "current_version"), *desc = db_get(r, row, "description");
    const char *type = db_get(r, row, "template_type");
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:b, s:s, s:s}", "id", db_get(r, row, "id"), "name",
                     db_get(r, row, "name"), "slug", db_get(r, row, "slug"), "description",
                     desc ? json_string(desc) : json_null(), "templateType", type ? type : "layout",
                     "currentVersionNumber", cv ? json_integer(atoi(cv)) : json_null(), "published",
                     cv != NULL, "createdAt", db_get(r, row, "created_at"), "updatedAt",
                     db_get(r, row, "updated_at"));
}

repo_status_t tpl_list_json(db_t *db, const char *project_id, const char *cursor, int limit, json_t **out,
                            char *err, size_t err_len)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *params[] = {project_id, cursor, lim};
    /* Keyset on (updated_at, id), newest-updated first; the cursor is the last template's id. */
    return repo_json_page(
        db_exec(
            db,
            "SELECT id, name, slug, description, current_version, (SELECT " TEMPLATE_TYPE_SQL(
                "v") " FROM template_versions v WHERE v.template_id = t.id ORDER BY (v.number = "
                     "t.current_version) DESC, v.number DESC LIMIT 1) AS template_type, " SQL_TS(
                         "created_at") " AS created_at, " SQL_TS("updated_at") " AS updated_at"
                                                                               " FROM templates t WHERE "
                                                                               "project_id = $1 AND "
                                                                               "deleted_at IS NULL"
                                                                               " AND ($2::uuid IS NULL OR "
                                                                               "(updated_at, id) < "
                                                                               "(SELECT updated_at, id "
                                                                               "FROM templates WHERE id = "
                                                                               "$2::uuid AND project_id = "
                                                                               "$1))"
                                                                               " ORDER BY updated_at DESC, "
                                                                               "id DESC LIMIT $3::int",
            3, params, err, err_len),
        limit, "templates", summary_json, out);
}

repo_status_t tpl_update(db_t *db, const char *project_id, const char *slug, const char *name,
                         const char *description, bool clear_description, int enforce, char *err,
                         size_t err_len)
{
    const char *params[] = {project_id,
                            slug,
                            name,
                            description,
                            db_bool(clear_description),
                            enforce < 0 ? NULL : db_bool(enforce)};
    long rows = db_command(db,
                           "UPDATE templates SET name = coalesce($3, name),"
                           " description = CASE WHEN $5::bool THEN NULL ELSE coalesce($4, description) END,"
                           " inbound_enforce = coalesce($6::bool, inbound_enforce), updated_at = now()"
                           " WHERE project_id = $1 AND slug = $2 AND deleted_at IS NULL",
                           6, params, err, err_len);
    return rows < 0 ? REPO_ERROR : rows == 0 ? REPO_NOT_FOUND : REPO_OK;
}

repo_status_t tpl_rotate_inbound(db_t *db, const char *project_id, const char *slug, bool new_token,
                                 char *err, size_t err_len)
{
    char token[TOKEN_LEN + 1], rnd[TOKEN_LEN + 1], secret[TOKEN_LEN + 8];
    crypto_random_base62(token, TOKEN_LEN);
    crypto_random_base62(rnd, TOKEN_LEN);
    snprintf(secret, sizeof secret, "ihsec_%s", rnd);
    const char *params[] = {project_id, slug, secret, new_token ? token : NULL};
    long rows =
        db_command(db,
                   "UPDATE templates SET inbound_secret = $3, inbound_token = coalesce($4, inbound_token),"
                   " updated_at = now() WHERE project_id = $1 AND slug = $2 AND deleted_at IS NULL",
                   4, params, err, err_len);
    return rows < 0 ? REPO_ERROR : rows == 0 ? REPO_NOT_FOUND : REPO_OK;
}

/* {id, slug, deletedAt} of a deleted template. */
static json_t *deleted_json(const PGresult *r, int row)
{
    return json_pack("{s:s, s:s, s:s}", "id", db_get(r, row, "id"), "slug", db_get(r, row, "slug"),
                     "deletedAt", db_get(r, row, "deleted_at"));
}

repo_status_t tpl_delete(db_t *db, const char *project_id, const char *slug, json_t **out, char *err,
                         size_t err_len)
{
    const char *params[] = {project_id, slug};
    return repo_json_one(
        db_exec(db,
                "UPDATE templates SET deleted_at = now() WHERE project_id = $1 AND slug = $2"
                " AND deleted_at IS NULL RETURNING id, slug, " SQL_TS("deleted_at") " AS deleted_at",
                2, params, err, err_len),
        deleted_json, out);
}

repo_status_t tpl_versions_json(db_t *db, const char *project_id, const char *slug, const char *cursor,
                                int limit, json_t **out, char *err, size_t err_len)
{
    tpl_row_t t;
    repo_status_t st = tpl_find(db, project_id, slug, &t, err, err_len);
    if (st != REPO_OK)
        return st;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *params[] = {t.id, cursor, lim};
    /* Newest first by number; the cursor is the last version's id. */
    PGresult *r = db_exec(db,
                          "SELECT id, number, " SQL_TS("created_at") " AS created_at, " SQL_TS(
                              "published_at") " AS published_at FROM template_versions WHERE template_id = "
                                              "$1 AND ($2::uuid IS NULL OR number < (SELECT number FROM "
                                              "template_versions WHERE id = $2::uuid AND template_id = $1))"
                                              " ORDER BY number DESC LIMIT $3::int",
                          3, params, err, err_len);
    if (!r)
        return REPO_ERROR;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(r) && i < limit; i++) {
        const char *pub = db_get(r, i, "published_at");
        int number = atoi(db_get(r, i, "number"));
        json_array_append_new(
            list, json_pack("{s:s, s:i, s:b, s:b, s:s, s:o}", "id", db_get(r, i, "id"), "number", number,
                            "published", pub != NULL, "current", number == t.current_version, "createdAt",
                            db_get(r, i, "created_at"), "publishedAt", pub ? json_string(pub) : json_null()));
    }
    *out = repo_page_json("versions", list, r, limit);
    PQclear(r);
    return REPO_OK;
}

/* The brand assets a version pinned when it was saved: [{id, name, kind, sha256}] by name. */
#define VERSION_ASSETS_SQL                                                                                   \
    "(SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, 'kind', a.kind, 'sha256',"      \
    " a.sha256) ORDER BY a.name), '[]') FROM template_version_assets p JOIN assets a ON a.id = p.asset_id"   \
    " WHERE p.version_id = v.id)::text AS assets"

repo_status_t tpl_version_json(db_t *db, const char *project_id, const char *slug, int number, json_t **out,
                               char *version_id, bool *published, char *err, size_t err_len)
{
    tpl_row_t t;
    repo_status_t st = tpl_find(db, project_id, slug, &t, err, err_len);
    if (st != REPO_OK)
        return st;
    if (number == 0) {
        if (!t.current_version)
            return REPO_CONFLICT;
        number = t.current_version;
    }
    char num[16];
    snprintf(num, sizeof num, "%d", number);
    const char *params[] = {t.id, num};
    PGresult *r =
        db_exec(db,
                "SELECT id, number, manifest, layout, page_config, json_schema, "
                "filename, " TEMPLATE_TYPE_SQL("v") " AS template_type, " SQL_TS(
                    "created_at") " AS created_at, " SQL_TS("published_at") " AS "
                                                                            "published_at,"
                                                                            " " VERSION_ASSETS_SQL
                                                                            " FROM template_versions v"
                                                                            " WHERE template_id = $1 "
                                                                            "AND number = $2",
                2, params, err, err_len);
    st = repo_single(r);
    if (st != REPO_OK)
        return st;
    const char *pub = db_get(r, 0, "published_at");
    if (version_id)
        snprintf(version_id, 37, "%s", db_get(r, 0, "id"));
    if (published)
        *published = pub != NULL;
    if (out) {
        *out = json_pack("{s:s, s:s, s:i, s:b, s:o, s:o, s:o, s:o, s:s, s:o}", "id", db_get(r, 0, "id"),
                         "templateId", t.id, "number", number, "published", pub != NULL, "manifest",
                         parse_json_text(db_get(r, 0, "manifest")), "layout",
                         parse_json_text(db_get(r, 0, "layout")), "pageConfig",
                         parse_json_text(db_get(r, 0, "page_config")), "jsonSchema",
                         parse_json_text(db_get(r, 0, "json_schema")), "createdAt",
                         db_get(r, 0, "created_at"), "publishedAt", pub ? json_string(pub) : json_null());
        json_object_set_new(*out, "templateType", json_string(db_get(r, 0, "template_type")));
        json_object_set_new(*out, "filename", parse_text_or_null(db_get(r, 0, "filename")));
        json_object_set_new(*out, "assets", parse_json_text(db_get(r, 0, "assets")));
    }
    PQclear(r);
    return REPO_OK;
}

repo_status_t tpl_resolve(db_t *db, const char *project_id, const char *slug, int *number, tpl_row_t *out,
                          char *version_id, bool *published, char *err, size_t err_len)
{
    char num[16];
    snprintf(num, sizeof num, "%d", *number);
    const char *params[] = {project_id, slug, *number ? num : NULL};
    PGresult *r = db_exec(db,
                          "SELECT t.id, t.slug, t.current_version, t.inbound_enforce, t.inbound_secret,"
                          " v.id AS version_id, v.number, v.published_at IS NOT NULL AS published"
                          " FROM templates t LEFT JOIN template_versions v ON v.template_id = t.id"
                          "  AND v.number = coalesce($3::int, t.current_version)"
                          " WHERE t.project_id = $1 AND t.slug = $2 AND t.deleted_at IS NULL",
                          3, params, err, err_len);
    if (!r)
        return REPO_ERROR;
    version_id[0] = '\0';
    *published = false;
    if (PQntuples(r) == 1 && db_get(r, 0, "version_id")) {
        snprintf(version_id, 37, "%s", db_get(r, 0, "version_id"));
        *number = atoi(db_get(r, 0, "number"));
        *published = db_get(r, 0, "published")[0] == 't';
    }
    return fill_row(r, out);
}
