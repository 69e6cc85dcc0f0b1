#include "worker/pool.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bgthread.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/db.h"
#include "db/renders_repo.h"
#include "core/metrics.h"
#include "worker/render_job.h"

#define RETRY_LATER_PAUSE_MS 1000 /* before a job that met a database outage goes back */

static worker_t *workers;
static int n_workers;
static atomic_bool stopping;
static atomic_int busy;

static bgthread_t heartbeat;

int pool_size(void)
{
    return n_workers;
}

void pool_hold(worker_t *w, const char *render_id)
{
    pthread_mutex_lock(&w->mu);
    bool room = w->n_held < POOL_HELD_MAX;
    if (room)
        snprintf(w->held[w->n_held++], sizeof w->held[0], "%s", render_id);
    pthread_mutex_unlock(&w->mu);
    if (!room) /* a bug: its lease is then only its claim's */
        log_error("worker %s: cannot hold render %s (holds %d already)", w->id, render_id, POOL_HELD_MAX);
}

void pool_unhold(worker_t *w, const char *render_id)
{
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->n_held; i++) {
        if (!strcmp(w->held[i], render_id)) {
            memcpy(w->held[i], w->held[--w->n_held], sizeof w->held[0]);
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
}

/* Sleeps up to ms, waking early when the pool is stopping. */
static void nap(int ms)
{
    for (int slept = 0; slept < ms && !atomic_load(&stopping); slept += 50)
        time_sleep_ms(ms - slept < 50 ? ms - slept : 50);
}

static int next_backoff(int ms)
{
    return ms * 2 > POOL_REDIS_BACKOFF_MAX_MS ? POOL_REDIS_BACKOFF_MAX_MS : ms * 2;
}

/* Registers the worker with Redis, retrying while Redis is away. false when stopping first. */
static bool connect_jobs(worker_t *w)
{
    int backoff = 250;
    char err[ERRMSG_LEN];
    while (!atomic_load(&stopping)) {
        jobs_worker_t *jobs = jobs_worker_new_ttl(w->id, w->cfg->heartbeat_ttl_s, err, sizeof err);
        if (jobs) {
            pthread_mutex_lock(&w->mu); /* the heartbeat thread reads it */
            w->jobs = jobs;
            pthread_mutex_unlock(&w->mu);
            return true;
        }
        log_warn("worker %s: cannot register with Redis (retrying): %s", w->id, err);
        nap(backoff);
        backoff = next_backoff(backoff);
    }
    return false;
}

static job_result_t dispatch(worker_t *w, const char *queue, const char *job, render_group_t *group)
{
    if (!strcmp(queue, JOBS_QUEUE_RENDERS))
        return render_job_run(w, job, NULL);
    if (!strcmp(queue, JOBS_QUEUE_BATCH_RENDERS))
        return render_job_run(w, job, w->cfg->batch_group_ms > 0 ? group : NULL);
    log_warn("worker %s: job %s on unknown queue %s dropped", w->id, job, queue);
    return JOB_DONE;
}

/* Finishes a job with the pool's side of the protocol: ack, or push back and ack (after
 * RETRY_LATER_PAUSE_MS, which the caller waited). */
static void settle(worker_t *w, const char *queue, const char *job, job_result_t result)
{
    char err[ERRMSG_LEN];
    if (result == JOB_RETRY_LATER && jobs_enqueue(queue, job, err, sizeof err) != 0)
        log_warn("worker %s: cannot push job %s back (the sweeper will): %s", w->id, job, err);
    if (jobs_ack(w->jobs, queue, job, err, sizeof err) != 0)
        log_warn("worker %s: ack of job %s failed (it may run again; claims make that harmless): %s", w->id,
                 job, err);
}

/* Records the group's successes and settles their jobs; the group is empty afterwards. */
static void flush_group(worker_t *w, render_group_t *group)
{
    if (group->n == 0)
        return;
    job_result_t result = render_job_flush(w, group);
    if (result == JOB_RETRY_LATER)
        nap(RETRY_LATER_PAUSE_MS);
    for (int i = 0; i < group->n; i++)
        settle(w, JOBS_QUEUE_BATCH_RENDERS, group->items[i].id, result);
    group->n = 0;
}

/* Takes the job in hand: a single render records the group first (so that its items are not
 * held back behind it), as does an old group before another batch item. */
static void run_job(worker_t *w, const char *queue, const char *job, render_group_t *group)
{
    bool batch_item = !strcmp(queue, JOBS_QUEUE_BATCH_RENDERS);
    if (!batch_item || render_group_due(w, group))
        flush_group(w, group);
    job_result_t result = dispatch(w, queue, job, group);
    if (result != JOB_DEFERRED) {
        pool_unhold(w, job);
        if (result == JOB_RETRY_LATER)
            nap(RETRY_LATER_PAUSE_MS);
        settle(w, queue, job, result);
    }
    if (group->n >= POOL_GROUP_MAX)
        flush_group(w, group);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    db_thread_async_commit();
    render_group_t *group = calloc(1, sizeof *group);
    w->sandbox = sandbox_new();
    if (!group || !w->sandbox || !connect_jobs(w))
        goto done;
    /* Webhooks have their own dispatcher (worker/dispatcher.h): a slow receiver must never
     * hold a render worker. Batch items come second: jobs_fetch takes one only when no single
     * render is waiting, so a worker is never more than one item away from a single render. */
    static const char *const queues[] = {JOBS_QUEUE_RENDERS, JOBS_QUEUE_BATCH_RENDERS};
    int backoff = 250;
    while (!atomic_load(&stopping)) {
        char queue[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1], err[ERRMSG_LEN];
        /* With a group in hand, no waiting: an empty queue records it at once. */
        int rc = jobs_fetch(w->jobs, queues, 2, group->n ? 0 : POOL_FETCH_BLOCK_MS, queue, sizeof queue, job,
                            sizeof job, err, sizeof err);
        if (rc <= 0)
            flush_group(w, group);
        if (rc < 0) {
            log_warn("worker %s: cannot fetch jobs (retrying in %d ms): %s", w->id, backoff, err);
            nap(backoff);
            backoff = next_backoff(backoff);
            continue;
        }
        backoff = 250;
        if (rc == 0)
            continue;
        atomic_fetch_add(&busy, 1);
        run_job(w, queue, job, group);
        atomic_fetch_sub(&busy, 1);
    }
    flush_group(w, group);
    char err[ERRMSG_LEN];
    if (w->jobs && jobs_worker_release(w->jobs, err, sizeof err) != 0)
        log_warn("worker %s: could not give jobs back (the reaper will): %s", w->id, err);
done:
    sandbox_free(w->sandbox);
    w->sandbox = NULL;
    free(group);
    return NULL;
}

/* ---- heartbeats ---- */

static void beat(worker_t *w, db_t *db)
{
    char err[ERRMSG_LEN], held[POOL_HELD_MAX][37];
    pthread_mutex_lock(&w->mu);
    jobs_worker_t *jobs = w->jobs;
    int n_held = w->n_held;
    memcpy(held, w->held, sizeof held[0] * (size_t)n_held);
    pthread_mutex_unlock(&w->mu);
    if (jobs && jobs_heartbeat(jobs, w->cfg->heartbeat_ttl_s, err, sizeof err) != 0)
        log_warn("worker %s: heartbeat failed: %s", w->id, err);
    for (int i = 0; i < n_held && db; i++)
        if (renders_renew_lease(db, held[i], w->id, w->cfg->heartbeat_ttl_s * 1000, err, sizeof err) < 0)
            log_warn("worker %s: cannot extend the lease of render %s: %s", w->id, held[i], err);
}

static void *heartbeat_main(void *arg)
{
    const config_t *cfg = arg;
    int interval = cfg->heartbeat_ttl_s * 1000 / 3;
    while (!bgthread_stopping(&heartbeat)) {
        db_t *db = db_thread();
        for (int i = 0; i < n_workers; i++)
            beat(&workers[i], db);
        metrics_gauge_set("craftkit_workers_busy", NULL, atomic_load(&busy));
        bgthread_sleep(&heartbeat, interval);
    }
    return NULL;
}

int pool_start(const config_t *cfg, void (*on_terminal)(const char *render_id), char *err, size_t err_len)
{
    atomic_store(&stopping, false);
    n_workers = cfg->workers;
    if (n_workers == 0)
        return 0;
    workers = calloc((size_t)n_workers, sizeof *workers);
    if (!workers)
        return errmsg_fail(err, err_len, "out of memory");
    for (int i = 0; i < n_workers; i++) {
        worker_t *w = &workers[i];
        w->n = i;
        w->cfg = cfg;
        w->on_terminal = on_terminal;
        pthread_mutex_init(&w->mu, NULL);
        snprintf(w->id, sizeof w->id, "%s:%d", cfg->instance_id, i);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            errmsg_fail(err, err_len, "cannot start worker thread %d", i);
            pool_stop(0);
            return -1;
        }
        w->started = true;
    }
    if (bgthread_start(&heartbeat, heartbeat_main, (void *)cfg, "the heartbeat thread", err, err_len) != 0) {
        pool_stop(0);
        return -1;
    }
    metrics_gauge_set("craftkit_workers", NULL, n_workers);
    return 0;
}

