/*
 * assets_repo — a project's uploaded fonts and images (table assets, migration 0008).
 *
 * An upload is three steps so that storage and rows always agree: assets_reserve inserts a
 * 'pending' row (under a per-project advisory lock, after checking the count and byte quotas),
 * the caller writes the object, then assets_commit makes the row 'ready' and marks the
 * previous asset of that name, if any, replaced (it stays for the versions that used it). A
 * failed write is undone with assets_abandon. assets_collect hands out the objects that may go
 * (pending rows older than ASSETS_PENDING_MINUTES, deleted rows, replaced rows no version uses)
 * and assets_collected records their removal.
 * Every query is scoped by project: another project's asset is REPO_NOT_FOUND.
 * JSON results are new references in the API's shape. Threads: any, with the caller's db.
 */
#ifndef CRAFTKIT_DB_ASSETS_REPO_H
#define CRAFTKIT_DB_ASSETS_REPO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"
#include "db/repo.h"

#define ASSETS_NAME_MAX 120
#define ASSETS_PAGE_MAX 100
#define ASSETS_PENDING_MINUTES 10 /* an upload unfinished after this long was interrupted */
#define ASSETS_KEY_MAX 128
#define ASSETS_COLLECT_MAX 32 /* objects removed per call */
#define ASSETS_FAMILY_MAX 128 /* bytes of a font's family name (fontprobe's FONTPROBE_NAME_MAX) */

typedef struct asset_new {
    const char *name;
    const char *kind; /* "font" | "image" | "pdf" */
    const char *media_type;
    size_t bytes;
    const char *sha256; /* hex */
    const json_t *meta; /* font or image description */
} asset_new_t;

typedef enum {
    ASSETS_RESERVED = 0,
    ASSETS_OVER_COUNT,
    ASSETS_OVER_BYTES,
    ASSETS_RESERVE_ERROR
} assets_reserve_t;

/* The project's ready asset with this name and these bytes (an idempotent repeat), or NOT_FOUND. */
REPO_MUST_USE repo_status_t assets_find_same(db_t *db, const char *project_id, const char *name,
                                             const char *sha256, json_t **out, char *err, size_t err_len);
/* Inserts a pending row when the project stays within max_count assets and max_total bytes
 * (the asset this name would replace does not count). Fills id and the storage key. */
assets_reserve_t assets_reserve(db_t *db, const char *project_id, const asset_new_t *a, int max_count,
                                size_t max_total, char id[37], char key[ASSETS_KEY_MAX], char *err,
                                size_t err_len);
/* The object is stored: the row becomes ready and replaces the previous one of its name. */
REPO_MUST_USE repo_status_t assets_commit(db_t *db, const char *project_id, const char *id, json_t **out,
                                          char *err, size_t err_len);
/* The object could not be stored: removes the pending row. */
REPO_MUST_USE int assets_abandon(db_t *db, const char *id, char *err, size_t err_len);

/* {"assets":[…],"nextCursor":…,"hasMore":…}, newest first; cursor is a previous page's last id. */
REPO_MUST_USE repo_status_t assets_list(db_t *db, const char *project_id, const char *cursor, int limit,
                                        json_t **out, char *err, size_t err_len);
/* A current asset; key (may be NULL) gets its storage key. */
REPO_MUST_USE repo_status_t assets_get(db_t *db, const char *project_id, const char *id, json_t **out,
                                       char key[ASSETS_KEY_MAX], char *err, size_t err_len);
/* The published template versions (live templates) that use the asset: [{template, version}]. */
REPO_MUST_USE repo_status_t assets_users(db_t *db, const char *id, json_t **out, char *err, size_t err_len);
/* Marks a current asset deleted; *out gets {id, deletedAt}. */
REPO_MUST_USE repo_status_t assets_delete(db_t *db, const char *project_id, const char *id, json_t **out,
                                          char *err, size_t err_len);

/* ---- layouts and renders ---- */

/* One asset a render may use. */
typedef struct asset_file {
    char id[37];
    char name[ASSETS_NAME_MAX + 1];
    char kind[8];
    char sha256[65];
    char key[ASSETS_KEY_MAX];
    long long bytes;
    char family[ASSETS_FAMILY_MAX + 1]; /* a font's family ("" for images) */
} asset_file_t;

/* The assets a render of version_id may use (NULL/"" for a layout that is not stored): the
 * project's current ready assets, except that a name the version pinned (template_version_assets)
 * means the pinned bytes even after a re-upload. A stored version gets only the fonts it pinned,
 * so fonts uploaded later (even of a family it names) never change it. *out is malloc'd (caller
 * frees); count or -1. */
REPO_MUST_USE int assets_for_render(db_t *db, const char *project_id, const char *version_id,
                                    asset_file_t **out, char *err, size_t err_len);
/* Resolves refs (a JSON array of strings: names or ids) to the project's current image assets:
 * *ids gets an array of the same length with each asset id, or null where none matches
 * (new reference). */
REPO_MUST_USE repo_status_t assets_resolve_images(db_t *db, const char *project_id, const json_t *refs,
                                                  json_t **ids, char *err, size_t err_len);

/* The project's current font assets: [{"id", "family"}] (new reference), newest first. */
REPO_MUST_USE repo_status_t assets_fonts(db_t *db, const char *project_id, json_t **out, char *err,
                                         size_t err_len);

/* Up to max objects of the project that may be removed now: ids and keys. Count or -1. */
REPO_MUST_USE int assets_collect(db_t *db, const char *project_id, char (*ids)[37],
                                 char (*keys)[ASSETS_KEY_MAX], int max, char *err, size_t err_len);
/* The object of id is removed: a pending row is dropped, any other becomes 'gone'. */
REPO_MUST_USE int assets_collected(db_t *db, const char *id, char *err, size_t err_len);

#endif
