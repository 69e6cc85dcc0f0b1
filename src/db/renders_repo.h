/*
 * renders_repo — the renders table, the source of truth of the render pipeline.
 *
 * Redis only carries render ids; every decision about a render is a conditional statement
 * here. A render is created `queued` inside the caller's transaction (renders_insert, with a
 * transaction-level advisory lock on the id so that a worker that sees the id before the
 * transaction commits can wait for it), taken by exactly one worker with a conditional UPDATE
 * (renders_claim: queued → rendering, or a rendering row whose lease expired), kept alive by
 * lease renewals, and finished only by the worker holding the claim (renders_succeed,
 * renders_retry, renders_fail). Terminal transitions of renders outside batches send NOTIFY
 * craftkit_render_done with the id, which wakes sync requests on every instance.
 *
 * Every API-side function is scoped by project id: another project's render is
 * REPO_NOT_FOUND. Threads: any, with the caller's own db connection. Memory: rows are filled
 * into caller-provided structs; renders_list returns an array the caller frees with free().
 */
#ifndef CRAFTKIT_DB_RENDERS_REPO_H
#define CRAFTKIT_DB_RENDERS_REPO_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "db/repo.h"

#define RENDER_ERROR_MAX 1000      /* bytes of error_message kept (cut on a UTF-8 boundary) */
#define RENDER_IDEMPOTENCY_MAX 200 /* Idempotency-Key / jobId length (docs/api.md) */
#define RENDER_MAX_ATTEMPTS 3      /* attempts before a render is failed (docs/api.md) */
#define RENDER_LIST_MAX 100        /* GET /v1/renders page size cap */
#define RENDER_NOTIFY_CHANNEL "craftkit_render_done"
#define RENDER_STORAGE_KEY_MAX 512 /* bytes of a storage key, NUL included */

typedef struct render_row {
    char id[37];
    char project_id[37];
    char template_id[37];
    char template_slug[128];
    char status[16]; /* queued | rendering | succeeded | failed | cancelled */
    int version_number;
    bool test;
    char source[8];                           /* api | hook */
    char filename[484];                       /* the download name: up to 120 UTF-8 characters */
    char storage_key[RENDER_STORAGE_KEY_MAX]; /* "" until succeeded */
    int pages;                                /* -1 while unknown */
    long long bytes;                          /* -1 while unknown */
    char sha256[65];                          /* "" while unknown */
    bool has_error;
    char error_message[RENDER_ERROR_MAX + 1];
    char created_at[32]; /* ISO-8601; "" = null */
    char started_at[32];
    char completed_at[32];
    long long duration_ms; /* completed_at - started_at; -1 = null */
    char request_hash[65]; /* "" when the render has no idempotency key */
    int attempts;
    char idempotency_key[RENDER_IDEMPOTENCY_MAX * 4 + 1]; /* "" = none */
    char job_id[RENDER_IDEMPOTENCY_MAX * 4 + 1];          /* body jobId; "" = none */
    char deleted_at[32];                                  /* DELETE /v1/renders/:id; "" = null */
    char expired_at[32];                                  /* retention; "" = null */
    char batch_id[37];                                    /* the batch of an item; "" = none */
    int batch_index;                                      /* its place in the batch; -1 = none */
} render_row_t;

/* What a new render is made of (texts as stored). */
typedef struct render_new {
    const char *id; /* a fresh UUIDv7 */
    const char *project_id;
    const char *template_id;
    const char *version_id;
    int version_number;
    bool test;
    const char *data;            /* normalised data, JSON text */
    const char *options;         /* JSON text of the options in effect */
    const char *idempotency_key; /* NULL: none */
    const char *request_hash;    /* hex SHA-256 of the canonical request; NULL without a key */
    const char *source;          /* "api" | "hook" */
    const char *filename;        /* the download name (storage_display_filename) */
} render_new_t;

/* What a worker needs to render a claimed row. data is the stored JSON text as Postgres
 * returned it (malloc'd, free it): it goes to the render helper unparsed, which parses it. */
typedef struct render_claim {
    char id[37];
    char project_id[37];
    char version_id[37];
    char filename[128]; /* the stored object's name: "<id>.pdf" (the key never holds user text) */
    bool test;
    int attempts;         /* including this one */
    int64_t created_unix; /* pinned into the PDF metadata: identical bytes on a retry */
    char *data;
    size_t data_len;
    json_t *options;   /* the render's options ({} when none); new reference (json_decref) */
    char batch_id[37]; /* "" unless an item of a batch (db/batches_repo.h settles it) */
} render_claim_t;

/* Webhook deliveries created by a terminal transition (one per matching subscription). */
#define RENDER_DELIVERIES_MAX 100 /* = WEBHOOK_MAX_SUBSCRIPTIONS */
typedef struct render_deliveries {
    char ids[RENDER_DELIVERIES_MAX][37];
    int n;
} render_deliveries_t;