/* Joins a worker within the deadline; false when it is still busy (it is then abandoned). */
static bool join_by(worker_t *w, int64_t deadline_mono_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t left = deadline_mono_ms - time_mono_ms();
    if (left < 0)
        left = 0;
    ts.tv_sec += (time_t)(left / 1000);
    ts.tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_timedjoin_np(w->thread, NULL, &ts) == 0;
}

void pool_stop(int grace_ms)
{
    if (!workers)
        return;
    atomic_store(&stopping, true);
    int64_t deadline = time_mono_ms() + grace_ms + POOL_FETCH_BLOCK_MS;
    bool all_joined = true, killed = false;
    for (int i = 0; i < n_workers; i++) {
        if (!workers[i].started)
            continue;
        bool joined = join_by(&workers[i], deadline);
        if (!joined && !killed) {
            /* Past the grace time: the renders still running are killed; their workers record
             * the failed attempt (retried later, here or elsewhere) and stop. */
            log_warn("renders still running after the grace period (%d ms): stopping them", grace_ms);
            sandbox_kill_all();
            killed = true;
            deadline = time_mono_ms() + POOL_KILL_JOIN_MS;
            joined = join_by(&workers[i], deadline);
        }
        if (!joined) {
            log_warn("worker %s: still busy after its render was stopped; it will be taken over after its "
                     "lease expires",
                     workers[i].id);
            all_joined = false;
            continue;
        }
        workers[i].started = false;
    }
    bgthread_stop(&heartbeat);
    if (!all_joined)
        return; /* a running thread still uses its worker; the process is about to exit */
    for (int i = 0; i < n_workers; i++) {
        jobs_worker_free(workers[i].jobs);
        pthread_mutex_destroy(&workers[i].mu);
    }
    free(workers);
    workers = NULL;
    n_workers = 0;
}
