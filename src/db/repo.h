/*
 * repo — what every repository function (the db/ ..._repo modules) answers: the outcome of one statement
 * or transaction, with the message in the caller's err buffer when it is REPO_ERROR; and the few steps
 * that every repository takes after its statement ran (a row or none, a list, a listing page, an insert
 * that may have met its idempotency key), written once here.
 *
 * The helpers take the PGresult straight from db_exec (NULL when it failed: err is filled already, and
 * they answer REPO_ERROR) and clear it, unless a comment says otherwise. JSON they return is a new
 * reference owned by the caller; row arrays are calloc'd and the caller frees them (with its repo's
 * free function when the rows own memory). Threads: any; they touch no connection and no shared state.
 */
#ifndef CRAFTKIT_DB_REPO_H
#define CRAFTKIT_DB_REPO_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"

/* On every repository function: ignoring an outcome has hidden real failures before. */
#define REPO_MUST_USE __attribute__((warn_unused_result))

typedef enum { REPO_OK = 0, REPO_NOT_FOUND, REPO_CONFLICT, REPO_ERROR } repo_status_t;

/* The API's JSON of row `row` of r (a new reference). */
typedef json_t *(*repo_row_json_fn)(const PGresult *r, int row);
/* Fills *dst, one element of a row array, from row `row` of r. */
typedef void (*repo_row_fill_fn)(const PGresult *r, int row, void *dst);

/* Leaves r to the caller when it holds exactly one row (REPO_OK); otherwise clears it and answers
 * REPO_NOT_FOUND, or REPO_ERROR when r is NULL. */
REPO_MUST_USE repo_status_t repo_single(PGresult *r);

/* Fills out (a row struct) with fill from the one row of r: REPO_OK, REPO_NOT_FOUND or REPO_ERROR. */
REPO_MUST_USE repo_status_t repo_fill_one(PGresult *r, repo_row_fill_fn fill, void *out);

/* The JSON of the one row of r into *out: REPO_OK, REPO_NOT_FOUND (no row) or REPO_ERROR (r NULL). */
REPO_MUST_USE repo_status_t repo_json_one(PGresult *r, repo_row_json_fn row_json, json_t **out);

/* Runs sql with $1 = project_id and $2 = id and answers its one row as JSON (repo_json_one); an id
 * that is not a UUID is REPO_NOT_FOUND without a statement. For the get and delete of a project's
 * resource by id. */
REPO_MUST_USE repo_status_t repo_json_by_id(db_t *db, const char *sql, const char *project_id, const char *id,
                                            repo_row_json_fn row_json, json_t **out, char *err,
                                            size_t err_len);

/* Every row of r as a JSON array into *out: REPO_OK, or REPO_ERROR when r is NULL. */
REPO_MUST_USE repo_status_t repo_json_list(PGresult *r, repo_row_json_fn row_json, json_t **out);

/* A listing page fetched with "LIMIT limit + 1" (the extra row only says that another page exists)
 * into *out: {key: [the JSON of the first limit rows], nextCursor: the "id" of the last of them when
 * another page exists, else null, hasMore}. REPO_OK, or REPO_ERROR when r is NULL. */
REPO_MUST_USE repo_status_t repo_json_page(PGresult *r, int limit, const char *key, repo_row_json_fn row_json,
                                           json_t **out);
/* The same object around list, rows the caller built itself (list's reference is taken; r is not
 * cleared). */
json_t *repo_page_json(const char *key, json_t *list, const PGresult *r, int limit);

/* The rows of a page fetched with "LIMIT limit + 1" as an array of *n (at most limit) elements of
 * elem_size bytes, each zeroed and then filled by fill; *has_more says whether another page exists.
 * NULL (with *n = 0, *has_more false) when r is NULL or memory ran out (err filled). */
void *repo_page_fill(PGresult *r, int limit, size_t elem_size, repo_row_fill_fn fill, int *n, bool *has_more,
                     char *err, size_t err_len);

/* The outcome of "INSERT … ON CONFLICT … DO NOTHING RETURNING … AS created_at": REPO_OK with the
 * row's created_at copied into created_at (32 bytes), REPO_CONFLICT when the conflict kept the row
 * out, REPO_ERROR when r is NULL. */
REPO_MUST_USE repo_status_t repo_inserted(PGresult *r, char created_at[32]);

/* {id, deletedAt} from a row "RETURNING id, … AS deleted_at": what a soft delete answers. */
json_t *repo_deleted_json(const PGresult *r, int row);

/* Takes a transaction-level advisory lock on (scope, project_id), e.g. ("assets", id): serialises
 * a project's quota checks with its inserts. Call inside db_begin … commit/rollback. 0 or -1. */
REPO_MUST_USE int repo_lock_project(db_t *db, const char *scope, const char *project_id, char *err,
                                    size_t err_len);

/* The slug to try first for a new row: the given slug, else one made from name, else fallback
 * (base has SLUG_MAX + 1 bytes). */
void repo_slug_base(char *base, size_t base_len, const char *slug, const char *name, const char *fallback);
/* The slug of the attempt-th try (from 1): base itself, then "base-2", "base-3", … cut to fit. */
void repo_slug_candidate(char *out, size_t out_len, const char *base, int attempt);

/* Runs a retention pick (renders_expire_pick, batches_merge_expire_pick) inside the caller's
 * transaction: sql marks up to $2 rows whose project's retention_days (else the default days
 * in $1; 0 = forever) is over as expired, and returns their storage keys as its first column,
 * copied into keys (max rows of key_len bytes; "" for NULL). Count, or -1 + err. */
REPO_MUST_USE int repo_expire_pick(db_t *db, const char *sql, int default_days, char *keys, size_t key_len,
                                   int max, char *err, size_t err_len);

#endif
