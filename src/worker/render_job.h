/*
 * render_job — one render, from a job id to a terminal row: claim the row (the conditional
 * UPDATE that makes a job delivered twice render once), load the compiled version, render in
 * the worker's helper process (worker/sandbox.h) under CRAFTKIT_RENDER_TIMEOUT_MS, store the PDF under
 * renders/<project>/<id>/<filename>, and mark it succeeded — or schedule a retry with
 * exponential backoff and jitter, and after RENDER_MAX_ATTEMPTS mark it failed with the last
 * error, which names what the user can fix ("image at data.logo could not be fetched: HTTP 404").
 *
 * The PDF's creation date is pinned to the render's creation time, so a retried or taken-over
 * render writes the same bytes to the same key.
 * Threads: the worker thread that owns w.
 */
#ifndef CRAFTKIT_WORKER_RENDER_JOB_H
#define CRAFTKIT_WORKER_RENDER_JOB_H

#include "db/db.h"
#include "db/renders_repo.h"
#include "storage/storage.h"
#include "worker/pool.h"

/* A batch item rendered and stored whose success is not recorded yet. */
typedef struct render_stored {
    char id[37], batch_id[37];
    int attempts;
    char key[STORAGE_KEY_MAX + 1], sha[65];
    int pages;
    size_t bytes;
    int64_t started_mono_ms;
} render_stored_t;

/* Successes recorded together (worker/pool.h): one terminal statement for up to POOL_GROUP_MAX
 * renders (renders_succeed_many) waits for one WAL flush instead of one each, and the local
 * store's files are made durable by one sync of its file system for them all (instead of two
 * or three fsyncs each), before the statement. A crash before the statement leaves the items
 * 'rendering' until their leases expire, and they are rendered again (same bytes, same keys,
 * written over whatever the crash left). Owned by one worker thread. */
typedef struct render_group {
    render_stored_t items[POOL_GROUP_MAX];
    int n;
    int64_t first_mono_ms; /* when items[0] was stored */
    storage_sync_t sync;   /* the sync the items' puts left (storage_put_deferred) */
    /* filled when recorded: */
    int done[POOL_GROUP_MAX]; /* 1: recorded, 0: its claim was lost */
    render_deliveries_t deliveries[POOL_GROUP_MAX];
} render_group_t;

/* Claims, renders, stores and records render_id. With group (batch items only; NULL when
 * CRAFTKIT_BATCH_GROUP_MS is 0), a success is added to the group instead: JOB_DEFERRED. */
job_result_t render_job_run(worker_t *w, const char *render_id, render_group_t *group);

/* True when group holds items and is full or older than CRAFTKIT_BATCH_GROUP_MS (w->cfg). */
bool render_group_due(const worker_t *w, const render_group_t *group);

/* Syncs the directories the group's puts left, then records the group's successes in one
 * statement (retried for up to one lease while the database fails), then pushes their webhook
 * deliveries, wakes waiters and settles their batches, and unholds its renders. JOB_DONE, or
 * JOB_RETRY_LATER when they could not be recorded. The caller then settles the items' jobs
 * (their ids are the render ids) and empties the group (n = 0). */
job_result_t render_job_flush(worker_t *w, render_group_t *group);

/* After an item of a batch became terminal (here, by a cancel, or found by the sweeper):
 * when that was its last open item, makes its merged output if one is due
 * (worker/batchmerge.h; on this thread, which it holds for the merge's length), then settles
 * the batch (db/batches_repo.h: exactly once) and pushes its batch.* webhook deliveries. Failures are logged; the sweeper settles later.
 * Threads: any, with the caller's db connection. */
void render_job_settle_batch(db_t *db, const char *batch_id);

#endif
