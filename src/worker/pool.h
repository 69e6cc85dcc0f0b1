/*
 * pool — the in-process render worker pool: CRAFTKIT_WORKERS threads that take render jobs
 * from Redis, plus one heartbeat thread. (Webhook deliveries have their own dispatcher.)
 *
 * Each worker thread owns its resources for its whole life: a jobs_worker_t (a private Redis
 * connection and processing lists, id "<instance id>:<n>"), a render helper process
 * (worker/sandbox.h: the engine runs there, under a hard deadline and memory budget), and the thread's own
 * Postgres connection and storage backend (db_thread(), storage_thread()). Nothing is shared
 * but the compiled-template cache, which is read-only.
 *
 * A render can take longer than the heartbeat TTL, so the heartbeats come from a separate
 * thread: every TTL/3 it refreshes each worker's Redis heartbeat and extends the Postgres leases
 * of the renders that worker holds. A worker that dies stops both; its jobs are reaped and its
 * renders' leases expire, so another worker (of any instance) takes them over.
 *
 * Batch items are recorded in groups: a worker that took one from the batch queue renders and
 * stores it, keeps its job un-acked and its lease held, and records up to POOL_GROUP_MAX such
 * successes in one statement — when the group is full, older than CRAFTKIT_BATCH_GROUP_MS before
 * the next render, when a single render or no job comes next, and when stopping. Single renders
 * are recorded at once (their callers wait).
 *
 * Shutdown (pool_stop): workers stop fetching, finish the job in hand (past the grace period
 * its helper is killed and the attempt fails), record their groups, give back what is left in
 * their processing lists (jobs_worker_release), and are joined; then the heartbeat thread stops.
 *
 * Threads: pool_start/pool_stop from the main thread; pool_hold/pool_unhold from the worker that
 * owns w.
 */
#ifndef CRAFTKIT_WORKER_POOL_H
#define CRAFTKIT_WORKER_POOL_H

#include <craftkit/engine.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "queue/jobs.h"
#include "worker/sandbox.h"

#define POOL_MAX_WORKERS 256
#define POOL_FETCH_BLOCK_MS 1000       /* longest idle wait, so a stop is noticed within it */
#define POOL_KILL_JOIN_MS 5000         /* for workers to record their killed renders */
#define POOL_REDIS_BACKOFF_MAX_MS 5000 /* retry pace while Redis is unreachable */
/* Batch items a worker renders and stores before it records their successes together, in one
 * statement (one WAL flush instead of one per item; render_job.h, "groups"). */
#define POOL_GROUP_MAX 16
#define POOL_HELD_MAX (POOL_GROUP_MAX + 1) /* leases one worker holds: its group and the render in hand */

/* What a job handler tells the pool. */
typedef enum {
    JOB_DONE = 0,    /* Postgres holds the outcome (done, failed, or a retry it schedules): ack */
    JOB_RETRY_LATER, /* the job could not be looked at (database down): push it back, ack */
    JOB_DEFERRED,    /* stored; its success waits in the worker's group: ack after render_job_flush */
} job_result_t;

typedef struct worker {
    int n;
    char id[JOBS_ID_MAX + 1];
    jobs_worker_t *jobs;
    sandbox_t *sandbox; /* the worker's render helper process */
    const config_t *cfg;
    void (*on_terminal)(const char *render_id); /* a render of this process became terminal */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;           /* guards held and n_held */
    char held[POOL_HELD_MAX][37]; /* renders whose leases the heartbeat thread renews */
    int n_held;
} worker_t;

/* Starts the workers and the heartbeat thread. on_terminal (may be NULL) is called on the
 * worker's thread after a render turned succeeded or failed. workers = 0 starts nothing (an
 * API-only instance). 0 or -1 + err. */
int pool_start(const config_t *cfg, void (*on_terminal)(const char *render_id), char *err, size_t err_len);
/* Stops taking jobs, lets in-hand jobs finish for up to grace_ms, then kills the render helpers
 * of those still rendering (their attempts fail and are retried), gives jobs back, joins. */
void pool_stop(int grace_ms);
/* Adds a render whose lease this worker holds (the heartbeat thread extends it) / removes one.
 * At most POOL_HELD_MAX are held; pool_hold beyond that is ignored (and logged). */
void pool_hold(worker_t *w, const char *render_id);
void pool_unhold(worker_t *w, const char *render_id);
/* Number of workers started (for /metrics and logs). */
int pool_size(void);

#endif
