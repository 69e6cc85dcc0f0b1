/*
 * templates_repo — templates and their immutable versions in Postgres.
 *
 * Every function is scoped by project id: a template of another project is REPO_NOT_FOUND.
 * JSON results are new references in the API's shape. Threads: any, with the caller's db.
 */
#ifndef CRAFTKIT_DB_TEMPLATES_REPO_H
#define CRAFTKIT_DB_TEMPLATES_REPO_H

#include <jansson.h>
#include <stdbool.h>

#include "db/db.h"
#include "db/repo.h"

typedef struct tpl_row {
    char id[37];
    char slug[128];
    int current_version; /* 0 = none published */
    bool inbound_enforce;
    char inbound_secret[80];
} tpl_row_t;

/* What a new version is made of (JSON texts as stored; page_config may be NULL). */
typedef struct tpl_version_in {
    const char *manifest;
    const char *layout;
    const char *page_config;
    const char *json_schema;
    const char *filename; /* the default download name's {{ }} template, or NULL */
    bool publish;
    const char *asset_ids; /* JSON array of the brand asset ids the layout names, or NULL */
} tpl_version_in_t;

REPO_MUST_USE repo_status_t tpl_find(db_t *db, const char *project_id, const char *slug, tpl_row_t *out,
                                     char *err, size_t err_len);
/* The project an inbound-hook token's template belongs to, with its rate limits (0 = the
 * server defaults). */
typedef struct tpl_owner {
    char project_id[37];
    double rate_limit;
    int rate_burst;
} tpl_owner_t;
REPO_MUST_USE repo_status_t tpl_find_by_token(db_t *db, const char *token, tpl_row_t *out, tpl_owner_t *owner,
                                              char *err, size_t err_len);
/* Creates a template with version 1. slug NULL → derived from name, suffixed on collision;
 * a given slug that is taken → REPO_CONFLICT. Fills out_slug (128 bytes). */
REPO_MUST_USE repo_status_t tpl_create(db_t *db, const char *project_id, const char *name, const char *slug,
                                       const char *description, const tpl_version_in_t *v, char *out_slug,
                                       char *err, size_t err_len);
/* Adds version n+1 to a live template (row-locked, so concurrent PUTs get distinct numbers). */
REPO_MUST_USE repo_status_t tpl_add_version(db_t *db, const char *project_id, const char *slug,
                                            const tpl_version_in_t *v, int *number, char *err,
                                            size_t err_len);
/* The template object with its current (or latest, when none is published) version. */
REPO_MUST_USE repo_status_t tpl_get_json(db_t *db, const char *project_id, const char *slug, json_t **out,
                                         char *err, size_t err_len);
/* One page of the project's live templates, most recently updated first: {templates, nextCursor,
 * hasMore}; cursor (NULL for the first page) is the id of the previous page's last template. */
#define TPL_PAGE_MAX 1000 /* templates or versions per page (also the default) */
REPO_MUST_USE repo_status_t tpl_list_json(db_t *db, const char *project_id, const char *cursor, int limit,
                                          json_t **out, char *err, size_t err_len);
/* name/description NULL = unchanged; enforce -1 = unchanged. */
REPO_MUST_USE repo_status_t tpl_update(db_t *db, const char *project_id, const char *slug, const char *name,
                                       const char *description, bool clear_description, int enforce,
                                       char *err, size_t err_len);
/* A new inbound secret (and, with new_token, a new hook URL); the old ones stop working. */
REPO_MUST_USE repo_status_t tpl_rotate_inbound(db_t *db, const char *project_id, const char *slug,
                                               bool new_token, char *err, size_t err_len);
REPO_MUST_USE repo_status_t tpl_delete(db_t *db, const char *project_id, const char *slug, json_t **out,
                                       char *err, size_t err_len);
/* One page of a template's versions, newest first: {versions, nextCursor, hasMore}; cursor is
 * the id of the previous page's last version. */
REPO_MUST_USE repo_status_t tpl_versions_json(db_t *db, const char *project_id, const char *slug,
                                              const char *cursor, int limit, json_t **out, char *err,
                                              size_t err_len);
/* One version; number 0 = the current published one (REPO_CONFLICT when none is). Fills
 * version_id (37 bytes) and published when non-NULL. */
REPO_MUST_USE repo_status_t tpl_version_json(db_t *db, const char *project_id, const char *slug, int number,
                                             json_t **out, char *version_id, bool *published, char *err,
                                             size_t err_len);

/* Template and version in one query, for the hot render path: fills *out and, when the version
 * exists, version_id (37 bytes), *number (number 0 = the current published version) and
 * *published. REPO_NOT_FOUND: no such template. REPO_OK with version_id "" : no such version
 * (or, for number 0, none published). */
REPO_MUST_USE repo_status_t tpl_resolve(db_t *db, const char *project_id, const char *slug, int *number,
                                        tpl_row_t *out, char *version_id, bool *published, char *err,
                                        size_t err_len);

#endif
