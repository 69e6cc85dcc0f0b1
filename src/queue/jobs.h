/*
 * jobs — at-least-once job lists on Redis (render and webhook ids; Postgres holds the truth).
 *
 * Keys (docs/internals/queue.md has the whole protocol):
 *   ck:q:<queue>                   ready list: producers LPUSH, consumers take from the right
 *   ck:q:<queue>:proc:<worker>     processing list of one worker (jobs taken, not yet acked)
 *   ck:hb:<worker>                 heartbeat, "1" with a TTL
 *   ck:workers                     set of registered worker ids (the reaper's index)
 *   ck:wq:<worker>                 set of the queues a worker has taken jobs from
 * A job moves ready → processing atomically (LMOVE/BLMOVE), leaves on ack, and goes back to
 * ready on graceful release or, if its worker dies, when the reaper sees the heartbeat gone.
 * Duplicates are possible (a job can be delivered twice); losses are not.
 *
 * Threads:
 *   jobs_enqueue, jobs_enqueue_many, jobs_queue_length, jobs_reap, jobs_reap_scan: any thread; they use the
 *     calling thread's connection (queue/redis.h: redis_thread()).
 *   jobs_worker_t: one per worker thread. It owns a private redisContext; jobs_fetch, jobs_ack,
 *     jobs_worker_release and jobs_worker_free must be called only from the owning thread.
 *   jobs_heartbeat: any thread (it uses the calling thread's connection and locks the worker),
 *     so one heartbeat thread may keep several busy workers alive; it must not race with
 *     jobs_worker_free.
 * Memory: jobs_worker_new returns a worker the caller frees with jobs_worker_free.
 * Names: queue names are 1..JOBS_QUEUE_MAX chars of [A-Za-z0-9_-]; worker and job ids are
 *   1..JOBS_ID_MAX chars of [A-Za-z0-9._:-]. Anything else is refused (no key injection).
 * Worker ids must be unique among live workers of all instances (e.g. <host>:<pid>:<n>).
 */
#ifndef CRAFTKIT_QUEUE_JOBS_H
#define CRAFTKIT_QUEUE_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#define JOBS_ID_MAX 64                  /* job and worker ids */
#define JOBS_QUEUE_MAX 32               /* queue names */
#define JOBS_QUEUES_MAX 8               /* distinct queues one worker may take from */
#define JOBS_HELD_MAX 64                /* jobs one worker may hold un-acked */
#define JOBS_DEFAULT_HEARTBEAT_TTL_S 30 /* first heartbeat of jobs_worker_new */
#define JOBS_BLOCK_SLICE_MS 500         /* longest wait on the first queue before re-checking the others */
#define JOBS_IO_TIMEOUT_MS 3000         /* worker connection read timeout outside blocking waits */

#define JOBS_QUEUE_RENDERS "renders"
/* Items of batches: workers take from it only when JOBS_QUEUE_RENDERS is empty, so a big batch
 * never holds up single renders (docs/architecture.md, "Batches"). */
#define JOBS_QUEUE_BATCH_RENDERS "renders-batch"
#define JOBS_QUEUE_WEBHOOKS "webhooks"

typedef struct jobs_worker jobs_worker_t;

/* True when s is a valid queue name / job or worker id. */
bool jobs_valid_queue(const char *s);
bool jobs_valid_id(const char *s);

/* Producer side. LPUSH ck:q:<queue> job_id. 0, or -1 + err (invalid name, Redis down). */
int jobs_enqueue(const char *queue, const char *job_id, char *err, size_t err_len);
/* One LPUSH of n ids (at most JOBS_ENQUEUE_BATCH_MAX); the first id is taken first. 0 or -1. */
#define JOBS_ENQUEUE_BATCH_MAX 1000
int jobs_enqueue_many(const char *queue, const char *const *job_ids, int n, char *err, size_t err_len);
/* LLEN of the ready list, or -1 + err. */
long jobs_queue_length(const char *queue, char *err, size_t err_len);

/*
 * Consumer side. Opens the worker's private connection, registers it in ck:workers, writes the
 * first heartbeat (TTL heartbeat_ttl_s; jobs_worker_new uses JOBS_DEFAULT_HEARTBEAT_TTL_S) and
 * pushes back to the ready lists anything a previous holder of the same id left in its
 * processing lists. NULL + err when Redis is unreachable or the id is invalid.
 */
jobs_worker_t *jobs_worker_new(const char *worker_id, char *err, size_t err_len);
jobs_worker_t *jobs_worker_new_ttl(const char *worker_id, int heartbeat_ttl_s, char *err, size_t err_len);
/* Frees memory and the connection. Does NOT give jobs back: call jobs_worker_release first
 * (a worker freed without release looks dead once its heartbeat expires, and is reaped). */
void jobs_worker_free(jobs_worker_t *w);
const char *jobs_worker_id(const jobs_worker_t *w);

/*
 * Takes the next job, preferring queues in the given order, moving it atomically into this
 * worker's processing list. When all queues are empty it blocks up to block_ms on the first
 * queue in slices of JOBS_BLOCK_SLICE_MS, re-checking the others between slices (so a job on a
 * later queue waits at most one slice). block_ms <= 0: do not block.
 * queue_out needs JOBS_QUEUE_MAX + 1 bytes, job_out JOBS_ID_MAX + 1.
 * Returns 1 (job taken), 0 (nothing arrived), -1 + err (Redis error or outage: back off and
 * retry; the connection is re-established on the next call). Entries that are not valid job
 * ids are dropped from the queue with a warning.
 */
int jobs_fetch(jobs_worker_t *w, const char *const *queues, int n_queues, int block_ms, char *queue_out,
               size_t queue_len, char *job_out, size_t job_len, char *err, size_t err_len);
/* Removes one occurrence of job_id from this worker's processing list of queue (success,
 * final failure, or retry handed to Postgres scheduling). 0 (also when it was no longer there,
 * e.g. reaped), or -1 + err. */
int jobs_ack(jobs_worker_t *w, const char *queue, const char *job_id, char *err, size_t err_len);
/* SET ck:hb:<id> 1 EX ttl_s, and re-registers the worker and its queues (in case the reaper or a
 * Redis restart dropped them). Call every ttl_s/3 or more often. 0 or -1 + err. */
int jobs_heartbeat(jobs_worker_t *w, int ttl_s, char *err, size_t err_len);
/* Graceful shutdown: moves every job in this worker's processing lists (acked or not, held or
 * not) back to the ready lists, deletes the heartbeat and unregisters. Further fetches fail.
 * 0, or -1 + err (then the jobs stay where they are and the reaper returns them later). */
int jobs_worker_release(jobs_worker_t *w, char *err, size_t err_len);

/*
 * Reaper (run every few seconds from one background thread per instance; several instances
 * may run it at once). For every worker in ck:workers whose heartbeat key is gone, moves its
 * processing lists back to the ready lists (each list in one atomic script that first checks the
 * heartbeat again) and unregisters it once its lists are empty. *moved = jobs moved back.
 * 0 or -1 + err.
 */
int jobs_reap(int *moved, char *err, size_t err_len);
/* Slow fallback that does not trust ck:workers: SCANs ck:q:*:proc:* and returns the lists of
 * workers without a heartbeat. Run it at start-up and rarely (e.g. every 10 minutes). */
int jobs_reap_scan(int *moved, char *err, size_t err_len);

#endif