/* Reads (and clears) the result of a terminal statement that ends like the renders' own: a
 * "done" count and one "delivery" id per row (a NULL one without any). 1 (done) with the ids
 * in *out (may be NULL; at most RENDER_DELIVERIES_MAX, the rest stay for the sweeper), 0 (it
 * matched nothing), or -1 when r is NULL. */
int renders_terminal_result(PGresult *r, render_deliveries_t *out);
/* True for a terminal status (succeeded, failed, cancelled). */
bool renders_status_terminal(const char *status);

/*
 * Inserts a queued render, not yet marked as pushed (renders_mark_enqueued). With an
 * idempotency key it runs inside the caller's transaction (db_begin). It takes a
 * transaction-level advisory lock on the id that renders_claim waits for, so a worker that
 * dequeues the id before the commit becomes visible does not drop it. REPO_OK with
 * created_at (32 bytes) filled; REPO_CONFLICT when the idempotency key is taken (the row of the
 * earlier request is then visible to the next statement); REPO_ERROR + err.
 */
REPO_MUST_USE repo_status_t renders_insert(db_t *db, const render_new_t *n, char *created_at, char *err,
                                           size_t err_len);
/*
 * Sends the INSERT of a batch's items (issue 22), one statement inside the caller's
 * transaction, without waiting for it: db_finish returns the rows inserted (or -1 + err), and
 * the caller encodes the next chunk meanwhile. items is a JSON array of {"id", "i" (index in
 * the batch), "data", "options", "filename"}; the rest comes from common (its id, data, options,
 * filename and key are ignored; source is api). The rows are queued with enqueued_at NULL: they
 * count as pushed once their batch is (batches_mark_enqueued). 0, or -1 + err.
 */
REPO_MUST_USE int renders_send_batch_items(db_t *db, const render_new_t *common, const char *batch_id,
                                           const char *items, char *err, size_t err_len);
/* renders_delete_unqueued for every item of a batch; returns how many went, or -1 + err. */
REPO_MUST_USE int renders_delete_unqueued_batch(db_t *db, const char *batch_id, char *err, size_t err_len);
/* Records that the id of a render is in Redis (renders_insert leaves enqueued_at NULL, which
 * the sweeper reads as "never pushed": a crash between the commit and the push then costs one
 * sweep interval, not the 10-minute safety net). lazy: outside a transaction only, commit
 * without waiting for the WAL flush. 0 or -1 + err. */
REPO_MUST_USE int renders_mark_enqueued(db_t *db, const char *id, bool lazy, char *err, size_t err_len);
/* Deletes a render that was never queued (enqueue failed), only while it is still queued and
 * untouched. Returns 1 (deleted), 0 (a worker already has it), -1 + err. */
REPO_MUST_USE int renders_delete_unqueued(db_t *db, const char *id, char *err, size_t err_len);

REPO_MUST_USE repo_status_t renders_get(db_t *db, const char *project_id, const char *id, render_row_t *out,
                                        char *err, size_t err_len);
REPO_MUST_USE repo_status_t renders_find_by_key(db_t *db, const char *project_id, const char *key,
                                                render_row_t *out, char *err, size_t err_len);
/* The filters of GET /v1/renders; NULL (test: -1) = not filtered on. */
typedef struct render_filter {
    const char *status;
    const char *template_ref;                   /* a slug (every template that had it) or a template id */
    const char *cursor;                         /* the id of the last render of the previous page */
    const char *created_after, *created_before; /* ISO-8601, exclusive */
    int test;                                   /* -1, 0, 1 */
    const char *source;                         /* api | hook */
    const char *idempotency_key;
    const char *batch_id; /* a batch id (checked by the caller) */
} render_filter_t;

/*
 * One page of a project's renders matching f, newest first. Fills *rows (malloc'd, up to limit
 * entries), *n and *has_more. REPO_OK or REPO_ERROR + err.
 */
REPO_MUST_USE repo_status_t renders_list(db_t *db, const char *project_id, const render_filter_t *f,
                                         int limit, render_row_t **rows, int *n, bool *has_more, char *err,
                                         size_t err_len);

/* POST /v1/renders/:id/cancel: a queued render of the project becomes cancelled (terminal),
 * with NOTIFY and one webhook delivery per subscription to render.cancelled (ids in
 * *deliveries). 1 (cancelled), 0 (not queued, or not this project's), -1 + err. */
REPO_MUST_USE int renders_cancel(db_t *db, const char *project_id, const char *id,
                                 render_deliveries_t *deliveries, char *err, size_t err_len);
/* POST /v1/batches/:id/cancel: renders_cancel for every queued item of the batch (caller
 * checked the batch is the project's). 1 (some cancelled), 0 (none queued), -1 + err. */
REPO_MUST_USE int renders_cancel_batch(db_t *db, const char *project_id, const char *batch_id,
                                       render_deliveries_t *deliveries, char *err, size_t err_len);
