/*
 * batchmerge — the merged output of a batch (issue 22, options.merge; docs/architecture.md,
 * "Merged batch output"): once every item of a batch asking for "pdf" or "zip" is terminal,
 * one file made of its succeeded items in request order is written to storage under
 * batches/<project>/<batch>/merged.pdf|zip, and the batch row records it; only then is the
 * batch settled (db/batches_repo.h), so batch.completed / batch.failed go out after the file
 * exists.
 *
 * "pdf": every succeeded item's pages (pdfdoc_merge_files), one bookmark per item ("Item 3:
 * invoice.pdf"), and when items are missing (failed, cancelled, or skipped as invalid) a last
 * page "Missing items" listing their indexes and why, with a bookmark of its own. "zip": one
 * entry per succeeded item named after the render's file name, made unique (storage/zipw.h),
 * and when items are missing a "missing-items.txt" entry with the same list.
 *
 * Streaming: items are fetched from storage one at a time; a "zip" entry is appended as soon as
 * it is read, a "pdf" part is written to a temporary file (under $TMPDIR), then the parts are
 * copied into the output one at a time (pdfdoc_merge_files: memory of one part plus a few
 * bytes per object). The finished file is then stored.
 *
 * Exactly once: the merge is claimed with a lease in the batch row (batches_merge_claim,
 * renewed while items are fetched); the key never changes and the output is deterministic, so
 * a merge run again after a crash (the lease expired, the sweeper's pass for open batches
 * called batchmerge_run) stores the same bytes under the same key, and the batch is settled
 * once. A failed try drops its lease and is retried by the sweeper; after BATCHMERGE_ATTEMPTS
 * tries the batch settles without a file and with mergeError.
 *
 * Threads: a worker or the sweeper thread, with its own db connection and storage backend.
 */
#ifndef CRAFTKIT_WORKER_BATCHMERGE_H
#define CRAFTKIT_WORKER_BATCHMERGE_H

#include "db/db.h"

#define BATCHMERGE_ATTEMPTS 3                   /* tries before the batch settles without a file */
#define BATCHMERGE_ITEM_MAX ((size_t)256 << 20) /* bytes of one item read for the merge */
#define BATCHMERGE_RENEW_EVERY 100              /* items fetched between lease renewals */
#define BATCHMERGE_NOTE_MAX ((size_t)4 << 20)   /* bytes of the missing-items list */

/* Runs the merge of batch_id when one is due and nobody else holds it; lease_ms: how long a
 * claim lasts without renewal. 1 (merged, or gave up and recorded why), 0 (nothing to do now),
 * -1 (this try failed; logged, retried later). */
int batchmerge_run(db_t *db, const char *batch_id, int lease_ms);

#endif
