/*
 * sweeper — the background thread that keeps Redis in step with Postgres (one per instance;
 * several instances may sweep at once).
 *
 * Every CRAFTKIT_SWEEP_INTERVAL_MS it:
 *   1. reaps: moves the processing lists of workers whose heartbeat expired back to the ready
 *      lists (jobs_reap; a full SCAN with jobs_reap_scan at start and every SWEEPER_SCAN_EVERY_MS);
 *   2. sweeps: pushes the ids of renders and webhook deliveries that are due but cannot be in
 *      Redis — rows never marked as pushed (a producer marks enqueued_at only after its push
 *      went through, so a crash in between costs one interval), retries whose time has come,
 *      rows whose lease expired (their worker died) — and, as a safety net, any
 *      due row last pushed more than SWEEPER_REQUEUE_AFTER_MS ago. Each batch is picked with
 *      FOR UPDATE SKIP LOCKED and marked in the same transaction as the LPUSH, so a row is never
 *      pushed by two sweepers and a failed push leaves it for the next pass;
 *   3. checks the Redis epoch: a random value under ck:epoch set once (SET NX). When the key is
 *      gone or has changed, Redis lost its data (restarted without persistence, flushed,
 *      replaced), so every due row is pushed again at once instead of after the safety net;
 *      the same when Postgres restarted (pg_postmaster_start_time differs from the one under
 *      ck:pg_epoch, stored after such a pass): claims and webhook outcomes commit
 *      asynchronously, so a crash may have put rows back to a state no queue holds;
 *   4. retention: expires one batch (SWEEPER_RETENTION_BATCH) of terminal renders older than
 *      their project's retentionDays or CRAFTKIT_RETENTION_DAYS — deletes their files, empties
 *      their data, sets expired_at (renders_expire_pick; FOR UPDATE SKIP LOCKED, so instances
 *      share the work, and never a queued or rendering render); then one batch of settled
 *      batches whose completed_at is that old — deletes their merged files and sets
 *      merge_expired_at (batches_merge_expire_pick, the same way);
 *   5. publishes backlog gauges for /metrics.
 * Duplicates this may create are harmless: the claim in Postgres renders each render once.
 *
 * Threads: sweeper_start/stop from the main thread; the pass runs on its own thread with its
 * own Postgres and Redis connections.
 */
#ifndef CRAFTKIT_WORKER_SWEEPER_H
#define CRAFTKIT_WORKER_SWEEPER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

#define SWEEPER_BATCH 500                         /* ids per transaction and LPUSH */
#define SWEEPER_REQUEUE_AFTER_MS (10 * 60 * 1000) /* safety net for ids Redis lost silently */
#define SWEEPER_SCAN_EVERY_MS (10 * 60 * 1000)    /* full SCAN reap */
#define SWEEPER_EPOCH_KEY "ck:epoch"
#define SWEEPER_PG_EPOCH_KEY "ck:pg_epoch" /* pg_postmaster_start_time of the last everything-pass */
#define SWEEPER_RETENTION_BATCH 100        /* renders (and merged files) expired per pass and instance */

int sweeper_start(const config_t *cfg, char *err, size_t err_len);
void sweeper_stop(void);

#endif