/* DELETE /v1/renders/:id: a terminal render keeps its row as a tombstone, deleted_at set (the
 * first time only) and data emptied; *storage_key gets the file to delete ("" when none).
 * 1 (marked, or marked before), 0 (not found or not terminal), -1 + err. */
REPO_MUST_USE int renders_mark_deleted(db_t *db, const char *project_id, const char *id, char *storage_key,
                                       size_t key_len, char *err, size_t err_len);

/* ---- worker side ---- */

/*
 * Claims a render for worker_id with a lease of lease_ms: a queued row that is due, or a
 * rendering row whose lease has expired (its worker died). When nothing matches it waits for
 * the advisory lock of a still-open inserting transaction and tries once more. REPO_OK with
 * *out filled (release out->data), REPO_NOT_FOUND (nothing to do: finished, claimed elsewhere,
 * not due yet, or never committed), REPO_ERROR + err.
 */
REPO_MUST_USE repo_status_t renders_claim(db_t *db, const char *id, const char *worker_id, int lease_ms,
                                          render_claim_t *out, char *err, size_t err_len);
/* Extends the lease while worker_id still holds the claim. 1 (extended), 0 (lost), -1 + err. */
REPO_MUST_USE int renders_renew_lease(db_t *db, const char *id, const char *worker_id, int lease_ms,
                                      char *err, size_t err_len);
/* Terminal success, only while worker_id holds the claim; notifies and creates the webhook
 * deliveries (ids in *deliveries, which may be NULL), all in one statement (renders_succeed_many
 * of one). 1, 0 (claim lost), -1. */
REPO_MUST_USE int renders_succeed(db_t *db, const char *id, const char *worker_id, const char *storage_key,
                                  int pages, size_t bytes, const char *sha256,
                                  render_deliveries_t *deliveries, char *err, size_t err_len);
/* One stored render for renders_succeed_many. */
typedef struct render_success {
    const char *id, *storage_key, *sha256;
    int pages;
    size_t bytes;
} render_success_t;
#define RENDER_SUCCEED_MANY_MAX 64
/* renders_succeed for n renders (1 to RENDER_SUCCEED_MANY_MAX) in one statement, which commits
 * durably once for them all. done[i] gets 1 (recorded) or 0 (the claim was lost), deliveries[i]
 * the webhook delivery ids of render i. 0, or -1 + err (nothing recorded). */
REPO_MUST_USE int renders_succeed_many(db_t *db, const char *worker_id, const render_success_t *v, int n,
                                       int *done, render_deliveries_t *deliveries, char *err, size_t err_len);
/* Back to queued, due in delay_ms, with the error kept for the record. 1, 0, -1. */
REPO_MUST_USE int renders_retry(db_t *db, const char *id, const char *worker_id, int delay_ms,
                                const char *error, char *err, size_t err_len);
/* Terminal failure with an actionable message, only while worker_id holds the claim; notifies
 * and creates the webhook deliveries like renders_succeed. 1, 0 (claim lost), -1. */
REPO_MUST_USE int renders_fail(db_t *db, const char *id, const char *worker_id, const char *error,
                               render_deliveries_t *deliveries, char *err, size_t err_len);

/*
 * The sweeper's pick, inside the caller's transaction: marks as enqueued now and returns up to
 * max ids (into ids, 37 bytes each) of renders that are due but not in Redis — queued rows
 * never pushed or whose retry is due, rendering rows whose lease expired — plus, when
 * all_before_ms >= 0, any due row last pushed more than all_before_ms ago (Redis may have lost
 * it). Rows locked by another sweeper are skipped. Returns the count, or -1 + err.
 */
REPO_MUST_USE int renders_sweep_pick(db_t *db, long long all_before_ms, char (*ids)[37], int max, char *err,
                                     size_t err_len);
/* The same for the items of batches (renders_sweep_pick leaves them out): they go back to the
 * low-priority list (JOBS_QUEUE_BATCH_RENDERS), not ahead of single renders. An item never
 * claimed and never pushed on its own counts as pushed at its batch's items_enqueued_at. */
REPO_MUST_USE int renders_sweep_pick_batch(db_t *db, long long all_before_ms, char (*ids)[37], int max,
                                           char *err, size_t err_len);
/*
 * Retention, inside the caller's transaction: marks up to max terminal renders, not deleted
 * or expired yet, that are older than their project's retention_days (else default_days; 0 =
 * keep forever) as expired (expired_at = now(), data emptied), and copies their storage keys
 * ("" for renders without a file) into keys. Rows locked by another sweeper are skipped.
 * Returns the count, or -1 + err. The caller deletes the files, then commits.
 */
REPO_MUST_USE int renders_expire_pick(db_t *db, int default_days, char (*keys)[RENDER_STORAGE_KEY_MAX],
                                      int max, char *err, size_t err_len);
/* Counts by status for /metrics: queued, rendering. -1 on error. */
REPO_MUST_USE int renders_backlog(db_t *db, long long *queued, long long *rendering, char *err,
                                  size_t err_len);

#endif
