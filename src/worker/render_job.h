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
#include "worker/pool.h"

job_result_t render_job_run(worker_t *w, const char *render_id);

/* After an item of a batch became terminal (here, by a cancel, or found by the sweeper):
 * when that was its last open item, makes its merged output if one is due
 * (worker/batchmerge.h; on this thread, which it holds for the merge's length), then settles
 * the batch (db/batches_repo.h: exactly once) and pushes its batch.* webhook deliveries. Failures are logged; the sweeper settles later.
 * Threads: any, with the caller's db connection. */
void render_job_settle_batch(db_t *db, const char *batch_id);

#endif
