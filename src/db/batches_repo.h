/*
 * batches_repo — the batches table (issue 22): many renders of one template submitted at once.
 *
 * A batch row holds what belongs to the whole request (template, version, idempotency key and
 * request hash, the items skipped as invalid, the cancel request and the settled outcome); its
 * items are ordinary render rows with batch_id (db/renders_repo.h), so every guarantee of a
 * render holds for each item. Counts are always read from the items, never kept in step.
 *
 * A batch is open (completed_at NULL, status 'queued') until its last item is terminal; then
 * batches_settle sets the outcome exactly once: a conditional UPDATE on completed_at IS NULL,
 * run after every terminal transition of an item and, as a safety net for a worker killed in
 * between, by the sweeper (batches_pick_settleable). The statement also creates the
 * batch.completed / batch.failed webhook deliveries, so none is lost.
 *
 * Every API-side function is scoped by project id: another project's batch is
 * REPO_NOT_FOUND. Threads: any, with the caller's own db connection. Memory: rows are filled
 * into caller-provided structs, except batch_row_t.invalid (json_decref) and batches_list's
 * array (batches_rows_free).
 */
#ifndef CRAFTKIT_DB_BATCHES_REPO_H
#define CRAFTKIT_DB_BATCHES_REPO_H

#include <jansson.h>
#include <stdbool.h>

#include "db/db.h"
#include "db/renders_repo.h"
#include "db/repo.h"

#define BATCH_LIST_MAX 100 /* GET /v1/batches page size cap */

typedef struct batch_row {
    char id[37];
    char project_id[37];
    char template_id[37];
    char template_slug[128];
    int version_number;
    bool test;
    /* queued | rendering (derived: open with an item started) | succeeded | partially_failed |
     * failed | cancelled */
    char status[24];
    int total;
    long long queued, rendering, succeeded, failed, cancelled; /* items by status */
    json_t *invalid; /* [{index, fieldErrors}] of items skipped (skipInvalid); new reference */
    char idempotency_key[RENDER_IDEMPOTENCY_MAX * 4 + 1]; /* "" = none */
    char request_hash[65];
    char created_at[32];
    char completed_at[32]; /* "" while open */
    char cancelled_at[32]; /* "" unless cancelled */
    /* merged output (options.merge; worker/batchmerge.h) */
    char merge[8];                          /* none | pdf | zip */
    char merge_filename[484];               /* its download name (as renders.filename) */
    char merge_key[RENDER_STORAGE_KEY_MAX]; /* "" until stored */
    char merge_error[RENDER_ERROR_MAX + 1]; /* "" unless the merge gave up */
    long long merge_bytes;                  /* -1 until stored */
    int merge_pages;                        /* -1 unless a stored "pdf" */
    char merge_expired_at[32];              /* "" unless retention removed the merged file */
} batch_row_t;

/* What a new batch is made of (texts as stored). */
typedef struct batch_new {
    const char *id;
    const char *project_id;
    const char *template_id;
    int version_number;
    bool test;
    int total;
    const char *invalid;         /* JSON text of the skipped items ("[]" when none) */
    const char *options;         /* JSON text of the batch options */
    const char *idempotency_key; /* NULL: none */
    const char *request_hash;    /* NULL without a key */
    const char *merge;           /* "none" (NULL), "pdf" or "zip" */
    const char *merge_filename;  /* the merged file's download name; NULL without a merge */
} batch_new_t;

/* Inserts a batch inside the caller's transaction. REPO_OK with created_at (32 bytes);
 * REPO_CONFLICT when the idempotency key is taken (visible to the next statement); REPO_ERROR. */
REPO_MUST_USE repo_status_t batches_insert(db_t *db, const batch_new_t *n, char *created_at, char *err,
                                           size_t err_len);
/* Records that every item of the batch is in Redis (one row: its items keep enqueued_at NULL
 * and count as pushed at this time; renders_sweep_pick_batch). Until then the sweeper pushes
 * the committed items, so a crash between the commit and the pushes costs one sweep interval.
 * Commits without waiting for the WAL flush (a lost mark costs duplicate pushes). 0 or -1. */
REPO_MUST_USE int batches_mark_enqueued(db_t *db, const char *id, char *err, size_t err_len);
/* Deletes a batch whose items are gone (a submission that could not queue anything). 0 / -1. */
REPO_MUST_USE int batches_delete(db_t *db, const char *id, char *err, size_t err_len);

REPO_MUST_USE repo_status_t batches_get(db_t *db, const char *project_id, const char *id, batch_row_t *out,
                                        char *err, size_t err_len);
REPO_MUST_USE repo_status_t batches_find_by_key(db_t *db, const char *project_id, const char *key,
                                                batch_row_t *out, char *err, size_t err_len);
/* One page of a project's batches, newest first, after cursor (a batch id) when not NULL. */
REPO_MUST_USE repo_status_t batches_list(db_t *db, const char *project_id, const char *cursor, int limit,
                                         batch_row_t **rows, int *n, bool *has_more, char *err,
                                         size_t err_len);
void batch_row_free(batch_row_t *row);
void batches_rows_free(batch_row_t *rows, int n);

/* Records a cancel request on an open batch of the project (the settled status becomes
 * cancelled). 1 (open, marked now or before), 0 (settled already, or not found), -1 + err. */
REPO_MUST_USE int batches_mark_cancelled(db_t *db, const char *project_id, const char *id, char *err,
                                         size_t err_len);
/* 1 when the batch still has a queued or rendering item (one index probe), 0, -1 + err. */
REPO_MUST_USE int batches_has_open_items(db_t *db, const char *id, char *err, size_t err_len);

/* Settles an open batch whose items are all terminal and whose merge (if one was asked and the
 * batch was not cancelled) is recorded, stored or given up: status from the items (cancelled when a
 * cancel was asked; else succeeded, failed or partially_failed), completed_at now, and one
 * webhook delivery per subscription to the event (ids in *deliveries, may be NULL). Exactly
 * one caller ever gets 1; 0 (still open items, settled before, or no such batch), -1 + err.
 * Call it after the item's terminal statement committed (not in the same transaction). */
REPO_MUST_USE int batches_settle(db_t *db, const char *id, render_deliveries_t *deliveries, char *err,
                                 size_t err_len);
/* The sweeper's net: up to max ids of open batches without an open item (their last item's
 * worker stopped before settling). Count or -1 + err. */
REPO_MUST_USE int batches_pick_settleable(db_t *db, char (*ids)[37], int max, char *err, size_t err_len);

/* ---- the merge (worker/batchmerge.h) ---- */

/* What a merge claim hands the worker. */
typedef struct batch_merge_claim {
    char project_id[37];
    char merge[8]; /* pdf | zip */
    int attempts;  /* this one included */
    long long created_unix;
    json_t *invalid; /* [{index, fieldErrors}] skipped at submission; new reference */
} batch_merge_claim_t;

/* One item of a batch, as the merge needs it. */
typedef struct batch_merge_item {
    int index;         /* its place in the request */
    char status[16];   /* succeeded | failed | cancelled */
    char *storage_key; /* NULL unless succeeded */
    char *filename;    /* the render's download name */
} batch_merge_item_t;

/* Claims the merge of an open, uncancelled batch with a merge to do, no open item and no
 * live lease: the lease runs lease_ms from now and merge_attempts goes up by one. 1 (claimed,
 * *c filled; json_decref(c->invalid)), 0 (nothing to merge now), -1 + err. */
REPO_MUST_USE int batches_merge_claim(db_t *db, const char *id, int lease_ms, batch_merge_claim_t *c,
                                      char *err, size_t err_len);
/* Extends a held lease by lease_ms from now. 0 or -1 + err. */
REPO_MUST_USE int batches_merge_renew(db_t *db, const char *id, int lease_ms, char *err, size_t err_len);
/* The batch's items in request order (*items malloc'd; batches_merge_items_free). Count or
 * -1 + err. */
REPO_MUST_USE int batches_merge_items(db_t *db, const char *id, batch_merge_item_t **items, char *err,
                                      size_t err_len);
void batches_merge_items_free(batch_merge_item_t *items, int n);
/* Records the merge's outcome and drops the lease: the stored file (key, bytes, pages or -1)
 * or, with key NULL, the error it gave up with. 1 when recorded, 0 when the batch settled
 * meanwhile (a cancel during the merge: a cancelled batch has no merged file, so the caller
 * deletes what it stored), -1 + err. */
REPO_MUST_USE int batches_merge_done(db_t *db, const char *id, const char *key, long long bytes, int pages,
                                     const char *error, char *err, size_t err_len);
/* Drops the lease after a failed try, so that the sweeper's next pass tries again. 0 / -1. */
REPO_MUST_USE int batches_merge_release(db_t *db, const char *id, char *err, size_t err_len);

/*
 * Retention of merged files, inside the caller's transaction (like renders_expire_pick):
 * marks up to max settled batches whose merged file is stored and not expired yet, and whose
 * completed_at is older than their project's retention_days (else default_days; 0 = keep
 * forever), as expired (merge_expired_at = now()), and copies their merge keys into keys. Rows
 * locked by another sweeper are skipped. Returns the count, or -1 + err. The caller deletes
 * the files, then commits (a rollback leaves the rows for the next pass).
 */
REPO_MUST_USE int batches_merge_expire_pick(db_t *db, int default_days, char (*keys)[RENDER_STORAGE_KEY_MAX],
                                            int max, char *err, size_t err_len);

#endif
